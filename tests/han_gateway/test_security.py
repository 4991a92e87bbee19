"""The gateway service against hostile requests: numbers, request heads, gateway id probing.

Every refusal is the API's JSON error; neither the answer nor any log line repeats what the
request's headers held.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from han_gateway.service import auth
from han_gateway.service.app import MAX_INTEGER_DIGITS
from han_gateway.service.server import MAX_HEADER_BYTES, MAX_HEADERS, MAX_REQUEST_LINE_BYTES
from tests.han_gateway.conftest import SECRETS, raw_get, raw_request

GATEWAY = "MTR-200001"
INTERFACE = f"/gateways/{GATEWAY}/interfaces/han0"
DISPLAY = "00:0d:6f:00:0a:00:00:02"
MARKER = b"HEADER-CONTENT-7f3a"

# -- numbers in request bodies -----------------------------------------------------------------

HOSTILE_NUMBERS = [
    "1" + "0" * 5000,  # Python refuses int("...") beyond 4300 digits
    "-" + "9" * 5000,
    "1" * (MAX_INTEGER_DIGITS + 1),
    "1e400",  # float("inf")
    "-1e400",
    "1" * 5000 + ".5",
    "NaN",
    "Infinity",
    "-Infinity",
]

# (method, path, body with {} where the number goes, the field the answer must name)
NUMERIC_FIELDS = [
    ("POST", INTERFACE + "/scan", '{"timeout_s": {}}', "timeout_s"),
    ("POST", INTERFACE + "/scan", '{"pacing": "radio", "timeout_s": {}}', "timeout_s"),
    ("POST", INTERFACE + "/energy-scan", '{"duration_exp": {}}', "duration_exp"),
    ("POST", INTERFACE + "/energy-scan", '{"count": {}}', "count"),
    ("POST", INTERFACE + "/energy-scan", '{"channels": [11, {}, 25]}', "channels[1]"),
    (
        "POST",
        INTERFACE + "/join-window",
        '{"eui64": "00:0d:6f:00:05:3c:51:08", "link_key": "' + "0" * 32 + '", "duration_s": {}}',
        "duration_s",
    ),
    ("POST", INTERFACE + "/join-window", '{"eui64": {}}', "eui64"),
    (
        "POST",
        INTERFACE + "/join-window",
        '{"eui64": "00:0d:6f:00:05:3c:51:08", "link_key": {}}',
        "link_key",
    ),
    (
        "POST",
        INTERFACE + f"/devices/{DISPLAY}/operational-check",
        '{"check": "message", "timeout_s": {}}',
        "timeout_s",
    ),
    ("POST", INTERFACE + f"/devices/{DISPLAY}/operational-check", '{"check": {}}', "check"),
    ("PUT", INTERFACE + "/scenario", '{"scenario": {}}', "scenario"),
    (
        "PUT",
        INTERFACE + "/scenario",
        '{"scenario": {"name": "x", "gateway": {"channel": {}}}}',
        "scenario.gateway.channel",
    ),
    (
        "PUT",
        INTERFACE + "/scenario",
        '{"scenario": {"devices": [{"eui64": "00:0d:6f:00:0a:00:00:09", "link_quality": {}}]}}',
        "scenario.devices[0].link_quality",
    ),
]


async def _send(service, method: str, path: str, body: bytes) -> tuple[int, Any]:
    async with service.session.request(
        method,
        service.url(path),
        headers={**service.auth(GATEWAY), "Content-Type": "application/json"},
        data=body,
    ) as response:
        return response.status, json.loads(await response.read())


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "path", "template", "field"), NUMERIC_FIELDS)
async def test_a_number_python_or_json_cannot_hold_is_a_400_naming_the_field(
    service_with_default_limits, method, path, template, field
):
    for number in HOSTILE_NUMBERS:
        body = template.replace("{}", number).encode()
        status, answer = await _send(service_with_default_limits, method, path, body)
        assert status == 400, (number[:20], answer)
        assert answer["error"]["code"] == "invalid_field"
        assert answer["error"]["message"].startswith(f"{field} is "), answer
        assert len(answer["error"]["message"]) < 200


@pytest.mark.asyncio
async def test_a_long_integer_written_as_text_in_a_scenario_is_a_400(
    service_with_default_limits,
):
    document = {"name": "x", "gateway": {"pan_id": "1" + "0" * 5000}}
    status, answer = await _send(
        service_with_default_limits,
        "PUT",
        INTERFACE + "/scenario",
        json.dumps({"scenario": document}).encode(),
    )
    assert status == 400
    assert answer["error"]["code"] == "invalid_scenario"
    assert answer["error"]["problems"][0].startswith("gateway.pan_id:")


@pytest.mark.asyncio
async def test_ordinary_numbers_still_pass(service):
    status, answer = await _send(
        service,
        "POST",
        INTERFACE + "/energy-scan",
        b'{"channels": [11, 15.0e0, 25], "duration_exp": 1, "count": 1}',
    )
    assert status == 400  # 15.0 is not a whole channel number: the field check still runs
    assert answer["error"]["code"] == "invalid_field"
    status, answer = await _send(
        service, "POST", INTERFACE + "/energy-scan", b'{"channels": [11, 25], "count": 2}'
    )
    assert status == 200
    assert set(answer["energy"]) == {"11", "25"}


@pytest.mark.asyncio
async def test_a_body_with_broken_compression_is_a_400(service):
    status, answer = await _send_raw_body(
        service, b"Content-Encoding: gzip", b"Content-Length: 20", body=b"not gzip, not at all"
    )
    assert status == 400
    assert answer["error"]["code"] == "invalid_body"


async def _send_raw_body(service, *headers: bytes, body: bytes) -> tuple[int, Any]:
    request = b"\r\n".join(
        [
            f"POST /api/v1{INTERFACE}/energy-scan HTTP/1.1".encode(),
            b"Host: 127.0.0.1",
            f"Authorization: Bearer {SECRETS[GATEWAY]}".encode(),
            b"Content-Type: application/json",
            *headers,
            b"Connection: close",
            b"",
            body,
        ]
    )
    status, _, answer = await raw_request(service.base_url, request)
    return status, json.loads(answer)


# -- request heads the HTTP parser refuses -------------------------------------------------------


def _get_identity(*headers: bytes) -> bytes:
    """A GET of the gateway's identity, with these header lines added as they are."""
    return raw_get(f"/gateways/{GATEWAY}", *headers)


def _refused(request_bytes: bytes, id: str, status: int = 400, code: str = "malformed_request"):
    return pytest.param(request_bytes, status, code, id=id)


HEADERS_TOO_LARGE = {
    "9000-byte authorization": b"Authorization: Bearer " + MARKER + b"x" * 9000,
    "100 kB header": b"X-Padding: " + MARKER + b"x" * 100_000,
    "long header name": b"X-" + MARKER + b"y" * MAX_HEADER_BYTES + b": 1",
}

MALFORMED_HEADS = [
    *(
        _refused(_get_identity(header), name, 431, "header_too_large")
        for name, header in HEADERS_TOO_LARGE.items()
    ),
    _refused(
        _get_identity(*(b"X-Header-%d: " % number + MARKER for number in range(MAX_HEADERS + 1))),
        "too many headers",
        431,
        "too_many_headers",
    ),
    _refused(
        raw_get(f"/gateways/{MARKER.decode()}" + "a" * MAX_REQUEST_LINE_BYTES),
        "long request line",
        code="request_line_too_long",
    ),
    _refused(_get_identity(b"Authorization: Bearer " + MARKER + b"\x00rest"), "NUL in a header"),
    _refused(
        _get_identity(b"Authorization: Bearer " + MARKER + b"\x01\x7f"),
        "control characters in a header",
    ),
    _refused(_get_identity(b"X-\xff\xfe" + MARKER + b": 1"), "non-ASCII header name"),
    _refused(_get_identity(b"Authorization : Bearer " + MARKER), "space before the colon"),
    _refused(_get_identity(b"Authorization: Bearer", b" " + MARKER), "folded header"),
    _refused(
        _get_identity(b"Content-Length: 99999999999999999999" + MARKER), "huge content length"
    ),
    _refused(
        _get_identity(b"Content-Length: -1", b"X-Secret: " + MARKER), "negative content length"
    ),
    _refused(_get_identity(b"Transfer-Encoding: chunked, gzip" + MARKER), "bad transfer encoding"),
    _refused(_get_identity(b"Host: " + MARKER), "second host header"),
    _refused(
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + MARKER + b"\r\n\r\n",
        "TLS on the plain port",
    ),
    _refused(
        b"GET /api/v1/health HTTP/1.1\nHost: x\nX-Secret: " + MARKER + b"\n\n", "bare line feeds"
    ),
    _refused(
        b"\r\n".join(
            [
                f"POST /api/v1{INTERFACE}/energy-scan HTTP/1.1".encode(),
                b"Host: 127.0.0.1",
                f"Authorization: Bearer {SECRETS[GATEWAY]}".encode(),
                b"Transfer-Encoding: chunked",
                b"",
                b"zz" + MARKER,
                b"{}",
                b"0",
                b"",
                b"",
            ]
        ),
        "broken chunk size",
    ),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("request_bytes", "status", "code"), MALFORMED_HEADS)
async def test_a_malformed_request_head_gets_a_json_error_that_echoes_nothing(
    service, caplog, request_bytes, status, code
):
    with caplog.at_level(logging.DEBUG):
        got_status, head, body = await raw_request(service.base_url, request_bytes)
    assert got_status == status
    assert b"application/json" in head
    answer = json.loads(body)
    assert answer["error"]["code"] == code
    assert answer["error"]["message"]
    assert MARKER not in head + body
    assert SECRETS[GATEWAY].encode() not in head + body
    assert "Refused a malformed request" in caplog.text
    assert MARKER.decode() not in caplog.text
    assert SECRETS[GATEWAY] not in caplog.text
    status_after, answer_after = await service.request("GET", f"/gateways/{GATEWAY}", GATEWAY)
    assert (status_after, answer_after["id"]) == (200, GATEWAY)


@pytest.mark.asyncio
async def test_the_header_limits_leave_room_for_real_requests(service):
    authorization = b"Authorization: Bearer " + SECRETS[GATEWAY].encode()
    padding = b"X-Padding: " + b"p" * (MAX_HEADER_BYTES - len("X-Padding") - 10)
    extra = [b"X-Header-%d: 1" % number for number in range(MAX_HEADERS - 4)]
    status, _, body = await raw_request(
        service.base_url, raw_get(f"/gateways/{GATEWAY}", authorization, padding, *extra)
    )
    assert status == 200
    assert json.loads(body)["id"] == GATEWAY


@pytest.mark.asyncio
async def test_the_access_log_holds_no_header_contents(service, caplog):
    with caplog.at_level(logging.DEBUG):
        status, _, _ = await raw_request(
            service.base_url,
            raw_get(
                f"/gateways/{GATEWAY}",
                f"Authorization: Bearer {SECRETS[GATEWAY]}".encode(),
                b"User-Agent: " + MARKER,
                b"Referer: http://" + MARKER,
            ),
        )
    assert status == 200
    assert f"GET /api/v1/gateways/{GATEWAY}" in caplog.text  # the request is logged ...
    assert MARKER.decode() not in caplog.text  # ... but not what its headers said
    assert SECRETS[GATEWAY] not in caplog.text


# -- gateway ids cannot be probed ----------------------------------------------------------------

CREDENTIALS = [
    pytest.param({}, id="none"),
    pytest.param({"Authorization": "Bearer wrong-secret"}, id="wrong"),
    pytest.param({"Authorization": f"Bearer {SECRETS['MTR-200002']}"}, id="another gateway's"),
    pytest.param({"Authorization": f"Bearer {SECRETS[GATEWAY]}"}, id="a real secret"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("headers", CREDENTIALS)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("GET", "/interfaces"), ("POST", "/interfaces/han0/scan")],
)
async def test_an_unknown_gateway_gets_the_same_401_as_a_wrong_secret(
    service, headers, method, suffix
):
    wrong = await service.request(
        method,
        f"/gateways/{GATEWAY}{suffix}",
        headers={"Authorization": "Bearer wrong-secret"},
    )
    unknown = await service.request(method, f"/gateways/MTR-999999{suffix}", headers=headers)
    assert unknown == wrong
    assert wrong[0] == 401
    assert wrong[1]["error"]["code"] == "unauthorized"


@pytest.mark.asyncio
async def test_an_unknown_gateway_costs_the_same_secret_comparison(service, monkeypatch, caplog):
    compared: list[tuple[int, int]] = []
    real_compare = auth.hmac.compare_digest

    def compare(presented, expected):
        compared.append((len(presented), len(expected)))
        return real_compare(presented, expected)

    monkeypatch.setattr(auth.hmac, "compare_digest", compare)
    with caplog.at_level(logging.INFO, logger="han_gateway.service.auth"):
        await service.request("GET", f"/gateways/{GATEWAY}", headers={"Authorization": "Bearer x"})
        await service.request("GET", "/gateways/MTR-999999", headers={"Authorization": "Bearer x"})
    assert compared == [(32, 32), (32, 32)]
    # The operator still learns which it was; the client does not.
    assert "'MTR-999999'" in caplog.text and "unknown gateway" in caplog.text
    assert "wrong secret" in caplog.text


@pytest.mark.asyncio
async def test_a_refused_number_under_an_odd_key_is_named_quoted(service):
    status, answer = await _send(
        service, "PUT", INTERFACE + "/scenario", b'{"scenario": {"odd key\\n": [1, NaN]}}'
    )
    assert status == 400
    assert (
        answer["error"]["message"] == 'scenario."odd key\\n"[1] is NaN, which is not a JSON number.'
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            f"/devices/{DISPLAY}/operational-check",
            b'{"check": "message", "message": "\\ud800 press OK"}',
            "message",
        ),
        (
            "/scenario",
            b'{"scenario": {"devices": [{"model": "x\\udfff"}]}}',
            "scenario.devices[0].model",
        ),
        ("/join-window", b'{"eui64\\ud800": 1}', '"eui64\\ud800"'),
    ],
)
async def test_text_that_is_not_unicode_is_a_400_naming_the_field(service, path, body, field):
    method = "PUT" if path == "/scenario" else "POST"
    status, answer = await _send(service, method, INTERFACE + path, body)
    assert status == 400
    assert answer["error"]["code"] == "invalid_field"
    assert answer["error"]["message"].startswith(f"{field} is text with an unpaired surrogate")
