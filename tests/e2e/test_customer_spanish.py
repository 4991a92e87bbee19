"""A Spanish-speaking customer on their phone: switches My home to Español, tests their
devices, follows the result live in Spanish and emails themselves the steps, which arrive in
Spanish with the link back to their result."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "scrolls sideways"


def test_a_customer_reads_and_receives_their_result_in_spanish(
    browser,
    portal_url,
    demo_world,
    settings,
    smtp_mailbox,
):
    settings.PORTAL_BASE_URL = portal_url
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=PHONE, is_mobile=True, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, portal_url, "bernard", demo_world["bernard"])
        expect(page.get_by_role("heading", name="My home")).to_be_visible()

        page.get_by_label("Language").select_option("es")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name="Mi hogar")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_text("Sus páginas y nuestros correos electrónicos")).to_be_visible()
        _fits(page, PHONE["width"])
        page.screenshot(path=str(ARTIFACTS / "customer-es-home-phone.png"), full_page=True)

        page.get_by_role("button", name="Probar mis dispositivos").click()
        # Live, in Spanish: the status the worker pushes, the verdict and the devices.
        expect(page.locator("[data-run-status]")).to_have_text(
            "Se encontraron problemas", timeout=60_000
        )
        verdict = page.locator("[data-verdict]")
        expect(verdict).to_contain_text("Lo que encontramos")
        expect(verdict).to_contain_text("tiene una señal débil")
        expect(page.locator("[data-devices]")).to_contain_text("Pantalla de consumo en el hogar")
        expect(page.locator("[data-steps]")).to_contain_text("Comunicarse con su medidor")
        main = page.locator("main").inner_text()
        for english in ("weak signal", "What we found", "Your devices", "Problems found"):
            assert english not in main, english
        _fits(page, PHONE["width"])
        page.screenshot(path=str(ARTIFACTS / "customer-es-run-phone.png"), full_page=True)

        page.get_by_role("button", name="Enviarme estos pasos por correo").click()
        expect(
            page.get_by_text(re.compile(r"Enviamos estos pasos por correo a \S+@"))
        ).to_be_visible()
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(ARTIFACTS / "customer-es-run.png"), full_page=True)
        run_path = re.search(r"/runs/\d+/", page.url)
        assert run_path is not None

        (received,) = smtp_mailbox()
        assert str(received["Subject"]).strip().startswith("Sus dispositivos de energía en")
        text = received.get_body(preferencelist=("plain",)).get_content()
        assert "Hola, Bernard Okafor:" in text and "tiene una señal débil" in text
        assert "weak signal" not in text
        link = f"{portal_url}{run_path[0]}"
        assert link in text
        html = received.get_body(preferencelist=("html",)).get_content()
        assert f'href="{link}"' in html and "Ver su resultado" in html

        # The link in the email opens the same result, still in Spanish.
        page.goto(link)
        expect(page.locator("[data-run-status]")).to_have_text("Se encontraron problemas")
    finally:
        context.close()
