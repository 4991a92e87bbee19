"""A customer chooses English or Spanish on My home; their pages, live run and email follow the
account's choice, whatever their browser says; staff pages stay in English."""

import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail

from portal.models import Customer, HanTestRun, User
from portal.test_runs.customer_words import run_state_for_customer
from portal.test_runs.payloads import run_state
from tests.portal.test_runs.runs import run_at

pytestmark = pytest.mark.django_db


def _json_block(page: str, element_id: str) -> Any:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', page)
    assert found, element_id
    return json.loads(found[1])


def _spanish(username: str) -> Customer:
    customer = User.objects.get(username=username).customer_accounts.get()
    customer.language = Customer.Language.SPANISH
    customer.save(update_fields=["language"])
    return customer


def test_a_customer_chooses_spanish_on_my_home_and_it_is_kept_on_their_account(client, demo_world):
    client.force_login(User.objects.get(username="bernard"))
    before = client.get("/my-home/").content.decode()
    assert '<html lang="en' in before and "Your privacy" in before

    answer = client.post("/my-home/", {"language": "es"}, follow=True)

    customer = User.objects.get(username="bernard").customer_accounts.get()
    assert customer.language == "es"
    page = answer.content.decode()
    assert '<html lang="es">' in page
    assert "Sus páginas y nuestros correos electrónicos ahora están en español." in page
    assert "Su privacidad" in page and "Your privacy" not in page
    # Signed out, the sign-in page keeps the customer's language.
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"


def test_the_account_language_beats_the_browser(client, demo_world):
    _spanish("bernard")
    client.force_login(User.objects.get(username="bernard"))
    page = client.get("/my-home/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "Mi hogar" in page and "Cerrar sesión" in page
    assert "Sign out" not in page and "My home" not in page


def test_a_language_the_portal_does_not_speak_is_refused(client, demo_world):
    client.force_login(User.objects.get(username="bernard"))
    page = client.post("/my-home/", {"language": "fr"}, follow=True).content.decode()
    assert "Choose English or Español." in page
    assert User.objects.get(username="bernard").customer_accounts.get().language == "en"


def test_staff_cannot_choose_a_customers_language(client, demo_world):
    client.force_login(User.objects.get(username="rep"))
    answer = client.post("/my-home/", {"language": "es"})
    assert answer.status_code == 403
    assert not Customer.objects.filter(language="es").exists()


def test_the_sign_in_page_follows_the_browser(client):
    page = client.get("/sign-in/", HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9").content.decode()
    assert "Iniciar sesión" in page and "Contraseña" in page


def test_a_spanish_customers_home_and_result_are_in_spanish(client, demo_world, no_enqueue):
    _spanish("bernard")
    run = run_at("MTR-100002", username="bernard")
    client.force_login(User.objects.get(username="bernard"))

    home = client.get("/my-home/").content.decode()
    for spanish in (
        "Su medidor inteligente y los dispositivos de energía de su hogar conectados a él.",
        "hay algo que hacer",
        "su caso está abierto",
        "Sus dispositivos",
        "Pantalla de consumo en el hogar",
        "Dispositivo propio",
    ):
        assert spanish in home, spanish
    for english in ("Your smart meter", "something needs doing", "Your devices", "Your privacy"):
        assert english not in home, english

    page = client.get(f"/runs/{run.pk}/").content.decode()
    for spanish in ("¿Qué hizo?", "Todo lo que encontramos", "Enviarme estos pasos por correo"):
        assert spanish in page, spanish
    for english in ("What did you do?", "Everything we found", "Email me these steps"):
        assert english not in page, english
    assert "Acerqué el dispositivo al medidor" in page
    # The live page's own words, and what it draws from: the findings, devices and steps.
    words = _json_block(page, "run-words")
    assert words["whatWeFound"] == "Lo que encontramos"
    assert words["yourOwnDevice"] == "Dispositivo propio"
    snapshot = _json_block(page, "run-snapshot")
    texts = [finding["customer_text"] for finding in snapshot["findings"]]
    assert any(
        text.startswith("Su pantalla de consumo en el hogar tiene una señal débil.")
        for text in texts
    )
    assert not any("weak signal" in text for text in texts)
    assert snapshot["run"]["status_label"] == "Se encontraron problemas"
    assert "Pantalla de consumo en el hogar" in [d["category_label"] for d in snapshot["devices"]]
    assert snapshot["steps"][0]["title"] == "Comunicarse con su medidor"


def test_staff_see_the_same_run_in_english_and_the_customers_language(
    client, demo_world, no_enqueue
):
    customer = _spanish("bernard")
    run = run_at("MTR-100002", username="bernard")
    client.force_login(User.objects.get(username="rep"))

    page = client.get(f"/runs/{run.pk}/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="en' in page
    assert "Work on case" in page and "Email the customer what to do" in page
    assert "has a weak signal" in page and "tiene una señal débil" not in page
    assert "Enviarme estos pasos" not in page and "Cerrar sesión" not in page

    assert 'the customer reads <span lang="es" data-customer-language>Español</span>' in page
    detail = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "<dt>Language</dt>" in detail and ">Español</dd>" in detail


def test_a_spanish_customers_live_run_state_is_in_spanish(demo_world):
    from django.utils import translation

    run = HanTestRun(status="running", progress=40, phase="Scanning han0: 2 found")
    with translation.override("es"):
        state = run_state_for_customer(run_state(run))
    assert state["status_label"] == "En curso"
    assert state["phase"] == "Buscando sus dispositivos"
    assert state["error"] == ""


def test_a_rep_sends_a_spanish_customer_their_steps_in_spanish(client, demo_world, no_enqueue):
    _spanish("bernard")
    run = run_at("MTR-100002")
    client.force_login(User.objects.get(username="rep"))

    page = client.post(f"/runs/{run.pk}/instructions/", follow=True).content.decode()

    assert "Instructions emailed to" in page  # the rep's own page stays English
    (sent,) = mail.outbox
    assert sent.subject.startswith("Sus dispositivos de energía en 88 Lakeview Drive")
    assert "Hola, Bernard Okafor:" in sent.body
    assert "Su pantalla de consumo en el hogar tiene una señal débil." in sent.body
    assert "Servicio al cliente de su compañía de electricidad" in sent.body
    assert "Move it closer" not in sent.body and "Hello" not in sent.body
    assert '<html lang="es">' in sent.alternatives[0][0]


def test_a_customers_language_ends_with_their_request(client, demo_world):
    """What runs next on the same thread (here: this test) is back in the default language."""
    from django.utils import translation

    _spanish("bernard")
    client.force_login(User.objects.get(username="bernard"))
    assert "Mi hogar" in client.get("/my-home/").content.decode()
    assert translation.get_language() == settings.LANGUAGE_CODE
