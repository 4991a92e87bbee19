"""An administrator reviews the diagnosis history in a real browser."""

import csv
import io
import re
import time

import pytest
from playwright.sync_api import expect

from portal.models import HanTestRun, Premise, User
from portal.test_runs.start import han_test_start
from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _finished_run(meter_number: str, username: str) -> HanTestRun:
    """A real run of the meter's simulated HAN, through the worker."""
    premise = Premise.objects.get(premises_gateway__meter_number=meter_number)
    run = han_test_start(premise=premise, user=User.objects.get(username=username))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if not run.is_active:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run.pk} did not finish")


def test_admin_filters_the_history_opens_a_run_and_judges_its_diagnosis(
    page, portal_url, demo_world
):
    weak = _finished_run("MTR-100002", "rep")
    _finished_run("MTR-100001", "rep")
    assert weak.findings.filter(rule="weak_link").exists()

    sign_in(page, portal_url, "admin", demo_world["admin"])
    page.get_by_role("link", name="History").click()
    expect(page.locator("table.history tbody tr")).to_have_count(2)
    page.get_by_label("Finding").select_option("weak_link")
    page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bernard Okafor")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    exported = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert [row["run_id"] for row in exported] == [str(weak.pk)]
    assert "weak_link" in exported[0]["findings"]

    rows.first.get_by_role("link", name=re.compile(r"Case \d+ · run 1")).click()
    expect(page).to_have_url(re.compile(rf"/runs/{weak.pk}/$"))
    picture = page.get_by_role("img", name=re.compile("HAN"))
    expect(picture.first).to_be_visible()
    expect(page.locator("[data-han-pictures] svg g[data-node]")).not_to_have_count(0)
    page.locator("[data-han-pictures]").screenshot(path=str(_artifact("han-picture.png")))

    review = page.locator(".review-form").first
    review.get_by_role("radio", name="Wrong").check()
    comment = review.get_by_role("textbox", name=re.compile("Comment"))
    # "Wrong" with no comment is stopped at the comment, the choice kept.
    review.get_by_role("button", name="Record review").click()
    assert comment.evaluate("node => !node.validity.valid && node === document.activeElement")
    expect(review.get_by_role("radio", name="Wrong")).to_be_checked()
    comment.fill("The display sits behind a steel door: interference")
    review.get_by_role("button", name="Record review").click()
    expect(page.get_by_text("review of", exact=False).first).to_be_visible()
    expect(page.locator("[data-review-verdict]").first).to_contain_text("judged wrong")
    expect(page.locator(".timeline")).to_contain_text("judged")

    page.get_by_role("link", name="Reviews").click()
    expect(page.locator("tr[data-rule]").first).to_contain_text("Weak link")
    expect(page.get_by_text("steel door")).to_be_visible()

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name=re.compile("dashboard", re.IGNORECASE))).to_be_visible()
    expect(page.locator(".chart svg").first).to_be_visible()
    page.screenshot(path=str(_artifact("dashboard.png")), full_page=True)


def test_rep_sees_the_history_but_not_the_admin_pages(page, portal_url, demo_world):
    _finished_run("MTR-100001", "rep")
    sign_in(page, portal_url, "rep", demo_world["rep"])
    page.get_by_role("link", name="History").click()
    expect(page.locator("table.history tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="Download CSV")).to_have_count(0)
    expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)
    response = page.goto(f"{portal_url}/dashboard/")
    assert response is not None and response.status == 403


def _artifact(name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
