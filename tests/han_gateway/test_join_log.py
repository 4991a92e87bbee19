"""The Trust Center's join log: joins and refusals as a coordinator observes them, the join
policy in force, and how a scan reports each device's join from that evidence alone."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import zigpy.types as t

from han_gateway.protocol import read_scan_event
from han_gateway.service.join_log import JoinLog, join_evidence
from tests.han_gateway.conftest import small_scenario, wait_for

POOL_SWITCH = "00:0d:6f:00:05:3c:51:08"
POOL_SWITCH_KEY = "66B6900981E1EE3CA4206B6B861C02BB"
THERMOSTAT = "00:0d:6f:00:0a:00:00:01"
SWITCH = "00:0d:6f:00:0a:00:00:03"
NEWCOMER = "00:0d:6f:00:0a:00:00:09"


def _eui64(text: str) -> t.EUI64:
    return t.EUI64.convert(text)


def test_the_log_keeps_the_latest_decisions_and_the_latest_join_counts():
    log = JoinLog(max_decisions=3)
    at = datetime.now(UTC)
    log.record(_eui64(THERMOSTAT), "joined", at=at, join_method="default_key")
    log.record(_eui64(THERMOSTAT), "joined", at=at, join_method="install_code")
    log.record(_eui64(SWITCH), "refused_key_mismatch", at=at)
    log.record(_eui64(SWITCH), "refused_no_window", at=at)
    assert len(log.decisions()) == 3  # the oldest fell out
    assert log.join_method(_eui64(THERMOSTAT)) == "install_code"
    assert log.join_method(_eui64(SWITCH)) == "unknown"  # refused, never joined
    assert log.join_method(_eui64(NEWCOMER)) == "unknown"  # no record at all


@pytest.mark.parametrize(
    ("policy", "window_open", "method"),
    [
        ("install_code_only", True, "install_code"),
        ("install_code_only", False, "unknown"),
        ("default_key_allowed", True, "default_key"),
        ("default_key_allowed", False, "default_key"),
        ("unknown", True, "unknown"),
    ],
)
def test_only_a_join_in_an_install_code_only_window_proves_the_install_code(
    policy, window_open, method
):
    assert join_evidence(policy=policy, window_open=window_open) == method


async def _interfaces(service, gateway="MTR-200002"):
    status, body = await service.request("GET", f"/gateways/{gateway}/interfaces", gateway)
    assert status == 200
    return {interface["id"]: interface for interface in body["interfaces"]}


async def _scan(service, gateway, interface="han0"):
    """The scan's devices by EUI-64, and its summary (read with the protocol's models)."""
    events = [
        read_scan_event(json.dumps(event)) for event in await service.scan(gateway, interface)
    ]
    devices = {event.device.eui64: event.device for event in events if event.event == "device"}
    (finished,) = [event for event in events if event.event == "finished"]
    return devices, finished.summary


async def _open_window(service, eui64, link_key, gateway="MTR-200002", interface="han0"):
    status, body = await service.request(
        "POST",
        f"/gateways/{gateway}/interfaces/{interface}/join-window",
        gateway,
        json={"eui64": eui64, "link_key": link_key, "duration_s": 600},
    )
    assert status == 201, body


async def _put(service, document, gateway="MTR-200001"):
    status, body = await service.request(
        "PUT", f"/gateways/{gateway}/interfaces/han0/scenario", gateway, json={"scenario": document}
    )
    assert status == 200, body
    return body


@pytest.mark.asyncio
async def test_the_interface_states_the_join_policy_in_force(service):
    assert (await _interfaces(service))["han0"]["join_policy"] == "install_code_only"
    document = small_scenario()
    document["gateway"]["join_policy"] = "default_key_allowed"
    assert (await _put(service, document))["join_policy"] == "default_key_allowed"
    # A real radio not running still says what it would run.
    assert (await _interfaces(service, "MTR-200003"))["han0"]["join_policy"] == "install_code_only"


@pytest.mark.asyncio
async def test_a_wrong_install_code_is_reported_as_a_key_mismatch_refusal(service):
    before = datetime.now(UTC)
    await _open_window(service, POOL_SWITCH, "00" * 16)
    interface = service.registry.gateways["MTR-200002"].interfaces["han0"]
    await wait_for(lambda: interface.join_log.decisions()[-1].decision != "joined")

    devices, summary = await _scan(service, "MTR-200002")
    assert POOL_SWITCH not in devices
    refusal = summary.join_decisions[-1]
    assert (refusal.eui64, refusal.decision) == (POOL_SWITCH, "refused_key_mismatch")
    assert refusal.at >= before and refusal.join_method is None


@pytest.mark.asyncio
async def test_a_join_in_an_install_code_window_is_install_code_evidence(service):
    await _open_window(service, POOL_SWITCH, POOL_SWITCH_KEY)
    interface = service.registry.gateways["MTR-200002"].interfaces["han0"]
    await wait_for(lambda: interface.join_log.join_method(_eui64(POOL_SWITCH)) != "unknown")

    devices, summary = await _scan(service, "MTR-200002")
    assert devices[POOL_SWITCH].join_method == "install_code"
    joined = summary.join_decisions[-1]
    assert (joined.eui64, joined.decision, joined.join_method) == (
        POOL_SWITCH,
        "joined",
        "install_code",
    )


def _with_newcomer(policy: str) -> dict[str, Any]:
    """The small HAN and a display that holds the default key and waits to join."""
    document = small_scenario()
    document["gateway"]["join_policy"] = policy
    document["radio"]["join_delay_ms"] = 10
    document["devices"].append(
        {
            "eui64": NEWCOMER,
            "category": "in_home_display",
            "manufacturer": "Rainforest Automation",
            "model": "EMU-2",
            "join_method": "default_key",
            "pending_join": True,
        }
    )
    return document


@pytest.mark.asyncio
async def test_a_default_key_join_under_an_open_policy_is_reported_with_its_evidence(service):
    await _put(service, _with_newcomer("default_key_allowed"))
    await _open_window(service, NEWCOMER, POOL_SWITCH_KEY, gateway="MTR-200001")
    interface = service.registry.gateways["MTR-200001"].interfaces["han0"]
    await wait_for(lambda: interface.join_log.join_method(_eui64(NEWCOMER)) != "unknown")

    devices, summary = await _scan(service, "MTR-200001")
    assert devices[NEWCOMER].join_method == "default_key"
    assert [
        (decision.decision, decision.join_method)
        for decision in summary.join_decisions
        if decision.eui64 == NEWCOMER
    ] == [("joined", "default_key")]


@pytest.mark.asyncio
async def test_install_code_only_refuses_the_default_key_by_policy(service):
    await _put(service, _with_newcomer("install_code_only"))
    await _open_window(service, NEWCOMER, POOL_SWITCH_KEY, gateway="MTR-200001")
    interface = service.registry.gateways["MTR-200001"].interfaces["han0"]
    await wait_for(lambda: len(interface.simulated_app.han.join_attempts) == 1)

    devices, summary = await _scan(service, "MTR-200001")
    assert NEWCOMER not in devices
    assert summary.join_decisions[-1].decision == "refused_policy"


@pytest.mark.asyncio
async def test_a_window_that_closed_before_the_device_tried_is_a_no_window_refusal(service):
    document = _with_newcomer("install_code_only")
    document["devices"][-1].update(join_method="install_code", install_code=None)
    document["radio"]["join_delay_ms"] = 1200
    await _put(service, document)
    interface = service.registry.gateways["MTR-200001"].interfaces["han0"]
    key = interface.scenario.device(_eui64(NEWCOMER)).link_key
    status, _ = await service.request(
        "POST",
        "/gateways/MTR-200001/interfaces/han0/join-window",
        "MTR-200001",
        json={"eui64": NEWCOMER, "link_key": bytes(key).hex(), "duration_s": 1},
    )
    assert status == 201
    await wait_for(lambda: len(interface.simulated_app.han.join_attempts) == 1)
    assert interface.join_log.decisions()[-1].decision == "refused_no_window"


@pytest.mark.asyncio
async def test_a_device_that_joined_before_the_log_began_is_unknown(service):
    document = small_scenario()
    document["devices"][0]["join_logged"] = False
    await _put(service, document)

    devices, summary = await _scan(service, "MTR-200001")
    assert devices[THERMOSTAT].join_method == "unknown"
    # The others are as the log saw them join, whatever their key-table entries say.
    assert devices[SWITCH].join_method == "default_key"
    assert devices["00:0d:6f:00:0a:00:00:02"].join_method == "install_code"
    assert THERMOSTAT not in {decision.eui64 for decision in summary.join_decisions}


@pytest.mark.asyncio
async def test_a_key_table_entry_alone_proves_nothing(simulated, small):
    """The scan never reads keys: a coordinator's key table says nothing of how a device
    joined (zigpy-znp reports derived keys, bellows erases entries)."""
    from han_gateway.service.scan import HanScan

    app = await simulated(small)
    await app.load_network_info(load_devices=True)
    assert app.state.network_info.key_table  # the simulated radio has one...
    reports = []

    async def emit(event):
        if event.event == "device":
            reports.append(event.device)

    await HanScan(app, emit).run()
    joined = [report for report in reports if report.device_type != "coordinator"]
    assert joined and {report.join_method for report in joined} == {"unknown"}  # ...unused
