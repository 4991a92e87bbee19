"""Routes on the simulated HAN: a router that is switched off cuts off the devices that reach the
meter only through it, an alternate parent keeps a device on the network, and the scan still
names a cut-off device's parent from the topology the coordinator stored."""

from typing import Any

import pytest

from han_gateway.scenarios import ScenarioError, parse_scenario
from han_gateway.service.scan import HanScan
from tests.han_gateway.conftest import COORDINATOR, small_scenario

THERMOSTAT = "00:0d:6f:00:0a:00:00:01"  # a router; the display's parent
DISPLAY = "00:0d:6f:00:0a:00:00:02"
SWITCH = "00:0d:6f:00:0a:00:00:03"


def _thermostat_off(**display: Any) -> dict[str, Any]:
    document = small_scenario()
    document["devices"][0]["reachable"] = False
    document["devices"][1].update(display)
    return document


async def _reports(app: Any) -> dict[str, Any]:
    async def ignore(event: object) -> None:
        return None

    scan = HanScan(app, ignore)
    await scan.run()
    return {str(eui64): report for eui64, report in scan.reports.items()}


@pytest.mark.asyncio
async def test_a_router_switched_off_cuts_off_its_child_which_keeps_its_stored_parent(simulated):
    app = await simulated(parse_scenario(_thermostat_off()))
    for _ in range(2):  # a second scan still knows where the display sat
        reports = await _reports(app)
        assert reports[THERMOSTAT].reachable is False
        display = reports[DISPLAY]
        assert display.reachable is False  # its only route runs through the thermostat
        assert display.parent == THERMOSTAT  # from the coordinator's stored topology
        assert reports[SWITCH].reachable is True


@pytest.mark.asyncio
async def test_with_every_router_on_the_child_answers_through_its_parent(simulated):
    app = await simulated(parse_scenario(small_scenario()))
    display = (await _reports(app))[DISPLAY]
    assert (display.reachable, display.parent, display.depth) == (True, THERMOSTAT, 2)


@pytest.mark.asyncio
async def test_an_alternate_parent_keeps_the_child_on_the_network(simulated):
    app = await simulated(parse_scenario(_thermostat_off(alternate_parents=["coordinator"])))
    display = (await _reports(app))[DISPLAY]
    assert display.reachable is True
    assert (display.parent, display.depth) == (str(COORDINATOR.eui64), 1)


@pytest.mark.asyncio
async def test_an_alternate_behind_the_same_dead_router_does_not_help(simulated):
    document = _thermostat_off()
    document["devices"][2]["device_type"] = "router"
    document["devices"][2]["parent"] = THERMOSTAT
    document["devices"][1]["alternate_parents"] = [SWITCH]
    app = await simulated(parse_scenario(document))
    reports = await _reports(app)
    assert reports[SWITCH].reachable is False and reports[SWITCH].parent == THERMOSTAT
    assert reports[DISPLAY].reachable is False


@pytest.mark.parametrize(
    ("index", "alternates", "problem"),
    [
        (0, [DISPLAY], "devices[1] is an end device; only routers have children"),
        (1, ["00:0d:6f:00:0a:00:00:99"], "no device has EUI-64 00:0d:6f:00:0a:00:00:99"),
        (0, [THERMOSTAT], "a device cannot be its own parent"),
        (1, ["not an address"], "alternate_parents"),
    ],
)
def test_a_bad_alternate_parent_is_refused_naming_it(index, alternates, problem):
    document = small_scenario()
    document["devices"][index]["alternate_parents"] = alternates
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(document)
    assert "alternate_parents" in str(raised.value)
    assert problem in str(raised.value)
