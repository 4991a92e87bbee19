"""A device cut off behind the customer's switched-off smart plug, in a real browser: the rep is
told which router to switch on, the customer reads it in plain words, on desktop and phone."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOME = re.compile("1412 Elm Street")  # Alice Moreno's premise, meter MTR-100001


def _premise(page):
    return page.locator("article.premise", has=page.get_by_role("heading", name=HOME)).first


def test_rep_is_told_which_router_cut_the_thermostat_off(
    page, portal_url, demo_world, scenario_switch
):
    scenario_switch("MTR-100001", "router_switched_off")
    sign_in(page, portal_url, "rep", demo_world["rep"])
    page.get_by_label("Name, account, address, meter number, phone or email").fill("MTR-100001")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Alice Moreno").click()
    _premise(page).get_by_role("button", name="Test HAN").click()
    expect(page.locator("[data-run-status]")).to_have_text("Problems found", timeout=60_000)
    finding = page.locator('.finding[data-rule="router_down"]')
    expect(finding).to_have_count(1)
    expect(finding).to_contain_text("their only route to the meter is through the customer's")
    expect(finding).to_contain_text("smart plug")
    expect(finding).to_contain_text("Recommended: Switch the router the devices depend on")
    expect(page.locator('.finding[data-rule="beyond_reach"]')).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("28:2c:02:bf:ff:e6:0a:12")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "run-router-down.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.screenshot(path=str(ARTIFACTS / "run-router-down-phone.png"), full_page=True)


def test_customer_is_asked_to_switch_the_plug_back_on(
    browser, portal_url, demo_world, scenario_switch
):
    scenario_switch("MTR-100001", "router_switched_off")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, portal_url, "alice", demo_world["alice"])
        _premise(page).get_by_role("button", name="Test HAN").click()
        expect(page.locator("[data-run-status]")).to_have_text("Problems found", timeout=60_000)
        findings = page.locator("[data-findings]")
        expect(findings).to_contain_text("Your smart plug seems to be switched off or unplugged")
        expect(findings).to_contain_text("Please switch it back on")
        words = findings.inner_text()
        for technical in ("LQI", "EUI", "router", "00:0d:6f", "28:2c:02", "Zigbee"):
            assert technical not in words
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=str(ARTIFACTS / "run-router-down-customer-phone.png"), full_page=True)
    finally:
        context.close()
