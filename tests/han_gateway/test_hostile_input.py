"""Hostile input to the gateway side: EUI-64s, scenario and config files, gateway replies, bodies.

Every parser either returns its value or raises its own documented error; the gateway
service answers anything a client sends with a clean 4xx and a JSON reason, never a 500 or a
hang; the portal's client turns whatever a gateway answers into a ``GatewayError``.
"""

from __future__ import annotations

import asyncio
import json
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import yaml
import zigpy.types as zigpy_types
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from han_gateway.client import MAX_EVENT_BYTES, GatewayClient, GatewayError
from han_gateway.eui64 import InvalidEUI64, normalise_eui64, parse_eui64
from han_gateway.protocol import Answer, ScanDeviceEvent, ScanErrorEvent, ScanFinishedEvent
from han_gateway.scenarios import (
    Scenario,
    ScenarioError,
    load_scenario_file,
    parse_scenario,
    resolve_scenario,
)
from han_gateway.service.config import (
    ConfigError,
    ServiceConfig,
    load_service_config,
    parse_service_config,
)
from tests.conftest import hostile_json_values, repeatable_examples
from tests.han_gateway.conftest import SECRETS, raw_get, raw_request, service_document

FAST = repeatable_examples(300)
FILES = repeatable_examples(120, HealthCheck.function_scoped_fixture)
REQUESTS = repeatable_examples(40, HealthCheck.function_scoped_fixture, HealthCheck.too_slow)

# Text as it arrives from outside: NUL, control characters and lone surrogates included.
hostile_text = st.text(max_size=60) | st.text(
    st.characters(categories=["Cs", "Cc", "Zs", "Nd"]) | st.sampled_from("0aF:-. \x00"),
    max_size=30,
)
json_values = hostile_json_values(hostile_text, max_key_size=12, max_leaves=15)
# What yaml.safe_load can give beyond JSON: dates, bytes, sets, non-string keys.
yaml_only_values = (
    st.dates() | st.datetimes() | st.binary(max_size=8) | st.frozensets(st.integers())
)
not_text = st.none() | st.integers() | st.floats() | st.binary(max_size=8) | st.lists(st.integers())


def _deeply_nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- EUI-64 ------------------------------------------------------------------------------------


@FAST
@given(text=hostile_text | st.text(max_size=40))
def test_any_text_is_an_eui64_or_an_invalid_eui64(text):
    try:
        eui64 = parse_eui64(text)
    except InvalidEUI64 as error:
        assert str(error)
        return
    assert isinstance(eui64, zigpy_types.EUI64)


@FAST
@given(value=not_text)
def test_anything_but_text_is_an_invalid_eui64(value):
    with pytest.raises(InvalidEUI64):
        parse_eui64(value)


@FAST
@given(
    raw=st.binary(min_size=8, max_size=8),
    separator=st.sampled_from(["", ":", "-", ".", " ", "\t"]),
    upper=st.booleans(),
    padding=st.sampled_from(["", " ", "\n", "\u2003"]),
)
def test_an_eui64_written_any_way_round_trips(raw, separator, upper, padding):
    written = separator.join(f"{byte:02x}" for byte in raw)
    written = padding + (written.upper() if upper else written) + padding
    canonical = normalise_eui64(written)
    assert canonical == raw.hex(":")
    assert normalise_eui64(canonical) == canonical
    assert parse_eui64(canonical) == parse_eui64(written)


def test_a_huge_eui64_is_refused_with_a_short_message():
    with pytest.raises(InvalidEUI64) as error:
        parse_eui64("0" * 1_000_000)
    assert len(str(error.value)) < 200
    with pytest.raises(InvalidEUI64) as error:
        parse_eui64("Z" * 1_000_000)
    assert len(str(error.value)) < 300


# -- scenario files ----------------------------------------------------------------------------


def _one_of_each(error: ScenarioError) -> None:
    assert error.problems
    assert all(isinstance(problem, str) and problem for problem in error.problems)


@FILES
@given(content=st.binary(max_size=300), suffix=st.sampled_from([".yaml", ".json"]))
def test_any_bytes_as_a_scenario_file_give_a_scenario_error(tmp_path, content, suffix):
    path = tmp_path / f"fuzzed{suffix}"
    path.write_bytes(content)
    try:
        scenario = load_scenario_file(path)
    except ScenarioError as error:
        _one_of_each(error)
        return
    assert isinstance(scenario, Scenario)


@FILES
@given(document=json_values | st.dictionaries(st.text(max_size=12), json_values, max_size=6))
def test_any_json_or_yaml_document_as_a_scenario_file_gives_a_scenario_error(tmp_path, document):
    for suffix, text in (
        (".json", json.dumps(document)),
        (".yaml", yaml.safe_dump(document, allow_unicode=False)),
    ):
        path = tmp_path / f"fuzzed{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            scenario = load_scenario_file(path)
        except ScenarioError as error:
            _one_of_each(error)
        else:
            assert isinstance(scenario, Scenario)  # e.g. {}: every field has a default


@FAST
@given(
    document=st.dictionaries(
        st.sampled_from(["name", "gateway", "radio", "energy", "devices", "expected_devices"])
        | st.integers()
        | st.dates(),
        json_values | yaml_only_values,
        max_size=5,
    )
)
def test_yaml_only_values_in_a_scenario_give_a_scenario_error(document):
    try:
        parse_scenario(document)
    except ScenarioError as error:
        _one_of_each(error)


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".json", _deeply_nested(100_000)),
        (".yaml", _deeply_nested(100_000)),
        (".yaml", "a: &a [1]\nb: *a\n" + "c: !!python/object:os.system [ls]\n"),
        (".yaml", "? [1, 2]\n: x\n"),
        (".yaml", "devices: !!binary aGVsbG8=\n"),
        (".yaml", "\x00\x01"),
        (".json", '{"name": NaN, "devices": [Infinity]}'),
    ],
)
def test_nasty_scenario_files_give_a_scenario_error(tmp_path, suffix, text):
    path = tmp_path / f"nasty{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as error:
        load_scenario_file(path)
    _one_of_each(error.value)


def test_a_scenario_file_that_is_not_utf8_gives_a_scenario_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Müller\n".encode("latin-1"))
    with pytest.raises(ScenarioError) as error:
        load_scenario_file(path)
    assert "latin1.yaml" in str(error.value)


@pytest.mark.parametrize(
    "reference",
    ["bad\x00name.yaml", "../" * 50 + "etc/passwd.yaml", "x" * 5_000 + ".json", "/dev/null.yaml"],
)
def test_unreadable_scenario_references_give_a_scenario_error(tmp_path, reference):
    with pytest.raises(ScenarioError) as error:
        resolve_scenario(reference, relative_to=tmp_path)
    _one_of_each(error.value)


@FAST
@given(
    reference=hostile_text
    | st.text(alphabet=string.printable, max_size=40).map(lambda t: t + ".yaml")
)
def test_any_scenario_reference_resolves_or_gives_a_scenario_error(tmp_path_factory, reference):
    try:
        resolve_scenario(reference, relative_to=Path("/nonexistent-scenarios"))
    except ScenarioError as error:
        _one_of_each(error)


# -- the service's configuration ----------------------------------------------------------------


@FILES
@given(content=st.binary(max_size=300))
def test_any_bytes_as_a_config_file_give_a_config_error(tmp_path, content):
    path = tmp_path / "gateways.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as error:
        load_service_config(path)
    assert error.value.problems


@FAST
@given(document=json_values | yaml_only_values)
def test_any_document_as_a_config_gives_a_config_error(document):
    with pytest.raises(ConfigError) as error:
        parse_service_config(document, base_directory=Path("/nonexistent"))
    assert error.value.problems


CONFIG_PATHS = [
    ("listen",),
    ("listen", "host"),
    ("listen", "port"),
    ("max_body_bytes",),
    ("tls",),
    ("gateways",),
    ("gateways", 0),
    ("gateways", 0, "id"),
    ("gateways", 0, "kind"),
    ("gateways", 0, "secret_sha256"),
    ("gateways", 0, "interfaces"),
    ("gateways", 0, "interfaces", 0),
    ("gateways", 0, "interfaces", 0, "id"),
    ("gateways", 0, "interfaces", 0, "radio"),
    ("gateways", 0, "interfaces", 0, "scenario"),
    ("gateways", 0, "interfaces", 0, "scan_timeout_s"),
    ("gateways", 0, "interfaces", 0, "coordinator_eui64"),
    ("gateways", 2, "interfaces", 0, "device"),
    ("gateways", 2, "interfaces", 0, "zigpy"),
]


@FILES
@given(where=st.sampled_from(CONFIG_PATHS), value=json_values | yaml_only_values)
def test_one_corrupted_config_field_is_accepted_or_named(tmp_path, where, value):
    document: Any = service_document(tmp_path)
    target = document
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    try:
        config = parse_service_config(document, base_directory=tmp_path)
    except ConfigError as error:
        assert error.problems
        return
    assert isinstance(config, ServiceConfig)


def test_deeply_nested_config_file_gives_a_config_error(tmp_path):
    path = tmp_path / "gateways.yaml"
    path.write_text(_deeply_nested(100_000), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_service_config(path)


@pytest.mark.parametrize("name", ["bad\x00name.yaml", "x" * 5_000 + ".yaml", "missing.yaml"])
def test_unreadable_config_paths_give_a_config_error(tmp_path, name):
    with pytest.raises(ConfigError):
        load_service_config(tmp_path / name)


def test_config_file_that_is_not_utf8_gives_a_config_error(tmp_path):
    path = tmp_path / "gateways.yaml"
    path.write_bytes(b"listen:\n  host: caf\xe9\n")
    with pytest.raises(ConfigError):
        load_service_config(path)


# -- the portal's client reading gateway replies --------------------------------------------------


def _client_answering(handler) -> GatewayClient:
    """A client whose HTTP requests are answered by `handler(request)` in-process."""
    return GatewayClient(
        base_url="http://gateway.test",
        gateway_id="MTR-1",
        secret="secret",
        transport=httpx.MockTransport(handler),
    )


def _calls(client: GatewayClient) -> list[Callable[[], object]]:
    return [
        client.identify,
        client.interfaces,
        lambda: client.energy_scan("han0"),
        lambda: client.operational_check("han0", "00:0d:6f:00:00:00:00:01", "message"),
        lambda: client.open_join_window(
            "han0", eui64="00:0d:6f:00:00:00:00:01", link_key_hex="00" * 16, duration_s=60
        ),
        lambda: client.remove_device("han0", "00:0d:6f:00:00:00:00:01"),
        lambda: list(client.scan("han0", timeout_s=1)),
    ]


status_codes = st.sampled_from([200, 201, 204, 301, 400, 401, 404, 409, 413, 500, 502, 503])
json_bodies = json_values.map(lambda value: json.dumps(value).encode()) | st.sampled_from(
    [
        b"NaN",
        b'{"energy": {"11": Infinity}}',
        b'{"energy": {"11": -Infinity, "12": 1e999}}',
        b'{"interfaces": [{"id": "han0"}, {"id": "../../x"}]}',
        b'{"interfaces": [{"id": "' + b"h" * 33 + b'"}]}',
        b'{"error": {"code": 5, "message": "x"}}',
        b'{"error": {"message": ["x"]}}',
        b'{"id": "MTR-1", "kind": "meter", "manufacturer": "Itron", "model": "Riva",'
        b' "firmware": "4.2.1", "interface_count": 1, "api_version": "v1"}',
        b'{"interface_id": "han0", "current_channel": 17, "energy": {"17": 236},'
        b' "busy_channels": [17]}',
        _deeply_nested(50_000).encode(),
        b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    ]
)


@FAST
@given(status=status_codes, body=st.binary(max_size=200) | json_bodies, call=st.integers(0, 6))
def test_any_gateway_reply_is_a_value_or_a_gateway_error(status, body, call):
    client = _client_answering(lambda request: httpx.Response(status, content=body))
    with client:
        try:
            result = _calls(client)[call]()
        except GatewayError as error:
            assert error.code and isinstance(error.message, str)
            return
    assert isinstance(result, Answer) or all(isinstance(item, Answer) for item in result)


@pytest.mark.parametrize(
    ("call", "body"),
    [
        (0, _deeply_nested(50_000).encode()),
        (0, b'{"a":' * 20_000 + b"1" + b"}" * 20_000),
        (1, b'{"interfaces": [{"id": "han0"}, {"id": "../../x"}]}'),
        (1, b'{"interfaces": [{"id": "' + b"h" * 33 + b'"}]}'),
        (1, b'{"interfaces": [{"id": "han\\u0000"}]}'),
        (2, b'{"energy": {"11": Infinity}}'),
        (2, b'{"energy": {"11": NaN}}'),
        (2, b'{"energy": {"eleven": 3}}'),
    ],
)
def test_known_bad_replies_are_protocol_errors(call, body):
    client = _client_answering(lambda request: httpx.Response(200, content=body))
    with client, pytest.raises(GatewayError) as error:
        _calls(client)[call]()
    assert error.value.code == "bad_reply"


# Well-formed lines, so that some streams are read to their end.
valid_scan_lines = st.sampled_from(
    [
        b'{"event": "started", "scan_id": "ab12", "gateway_id": "MTR-1", "interface_id": "han0",'
        b' "started_at": "2026-01-01T12:00:00+00:00", "channel": 15, "pan_id": "0x1A62",'
        b' "timeout_s": 1.0}',
        b'{"event": "progress", "phase": "neighbour_table", "devices_found": 1,'
        b' "devices_reported": 0, "tables_read": 1}',
        b'{"event": "finished", "scan_id": "ab12", "summary": {"device_count": 0,'
        b' "reachable_count": 0, "unreachable_count": 0, "tables_read": 1, "duration_ms": 3.5,'
        b' "pacing": "radio", "links": []}}',
        b'{"event": "error", "scan_id": "ab12", "code": "radio_error", "message": "x"}',
    ]
)
scan_lines = st.lists(
    valid_scan_lines
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.builds(
        lambda event, extra: json.dumps({"event": event, **extra}).encode(),
        st.sampled_from(["started", "progress", "device", "finished", "error", "other"]),
        st.dictionaries(st.sampled_from(["device", "code", "message"]), json_values, max_size=2),
    )
    | st.binary(max_size=40),
    max_size=6,
)


@FAST
@given(lines=scan_lines, newline=st.sampled_from([b"\n", b"\r\n"]))
def test_any_scan_stream_is_events_or_a_gateway_error(lines, newline):
    body = newline.join(lines)
    client = _client_answering(lambda request: httpx.Response(200, content=body))
    events = []
    with client:
        try:
            for event in client.scan("han0", timeout_s=1):
                events.append(event)
        except GatewayError as error:
            assert error.code in {"bad_reply", "truncated", "unreachable", "timeout"}
            return
    assert isinstance(events[-1], ScanFinishedEvent | ScanErrorEvent)
    for event in events:
        assert event.event in {"started", "progress", "device", "finished", "error"}
        if isinstance(event, ScanDeviceEvent):
            assert normalise_eui64(event.device.eui64) == event.device.eui64


def test_a_scan_line_that_never_ends_is_refused_without_reading_it_all():
    sent = []

    def endless():
        for _ in range(1_000):
            chunk = b"x" * 65_536
            sent.append(len(chunk))
            yield chunk

    client = _client_answering(lambda request: httpx.Response(200, content=endless()))
    with client, pytest.raises(GatewayError) as error:
        list(client.scan("han0", timeout_s=1))
    assert error.value.code == "bad_reply"
    assert sum(sent) <= MAX_EVENT_BYTES + 2 * 65_536


def test_an_oversized_scan_event_is_refused():
    line = json.dumps({"event": "progress", "padding": "x" * MAX_EVENT_BYTES}).encode()
    client = _client_answering(lambda request: httpx.Response(200, content=line + b"\n"))
    with client, pytest.raises(GatewayError) as error:
        list(client.scan("han0", timeout_s=1))
    assert error.value.code == "bad_reply"


# -- bodies and headers sent to the gateway service ----------------------------------------------

GATEWAY = "MTR-200001"
INTERFACE = f"/gateways/{GATEWAY}/interfaces/han0"
UNKNOWN_DEVICE = "00:11:22:33:44:55:66:77"
TIMEOUT = aiohttp.ClientTimeout(total=20)

BODY_ENDPOINTS = [
    ("POST", INTERFACE + "/scan"),
    ("POST", INTERFACE + "/energy-scan"),
    ("POST", INTERFACE + "/join-window"),
    ("POST", INTERFACE + f"/devices/{UNKNOWN_DEVICE}/operational-check"),
    ("PUT", INTERFACE + "/scenario"),
]


async def _send(service, method: str, path: str, *, headers=None, **kwargs) -> tuple[int, Any]:
    headers = {**service.auth(GATEWAY), **(headers or {})}
    async with service.session.request(
        method, service.url(path), headers=headers, timeout=TIMEOUT, **kwargs
    ) as response:
        raw = await response.read()
        if response.headers.get("Content-Type", "").startswith("application/x-ndjson"):
            return response.status, [json.loads(line) for line in raw.splitlines() if line]
        return response.status, json.loads(raw)


def _is_json_error(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("error"), dict)
        and isinstance(body["error"].get("code"), str)
        and isinstance(body["error"].get("message"), str)
    )


hostile_bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.dictionaries(
        st.sampled_from(
            [
                *("timeout_s", "pacing", "channels", "duration_exp", "count", "eui64"),
                *("link_key", "duration_s", "check", "message", "scenario"),
            ]
        ),
        json_values,
        max_size=4,
    ).map(lambda value: json.dumps(value).encode())
)


@pytest.mark.asyncio
@REQUESTS
@given(endpoint=st.sampled_from(BODY_ENDPOINTS), body=hostile_bodies)
async def test_any_body_gets_an_answer_not_a_server_error(service, endpoint, body):
    method, path = endpoint
    status, answer = await _send(
        service, method, path, data=body, headers={"Content-Type": "application/json"}
    )
    assert status < 500, (status, answer)
    if status >= 400:
        assert _is_json_error(answer), answer


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"\xff\xfe\xfd", "invalid_json"),
        (b'{"eui64": "\xc0\xaf"}', "invalid_json"),
        (_deeply_nested(2_000).encode(), "invalid_json"),
        (b"[" * 4_000, "invalid_json"),
        (b'{"eui64": "00:0d:6f:00:0a:00:00:02"}\n{"link_key": "00"}\n', "invalid_json"),
        (b"NaN", "invalid_body"),
        (b'{"eui64": "00:0d:6f:00:0a:00:00:02", "link_key": NaN}', "invalid_field"),
        (
            b'{"eui64": "00:0d:6f:00:0a:00:00:02", "link_key": "' + b"0" * 32 + b'", '
            b'"duration_s": Infinity}',
            "invalid_field",
        ),
    ],
)
async def test_garbled_bodies_get_a_400_with_a_reason(service, body, code):
    status, answer = await _send(service, "POST", INTERFACE + "/join-window", data=body)
    assert status == 400
    assert answer["error"]["code"] == code


@pytest.mark.asyncio
async def test_garbage_ndjson_to_a_scan_is_a_400(service):
    status, answer = await _send(
        service,
        "POST",
        INTERFACE + "/scan",
        data=b'{"timeout_s": 1}\n{"timeout_s": 2}\n\x00\x01garbage\n',
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert status == 400
    assert answer["error"]["code"] == "invalid_json"


@pytest.mark.asyncio
@pytest.mark.parametrize("method_and_path", BODY_ENDPOINTS)
async def test_a_body_over_the_limit_is_a_413_on_every_endpoint(service, method_and_path):
    method, path = method_and_path
    status, answer = await _send(service, method, path, data=b"{" + b" " * 20_000 + b"}")
    assert status == 413
    assert answer["error"]["code"] == "body_too_large"


@pytest.mark.asyncio
async def test_a_chunked_body_over_the_limit_is_a_413(service):
    async def chunks():
        for _ in range(200):
            yield b" " * 1024

    status, answer = await _send(service, "PUT", INTERFACE + "/scenario", data=chunks())
    assert status == 413
    assert answer["error"]["code"] == "body_too_large"
    status, _ = await _send(service, "GET", f"/gateways/{GATEWAY}")
    assert status == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "authorization",
    [
        b"Authorization: Bearer \xff\xfe\xfd",
        b"Authorization: Bearer secret-for-200001\xc3",
        b"Authorization: Bearer " + "sécret".encode(),
        b"Authorization: bearer",
        b"Authorization: Bearer " + b"x" * 4000,
        b"Authorization: Bearer secret-for-200001, Bearer other",
    ],
)
async def test_a_garbled_bearer_token_is_a_401(service, authorization):
    status, _, body = await raw_request(
        service.base_url, raw_get(f"/gateways/{GATEWAY}", authorization)
    )
    assert status == 401
    assert _is_json_error(json.loads(body))


@pytest.mark.asyncio
async def test_the_right_bearer_token_still_works_over_a_raw_socket(service):
    authorization = f"Authorization: Bearer {SECRETS[GATEWAY]}".encode()
    status, _, body = await raw_request(
        service.base_url, raw_get(f"/gateways/{GATEWAY}", authorization)
    )
    assert status == 200
    assert json.loads(body)["id"] == GATEWAY


@pytest.mark.asyncio
async def test_a_body_that_never_arrives_is_a_408_not_a_hang(service, monkeypatch):
    monkeypatch.setattr("han_gateway.service.app.BODY_READ_TIMEOUT_S", 0.3)
    token = SECRETS[GATEWAY].encode()
    request = b"\r\n".join(
        [
            f"PUT /api/v1{INTERFACE}/scenario HTTP/1.1".encode(),
            b"Host: 127.0.0.1",
            b"Authorization: Bearer " + token,
            b"Content-Type: application/json",
            b"Content-Length: 100",
            b"Connection: close",
            b"",
            b'{"scena',  # and then nothing more
        ]
    )
    host, port = service.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        # The answer comes at once; the server then lingers a while for the rest of the body
        # before closing, so read the answer by its length, not to the end of the stream.
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        length = int(re.search(rb"Content-Length: (\d+)", head, re.IGNORECASE).group(1))
        body = await asyncio.wait_for(reader.readexactly(length), timeout=5)
    finally:
        writer.close()
    assert int(head.split(b" ", 2)[1]) == 408
    assert json.loads(body)["error"]["code"] == "body_timeout"
    status, _ = await _send(service, "GET", f"/gateways/{GATEWAY}")
    assert status == 200
