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


def test_a_message_lost_on_the_way_is_not_delivered_and_the_advice_is_range(
    demo_world, no_enqueue, scenario_switch
):
    scenario_switch(METER, _switch_that(loses_messages=True))
    run = run_at(METER)
    assert run.status == HanTestRun.Status.FAILED
    (finding,) = run.findings.all()
    assert (finding.rule, finding.eui64, finding.action) == (
        "message_not_delivered",
        SWITCH,
        "change_range",
    )
    assert run.devices.get(eui64=SWITCH).operational_check == "not_delivered"


def test_a_message_received_but_not_confirmed_is_a_set_up_matter(
    demo_world, no_enqueue, scenario_switch
):
    scenario_switch(METER, _switch_that(acknowledges=[]))
    run = run_at(METER)
    (finding,) = run.findings.all()
    assert (finding.rule, finding.eui64, finding.action) == (
        "operational_check_failed",
        SWITCH,
        "check_device_programs",
    )
    assert run.devices.get(eui64=SWITCH).operational_check == "not_acknowledged"


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
