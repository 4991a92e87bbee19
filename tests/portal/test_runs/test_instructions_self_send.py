"""A customer emails themselves the steps of their own run, from their result page: only to the
address on their account, in their language, and never another customer's run."""

import pytest
from django.core import mail

from portal.models import Customer, CustomerMessage, User
from tests.portal.test_runs.runs import run_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def weak_run(demo_world, no_enqueue):
    return run_at("MTR-100002", username="bernard")


def test_a_customer_emails_themselves_the_steps_of_their_run(client, weak_run, settings):
    settings.PORTAL_BASE_URL = "https://han.utility.example"
    customer = weak_run.premise.customer
    client.force_login(User.objects.get(username="bernard"))
    page = client.get(f"/runs/{weak_run.pk}/").content.decode()
    assert "Email me these steps" in page and customer.email in page

    answer = client.post(f"/runs/{weak_run.pk}/instructions/", {"to": "someone@else.example"})

    assert answer.status_code == 302 and answer["Location"] == f"/runs/{weak_run.pk}/"
    (sent,) = mail.outbox
    assert sent.to == [customer.email]
    assert "Move it closer to the meter" in sent.body
    assert f"https://han.utility.example/runs/{weak_run.pk}/" in sent.body
    message = CustomerMessage.objects.get()
    assert message.sent_by.username == "bernard" and message.sent_to == customer.email
    shown = client.get(f"/runs/{weak_run.pk}/").content.decode()
    assert f"We emailed these steps to {customer.email}." in shown


def test_without_an_address_the_customer_is_told_how_to_add_one(client, weak_run):
    Customer.objects.filter(pk=weak_run.premise.customer_id).update(email="")
    client.force_login(User.objects.get(username="bernard"))
    page = client.get(f"/runs/{weak_run.pk}/").content.decode()
    assert "We have no email address for you." in page
    assert "Email me these steps" not in page

    answer = client.post(f"/runs/{weak_run.pk}/instructions/", follow=True).content.decode()

    assert "We have no email address for you. Call customer service to add one" in answer
    assert not mail.outbox and not CustomerMessage.objects.exists()


def test_a_spanish_customer_gets_spanish_email_at_a_real_smtp_server(
    client,
    weak_run,
    smtp_mailbox,
):
    Customer.objects.filter(pk=weak_run.premise.customer_id).update(language="es")
    client.force_login(User.objects.get(username="bernard"))

    page = client.post(f"/runs/{weak_run.pk}/instructions/", follow=True).content.decode()

    assert "Enviamos estos pasos por correo a" in page
    (received,) = smtp_mailbox()
    assert str(received["Subject"]).strip().startswith("Sus dispositivos de energía en")
    text = received.get_body(preferencelist=("plain",)).get_content()
    assert "Esto es lo que debe hacer:" in text
    assert "tiene una señal débil" in text and "weak signal" not in text
    assert f"/runs/{weak_run.pk}/" in text
