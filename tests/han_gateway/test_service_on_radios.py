"""The gateway service, unmodified, on every radio it drives: the simulated radio, zigpy-znp on
an emulated Z-Stack coordinator and bellows on an emulated EmberZNet coordinator, over TCP.

Every test here runs once per radio and expects the same answers from each, except where a real
stack cannot observe something (named where it is asserted). The emulated radios need the
project's ``radios`` extra (``make test-radios``); without it only the simulated radio runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import zigpy.types as t

from han_gateway.radio.lqi import on_chip_scale
from han_gateway.radio.virtual_han import VirtualHan
from han_gateway.scenarios import Scenario, library_names, load_library_scenario
from tests.han_gateway.conftest import EMULATORS, SECRETS, Service, running_service, wait_for

GATEWAY = "MTR-200003"
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
    "aps_encrypted",
    "last_heard",
}
HAN0 = f"/gateways/{GATEWAY}/interfaces/han0"
# What a real stack cannot report. Z-Stack's MT interface carries no RSSI with an incoming frame
# (zigpy-znp reports None).
REPORTS_RSSI = {"simulated": True, "znp": False, "ezsp": True}
# EmberZNet tells the host the network addresses of its own children only (its address table
# is the host's to fill, its Trust Center cache holds joining devices' parents), so a device
# behind a router that does not answer is found by no table: the stack never heard of it. Z-Stack
# keeps every joined device in its address manager; the simulated radio, its stored topology.
KNOWS_DEVICES_BEHIND_SILENT_ROUTERS = {"simulated": True, "znp": True, "ezsp": False}
# Only EmberZNet lets the host read its stack's counters; the simulated radio counts as it does.
KEEPS_STACK_COUNTERS = {"simulated": True, "znp": False, "ezsp": True}


class OnRadio:
    """A running gateway service whose one interface carries a scenario on one radio."""

    def __init__(self, radio: str, scenario: Scenario, service: Service, emulator: Any) -> None:
        self.radio = radio
        self.scenario = scenario
        self.service = service
        self.emulator = emulator

    @property
    def han(self) -> VirtualHan:
        """The virtual HAN behind the radio."""
        if self.emulator is not None:
            han: VirtualHan = self.emulator.virtual_han
            return han
        interface = self.service.registry.gateways[GATEWAY].interfaces["han0"]
        assert interface.simulated_app is not None
        return interface.simulated_app.han

    def answers(self, eui64: t.EUI64) -> bool:
        """Whether the device can answer: on, and with a route to the coordinator."""
        node = self.han.nodes[eui64]
        return node.spec.reachable and not node.cut_off

    async def request(self, method: str, path: str = "", **kwargs: Any) -> tuple[int, Any]:
        return await self.service.request(method, HAN0 + path, GATEWAY, **kwargs)

    async def devices(self) -> dict[str, dict[str, Any]]:
        """A full scan's device reports by EUI-64, the coordinator's included."""
        events = await self._scan()
        return {e["device"]["eui64"]: e["device"] for e in events if e["event"] == "device"}

    async def summary(self) -> dict[str, Any]:
        """A full scan's summary."""
        summary: dict[str, Any] = (await self._scan())[-1]["summary"]
        return summary

    async def _scan(self) -> list[dict[str, Any]]:
        events = await self.service.scan(GATEWAY, "han0")
        assert events[-1]["event"] == "finished", events[-1]
        return events


@contextlib.asynccontextmanager
async def on_radio(radio: str, scenario_name: str, directory: Path) -> AsyncIterator[OnRadio]:
    scenario = load_library_scenario(scenario_name)
    async with contextlib.AsyncExitStack() as stack:
        emulator = None
        if radio == "simulated":
            interface: dict[str, Any] = {"radio": radio, "scenario": scenario_name}
        else:
            library, module, class_name = EMULATORS[radio]
            pytest.importorskip(library, reason="needs the project's 'radios' extra")
            emulator_class = getattr(importlib.import_module(module), class_name)
            emulator = await stack.enter_async_context(emulator_class(scenario))
            interface = {"radio": radio, "device": {"path": emulator.url}}
        document = {
            "listen": {"host": "127.0.0.1", "port": 0},
            "gateways": [
                {
                    "id": GATEWAY,
                    "secret_sha256": hashlib.sha256(SECRETS[GATEWAY].encode()).hexdigest(),
                    "interfaces": [{"id": "han0", **interface}],
                }
            ],
        }
        service = await stack.enter_async_context(running_service(document, directory))
        yield OnRadio(radio, scenario, service, emulator)


@pytest.fixture(params=["simulated", *EMULATORS])
def radio(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture
async def gateway(radio: str, scenario_name: str, tmp_path: Path) -> AsyncIterator[OnRadio]:
    async with on_radio(radio, scenario_name, tmp_path) as running:
        yield running


@pytest.mark.parametrize("scenario_name", library_names())
@pytest.mark.asyncio
async def test_a_scan_reports_every_device_as_the_scenario_has_it(gateway: OnRadio) -> None:
    reports = await gateway.devices()
    status, body = await gateway.service.request("GET", f"/gateways/{GATEWAY}/interfaces", GATEWAY)
    assert status == 200, body
    coordinator_eui64 = body["interfaces"][0]["coordinator_eui64"]
    coordinator = reports.pop(coordinator_eui64)
    assert coordinator["device_type"] == "coordinator"
    # The meter's Energy Service Interface, as its radio registered it from zigpy's config.
    (esi,) = coordinator["endpoints"]
    assert (esi["id"], esi["profile_id"], esi["device_type"]) == (1, 0x0109, 0x0500)
    assert {0x0700, 0x0701, 0x0702, 0x0703, 0x0800} <= set(esi["input_clusters"])
    on_air = [
        spec
        for spec in gateway.scenario.devices
        if not spec.pending_join
        and (
            KNOWS_DEVICES_BEHIND_SILENT_ROUTERS[gateway.radio]
            or spec.parent is None
            or gateway.answers(spec.parent)
        )
    ]
    assert set(reports) == {str(spec.eui64) for spec in on_air}
    for spec in on_air:
        report = reports[str(spec.eui64)]
        assert set(report) == REPORT_FIELDS
        answers = gateway.answers(spec.eui64)
        assert report["reachable"] is answers, spec.eui64
        assert report["nwk"] == f"0x{spec.nwk:04X}"
        # Only joins the service saw are known; on a real radio these joined before it started.
        assert report["join_method"] == (
            spec.logged_join_method or "unknown" if gateway.radio == "simulated" else "unknown"
        )
        if not answers:
            assert (report["interview"], report["manufacturer"]) == ("failed", None)
            assert report["aps_encrypted"] is None
            continue
        # Smart Energy devices answer with APS security; Home Automation ones without.
        assert report["aps_encrypted"] is (spec.profile_id == 0x0109), spec.eui64
        assert report["interview"] == "complete"
        assert (report["device_type"], report["manufacturer"], report["model"]) == (
            spec.device_type,
            spec.manufacturer,
            spec.model,
        )
        assert (report["sw_build_id"], report["ota_file_version"]) == (
            spec.sw_build_id,
            spec.ota_file_version,
        )
        assert report["power_source"] == spec.power_source
        assert report["profile_id"] == spec.profile_id
        assert report["endpoints"][0]["input_clusters"] == sorted(spec.endpoints[0].input_clusters)
        parent = str(spec.parent) if spec.parent else coordinator_eui64
        assert report["parent"] == parent
        link = next(each for each in report["links"] if each["neighbor"] == parent)
        # On the LQI scale of the radio's chip family.
        assert (link["relationship"], link["lqi_outbound"], link["lqi_inbound"]) == (
            "parent",
            on_chip_scale(gateway.radio, spec.link.link_quality),
            on_chip_scale(gateway.radio, spec.link.reverse_link_quality),
        )
        if spec.parent is None:
            assert report["lqi"] == on_chip_scale(gateway.radio, spec.link.link_quality)
            expected_rssi = spec.link.rssi if REPORTS_RSSI[gateway.radio] else None
            assert (report["rssi"], link["rssi"]) == (expected_rssi, expected_rssi)


@pytest.mark.parametrize("scenario_name", ["channel_interference"])
@pytest.mark.asyncio
async def test_the_interface_and_its_energy_scan(gateway: OnRadio) -> None:
    status, body = await gateway.service.request("GET", f"/gateways/{GATEWAY}/interfaces", GATEWAY)
    assert status == 200, body
    (han0,) = body["interfaces"]
    network = gateway.scenario.gateway
    assert (han0["radio"], han0["status"], han0["channel"]) == (gateway.radio, "ready", 17)
    assert han0["pan_id"] == f"0x{network.pan_id:04X}"
    assert han0["extended_pan_id"] == str(network.extended_pan_id)
    assert han0["device_count"] == len(gateway.scenario.devices)

    status, body = await gateway.request("POST", "/energy-scan")
    assert status == 200, body
    assert set(body["energy"]) == {str(channel) for channel in range(11, 27)}
    assert body["current_channel"] == 17
    assert 17 in body["busy_channels"] and 25 not in body["busy_channels"]


@pytest.mark.parametrize(
    "scenario_name", ["healthy", "channel_interference", "bursty_wifi", "router_switched_off"]
)
@pytest.mark.asyncio
async def test_the_stack_counts_what_a_scan_cost(gateway: OnRadio) -> None:
    counted = (await gateway.summary())["stack_counters"]

    if not KEEPS_STACK_COUNTERS[gateway.radio]:
        assert counted is None
        return
    sent = counted["mac_tx_unicast_success"]
    failed = counted["mac_tx_unicast_failed"]
    assert sent > len(gateway.scenario.devices)
    assert counted["aps_data_tx_unicast_success"] == sent
    # The HAN's own channel busy, always or in bursts: the radio backs off before it sends.
    busy = counted["phy_cca_fail_count"]
    if gateway.scenario.name == "channel_interference":
        # Busy all the time: every frame backs off as often as IEEE 802.15.4 lets it
        # (macMaxCSMABackoffs, 4).
        assert busy == 4 * (sent + failed + counted["mac_tx_broadcast"])
    elif gateway.scenario.name == "bursty_wifi":
        assert 0 < busy < sent
    else:
        assert busy == 0
    # A device that cannot answer: each frame to it is retried three times (macMaxFrameRetries),
    # then fails.
    out_of_reach = any(not gateway.answers(spec.eui64) for spec in gateway.scenario.devices)
    assert (failed > 0) == out_of_reach
    assert counted["mac_tx_unicast_retry"] == 3 * failed
    assert counted["aps_data_tx_unicast_failed"] >= failed
    assert counted["nwk_decryption_failure"] == counted["aps_frame_counter_failure"] == 0
    # Read and cleared around the scan: nothing is left over, and the next scan counts only its
    # own frames.
    assert not any(gateway.han.read_stack_counters(clear=False).values())
    again = (await gateway.summary())["stack_counters"]
    assert 0 < again["mac_tx_unicast_success"] < 2 * sent
    if gateway.radio == "ezsp":
        # bellows' own ever-increasing totals keep both scans' counts.
        interface = gateway.service.registry.gateways[GATEWAY].interfaces["han0"]
        assert interface.app is not None
        totals = interface.app.state.counters["ezsp_counters"]
        assert totals["MAC_TX_UNICAST_SUCCESS"].value == sent + again["mac_tx_unicast_success"]


@pytest.mark.parametrize("scenario_name", ["registered_device_missing"])
@pytest.mark.asyncio
async def test_a_registered_device_joins_through_the_join_window(gateway: OnRadio) -> None:
    (waiting,) = (spec for spec in gateway.scenario.devices if spec.pending_join)
    assert waiting.link_key is not None
    body = {
        "eui64": str(waiting.eui64),
        "link_key": bytes(waiting.link_key).hex(),
        "duration_s": 3600,
    }

    status, answer = await gateway.request("POST", "/join-window", json=body)

    assert status == 201, answer
    assert answer["duration_s"] == 3600
    await wait_for(lambda: any(attempt.accepted for attempt in gateway.han.join_attempts))
    found = await gateway.devices()
    assert found[str(waiting.eui64)]["model"] == waiting.model
    assert found[str(waiting.eui64)]["join_method"] == "install_code"


@pytest.mark.parametrize("scenario_name", ["registered_device_missing"])
@pytest.mark.asyncio
async def test_a_join_window_with_the_wrong_key_lets_nothing_in(gateway: OnRadio) -> None:
    (waiting,) = (spec for spec in gateway.scenario.devices if spec.pending_join)
    body = {"eui64": str(waiting.eui64), "link_key": "00" * 16, "duration_s": 60}

    status, answer = await gateway.request("POST", "/join-window", json=body)

    assert status == 201, answer
    await wait_for(lambda: len(gateway.han.join_attempts) == 1)
    assert gateway.han.join_attempts[0].reason == "link_key_mismatch"
    assert str(waiting.eui64) not in await gateway.devices()


@pytest.mark.parametrize("scenario_name", ["healthy"])
@pytest.mark.asyncio
async def test_a_removed_device_leaves_the_han(gateway: OnRadio) -> None:
    switch = next(s for s in gateway.scenario.devices if s.category == "load_control_switch")

    status, body = await gateway.request("DELETE", f"/devices/{switch.eui64}")

    assert status == 200, body
    assert body == {"eui64": str(switch.eui64), "removed": True, "leave_acknowledged": True}
    assert switch.eui64 not in gateway.han.nodes
    assert str(switch.eui64) not in await gateway.devices()
    status, body = await gateway.request("DELETE", f"/devices/{switch.eui64}")
    assert (status, body["error"]["code"]) == (404, "unknown_device")


@pytest.mark.parametrize("scenario_name", ["healthy"])
@pytest.mark.parametrize(
    ("category", "check", "acknowledgement"),
    [
        ("in_home_display", "message", "message_confirmation"),
        ("pct", "drlc", "report_event_status"),
        ("load_control_switch", "drlc", "report_event_status"),
    ],
)
@pytest.mark.asyncio
async def test_a_device_acknowledges_its_operational_check(
    gateway: OnRadio, category: str, check: str, acknowledgement: str
) -> None:
    device = next(s for s in gateway.scenario.devices if s.category == category)
    await gateway.devices()  # as a run does: the scan first, then the checks

    status, body = await gateway.request(
        "POST", f"/devices/{device.eui64}/operational-check", json={"check": check}
    )

    assert status == 200, body
    assert (body["delivered"], body["acknowledged"]) == (True, True), body["detail"]
    assert body["acknowledgement"]["command"] == acknowledgement
    issued = body["issued"]
    id_field = next(iter(issued))
    assert body["acknowledgement"][id_field] == issued[id_field]


@pytest.mark.parametrize("scenario_name", ["router_switched_off"])
@pytest.mark.asyncio
async def test_a_device_out_of_reach_gets_no_operational_check_through(gateway: OnRadio) -> None:
    # The router itself: every radio knows it (it is the coordinator's child).
    off = next(s for s in gateway.scenario.devices if not s.reachable)

    status, body = await gateway.request(
        "POST", f"/devices/{off.eui64}/operational-check", json={"check": "drlc", "timeout_s": 2}
    )

    assert status == 200, body
    assert (body["delivered"], body["acknowledged"]) == (False, False)
