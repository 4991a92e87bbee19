"""The AMI network team answers requests raised from cases in the admin."""

import pytest

from portal.models import Escalation
from tests.factories import HanTestRunFactory

pytestmark = pytest.mark.django_db


def test_the_ami_team_lists_open_requests_and_answers_one(client, administrator, rep):
    run = HanTestRunFactory()
    escalation = Escalation.objects.create(
        case=run.case, kind="channel_change", reason="Wi-Fi on 6", raised_by=rep
    )
    client.force_login(administrator)
    listing = client.get("/admin/portal/escalation/?status__exact=open")
    assert listing.status_code == 200
    assert f"/admin/portal/escalation/{escalation.pk}/change/" in listing.content.decode()
    assert client.get("/admin/portal/escalation/add/").status_code == 403

    client.post(
        f"/admin/portal/escalation/{escalation.pk}/change/",
        {"status": "done", "answer": "Moved the HAN to channel 20"},
    )
    escalation.refresh_from_db()
    assert (escalation.status, escalation.answer) == ("done", "Moved the HAN to channel 20")
    assert escalation.updated_by == administrator and escalation.updated_at is not None
    assert escalation.reason == "Wi-Fi on 6"  # what the rep wrote stays as written
