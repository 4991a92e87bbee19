"""Working a case besides testing: notes, requests to the AMI team, closing by hand."""

import pytest

from portal.models import CaseNote, Escalation, HanTestCase, User
from tests.factories import HanTestRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(rep):
    run = HanTestRunFactory(started_by=rep, status="failed")
    return run


def _timeline(client, run) -> list[str]:
    return [event["what"] for event in client.get(f"/api/v1/runs/{run.pk}/").json()["timeline"]]


def test_a_rep_notes_escalates_and_closes_a_case_each_on_its_timeline(client, rep, finished):
    case = finished.case
    client.force_login(rep)

    page = client.post(
        f"/cases/{case.pk}/notes/", {"text": "Customer works nights; call after 4 pm"}, follow=True
    )
    assert "Note added to the case." in page.content.decode()
    assert "Customer works nights; call after 4 pm" in page.content.decode()
    assert page.redirect_chain[-1][0] == f"/runs/{finished.pk}/#case"

    client.post(
        f"/cases/{case.pk}/escalations/",
        {"kind": "channel_change", "reason": "Wi-Fi on 6 swamps channel 15"},
    )
    escalation = Escalation.objects.get()
    assert (escalation.status, escalation.raised_by) == ("open", rep)
    again = client.post(
        f"/cases/{case.pk}/escalations/",
        {"kind": "channel_change", "reason": "again"},
        follow=True,
    )
    assert "already has that request open" in again.content.decode()
    assert Escalation.objects.count() == 1

    client.post(f"/escalations/{escalation.pk}/", {"status": "done", "answer": "Moved to 20"})
    escalation.refresh_from_db()
    assert (escalation.status, escalation.answer, escalation.updated_by) == (
        "done",
        "Moved to 20",
        rep,
    )

    client.post(f"/cases/{case.pk}/close/", {"reason": "Customer returned the thermostat"})
    case.refresh_from_db()
    assert case.status == HanTestCase.Status.RESOLVED
    assert (case.closed_by, case.close_reason) == (rep, "Customer returned the thermostat")

    whats = _timeline(client, finished)
    assert "noted: Customer works nights; call after 4 pm" in whats
    assert (
        "asked the AMI network team to move the HAN to another channel: "
        "Wi-Fi on 6 swamps channel 15"
    ) in whats
    assert (
        "marked the AMI team's request (move the HAN to another channel) done: Moved to 20" in whats
    )
    assert whats[-1] == "closed the case: Customer returned the thermostat"
    page = client.get(f"/runs/{finished.pk}/").content.decode()
    assert "closed by" in page and "Customer returned the thermostat" in page


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("notes/", {"text": "   "}, "Write the note first."),
        ("close/", {"reason": ""}, "Say why the case is closed without a passing test."),
        ("escalations/", {"kind": "reboot_everything", "reason": "x"}, "Choose what the AMI"),
        ("escalations/", {"kind": "channel_change", "reason": ""}, "Say what the team needs"),
        ("notes/", {"text": "x" * 2001}, "Keep it under 2000 characters."),
    ],
)
def test_bad_case_work_is_refused_clearly_and_writes_nothing(
    client, rep, finished, url, data, message
):
    client.force_login(rep)
    page = client.post(f"/cases/{finished.case_id}/{url}", data, follow=True)
    assert page.status_code == 200
    assert message in page.content.decode()
    assert not CaseNote.objects.exists() and not Escalation.objects.exists()
    assert HanTestCase.objects.get().status == "open"


def test_a_case_with_a_running_test_or_already_resolved_is_not_closed_by_hand(client, rep):
    running = HanTestRunFactory(status="running")
    client.force_login(rep)
    page = client.post(f"/cases/{running.case_id}/close/", {"reason": "done"}, follow=True)
    assert "A test is running in this case" in page.content.decode()
    HanTestCase.objects.filter(pk=running.case_id).update(status="resolved")
    page = client.post(f"/cases/{running.case_id}/close/", {"reason": "done"}, follow=True)
    assert "already resolved" in page.content.decode()


def test_a_declined_request_needs_a_reason(client, rep, finished):
    client.force_login(rep)
    client.post(
        f"/cases/{finished.case_id}/escalations/", {"kind": "ami_investigation", "reason": "x"}
    )
    escalation = Escalation.objects.get()
    page = client.post(f"/escalations/{escalation.pk}/", {"status": "declined"}, follow=True)
    assert "Say why the request was declined." in page.content.decode()
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_customers_do_not_work_cases_nor_see_the_notes(client, user_a, premise_a, rep):
    run = HanTestRunFactory(premise=premise_a, status="failed")
    CaseNote.objects.create(case=run.case, text="Staff only: customer was rude", written_by=rep)
    client.force_login(user_a)
    assert client.post(f"/cases/{run.case_id}/notes/", {"text": "hi"}).status_code == 403
    assert client.post(f"/cases/{run.case_id}/close/", {"reason": "fixed"}).status_code == 403
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "customer was rude" not in page
    assert "Close case" not in page
    assert User.objects.filter(case_notes__isnull=False).get() == rep


UNKNOWN_DISPLAY = "00:1b:c5:0c:00:45:aa:03"


def test_a_rep_asks_the_unknown_device_to_leave_and_the_retest_no_longer_finds_it(
    client, demo_world, no_enqueue, scenario_switch
):
    from portal.test_runs.execute import han_test_run_execute
    from tests.portal.test_runs.runs import run_at

    scenario_switch("MTR-100007", None)  # the device leaves the shared demo HAN
    run = run_at("MTR-100007")
    unknown = run.devices.get(eui64=UNKNOWN_DISPLAY)
    rep = User.objects.get(username="rep")
    client.force_login(rep)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    leave_form = page[page.index('<select id="leave-device"') :]
    leave_form = leave_form[: leave_form.index("</select>")]
    assert "Ask it to leave" in page and f'value="{unknown.pk}"' in leave_form
    customer_plug = run.devices.filter(network="customer").first()
    assert f'value="{customer_plug.pk}"' not in leave_form  # masked: not without consent

    answer = client.post(f"/runs/{run.pk}/leave/", {"device": unknown.pk}, follow=True)
    assert "asked to leave the HAN" in answer.content.decode()
    whats = _timeline(client, run)
    assert any("Mgmt_Leave" in what and UNKNOWN_DISPLAY in what for what in whats)

    refused = client.post(f"/runs/{run.pk}/leave/", {"device": customer_plug.pk}, follow=True)
    assert "Choose one of the devices this test found." in refused.content.decode()

    client.post(f"/runs/{run.pk}/retest/")
    after = run.case.runs.get(number=2)
    han_test_run_execute(after.pk)
    assert not after.devices.filter(eui64=UNKNOWN_DISPLAY).exists()
