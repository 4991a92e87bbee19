"""A rep emails the customer what to do: their words, a link to their result, on the timeline;
through a real SMTP server process in one test."""

import pytest
from django.core import mail

from portal.models import CustomerMessage, User
from tests.commands import free_port
from tests.portal.test_runs.runs import run_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def weak_run(demo_world, no_enqueue):
    run = run_at("MTR-100002")
    assert run.status == "failed"
    return run


def test_the_customer_gets_their_own_words_and_a_link_to_their_result(client, weak_run, settings):
    settings.PORTAL_BASE_URL = "https://han.utility.example"
    client.force_login(User.objects.get(username="rep"))
    page = client.post(f"/runs/{weak_run.pk}/instructions/", follow=True).content.decode()
    customer = weak_run.premise.customer

    assert f"Instructions emailed to {customer.email}." in page
    (sent,) = mail.outbox
    assert sent.to == [customer.email]
    assert "88 Lakeview Drive" in sent.subject
    assert "Move it closer to the meter" in sent.body
    assert f"https://han.utility.example/runs/{weak_run.pk}/" in sent.body
    for technical in ("LQI", "EUI", "00:1b:c5", "dBm"):
        assert technical not in sent.body
    html = sent.alternatives[0][0]
    assert f'href="https://han.utility.example/runs/{weak_run.pk}/"' in html
    assert CustomerMessage.objects.get().sent_to == customer.email
    timeline = client.get(f"/api/v1/runs/{weak_run.pk}/").json()["timeline"]
    assert any(event["what"].startswith("emailed the customer what to do") for event in timeline)


def test_no_address_on_file_is_said_and_nothing_is_sent(client, weak_run):
    customer = weak_run.premise.customer
    customer.email = ""
    customer.save()
    client.force_login(User.objects.get(username="rep"))
    page = client.get(f"/runs/{weak_run.pk}/").content.decode()
    assert "No email address on file" in page
    answer = client.post(f"/runs/{weak_run.pk}/instructions/", follow=True).content.decode()
    assert "This customer has no email address on file." in answer
    assert not mail.outbox and not CustomerMessage.objects.exists()


def test_another_customer_cannot_send_a_customers_instructions(client, weak_run):
    client.force_login(User.objects.get(username="chen"))
    assert client.post(f"/runs/{weak_run.pk}/instructions/").status_code == 404
    assert not mail.outbox


def test_an_smtp_server_that_is_down_is_a_clear_error_and_no_record(client, weak_run, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    client.force_login(User.objects.get(username="rep"))
    page = client.post(f"/runs/{weak_run.pk}/instructions/", follow=True).content.decode()
    assert "The email could not be sent just now" in page
    assert not CustomerMessage.objects.exists()


def test_the_email_reaches_a_real_smtp_server(client, weak_run, smtp_mailbox):
    client.force_login(User.objects.get(username="rep"))
    client.post(f"/runs/{weak_run.pk}/instructions/")

    (received,) = smtp_mailbox()
    assert received["To"] == weak_run.premise.customer.email
    text = received.get_body(preferencelist=("plain",)).get_content()
    assert "Move it closer to the meter" in text
    assert f"/runs/{weak_run.pk}/" in text
