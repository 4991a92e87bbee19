"""The Utility HAN Test Tool loop against the real gateway service over loopback."""

import pytest
from django.db import IntegrityError

from portal.models import HanTestCase, HanTestRun, ObservedDevice, Premise, RunStep, User
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.reaper import han_test_runs_reap
from portal.test_runs.start import (
    ActiveRunExists,
    HanTestError,
    han_test_cancel,
    han_test_retest,
    han_test_start,
    recorded_action_create,
)

pytestmark = pytest.mark.django_db


def _premise(meter_number: str) -> Premise:
    return Premise.objects.select_related("premises_gateway").get(
        premises_gateway__meter_number=meter_number
    )


def _run_test(meter_number: str, user: User) -> HanTestRun:
    run = han_test_start(premise=_premise(meter_number), user=user)
    han_test_run_execute(run.pk)
    run.refresh_from_db()
    return run


@pytest.fixture
def rep_user(demo_world):
    return User.objects.get(username="rep")


EXPECTED_RULES = {
    "MTR-100001": {"healthy"},
    "MTR-100002": {"weak_link"},
    "MTR-100003": {"registered_device_missing"},
    "MTR-100004": {"beyond_reach"},
    "MTR-100005": {"outdated_firmware", "operational_check_failed"},
    "MTR-100006": {"insecure_join"},
    "MTR-100007": {"unknown_device", "insecure_join"},
    "MTR-100008": {"channel_interference"},
    "MTR-100009": {"healthy"},
    "MTR-100010": {"empty_han"},
    "MTR-100011": {"over_capacity", "outdated_firmware", "customer_router_dependency"},
}


@pytest.mark.parametrize(("meter_number", "rules"), sorted(EXPECTED_RULES.items()))
def test_each_scenario_is_diagnosed_with_its_problem(rep_user, meter_number, rules):
    run = _run_test(meter_number, rep_user)
    assert set(run.findings.values_list("rule", flat=True)) == rules
    assert run.status == (HanTestRun.Status.PASSED if rules == {"healthy"} else "failed")
    assert run.progress == 100
    assert run.steps.filter(status=RunStep.Status.FAILED).count() == 0


def test_scan_records_every_device_with_its_fields(rep_user):
    run = _run_test("MTR-100002", rep_user)
    display = run.devices.get(eui64="00:1b:c5:0c:00:21:7f:10")
    assert display.category == "in_home_display"
    assert (display.manufacturer, display.model) == ("Rainforest Automation", "EMU-2")
    assert display.link_quality is not None and display.link_quality < 60
    assert display.join_method == "install_code"
    assert display.registered is True
    assert display.profile_id == 0x0109
    plug = run.devices.get(eui64="28:2c:02:bf:ff:e6:0a:12")
    assert plug.network == "customer"
    assert list(run.steps.values_list("key", flat=True)) == [
        "connect",
        "enumerate",
        "scan:han0",
        "energy:han0",
        "operational",
        "diagnose",
    ]
    assert run.interfaces.get().channel == 15


def test_two_interfaces_are_enumerated_and_scanned(rep_user):
    run = _run_test("MTR-100009", rep_user)
    assert sorted(run.interfaces.values_list("identifier", flat=True)) == ["han0", "han1"]
    assert set(run.devices.values_list("interface", flat=True)) == {"han0", "han1"}
    premise = _premise("MTR-100009")
    assert premise.premises_gateway.interfaces.count() == 2


def test_one_active_run_per_premise(rep_user):
    premise = _premise("MTR-100001")
    first = han_test_start(premise=premise, user=rep_user)
    with pytest.raises(ActiveRunExists) as raised:
        han_test_start(premise=premise, user=rep_user)
    assert raised.value.run == first


def test_database_refuses_a_second_active_run_even_in_a_race(rep_user):
    run = han_test_start(premise=_premise("MTR-100001"), user=rep_user)
    with pytest.raises(IntegrityError):
        HanTestRun.objects.create(case=run.case, premise=run.premise, number=2)


def test_task_is_enqueued_only_after_commit(rep_user, django_capture_on_commit_callbacks):
    from unittest import mock

    with mock.patch("portal.test_runs.tasks.execute_han_test_run.apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            run = han_test_start(premise=_premise("MTR-100001"), user=rep_user)
            assert not apply_async.called
        for callback in callbacks:
            callback()
    apply_async.assert_called_once_with((run.pk,), {}, queue="default")


def test_runs_go_to_the_queue_of_their_region(rep_user, settings):
    from unittest import mock

    settings.HAN_REGION_QUEUES = {"south": "han-south"}
    with mock.patch("portal.test_runs.tasks.execute_han_test_run.apply_async"):
        run = han_test_start(premise=_premise("MTR-100003"), user=rep_user)  # region south
        run.refresh_from_db()
    assert run.queue == "han-south"


def test_task_delivered_twice_records_nothing_twice(rep_user):
    run = han_test_start(premise=_premise("MTR-100002"), user=rep_user)
    han_test_run_execute(run.pk)
    counts = (run.devices.count(), run.findings.count(), run.steps.count())
    han_test_run_execute(run.pk)
    assert (run.devices.count(), run.findings.count(), run.steps.count()) == counts


def test_unreachable_gateway_fails_the_run_with_an_escalation(rep_user):
    premise = _premise("MTR-100001")
    from tests.commands import free_port

    premise.premises_gateway.service_url = f"http://127.0.0.1:{free_port()}"
    premise.premises_gateway.save(update_fields=["service_url"])
    run = _run_test("MTR-100001", rep_user)
    assert run.status == HanTestRun.Status.FAILED
    finding = run.findings.get()
    assert (finding.rule, finding.action) == ("gateway_unreachable", "escalate_to_ami_network")
    assert "could not be reached" in finding.evidence


def test_wrong_gateway_secret_fails_clearly_without_showing_it(rep_user, caplog):
    from trust_center.services import gateway_credential_rotate

    premise = _premise("MTR-100001")
    secret = gateway_credential_rotate(premises_gateway=premise.premises_gateway)
    run = _run_test("MTR-100001", rep_user)
    finding = run.findings.get()
    assert finding.rule == "gateway_unreachable"
    assert "refused the portal's credentials" in finding.evidence
    assert secret not in caplog.text
    assert secret not in finding.evidence


def test_cancel_before_a_worker_takes_it(rep_user):
    run = han_test_start(premise=_premise("MTR-100001"), user=rep_user)
    han_test_cancel(run=run, user=rep_user)
    run.refresh_from_db()
    assert run.status == HanTestRun.Status.CANCELLED
    han_test_run_execute(run.pk)  # the task arrives anyway
    assert run.devices.count() == 0


def test_cancel_while_running_stops_at_the_next_step(rep_user):
    run = han_test_start(premise=_premise("MTR-100011"), user=rep_user)
    HanTestRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    han_test_run_execute(run.pk)
    run.refresh_from_db()
    assert run.status == HanTestRun.Status.CANCELLED
    assert run.findings.count() == 0
    with pytest.raises(HanTestError, match="already finished"):
        han_test_cancel(run=run, user=rep_user)


def test_stale_runs_are_reaped(rep_user, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.HAN_RUN_STALE_AFTER_S = 30
    running = han_test_start(premise=_premise("MTR-100001"), user=rep_user)
    HanTestRun.objects.filter(pk=running.pk).update(
        status="running", heartbeat_at=timezone.now() - timedelta(seconds=31)
    )
    fresh = han_test_start(premise=_premise("MTR-100002"), user=rep_user)
    HanTestRun.objects.filter(pk=fresh.pk).update(status="running", heartbeat_at=timezone.now())
    assert han_test_runs_reap() == 1
    running.refresh_from_db()
    fresh.refresh_from_db()
    assert running.status == HanTestRun.Status.ERROR
    assert "worker running it was lost" in running.error_message
    assert fresh.status == HanTestRun.Status.RUNNING


def test_act_and_retest_loop_resolves_the_case(rep_user, scenario_switch):
    run = _run_test("MTR-100002", rep_user)
    assert run.status == HanTestRun.Status.FAILED
    recorded_action_create(run=run, user=rep_user, action="change_range", note="Moved the IHD")
    scenario_switch("MTR-100002", "weak_link_fixed")
    second = han_test_retest(run=run, user=rep_user)
    assert (second.case_id, second.number) == (run.case_id, 2)
    han_test_run_execute(second.pk)
    second.refresh_from_db()
    assert second.status == HanTestRun.Status.PASSED
    assert HanTestCase.objects.get(pk=run.case_id).status == HanTestCase.Status.RESOLVED

    from portal.test_runs.payloads import run_comparison

    comparison = run_comparison(second)
    assert [f["rule"] for f in comparison["findings_resolved"]] == ["weak_link"]
    change = comparison["link_quality_changes"][0]
    assert change["device"]["eui64"] == "00:1b:c5:0c:00:21:7f:10"
    assert change["after"] > change["before"]


def test_a_failing_retest_stays_in_the_open_case(rep_user):
    run = _run_test("MTR-100002", rep_user)
    second = han_test_retest(run=run, user=rep_user)
    han_test_run_execute(second.pk)
    second.refresh_from_db()
    assert second.status == HanTestRun.Status.FAILED
    assert second.case.status == HanTestCase.Status.OPEN
    third = han_test_start(premise=run.premise, user=rep_user)
    assert (third.case_id, third.number) == (run.case_id, 3)


@pytest.mark.parametrize(
    ("action", "note", "message"),
    [
        ("paint_it_blue", "", "Pick one of the recommended actions"),
        ("other", "", "Describe the action"),
        ("other", "x" * 1001, "under 1000"),
    ],
)
def test_bad_action_is_refused_with_a_reason(rep_user, action, note, message):
    run = _run_test("MTR-100002", rep_user)
    with pytest.raises(HanTestError, match=message):
        recorded_action_create(run=run, user=rep_user, action=action, note=note)


def test_action_cannot_be_recorded_while_running(rep_user):
    run = han_test_start(premise=_premise("MTR-100002"), user=rep_user)
    with pytest.raises(HanTestError, match="Wait for the run"):
        recorded_action_create(run=run, user=rep_user, action="change_range")


def test_observed_devices_keep_their_discovery_order(rep_user):
    run = _run_test("MTR-100011", rep_user)
    sequences = list(ObservedDevice.objects.filter(run=run).values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    assert len(sequences) == 60


def test_a_queued_run_whose_message_was_lost_is_sent_again(rep_user, settings):
    from datetime import timedelta
    from unittest import mock

    from django.utils import timezone

    settings.HAN_RUN_REQUEUE_AFTER_S = 30
    run = han_test_start(premise=_premise("MTR-100001"), user=rep_user)
    HanTestRun.objects.filter(pk=run.pk).update(enqueued_at=timezone.now() - timedelta(seconds=31))
    with mock.patch("portal.test_runs.tasks.execute_han_test_run.apply_async") as apply_async:
        assert han_test_runs_reap() == 0
    apply_async.assert_called_once_with((run.pk,), {}, queue="default")
    run.refresh_from_db()
    assert run.status == HanTestRun.Status.QUEUED
    assert run.enqueued_at > timezone.now() - timedelta(seconds=5)
