"""Scans with zigpy's real interview and ZDO code: order, rescans, pacing and sleepy devices.

Every library scenario through the service on every radio: test_service_on_radios.py."""

import asyncio

import pytest
import zigpy.types as t

from han_gateway.scenarios import parse_scenario
from han_gateway.service.scan import HanScan
from tests.han_gateway.conftest import COORDINATOR, small_scenario


async def run_scan(app, **options):
    events = []

    async def emit(event):
        events.append(event)

    summary = await HanScan(app, emit, **options).run()
    return events, summary


@pytest.mark.asyncio
async def test_device_events_come_as_devices_are_found(simulated):
    document = small_scenario()
    document["devices"][1]["sleepy"] = True
    document["devices"][1]["poll_interval_ms"] = 100
    app = await simulated(parse_scenario(document))
    scan_done = asyncio.Event()
    devices_before_finish = []

    async def emit(event):
        if event.event == "device" and not scan_done.is_set():
            devices_before_finish.append(event.device.eui64)

    await HanScan(app, emit).run()
    scan_done.set()
    # The sleepy display answers last; everything else was emitted while it was pending.
    assert devices_before_finish[-1] == "00:0d:6f:00:0a:00:00:02"
    assert len(devices_before_finish) == 4


@pytest.mark.asyncio
async def test_rescan_asks_every_device_again(simulated, small):
    app = await simulated(small)
    await run_scan(app)
    first_round_trips = app.han.stats.round_trips
    app.han.remove(t.EUI64.convert("00:0d:6f:00:0a:00:00:03"))

    _, summary = await run_scan(app)

    assert app.han.stats.round_trips > first_round_trips
    assert summary.device_count == 2


@pytest.mark.asyncio
async def test_device_known_to_the_coordinator_but_in_no_table_is_reported_unreachable(
    simulated, small_with_unreachable_switch
):
    app = await simulated(small_with_unreachable_switch)
    switch_eui64 = small_with_unreachable_switch.devices[2].eui64
    # The coordinator forgot the switch from its neighbour table but kept its address.
    app.han.nodes[switch_eui64].parent_nwk = t.NWK(0xFFFD)

    events, summary = await run_scan(app)

    switch = next(
        e.device for e in events if e.event == "device" and e.device.eui64 == str(switch_eui64)
    )
    assert switch.reachable is False
    assert summary.unreachable_count == 1


@pytest.mark.asyncio
async def test_zigpy_default_pacing_finds_the_same_devices(simulated, small, monkeypatch):
    monkeypatch.setattr("zigpy.topology.REQUEST_DELAY", (0.0, 0.0))
    app = await simulated(small)
    events, summary = await run_scan(app, pacing="zigpy_default")
    found = {e.device.eui64 for e in events if e.event == "device"}
    assert found == {str(COORDINATOR.eui64)} | {str(spec.eui64) for spec in small.devices}
    assert summary.pacing == "zigpy_default"


@pytest.mark.asyncio
async def test_a_sleepy_device_that_does_not_poll_in_time_is_reported_asleep(simulated):
    document = small_scenario()
    document["devices"][1].update(sleepy=True, poll_interval_ms=30_000)
    app = await simulated(parse_scenario(document))
    scan = HanScan(app, _ignore)
    await scan.run()
    display = scan.reports[t.EUI64.convert("00:0d:6f:00:0a:00:00:02")]
    assert (display.reachable, display.sleepy, display.last_heard) == (False, True, None)
    awake = [report for eui64, report in scan.reports.items() if report is not display]
    assert all(report.reachable and report.sleepy is not True for report in awake)


async def _ignore(event):
    return None


@pytest.mark.asyncio
@pytest.mark.parametrize("failure", [TimeoutError("no answer"), RuntimeError("EZSP error")])
async def test_a_radio_that_does_not_give_its_counters_still_gets_its_scan(
    simulated, small, failure, caplog
):
    app = await simulated(small)

    async def refuse():
        raise failure

    app.read_and_clear_stack_counters = refuse

    _, summary = await run_scan(app)

    assert summary.device_count == 3
    assert summary.stack_counters is None
    assert "did not give its stack counters" in caplog.text
