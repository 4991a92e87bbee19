import re

import pytest
from playwright.sync_api import expect

from portal.demo.premises import demo_data_load
from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_sign_ins():
    return {username: password for _, username, password in demo_data_load()}


def test_rep_signs_in_searches_a_customer_and_opens_their_page(page, portal_url, demo_sign_ins):
    page.goto(f"{portal_url}/customers/")
    expect(page).to_have_url(re.compile(r"/sign-in/\?next=/customers/"))

    sign_in(page, portal_url, "rep", demo_sign_ins["rep"])
    expect(page.get_by_role("heading", name="Find a customer")).to_be_visible()

    page.get_by_label("Name, account, address, meter number, phone or email").fill("MTR-100002")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="1 customer found")).to_be_visible()

    page.get_by_role("link", name="Bernard Okafor").click()
    expect(page.get_by_role("heading", name="Bernard Okafor", level=1)).to_be_visible()
    expect(page.get_by_text("1000234568")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("88 Lakeview Drive"))).to_be_visible()
    expect(page.get_by_text("MTR-100002").first).to_be_visible()


def test_customer_signs_in_to_my_home_on_a_phone(browser, portal_url, demo_sign_ins):
    context = browser.new_context(viewport={"width": 360, "height": 780}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, portal_url, "alice", demo_sign_ins["alice"])
        expect(page.get_by_role("heading", name="My home")).to_be_visible()
        expect(page.get_by_role("heading", name=re.compile("1412 Elm Street"))).to_be_visible()
        expect(
            page.get_by_role("heading", name=re.compile("12 Lakeshore Cabin Road"))
        ).to_be_visible()
        expect(page.get_by_text("Bernard")).to_have_count(0)
        # Plain words first; the engineer's view one click away.
        expect(page.locator("[data-last-result]").first).to_contain_text("not tested")
        expect(page.get_by_text("PAN id").first).to_be_hidden()
        page.get_by_text("Technical details").first.click()
        expect(page.get_by_text("PAN id").first).to_be_visible()
        # Nothing wider than the phone's screen.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "my-home-phone.png"), full_page=True)
    finally:
        context.close()


def test_wrong_password_shows_an_error_next_to_the_form(page, portal_url, demo_sign_ins):
    sign_in(page, portal_url, "rep", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url(re.compile("/sign-in/"))
