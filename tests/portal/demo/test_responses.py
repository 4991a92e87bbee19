"""Every demo premise's problem can be taken to a resolved case: the action the diagnosis
recommends is recorded, the simulated premise answers it, and the retest passes."""

import pytest

from portal.demo.responses import DEMO_FIXES, demo_premise_respond
from portal.models import Escalation, HanTestCase, Premise, RecordedAction, User
from portal.test_runs import cases
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.start import han_test_retest, recorded_action_create
from tests.portal.test_runs.runs import run_at

pytestmark = pytest.mark.django_db(transaction=True)


def _retest(run):
    rep = User.objects.get(username="rep")
    after = han_test_retest(run=run, user=rep)
    han_test_run_execute(after.pk)
    after.refresh_from_db()
    return after


@pytest.mark.parametrize(
    ("meter", "action"),
    [
        ("MTR-100002", "change_range"),
        ("MTR-100004", "install_additional_device"),
        ("MTR-100005", "upgrade_device"),
        ("MTR-100006", "change_security_settings"),
        ("MTR-100007", "investigate_device"),
    ],
)
def test_the_recommended_action_fixes_the_demo_premise(
    demo_world, no_enqueue, demo_responds, meter, action
):
    demo_responds(meter)
    run = run_at(meter)
    assert run.status == "failed"
    assert action in {finding.action for finding in run.findings.all()}

    recorded_action_create(run=run, user=User.objects.get(username="rep"), action=action)
    after = _retest(run)

    assert after.status == "passed", [f.title for f in after.findings.all()]
    assert HanTestCase.objects.get(pk=run.case_id).status == "resolved"


def test_the_ami_teams_channel_change_fixes_the_busy_channel(demo_world, no_enqueue, demo_responds):
    demo_responds("MTR-100008")
    run = run_at("MTR-100008")
    assert {finding.action for finding in run.findings.all()} == {"change_channel"}
    rep = User.objects.get(username="rep")
    escalation = cases.escalation_raise(
        case=run.case, user=rep, kind="channel_change", reason="Wi-Fi on channel 6"
    )
    assert _retest(run).status == "failed"  # asked, not yet done

    cases.escalation_update(escalation=escalation, user=rep, status="done", answer="Now on 25")
    last = _retest(run)
    assert last.status == "passed"
    assert Escalation.objects.get().status == "done"


def test_an_action_that_does_not_fix_it_changes_nothing(demo_world, no_enqueue, demo_responds):
    demo_responds("MTR-100002")
    run = run_at("MTR-100002")
    recorded_action_create(run=run, user=User.objects.get(username="rep"), action="upgrade_device")
    assert _retest(run).status == "failed"


def test_only_a_gateway_holding_the_demos_public_secret_is_touched(
    demo_world, no_enqueue, demo_responds
):
    from trust_center.services import gateway_credential_rotate

    demo_responds("MTR-100002")
    premise = Premise.objects.get(premises_gateway__meter_number="MTR-100002")
    gateway_credential_rotate(premises_gateway=premise.premises_gateway)
    assert demo_premise_respond(premise=premise, action="change_range") is None


def test_the_suite_keeps_the_demo_premises_still_unless_asked(demo_world, no_enqueue):
    run = run_at("MTR-100002")
    recorded_action_create(run=run, user=User.objects.get(username="rep"), action="change_range")
    assert RecordedAction.objects.count() == 1
    assert _retest(run).status == "failed"


def test_each_fix_names_a_library_scenario_that_loads():
    from han_gateway.scenarios import load_library_scenario

    for _interface, scenario in DEMO_FIXES.values():
        assert load_library_scenario(scenario).name == scenario


@pytest.mark.parametrize(
    ("meter", "device"),
    [
        (
            "MTR-100003",
            ("00:0d:6f:00:05:3c:51:08", "load_control_switch", "Eaton", "Yukon LCR-6601S"),
        ),
        (
            "MTR-100010",
            ("00:1b:c5:0c:00:44:21:07", "in_home_display", "Rainforest Automation", "EMU-2"),
        ),
    ],
)
def test_a_device_waiting_to_join_is_registered_and_the_retest_passes(
    demo_world, no_enqueue, eager_tasks, scenario_switch, join_log, meter, device
):
    from portal.commissioning.services import device_register

    scenario_switch(meter, None)  # the join leaves the device on the demo HAN
    run = run_at(meter)
    assert run.status == "failed"
    device_register(
        premise=run.premise,
        user=User.objects.get(username="rep"),
        eui64=device[0],
        install_code="83FED3407A939723A5C639B26916D505C3B5",
        category=device[1],
        manufacturer=device[2],
        model=device[3],
    )
    # The device joins once the window is open, after its radio's join delay: the rep retests
    # when the device has joined, not before.
    join_log(meter, device[0], "joined")
    after = _retest(run)
    assert after.status == "passed", [finding.title for finding in after.findings.all()]
