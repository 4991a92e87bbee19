"""The field technician's loop in a real browser: a rep sends the installer from the case; on a
phone at the premise the installer opens the work order, tests, fits what the diagnosis asked
for, records it, retests, and the case resolves."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, record_and_retest_to_a_pass, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_rep_sends_an_installer_who_fixes_the_han_on_site_from_a_phone(
    page, browser, portal_url, demo_world, demo_responds
):
    demo_responds("MTR-100004")
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, portal_url, "rep", demo_world["rep"])
    page.goto(f"{portal_url}/customers/?q=MTR-100004")
    page.locator(".result__name").first.click()
    page.get_by_role("button", name="Test HAN").first.click()
    expect(page.locator("[data-run-status]")).to_have_text("Problems found", timeout=60_000)
    expect(page.locator("[data-verdict]")).to_contain_text("Install an additional device")

    page.locator("#case summary", has_text="Send an installer").click()
    page.get_by_label("Field technician").select_option(label="Ivan Ortiz")
    page.get_by_label("Time of day").select_option("morning")
    expect(page.get_by_label("What to do")).to_have_value(re.compile("Install an additional"))
    page.get_by_label("What to do").fill(
        "Fit a range extender halfway to the load control switch in the barn"
    )
    page.screenshot(path=str(ARTIFACTS / "dispatch-installer.png"), full_page=True)
    page.get_by_role("button", name="Send the work order").click()
    expect(page.get_by_text(re.compile(r"Work order \d+ sent to Ivan Ortiz"))).to_be_visible()
    expect(page.locator("[data-timeline]")).to_contain_text("sent Ivan Ortiz")
    expect(page.locator("[data-work-orders]")).to_contain_text("Open")

    installer_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = installer_context.new_page()
    phone.set_default_timeout(15_000)
    try:
        sign_in(phone, portal_url, "installer", demo_world["installer"])
        expect(phone).to_have_url(re.compile(r"/work-orders/$"))
        order = phone.locator("[data-work-order]").first
        expect(order).to_contain_text("Install an additional device")
        _fits_the_phone(phone)
        phone.screenshot(path=str(ARTIFACTS / "installer-work-orders-phone.png"), full_page=True)
        order.get_by_role("link").click()

        expect(phone.get_by_text("Fit a range extender halfway")).to_be_visible()
        _fits_the_phone(phone)
        phone.screenshot(path=str(ARTIFACTS / "installer-work-order-phone.png"), full_page=True)

        # On site: the test first, to see the switch still out of reach.
        phone.get_by_role("button", name="Run the test now").click()
        expect(phone).to_have_url(re.compile(r"/runs/\d+/$"))
        expect(phone.locator("[data-run-status]")).to_have_text("Problems found", timeout=60_000)
        expect(phone.locator("[data-my-work-order]")).to_contain_text("Your work order")
        expect(phone.locator("#case")).to_have_count(0)
        _fits_the_phone(phone)
        record_and_retest_to_a_pass(
            phone, "install_additional_device", "Range extender fitted in the hallway"
        )
        _fits_the_phone(phone)
        phone.screenshot(path=str(ARTIFACTS / "installer-resolved-phone.png"), full_page=True)

        phone.get_by_role("link", name="Back to the work order").click()
        expect(phone.locator("[data-work-order-status]")).to_have_attribute(
            "data-work-order-status", "done"
        )
        expect(phone.get_by_text("case resolved")).to_be_visible()
        phone.get_by_role("link", name="My work orders").first.click()
        expect(phone.locator("[data-work-order]")).to_have_count(0)
    finally:
        installer_context.close()

    # The rep's page, still open on the first run, follows live: the visit and the passing
    # run are on the case's timeline, the case card shows the work order done.
    expect(page.locator("[data-case-status]")).to_have_text("resolved")
    expect(page.locator("[data-work-orders]")).to_contain_text("Done")
    expect(page.locator("[data-timeline]")).to_contain_text("The HAN passed run")
    expect(page.locator("[data-timeline]")).to_contain_text("Range extender fitted")

    # The administrator reviews the history the loop left: three runs, the last one passed.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, portal_url, "admin", demo_world["admin"])
    page.get_by_role("link", name="History").click()
    rows = page.locator("table.history tbody tr", has_text="Dana Whitfield")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Passed")
    rows.first.get_by_role("link", name=re.compile(r"Case \d+ · run 3")).click()
    timeline = page.locator("[data-timeline]")
    expect(timeline).to_contain_text("sent Ivan Ortiz")
    expect(timeline).to_contain_text("resolved the case")
    review = page.locator(".review-form").first
    review.get_by_role("radio", name="Right").check()
    review.get_by_role("button", name="Record review").click()
    expect(page.locator("[data-review-verdict]").first).to_contain_text("judged right")
    page.screenshot(path=str(ARTIFACTS / "admin-reviews-installer-case.png"), full_page=True)
