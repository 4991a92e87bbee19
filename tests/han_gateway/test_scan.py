"""Full scans with zigpy's real interview and ZDO code against every library scenario."""

import asyncio

import pytest
import zigpy.types as t

from han_gateway.scenarios import library_names, load_library_scenario, parse_scenario
from han_gateway.service.scan import HanScan
from tests.han_gateway.conftest import COORDINATOR, small_scenario

REPORT_FIELDS = {
    "eui64",
    "nwk",
    "device_type",
    "manufacturer",
    "model",
    "sw_build_id",
    "ota_file_version",
    "power_source",
    "reachable",
    "interview",
    "join_method",
    "profile_id",
    "endpoints",
    "parent",
    "depth",
    "lqi",
    "rssi",
    "links",
    "sleepy",
    "last_heard",
}


async def run_scan(app, **options):
    events = []

    async def emit(event):
        events.append(event)

    summary = await HanScan(app, emit, **options).run()
    return events, summary


@pytest.mark.asyncio
@pytest.mark.parametrize("name", library_names())
async def test_library_scenario_scans_with_every_device_and_field(simulated, name):
    scenario = load_library_scenario(name)
    app = await simulated(scenario)

    events, summary = await run_scan(app)

    reports = {event.device.eui64: event.device for event in events if event.event == "device"}
    coordinator = reports.pop(str(COORDINATOR.eui64))
    assert coordinator.device_type == "coordinator"
    assert coordinator.model == COORDINATOR.model
    on_air = [spec for spec in scenario.devices if not spec.pending_join]
    assert set(reports) == {str(spec.eui64) for spec in on_air}
    assert summary.device_count == len(on_air)
    for spec in on_air:
        report = reports[str(spec.eui64)]
        assert set(report.to_wire()) == REPORT_FIELDS
        assert report.nwk == f"0x{spec.nwk:04X}"
        answers = spec.reachable and not app.han.nodes[spec.eui64].cut_off
        assert report.reachable is answers
        if not answers:
            assert report.interview == "failed"
            assert report.manufacturer is None
            continue
        assert report.interview == "complete"
        assert report.device_type == spec.device_type
        assert report.manufacturer == spec.manufacturer
        assert report.model == spec.model
        assert report.sw_build_id == spec.sw_build_id
        assert report.ota_file_version == spec.ota_file_version
        assert report.power_source == spec.power_source
        assert report.join_method == "unknown"  # a scan without a join log knows no join
        assert report.profile_id == spec.profile_id
        assert report.endpoints[0].input_clusters == sorted(spec.endpoints[0].input_clusters)
        expected_parent = str(spec.parent) if spec.parent else str(COORDINATOR.eui64)
        assert report.parent == expected_parent
        parent_link = next(link for link in report.links if link.neighbor == expected_parent)
        assert parent_link.relationship == "parent"
        assert parent_link.lqi_outbound == spec.link.link_quality
        assert parent_link.lqi_inbound == spec.link.reverse_link_quality
        if spec.parent is None:
            assert parent_link.rssi == spec.link.rssi


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
