"""The operational check through real runs: a device whose utility messages are lost on the way
is a radio matter (not delivered), one that receives them and does not confirm is a set-up one."""

from typing import Any

import pytest

from portal.models import HanTestRun
from tests.portal.test_runs.runs import library_document, run_at

pytestmark = pytest.mark.django_db

METER = "MTR-100001"
SWITCH = "00:0d:6f:00:05:3c:44:a1"  # the water heater's load control switch (a DRLC client)


def _switch_that(**changes: Any) -> dict[str, Any]:
    document = library_document("healthy")
    next(d for d in document["devices"] if d["eui64"] == SWITCH).update(changes)
    return document


@pytest.mark.parametrize(
    ("switch", "rule", "action", "check"),
    [
        # Lost on the way: a radio matter, the advice is range.
        ({"loses_messages": True}, "message_not_delivered", "change_range", "not_delivered"),
        # Received and not confirmed: a set-up matter.
        (
            {"acknowledges": []},
            "operational_check_failed",
            "check_device_programs",
            "not_acknowledged",
        ),
    ],
    ids=["lost_on_the_way", "received_not_confirmed"],
)
def test_a_utility_message_the_switch_does_not_confirm_is_diagnosed_by_what_the_radio_saw(
    demo_world, no_enqueue, scenario_switch, switch, rule, action, check
):
    scenario_switch(METER, _switch_that(**switch))
    run = run_at(METER)
    assert run.status == HanTestRun.Status.FAILED
    (finding,) = run.findings.all()
    assert (finding.rule, finding.eui64, finding.action) == (rule, SWITCH, action)
    assert run.devices.get(eui64=SWITCH).operational_check == check


def test_a_device_on_old_firmware_that_ignores_a_message_is_upgraded_first(demo_world, no_enqueue):
    """MTR-100005: the thermostat runs an image below the approved one and does not confirm
    the test message; the verdict leads with the upgrade, the enrolment check comes after."""
    thermostat = "00:0d:6f:00:0a:90:69:e7"
    run = run_at("MTR-100005")
    findings = list(run.findings.order_by("position"))
    assert findings[0].action == "upgrade_device"
    rules = [(finding.rule, finding.eui64) for finding in findings]
    assert rules.index(("outdated_firmware", thermostat)) < rules.index(
        ("operational_check_failed", thermostat)
    )
    ignored = next(finding for finding in findings if finding.rule == "operational_check_failed")
    assert "upgrade it first" in ignored.evidence
