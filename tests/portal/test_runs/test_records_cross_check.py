"""A registered device is looked for where it really joined: the meter's other interface, or a
neighbour's meter; and a neighbour is not given advice about a device that is not theirs."""

import copy
from typing import Any

import pytest

from portal.models import HanTestRun
from tests.portal.test_runs.runs import library_document, run_at

pytestmark = pytest.mark.django_db

POOL_PUMP = "00:0d:6f:00:05:3c:51:08"  # registered at MTR-100003, never joined there
THERMOSTAT = "00:0d:6f:00:0a:90:69:e7"  # on record on MTR-100009's han0


def _findings(run: HanTestRun) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rule, eui64 in run.findings.values_list("rule", "eui64"):
        found.setdefault(eui64, set()).add(rule)
    return found


def _pool_pump_at_the_neighbours(link_quality: int) -> dict[str, Any]:
    """MTR-100001's healthy HAN, with the pool pump switch of MTR-100003 joined to it, weakly."""
    document = library_document("healthy")
    switch = copy.deepcopy(
        next(d for d in document["devices"] if d["category"] == "load_control_switch")
    )
    switch.update(eui64=POOL_PUMP, name="Pool pump switch")
    switch.update(link_quality=link_quality, reverse_link_quality=link_quality)
    document["devices"].append(switch)
    return document


def test_a_device_joined_to_a_neighbours_meter_is_found_there_not_called_missing(
    demo_world, no_enqueue, scenario_switch
):
    scenario_switch("MTR-100001", _pool_pump_at_the_neighbours(link_quality=70))
    neighbour = run_at("MTR-100001")
    # The neighbour is told the switch is not theirs, and nothing else about it (no weak link).
    assert _findings(neighbour)[POOL_PUMP] == {"unknown_device"}
    (stranger,) = neighbour.findings.filter(eui64=POOL_PUMP)
    assert "registered to another premise's meter" in stranger.title
    assert "make it leave this HAN" in stranger.evidence

    own = run_at("MTR-100003")
    assert _findings(own)[POOL_PUMP] == {"joined_elsewhere"}
    (finding,) = own.findings.filter(eui64=POOL_PUMP)
    assert finding.severity == "critical" and finding.action == "rejoin_device"
    assert "meter MTR-100001 on " in finding.evidence
    assert "neighbouring meter" in finding.customer_text
    assert own.status == HanTestRun.Status.FAILED


def test_a_meter_whose_own_records_hold_the_device_is_no_evidence_it_joined_there(
    demo_world, no_enqueue
):
    # The demo's MTR-100004 has the same switch on its own records (needs_router).
    run_at("MTR-100004")
    own = run_at("MTR-100003")
    assert _findings(own)[POOL_PUMP] == {"registered_device_missing"}


def test_a_device_on_the_meters_other_interface_is_told_to_move_to_its_own(
    demo_world, no_enqueue, scenario_switch
):
    first, second = library_document("two_interfaces"), library_document("two_interfaces_second")
    thermostat = next(d for d in first["devices"] if d["eui64"] == THERMOSTAT)
    first["devices"].remove(thermostat)
    second["devices"].append(thermostat)
    scenario_switch("MTR-100009", first, interface="han0")
    scenario_switch("MTR-100009", second, interface="han1")
    run = run_at("MTR-100009")
    assert _findings(run)[THERMOSTAT] == {"joined_elsewhere"}
    (finding,) = run.findings.filter(eui64=THERMOSTAT)
    assert "joined interface han1, not its own han0" in finding.title
    assert "reopen its join window on han0" in finding.evidence
