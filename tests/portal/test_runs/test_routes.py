"""Routes through real runs: a utility thermostat whose only route runs through the customer's
smart plug, with the plug switched off, on, or with another route to the meter; and a weak
link two hops away, judged on its own hop."""

from typing import Any

import pytest

from han_gateway.eui64 import mask_eui64
from portal.models import HanTestRun
from tests.portal.test_runs.runs import library_document, run_at

pytestmark = pytest.mark.django_db

METER = "MTR-100001"
THERMOSTAT = "00:0d:6f:00:0a:90:69:e7"
PLUG = "28:2c:02:bf:ff:e6:0a:12"
DISPLAY = "00:1b:c5:0c:00:21:7f:10"
SWITCH = "00:0d:6f:00:05:3c:44:a1"


def _device(document: dict[str, Any], eui64: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in document["devices"] if d["eui64"] == eui64)
    return found


def test_the_switched_off_plug_is_named_and_the_thermostat_is_not_beyond_reach(
    demo_world, no_enqueue, scenario_switch
):
    scenario_switch(METER, "router_switched_off")
    run = run_at(METER)
    assert run.status == HanTestRun.Status.FAILED
    (finding,) = run.findings.all()
    assert (finding.rule, finding.severity, finding.action) == (
        "router_down",
        "critical",
        "restore_router",
    )
    plug = f"the customer's smart plug ({mask_eui64(PLUG)})"
    assert finding.title == (
        f"2 devices cut off: their only route to the meter is through {plug}, which does not answer"
    )
    assert f"({THERMOSTAT})" in finding.evidence
    assert PLUG not in finding.evidence + finding.title  # the customer's device stays masked
    assert finding.eui64 == mask_eui64(PLUG)
    assert "Your smart plug seems to be switched off" in finding.customer_text
    assert "Please switch it back on" in finding.customer_text
    thermostat = run.devices.get(eui64=THERMOSTAT)
    assert thermostat.reachable is False and thermostat.details["parent"] == PLUG
    assert run.interfaces.get().radio == "simulated"  # the LQI scale its links are judged on


def test_with_the_plug_on_the_run_passes_and_flags_the_dependency(
    demo_world, no_enqueue, scenario_switch
):
    document = library_document("router_switched_off")
    _device(document, PLUG)["reachable"] = True
    scenario_switch(METER, document)
    run = run_at(METER)
    assert run.status == HanTestRun.Status.PASSED
    rules = list(run.findings.values_list("rule", "severity", "eui64"))
    assert sorted(rules) == [
        ("customer_router_dependency", "info", THERMOSTAT),
        ("healthy", "pass", ""),
    ]
    flag = run.findings.get(rule="customer_router_dependency")
    assert "only through the customer's smart plug" in flag.title
    assert "Please keep your smart plug plugged in" in flag.customer_text


def test_another_route_to_the_meter_keeps_the_thermostat_on_the_network(
    demo_world, no_enqueue, scenario_switch
):
    document = library_document("router_switched_off")
    _device(document, THERMOSTAT)["alternate_parents"] = ["coordinator"]
    scenario_switch(METER, document)
    run = run_at(METER)
    # The plug cut off only the customer's own door sensor: nothing for the utility to do.
    assert list(run.findings.values_list("rule", flat=True)) == ["healthy"]
    assert run.devices.get(eui64=THERMOSTAT).reachable is True


def test_a_weak_link_two_hops_away_is_judged_on_its_hop_to_its_parent(
    demo_world, no_enqueue, scenario_switch
):
    document = library_document("healthy")
    _device(document, DISPLAY).update(parent=SWITCH, link_quality=78, reverse_link_quality=84)
    scenario_switch(METER, document)
    run = run_at(METER)
    (finding,) = run.findings.exclude(rule="healthy")
    assert finding.rule == "weak_link" and finding.eui64 == DISPLAY
    assert finding.title.endswith(f"has a weak link to its parent, Load control switch ({SWITCH})")
    assert finding.evidence.startswith("link quality 78 (weak below 100)")
    assert "RSSI" not in finding.evidence  # the meter's RSSI is of another hop
    assert "Move it closer to the load control switch it connects through" in (
        finding.customer_text
    )
