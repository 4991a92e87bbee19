"""The wire format both ends share: the client against the real service, and against a fake one.

The client reads every answer and scan line with the protocol's models: what the real service
sends passes, and an answer that breaks the protocol is a GatewayProtocolError naming the field.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from han_gateway.client import GatewayClient, GatewayError, GatewayProtocolError
from han_gateway.protocol import (
    DeviceReport,
    InterfaceInfo,
    OperationalCheckResult,
    ProtocolViolation,
    ScanDeviceEvent,
    ScanErrorEvent,
    ScanFinishedEvent,
    ScanProgressEvent,
    ScanStartedEvent,
    read_scan_event,
)
from tests.han_gateway.conftest import SECRETS

DISPLAY = "00:0d:6f:00:0a:00:00:02"
THERMOSTAT = "00:0d:6f:00:0a:00:00:01"
SWITCH = "00:0d:6f:00:0a:00:00:03"
POOL_SWITCH = "00:0d:6f:00:05:3c:51:08"
POOL_SWITCH_KEY = "66b6900981e1ee3ca4206b6b861c02bb"

# -- a round trip through the real service ---------------------------------------------


def _client(service: Any, gateway_id: str) -> GatewayClient:
    return GatewayClient(
        base_url=service.base_url, gateway_id=gateway_id, secret=SECRETS[gateway_id]
    )


async def _call(service: Any, gateway_id: str, call: Callable[[GatewayClient], Any]) -> Any:
    """Run a blocking client call in a thread while the service answers on this loop."""

    def blocking() -> Any:
        with _client(service, gateway_id) as client:
            return call(client)

    return await asyncio.to_thread(blocking)


@pytest.mark.asyncio
async def test_the_client_reads_every_answer_of_the_real_service_as_typed_models(service):
    identity = await _call(service, "MTR-200001", lambda client: client.identify())
    assert (identity.id, identity.kind, identity.interface_count) == ("MTR-200001", "meter", 1)
    assert identity.api_version == "v1"

    (interface,) = await _call(service, "MTR-200001", lambda client: client.interfaces())
    assert isinstance(interface, InterfaceInfo)
    assert (interface.id, interface.status, interface.channel) == ("han0", "ready", 20)
    assert interface.pan_id == "0x1234"
    assert interface.device_count == 3
    assert interface.scenario == "small"

    events = await _call(
        service, "MTR-200001", lambda client: list(client.scan("han0", timeout_s=30))
    )
    assert isinstance(events[0], ScanStartedEvent)
    assert events[0].interface_id == "han0" and events[0].timeout_s == 30
    assert any(isinstance(event, ScanProgressEvent) for event in events)
    assert isinstance(events[-1], ScanFinishedEvent)
    assert events[-1].summary.device_count == 3
    devices = {
        event.device.eui64: event.device for event in events[1:-1] if event.event == "device"
    }
    assert devices[DISPLAY].parent == THERMOSTAT
    assert devices[SWITCH].join_method == "default_key"
    assert all(isinstance(device, DeviceReport) for device in devices.values())

    energy = await _call(service, "MTR-200001", lambda client: client.energy_scan("han0"))
    assert set(energy.energy) == set(range(11, 27))
    assert energy.current_channel == 20

    check = await _call(
        service,
        "MTR-200001",
        lambda client: client.operational_check("han0", DISPLAY, "message", timeout_s=5),
    )
    assert isinstance(check, OperationalCheckResult)
    assert check.delivered and check.acknowledged
    assert check.command == "display_message"
    assert check.acknowledgement is not None
    assert check.acknowledgement.message_id == check.issued.message_id

    removed = await _call(
        service, "MTR-200001", lambda client: client.remove_device("han0", SWITCH.upper())
    )
    assert (removed.eui64, removed.removed) == (SWITCH, True)


@pytest.mark.asyncio
async def test_a_join_window_and_a_scenario_replacement_round_trip(service):
    window = await _call(
        service,
        "MTR-200002",
        lambda client: client.open_join_window(
            "han0", eui64=POOL_SWITCH, link_key_hex=POOL_SWITCH_KEY, duration_s=600
        ),
    )
    assert window.eui64 == POOL_SWITCH
    assert window.duration_s == 600
    assert window.closes_at - window.opened_at == timedelta(seconds=600)

    interface = await _call(
        service, "MTR-200002", lambda client: client.replace_scenario("han1", "weak_link_fixed")
    )
    assert (interface.id, interface.scenario, interface.status) == (
        "han1",
        "weak_link_fixed",
        "ready",
    )


@pytest.mark.asyncio
async def test_the_services_refusal_reaches_the_caller_with_its_code(service):
    with pytest.raises(GatewayError) as error:
        await _call(
            service,
            "MTR-200001",
            lambda client: client.operational_check("han0", "00:11:22:33:44:55:66:77", "message"),
        )
    assert (error.value.code, error.value.status) == ("unknown_device", 404)


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (
            lambda client: list(client.scan("han0", timeout_s=601)),
            "timeout_s: Input should be less than or equal to 600",
        ),
        (
            lambda client: client.operational_check("han0", DISPLAY, "reboot"),
            "check: Input should be 'message' or 'drlc'",
        ),
        (
            lambda client: client.open_join_window(
                "han0", eui64=POOL_SWITCH, link_key_hex="00" * 15, duration_s=60
            ),
            "link_key: Input should be a 128-bit link key",
        ),
        (lambda client: client.energy_scan("../han0"), "String should match pattern"),
        (lambda client: client.remove_device("han0", "00:0d:6f"), "An EUI-64 has 16"),
    ],
)
def test_the_client_refuses_to_send_what_the_protocol_does_not_allow(call, problem):
    # Nothing listens on the discard port: the request is refused before it is sent.
    with (
        GatewayClient(base_url="http://127.0.0.1:9", gateway_id="MTR-1", secret="x") as client,
        pytest.raises(GatewayError) as error,
    ):
        call(client)
    assert error.value.code == "invalid_request"
    assert problem in error.value.message


# -- a fake gateway that answers whatever a test tells it to ----------------------------


@dataclass
class FakeGateway:
    url: str
    answers: dict[tuple[str, str], tuple[int, bytes]] = field(default_factory=dict)
    received: list[tuple[str, str, Any]] = field(default_factory=list)

    def answer(self, method: str, path: str, body: Any, *, status: int = 200) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers[(method, f"/api/v1/gateways/MTR-1{path}")] = (status, raw)


@pytest.fixture
def fake_gateway() -> Iterator[FakeGateway]:
    gateway = FakeGateway(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            gateway.received.append((self.command, self.path, json.loads(body) if body else None))
            status, raw = gateway.answers.get((self.command, self.path), (404, b"{}"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()


def _fake_client(gateway: FakeGateway) -> GatewayClient:
    return GatewayClient(base_url=gateway.url, gateway_id="MTR-1", secret="secret")


IDENTITY = {
    "id": "MTR-1",
    "kind": "meter",
    "manufacturer": "Itron",
    "model": "OpenWay Riva CENTRON",
    "firmware": "4.2.1",
    "interface_count": 1,
    "api_version": "v1",
}
INTERFACE = {
    "id": "han0",
    "technology": "zigbee",
    "radio": "simulated",
    "status": "ready",
    "channel": 15,
    "pan_id": "0x1A62",
    "extended_pan_id": "00:13:50:04:00:01:1a:62",
    "security_level": 5,
    "device_count": 3,
    "coordinator_eui64": "00:13:50:dd:15:54:d8:05",
}
DEVICE = {
    "eui64": "00:1b:c5:0c:00:21:7f:10",
    "nwk": "0x2B08",
    "device_type": "end_device",
    "manufacturer": "Rainforest Automation",
    "model": "EMU-2",
    "sw_build_id": "2.1.7",
    "ota_file_version": 33621760,
    "power_source": "mains",
    "reachable": True,
    "interview": "complete",
    "join_method": "install_code",
    "profile_id": 265,
    "endpoints": [
        {
            "id": 1,
            "profile_id": 265,
            "profile": "smart_energy",
            "device_type": 1282,
            "input_clusters": [0, 3, 2048],
            "output_clusters": [10, 25, 1792],
        }
    ],
    "parent": "00:13:50:a3:08:32:f2:53",
    "depth": 1,
    "lqi": 212,
    "rssi": -45,
    "links": [
        {
            "neighbor": "00:13:50:a3:08:32:f2:53",
            "relationship": "parent",
            "lqi_inbound": 208,
            "lqi_outbound": 212,
            "rssi": -45,
        }
    ],
}
STARTED = {
    "event": "started",
    "scan_id": "9f2c4d1e5a6b7c8d",
    "gateway_id": "MTR-1",
    "interface_id": "han0",
    "started_at": "2026-01-01T12:00:00.000001+00:00",
    "channel": 15,
    "pan_id": "0x1A62",
    "timeout_s": 30.0,
}
FINISHED = {
    "event": "finished",
    "scan_id": "9f2c4d1e5a6b7c8d",
    "summary": {
        "device_count": 1,
        "reachable_count": 1,
        "unreachable_count": 0,
        "tables_read": 2,
        "duration_ms": 18.4,
        "pacing": "radio",
        "links": [
            {
                "measured_by": "00:13:50:a3:08:32:f2:53",
                "neighbor": "00:1b:c5:0c:00:21:7f:10",
                "neighbor_nwk": "0x2B08",
                "relationship": "child",
                "lqi": 212,
            }
        ],
    },
}
ENERGY = {
    "interface_id": "han0",
    "current_channel": 17,
    "energy": {"11": 41, "17": 236, "26": 15},
    "busy_channels": [17],
}
CHECK = {
    "eui64": DEVICE["eui64"],
    "check": "drlc",
    "command": "load_control_event",
    "issued": {"issuer_event_id": 77},
    "delivered": True,
    "acknowledged": True,
    "acknowledgement": {
        "command": "report_event_status",
        "issuer_event_id": 77,
        "event_status": 1,
        "event_status_name": "Load_Control_Event_command_received",
        "signature": "00" * 42,
    },
    "round_trip_ms": 12.4,
    "detail": "The device accepted the load control event",
}
WINDOW = {
    "eui64": POOL_SWITCH,
    "opened_at": "2026-01-01T12:00:00+00:00",
    "closes_at": "2026-01-01T13:00:00+00:00",
    "duration_s": 3600,
}
REMOVED = {"eui64": POOL_SWITCH, "removed": True, "leave_acknowledged": False}

HAN0 = "/interfaces/han0"
CALLS: dict[str, tuple[str, str, Any, Callable[[GatewayClient], Any]]] = {
    "identify": ("GET", "", IDENTITY, lambda client: client.identify()),
    "interfaces": (
        "GET",
        "/interfaces",
        {"gateway_id": "MTR-1", "interfaces": [INTERFACE]},
        lambda client: client.interfaces(),
    ),
    "energy_scan": (
        "POST",
        HAN0 + "/energy-scan",
        ENERGY,
        lambda client: client.energy_scan("han0"),
    ),
    "operational_check": (
        "POST",
        f"{HAN0}/devices/{DEVICE['eui64']}/operational-check",
        CHECK,
        lambda client: client.operational_check("han0", str(DEVICE["eui64"]), "drlc"),
    ),
    "open_join_window": (
        "POST",
        HAN0 + "/join-window",
        WINDOW,
        lambda client: client.open_join_window(
            "han0", eui64=POOL_SWITCH, link_key_hex=POOL_SWITCH_KEY, duration_s=3600
        ),
    ),
    "remove_device": (
        "DELETE",
        f"{HAN0}/devices/{POOL_SWITCH}",
        REMOVED,
        lambda client: client.remove_device("han0", POOL_SWITCH),
    ),
    "replace_scenario": (
        "PUT",
        HAN0 + "/scenario",
        INTERFACE,
        lambda client: client.replace_scenario("han0", "healthy"),
    ),
}


def _changed(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A deep copy of `document` with the value at `path` replaced (or removed for ...)."""
    copy: dict[str, Any] = json.loads(json.dumps(document))
    target = copy
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copy


@pytest.mark.parametrize("name", CALLS)
def test_a_valid_answer_from_a_gateway_is_read_into_its_model(fake_gateway, name):
    method, path, body, call = CALLS[name]
    fake_gateway.answer(method, path, body)
    with _fake_client(fake_gateway) as client:
        result = call(client)
    answer = result[0] if isinstance(result, list) else result
    sent = body["interfaces"][0] if name == "interfaces" else body
    assert answer.to_wire() == sent


def test_requests_go_out_in_the_documented_shape(fake_gateway):
    for method, path, body, _ in CALLS.values():
        fake_gateway.answer(method, path, body)
    with _fake_client(fake_gateway) as client:
        for _, _, _, call in CALLS.values():
            call(client)
    bodies = {
        path.removeprefix("/api/v1/gateways/MTR-1"): body for _, path, body in fake_gateway.received
    }
    assert bodies[HAN0 + "/energy-scan"] == {}
    assert bodies[f"{HAN0}/devices/{DEVICE['eui64']}/operational-check"] == {
        "check": "drlc",
        "timeout_s": 5.0,
    }
    assert bodies[HAN0 + "/join-window"] == {
        "eui64": POOL_SWITCH,
        "link_key": POOL_SWITCH_KEY,
        "duration_s": 3600,
    }
    assert bodies[HAN0 + "/scenario"] == {"scenario": "healthy"}
    assert bodies[f"{HAN0}/devices/{POOL_SWITCH}"] is None


@pytest.mark.parametrize(
    ("name", "path", "value", "problem"),
    [
        ("identify", ("kind",), "tower", "kind: Input should be 'meter' or 'pole_top'"),
        ("identify", ("interface_count",), -1, "interface_count: Input should be greater than"),
        ("identify", ("id",), None, "id: Input should be a valid string"),
        (
            "interfaces",
            ("interfaces", 0, "channel"),
            27,
            "interfaces[0].channel: Input should be less",
        ),
        ("interfaces", ("interfaces", 0, "id"), "../x", "interfaces[0].id: String should match"),
        ("interfaces", ("interfaces", 0, "pan_id"), 6754, "interfaces[0].pan_id: Input should be"),
        ("interfaces", ("interfaces",), ..., "interfaces: Field required"),
        (
            "energy_scan",
            ("energy", "17"),
            256,
            'energy."17": Input should be less than or equal to 255',
        ),
        (
            "energy_scan",
            ("energy", "10"),
            3,
            'energy."10": Input should be greater than or equal to 11',
        ),
        (
            "energy_scan",
            ("busy_channels", 0),
            "17",
            "busy_channels[0]: Input should be a valid integer",
        ),
        ("operational_check", ("delivered",), "yes", "delivered: Input should be a valid boolean"),
        (
            "operational_check",
            ("acknowledgement", "event_status"),
            300,
            "acknowledgement.event_status",
        ),
        ("operational_check", ("eui64",), "00:1b:c5", "eui64: An EUI-64 has 16 hexadecimal digits"),
        (
            "open_join_window",
            ("closes_at",),
            "2026-01-01T13:00:00",
            "closes_at: Input should have timezone",
        ),
        (
            "open_join_window",
            ("duration_s",),
            0,
            "duration_s: Input should be greater than or equal to 1",
        ),
        ("remove_device", ("leave_acknowledged",), ..., "leave_acknowledged: Field required"),
        (
            "replace_scenario",
            ("status",),
            "sleeping",
            "status: Input should be 'ready', 'starting'",
        ),
    ],
)
def test_an_answer_that_breaks_the_protocol_is_a_protocol_error_naming_the_field(
    fake_gateway, name, path, value, problem
):
    method, url_path, body, call = CALLS[name]
    fake_gateway.answer(method, url_path, _changed(body, path, value))
    with _fake_client(fake_gateway) as client, pytest.raises(GatewayProtocolError) as error:
        call(client)
    assert error.value.code == "bad_reply"
    assert problem in error.value.message


def _scan(gateway: FakeGateway, lines: list[Any]) -> list[Any]:
    raw = b"\n".join(
        line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines
    )
    gateway.answer("POST", HAN0 + "/scan", raw + b"\n")
    with _fake_client(gateway) as client:
        return list(client.scan("han0", timeout_s=30))


def test_a_valid_scan_stream_is_read_into_typed_events(fake_gateway):
    progress = {
        "event": "progress",
        "phase": "neighbour_table",
        "devices_found": 1,
        "devices_reported": 0,
        "tables_read": 1,
    }
    events = _scan(
        fake_gateway, [STARTED, progress, {"event": "device", "device": DEVICE}, FINISHED]
    )
    started, _, device, finished = events
    assert isinstance(started, ScanStartedEvent) and started.started_at.utcoffset() == timedelta(0)
    assert isinstance(device, ScanDeviceEvent) and device.device.links[0].lqi_outbound == 212
    assert (
        isinstance(finished, ScanFinishedEvent)
        and finished.summary.links[0].relationship == "child"
    )
    assert (started.to_wire(), finished.to_wire()) == (STARTED, FINISHED)
    assert fake_gateway.received[-1][2] == {"timeout_s": 30.0}


def test_a_scan_ending_in_an_error_event_ends_there(fake_gateway):
    failed = {
        "event": "error",
        "scan_id": "9f2c4d1e5a6b7c8d",
        "code": "radio_error",
        "message": "x",
    }
    events = _scan(fake_gateway, [STARTED, failed, {"event": "device", "device": DEVICE}])
    assert isinstance(events[-1], ScanErrorEvent) and events[-1].code == "radio_error"
    assert len(events) == 2


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            {"event": "device", "device": {**DEVICE, "lqi": 256}},
            "device.lqi: Input should be less than or equal to 255",
        ),
        (
            {"event": "device", "device": {**DEVICE, "rssi": -129}},
            "device.rssi: Input should be greater than or equal to -128",
        ),
        (
            {"event": "device", "device": {**DEVICE, "eui64": None}},
            "device.eui64: Input should be a valid string",
        ),
        (
            {"event": "device", "device": _changed(DEVICE, ("links", 0, "lqi_inbound"), 999)},
            "device.links[0].lqi_inbound: Input should be less than or equal to 255",
        ),
        ({**STARTED, "channel": 10}, "channel: Input should be greater than or equal to 11"),
        ({**STARTED, "timeout_s": "NaN"}, "timeout_s: Input should be a valid number"),
        (
            json.dumps({**STARTED, "timeout_s": float("nan")}).encode(),
            "timeout_s: Input should be a finite number",
        ),
        (
            _changed(FINISHED, ("summary", "pacing"), "fast"),
            "summary.pacing: Input should be 'radio'",
        ),
        ({"event": "rumour"}, "Input tag 'rumour' found using 'event'"),
        ({"device": DEVICE}, "Unable to extract tag using discriminator 'event'"),
        (b"not json", "Invalid JSON"),
        (b'["started"]', "Input should be an object"),
    ],
)
def test_a_scan_line_that_breaks_the_protocol_is_a_protocol_error_naming_the_field(
    fake_gateway, line, problem
):
    with pytest.raises(GatewayProtocolError) as error:
        _scan(fake_gateway, [STARTED, line, FINISHED])
    assert error.value.code == "bad_reply"
    assert problem in error.value.message


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (409, {"error": {"code": "scan_in_progress", "message": "Busy."}}, "scan_in_progress"),
        (401, {"error": {"code": "unauthorized", "message": "No."}}, "unauthorised"),
        (
            500,
            {"error": {"code": "internal_error", "message": "Sorry.", "reference": "ab12"}},
            "internal_error",
        ),
        (500, b"<html>Internal Server Error</html>", "bad_reply"),
        (502, {"error": {"code": 5, "message": "x"}}, "bad_reply"),
    ],
)
def test_a_refusal_is_a_gateway_error_with_its_code_or_a_protocol_error(
    fake_gateway, status, body, code
):
    fake_gateway.answer("GET", "", body, status=status)
    with _fake_client(fake_gateway) as client, pytest.raises(GatewayError) as error:
        client.identify()
    assert (error.value.code, error.value.status) == (code, status)
    assert isinstance(error.value, GatewayProtocolError) is (code == "bad_reply")


# -- the models themselves ---------------------------------------------------------------


def test_an_answer_leaves_out_what_it_was_not_given_and_keeps_nulls_it_was():
    untried = OperationalCheckResult(
        eui64=DISPLAY.upper(),
        check="message",
        delivered=False,
        acknowledged=False,
        acknowledgement=None,
        detail="The device did not answer its interview, so no command was sent.",
    )
    assert untried.to_wire() == {
        "eui64": DISPLAY,
        "check": "message",
        "delivered": False,
        "acknowledged": False,
        "acknowledgement": None,
        "detail": "The device did not answer its interview, so no command was sent.",
    }
    stopped = InterfaceInfo.model_validate({**INTERFACE, "status": "error", "channel": None})
    assert stopped.to_wire()["channel"] is None
    assert "scenario" not in stopped.to_wire()


def test_a_scan_event_problem_is_named_without_pydantics_union_tag():
    with pytest.raises(ProtocolViolation) as violation:
        read_scan_event(json.dumps({**STARTED, "pan_id": "0x1a62", "interface_id": ""}))
    assert [str(problem) for problem in violation.value.problems] == [
        "interface_id: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,31}$'",
        "pan_id: String should match pattern '^0x[0-9A-F]{4}$'",
    ]
