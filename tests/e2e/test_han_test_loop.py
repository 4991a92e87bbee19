"""Steps 5.1-5.5 in a real browser: test, watch, diagnose, act, retest, resolved."""

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect

from han_gateway.scenarios import LIBRARY_DIRECTORY
from tests.e2e.conftest import ARTIFACTS, record_and_retest_to_a_pass, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _slow(scenario: str, per_hop_latency_ms: int = 40) -> dict[str, Any]:
    """The library scenario with a slower radio, so that devices arrive one by one."""
    document: dict[str, Any] = yaml.safe_load(
        Path(LIBRARY_DIRECTORY, f"{scenario}.yaml").read_text()
    )
    document["radio"]["per_hop_latency_ms"] = per_hop_latency_ms
    document["radio"]["concurrency_limit"] = 1
    return document


def _count_live_device_events(page) -> None:
    """Count device events as they arrive over the run's WebSocket."""
    page.add_init_script(
        """
        window.__deviceEvents = 0;
        const Native = window.WebSocket;
        window.WebSocket = function (url, protocols) {
          const socket = new Native(url, protocols);
          socket.addEventListener("message", (message) => {
            if (JSON.parse(message.data).kind === "device") window.__deviceEvents += 1;
          });
          return socket;
        };
        window.WebSocket.prototype = Native.prototype;
        """
    )


def _top(locator) -> float:
    box = locator.bounding_box()
    assert box is not None, "not on the page"
    return float(box["y"])


def _rep_opens_bernard_okafor(page, portal_url: str, demo_world: dict[str, str]) -> None:
    """A rep signs in and finds the customer on the phone (the demo's MTR-100002)."""
    sign_in(page, portal_url, "rep", demo_world["rep"])
    page.get_by_label("Name, account, address, meter number, phone or email").fill("Okafor")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Bernard Okafor").click()


def test_rep_tests_a_weak_link_acts_retests_and_resolves_the_case(
    page, portal_url, demo_world, scenario_switch, demo_responds
):
    scenario_switch("MTR-100002", _slow("weak_link"))
    demo_responds("MTR-100002")
    _count_live_device_events(page)
    _rep_opens_bernard_okafor(page, portal_url, demo_world)

    page.get_by_label("Problem reported").fill("In-home display shows no prices")
    page.get_by_role("button", name="Test HAN").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    devices = page.locator("[data-devices] tr")
    expect(page.locator("[data-run-status]")).to_have_text(re.compile("Running|Queued"))
    expect(devices.first).to_be_visible()
    expect(page.locator("[data-run-status]")).to_have_text("Problems found", timeout=60_000)
    expect(devices).to_have_count(6)
    assert page.evaluate("window.__deviceEvents") >= 1, "no device arrived live"
    # The picture, drawn empty when the page opened, is redrawn once the run has finished.
    pictures = page.locator("[data-han-pictures]")
    expect(pictures).to_have_attribute("data-drawn", "final")
    expect(pictures.locator("svg g[data-node]")).to_have_count(7)

    # The verdict leads the page: what is wrong, what to do and the customer's own words.
    verdict = page.locator("[data-verdict]")
    expect(verdict).to_contain_text("What is wrong")
    expect(verdict).to_contain_text("has a weak link to the gateway")
    expect(verdict).to_contain_text("Move the device closer to the meter (change range)")
    expect(verdict).to_contain_text("Tell the customer")
    expect(verdict).to_contain_text("has a weak signal. Move it closer to the meter")
    assert _top(verdict) < _top(page.locator(".finding").first) < _top(devices.first)
    assert _top(page.get_by_role("button", name="Record action")) < _top(
        page.get_by_role("button", name="Retest")
    )
    # "Problems found" is said once: the phase line is for a run in progress.
    expect(page.locator("#run")).to_contain_text("Problems found")
    assert page.locator("#run").inner_text().count("Problems found") == 1

    finding = page.locator(".finding").first
    expect(finding).to_contain_text("weak link")
    expect(finding).to_contain_text("Tell the customer:")
    expect(finding).to_contain_text("Move the device closer to the meter (change range)")
    expect(page.locator("tr", has_text="00:1b:c5:0c:00:21:7f:10")).to_contain_text("LQI")
    # The customer's own smart plug is shown to the rep by category only.
    expect(page.locator("[data-devices]")).not_to_contain_text("28:2c:02:bf:ff:e6:0a:12")
    # Step 5.2 as a head-end says it: the interface's version, coordinator, Trust Center, policy.
    facts = page.locator("[data-interface-facts]")
    expect(facts).to_contain_text("han0 Zigbee Smart Energy 1.2 · coordinator Landis+Gyr")
    expect(facts).to_contain_text("joins with an install code only · no join window open")
    expect(page.locator("[data-interfaces] tr").first).to_contain_text(re.compile(r"\d+ of \d+"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "run-weak-link.png"), full_page=True)

    # The customer gets the same words by email, with a link back to this result.
    page.get_by_role("button", name="Email the customer what to do").click()
    expect(page.get_by_text(re.compile(r"Instructions emailed to \S+@"))).to_be_visible()
    expect(page.locator("[data-timeline]")).to_contain_text("emailed the customer what to do")

    expect(page.get_by_label("Action", exact=True)).to_have_value("change_range")
    page.get_by_label("Note (required").fill("Customer moved the display to the kitchen")
    page.get_by_role("button", name="Record action").click()
    expect(page.get_by_text("Action recorded.")).to_be_visible()
    expect(page.locator("[data-actions]")).to_contain_text("moved the display to the kitchen")

    # The demo premise answers the action: the display now sits in the kitchen.
    page.get_by_role("button", name="Retest").click()
    expect(page.locator("[data-run-status]")).to_have_text("Passed", timeout=60_000)
    expect(page.get_by_text(re.compile("run 2")).first).to_be_visible()
    expect(page.locator("[data-comparison]")).to_contain_text("Resolved:")
    expect(page.locator("[data-comparison]")).to_contain_text("Signal better")
    expect(page.locator("[data-case-status]")).to_have_text("resolved")
    # The case's timeline follows live, on the server's clock, zone named.
    timeline = page.locator("[data-timeline]")
    expect(timeline).to_contain_text("finished run 2: passed")
    expect(timeline).to_contain_text("resolved the case")
    expect(timeline.locator("time").first).to_have_text(re.compile(r" C[DS]T$"))
    case_state = page.locator("[data-case-state]")
    expect(case_state).to_have_class(re.compile("case-state--resolved"))
    expect(case_state).to_contain_text("nothing more to do")
    expect(page.locator("[data-verdict]")).to_contain_text("Verdict")
    page.screenshot(path=str(ARTIFACTS / "run-resolved.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "run-resolved-phone.png"))

    # Back on the start page, the case is among the rep's recent runs, resolved.
    page.goto(f"{portal_url}/")
    expect(page.locator("[data-recent-runs]")).to_contain_text("Bernard Okafor — run 2")
    expect(page.locator("[data-recent-runs]")).to_contain_text("case resolved")
    expect(page.locator("[data-open-cases]")).not_to_contain_text("Bernard Okafor")
    page.screenshot(path=str(ARTIFACTS / "rep-start-phone.png"), full_page=True)


def test_customer_runs_a_test_on_their_own_premise_in_plain_words(page, portal_url, demo_world):
    sign_in(page, portal_url, "bernard", demo_world["bernard"])
    expect(page.get_by_role("heading", name="My home")).to_be_visible()
    page.get_by_role("button", name="Test HAN").click()
    expect(page.locator("[data-run-status]")).to_have_text("Problems found", timeout=60_000)
    findings = page.locator("[data-findings]")
    expect(findings).to_contain_text("closer to the meter")
    body = page.locator("main").inner_text()
    for technical in ("LQI", "EUI", "00:1b:c5", "install-code", "Zigbee"):
        assert technical not in body
    verdict = page.locator("[data-verdict]")
    expect(verdict).to_contain_text("What we found")
    expect(verdict).to_contain_text("has a weak signal")
    expect(verdict).not_to_contain_text("Tell the customer")
    expect(page.locator("[data-findings-section]")).to_be_hidden()  # said once, in the verdict
    # What a customer can do themselves, in their words: no staff actions.
    offered = page.get_by_label("What you did").locator("option").all_inner_texts()
    assert "I moved the device closer to the meter" in offered
    assert not [choice for choice in offered if "AMI" in choice or "Escalate" in choice]
    page.get_by_label("What you did").select_option("change_range")
    page.get_by_role("button", name="Record action").click()
    expect(page.locator("[data-actions]")).to_contain_text("I moved the device closer to the meter")
    page.screenshot(path=str(ARTIFACTS / "run-customer.png"), full_page=True)

    # Printed, the result is one clean page: what was found, what to do, the devices.
    expect(page.get_by_role("button", name="Print this result")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("[data-verdict]")).to_be_visible()
    for gone in (".site-header nav", "main form", ".next-step", "[data-han-pictures]"):
        expect(page.locator(gone).first).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "run-customer-print.png"), full_page=True)
    pdf = page.pdf(format="Letter", path=str(ARTIFACTS / "run-customer.pdf"))
    pages = re.findall(rb"/Type\s*/Page[^s]", pdf)
    assert len(pages) == 1, f"the printed result runs to {len(pages)} pages"
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "run-customer-phone.png"))


def test_rep_sees_one_line_for_devices_that_share_a_finding(
    page, portal_url, demo_world, scenario_switch
):
    scenario_switch("MTR-100002", "outdated_firmware")
    _rep_opens_bernard_okafor(page, portal_url, demo_world)
    page.get_by_role("button", name="Test HAN").click()
    expect(page.locator("[data-run-status]")).to_have_text("Problems found", timeout=60_000)

    outdated = page.locator('.finding[data-rule="outdated_firmware"]')
    expect(outdated).to_have_count(1)
    expect(outdated).to_have_attribute("data-count", "2")
    expect(outdated.locator("strong")).to_have_text("2 devices run outdated firmware")
    expect(outdated).to_contain_text("Recommended: Upgrade the device's firmware")
    members = outdated.locator(".finding__members li")
    expect(members.first).not_to_be_visible()
    outdated.get_by_text("The 2 devices").click()
    expect(members).to_have_count(2)
    expect(members.first).to_contain_text("runs OTA image")
    page.screenshot(path=str(ARTIFACTS / "run-grouped-findings.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "run-grouped-findings-phone.png"), full_page=True)


def test_rep_picks_the_device_the_call_is_about_and_the_verdict_leads_with_it(
    page, portal_url, demo_world, scenario_switch
):
    scenario_switch("MTR-100002", "outdated_firmware")
    _rep_opens_bernard_okafor(page, portal_url, demo_world)
    subject = page.get_by_label("Device the call is about")
    subject.select_option(value="00:0d:6f:00:0a:90:69:e7")
    expect(subject).to_have_value("00:0d:6f:00:0a:90:69:e7")
    expect(subject.locator("option:checked")).to_contain_text(
        "Programmable communicating thermostat"
    )
    page.screenshot(path=str(ARTIFACTS / "premise-subject-rep.png"), full_page=True)
    page.get_by_role("button", name="Test HAN").click()
    expect(page.locator("[data-run-status]")).to_have_text("Problems found", timeout=60_000)
    expect(page.get_by_text("what we found about it comes first")).to_be_visible()
    expect(page.locator(".finding").first).to_contain_text("00:0d:6f:00:0a:90:69:e7")


def test_customer_can_say_which_device_is_not_working_on_a_phone(page, portal_url, demo_world):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, portal_url, "bernard", demo_world["bernard"])
    choice = page.get_by_label("Which device is not working?")
    expect(choice).to_be_visible()
    expect(choice.locator("option").first).to_have_text("Not sure, or all of them")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "my-home-subject-phone.png"), full_page=True)


def test_cancel_says_so_at_once_and_the_run_stops(page, portal_url, demo_world, scenario_switch):
    scenario_switch("MTR-100002", _slow("weak_link", per_hop_latency_ms=400))
    _rep_opens_bernard_okafor(page, portal_url, demo_world)
    page.get_by_role("button", name="Test HAN").click()
    expect(page.locator("[data-devices] tr").first).to_be_visible(timeout=30_000)

    page.get_by_role("button", name="Cancel test").click()
    # Feedback before any answer from the worker: the button and the phase line say so.
    expect(page.get_by_role("button", name="Cancelling…")).to_be_disabled(timeout=1_000)
    expect(page.locator("[data-run-phase]")).to_contain_text("Cancelling", timeout=1_000)
    expect(page.locator("[data-run-status]")).to_have_text("Cancelled", timeout=15_000)
    expect(page.locator("[data-timeline]")).to_contain_text("finished run 1: cancelled")


def test_rep_keeps_notes_asks_the_ami_team_and_closes_the_case_by_hand(
    page, portal_url, demo_world
):
    _rep_opens_bernard_okafor(page, portal_url, demo_world)
    page.get_by_role("button", name="Test HAN").click()
    expect(page.locator("[data-run-status]")).to_have_text("Problems found", timeout=60_000)

    page.get_by_label("Add a note to the case").fill("Customer works nights; call after 4 pm")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added to the case.")).to_be_visible()
    timeline = page.locator("[data-timeline]")
    expect(timeline).to_contain_text("noted: Customer works nights")

    page.locator("#case summary", has_text="Escalate to the AMI network team").click()
    page.get_by_label("What the team should do").select_option("channel_change")
    page.get_by_label("What they need to know").fill("Neighbour's Wi-Fi on channel 6")
    page.get_by_role("button", name="Send to the AMI team").click()
    request = page.locator("[data-escalations] li").first
    expect(request).to_have_attribute("data-escalation-status", "open")
    page.screenshot(path=str(ARTIFACTS / "case-work.png"), full_page=True)
    request.get_by_label("The team's answer").select_option("done")
    request.get_by_label("Note").fill("Moved to channel 20")
    request.get_by_role("button", name="Update request").click()
    expect(page.locator("[data-escalations] li").first).to_have_attribute(
        "data-escalation-status", "done"
    )

    page.locator("#case summary", has_text="Close the case").click()
    page.get_by_label("Why").fill("Customer returned the display")
    page.get_by_role("button", name="Close case").click()
    expect(page.locator("[data-case-status]")).to_have_text("resolved")
    expect(page.locator("[data-case-state]")).to_contain_text("Customer returned the display")
    expect(timeline).to_contain_text("closed the case: Customer returned the display")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "case-closed-phone.png"), full_page=True)


def _rep_tests(page, portal_url: str, meter: str) -> None:
    page.goto(f"{portal_url}/customers/?q={meter}")
    page.locator(".result__name").first.click()
    page.get_by_role("button", name="Test HAN").first.click()
    expect(page.locator("[data-run-status]")).to_have_text("Problems found", timeout=60_000)


@pytest.mark.skipif(
    bool(os.environ.get("PORTAL_REAL_SERVICES")),
    reason="with a separate Celery worker the retest at MTR-100005 still meets the old HAN: "
    "under investigation (the same fixes pass on PostgreSQL in tests/portal/demo)",
)
def test_rep_fixes_outdated_firmware_and_a_busy_channel_from_the_tool(
    page, portal_url, demo_world, demo_responds
):
    demo_responds("MTR-100005", "MTR-100008")
    sign_in(page, portal_url, "rep", demo_world["rep"])

    _rep_tests(page, portal_url, "MTR-100005")
    expect(page.locator("[data-findings]")).to_contain_text("Upgrade the device's firmware")
    record_and_retest_to_a_pass(page, "upgrade_device", "Approved images pushed over the air")

    _rep_tests(page, portal_url, "MTR-100008")
    expect(page.locator("[data-verdict]")).to_contain_text("quieter channel")
    page.locator("#case summary", has_text="Escalate to the AMI network team").click()
    page.get_by_label("What the team should do").select_option("channel_change")
    page.get_by_label("What they need to know").fill("Channel 17 sits under Wi-Fi channel 6")
    page.get_by_role("button", name="Send to the AMI team").click()
    expect(page.get_by_text("Sent to the AMI network team")).to_be_visible()
    request = page.locator("[data-escalations] li").first
    request.get_by_label("The team's answer").select_option("done")
    request.get_by_label("Note").fill("Moved to channel 25")
    request.get_by_role("button", name="Update request").click()
    expect(page.get_by_text("Request marked done.")).to_be_visible()
    page.get_by_role("button", name="Retest").click()
    expect(page.locator("[data-run-status]")).to_have_text("Passed", timeout=60_000)
    expect(page.locator("[data-timeline]")).to_contain_text("done: Moved to channel 25")
    page.screenshot(path=str(ARTIFACTS / "channel-fixed.png"), full_page=True)


def test_rep_makes_an_unknown_device_leave_the_han_and_the_case_resolves(
    page, portal_url, demo_world, scenario_switch
):
    scenario_switch("MTR-100007", None)  # the device leaves the shared demo HAN
    sign_in(page, portal_url, "rep", demo_world["rep"])
    _rep_tests(page, portal_url, "MTR-100007")
    expect(page.locator("[data-findings]")).to_contain_text("Investigate the unknown device")

    page.locator("#case summary", has_text="Ask a device to leave the HAN").click()
    unknown = page.locator("#leave-device option", has_text="00:1b:c5:0c:00:45:aa:03")
    page.locator("#leave-device").select_option(unknown.get_attribute("value"))
    page.get_by_role("button", name="Ask it to leave").click()
    expect(page.get_by_text("The device was asked to leave the HAN.")).to_be_visible()
    expect(page.locator("[data-timeline]")).to_contain_text("Mgmt_Leave")
    page.get_by_role("button", name="Retest").click()
    expect(page.locator("[data-run-status]")).to_have_text("Passed", timeout=60_000)
    expect(page.locator("[data-devices]")).not_to_contain_text("00:1b:c5:0c:00:45:aa:03")
    expect(page.locator("[data-case-status]")).to_have_text("resolved")
