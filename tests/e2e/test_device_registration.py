"""A customer registers a device by install code, it joins, and the next test verifies it."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EUI64 = "00:0D:6F:00:05:3C:51:08"
INSTALL_CODE = "83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5"
WRONG_CRC = "83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B6"
LINK_KEY = "66b6900981e1ee3ca4206b6b861c02bb"


def _fill_registration(page, install_code: str) -> None:
    """The registration form for the demo's load control switch, sent."""
    page.get_by_label("EUI-64 (MAC address)").fill(EUI64)
    page.get_by_label("Install code").fill(install_code)
    page.get_by_label("Kind of device").select_option("load_control_switch")
    page.get_by_label("Manufacturer").fill("Eaton")
    page.get_by_label("Model").fill("Yukon LCR-6601S")
    page.get_by_role("button", name="Register device").click()


def test_customer_registers_a_device_that_joins_and_is_verified(
    page, portal_url, demo_world, scenario_switch
):
    scenario_switch("MTR-100003", "registered_device_missing")
    frames: list[str] = []
    page.on(
        "websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload)))
    )
    sign_in(page, portal_url, "chen", demo_world["chen"])
    page.get_by_role("link", name=re.compile("301 Maple Avenue")).first.click()
    page.get_by_role("link", name="Register a device").click()

    _fill_registration(page, WRONG_CRC)
    error = page.locator("#id_install_code-error")
    expect(error).to_contain_text("checksum")
    expect(page.get_by_label("Install code")).to_have_value("")
    expect(page.get_by_label("EUI-64 (MAC address)")).to_have_value(EUI64)
    page.screenshot(path=str(ARTIFACTS / "register-wrong-crc.png"), full_page=True)

    page.get_by_label("Install code").fill(INSTALL_CODE)
    page.get_by_role("button", name="Register device").click()
    expect(page.get_by_text("Device registered")).to_be_visible()
    row = page.locator("#registrations-title + .table-wrap tr", has_text="00:0d:6f:00:05:3c:51:08")
    expect(row).to_contain_text(re.compile("Join window open|Registered"))

    page.get_by_role("button", name="Test HAN").click()
    expect(page.locator("[data-run-status]")).to_have_text("Passed", timeout=60_000)
    page.goto(page.url.split("/runs/")[0] + "/my-home/")
    page.get_by_role("link", name=re.compile("301 Maple Avenue")).first.click()
    expect(row).to_contain_text("Verified")
    page.screenshot(path=str(ARTIFACTS / "register-verified.png"), full_page=True)

    html = page.content().lower()
    everything = html + json.dumps(frames).lower()
    for secret in (
        INSTALL_CODE.replace(" ", "").lower(),
        LINK_KEY,
        WRONG_CRC.replace(" ", "").lower(),
    ):
        assert secret not in everything


def test_at_a_meter_with_two_hans_the_customer_picks_the_interface_on_a_phone(
    browser, portal_url, demo_world
):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, portal_url, "alice", demo_world["alice"])
        page.get_by_role("link", name=re.compile("12 Lakeshore Cabin Road")).first.click()
        page.get_by_role("link", name="Register a device").click()
        interface = page.get_by_label("HAN interface")
        expect(interface.locator("option")).to_have_text(["han0", "han1"])
        interface.select_option("han1")
        expect(interface).to_have_value("han1")
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=str(ARTIFACTS / "register-interface-phone.png"), full_page=True)

        _fill_registration(page, INSTALL_CODE)
        expect(page.get_by_text("Device registered")).to_be_visible()
        # The premise page with its new registration still fits the phone.
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=str(ARTIFACTS / "premise-registered-phone.png"), full_page=True)
    finally:
        context.close()
