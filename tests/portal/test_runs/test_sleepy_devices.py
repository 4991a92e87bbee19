"""A battery thermostat that polls its parent every 30 s is asleep, not out of reach, and never
an AMI failure; the run ends in its time, and it does not pass on a device it could not check."""

from typing import Any

import pytest

from portal.models import HanTestRun
from tests.portal.test_runs.runs import library_document, run_at

pytestmark = pytest.mark.django_db

THERMOSTAT = "00:0d:6f:00:0a:90:69:e7"


def _healthy_with_a_thermostat_polling_every(poll_interval_ms: int) -> dict[str, Any]:
    document = library_document("healthy")
    thermostat = next(d for d in document["devices"] if d["eui64"] == THERMOSTAT)
    thermostat.update(sleepy=True, poll_interval_ms=poll_interval_ms)
    return document


def test_a_thermostat_that_polls_every_30_s_is_asleep_not_beyond_reach(
    demo_world, no_enqueue, scenario_switch
):
    scenario_switch("MTR-100001", _healthy_with_a_thermostat_polling_every(30_000))
    run = run_at("MTR-100001")
    assert set(run.findings.values_list("rule", flat=True)) == {"device_asleep"}
    (finding,) = run.findings.all()
    assert finding.eui64 == THERMOSTAT and finding.action == "wake_device"
    assert "receiver off when idle" in finding.evidence and "7.68 s" in finding.evidence
    assert "Press a button on it" in finding.customer_text
    assert run.status == HanTestRun.Status.FAILED  # not checked is not a pass
    thermostat = run.devices.get(eui64=THERMOSTAT)
    assert thermostat.details["sleepy"] is True


def test_a_sleepy_device_that_polls_within_the_persistence_time_answers(
    demo_world, no_enqueue, scenario_switch
):
    scenario_switch("MTR-100001", _healthy_with_a_thermostat_polling_every(2_000))
    run = run_at("MTR-100001")
    assert set(run.findings.values_list("rule", flat=True)) == {"healthy"}
    assert run.devices.get(eui64=THERMOSTAT).details["sleepy"] is True
