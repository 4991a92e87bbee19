"""The customer's own pages in plain words: My home leads with their last result and case."""

import re

import pytest

from portal.models import User
from tests.portal.test_runs.runs import run_at

pytestmark = pytest.mark.django_db

TECHNICAL = ("PAN id", "EUI-64", "han0", "Premises gateway", "Utility HAN", "Customer HAN")


def _outside_technical_details(html: str) -> str:
    """The page's main content, without its technical details."""
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r"<details class=\"technical-details\">.*?</details>", "", main, flags=re.S)


def test_my_home_leads_with_the_last_result_in_plain_words(client, demo_world, no_enqueue):
    run = run_at("MTR-100002", username="bernard")
    client.force_login(User.objects.get(username="bernard"))
    html = client.get("/my-home/").content.decode()

    plain = _outside_technical_details(html)
    for word in TECHNICAL:
        assert word not in plain, word
    last = plain.index("data-last-result")
    assert "something needs doing" in plain[last:] and "your case is open" in plain[last:]
    assert f'href="/runs/{run.pk}/"' in plain[last:]
    assert last < plain.index("Your devices") < plain.index("Your privacy")
    assert "Your own device" in plain and "The utility&#x27;s" in plain
    # Who wants the technical details still has them, one click away.
    assert "<summary>Technical details</summary>" in html and "han0" in html


def test_a_customer_who_never_tested_is_told_so(client, demo_world):
    client.force_login(User.objects.get(username="bernard"))
    html = client.get("/my-home/").content.decode()
    assert "You have not tested your devices here yet." in html


def test_staff_keep_the_technical_view(client, demo_world):
    client.force_login(User.objects.get(username="rep"))
    premise_page = client.get("/customers/").content.decode()
    assert "Find a customer" in premise_page
    from portal.models import Premise

    premise = Premise.objects.get(premises_gateway__meter_number="MTR-100002")
    html = client.get(f"/premises/{premise.pk}/").content.decode()
    assert "HAN interfaces" in html and "PAN id" in html and "Customer HAN" in html
    assert "Technical details" not in html
