"""The gateway service API over a real socket on 127.0.0.1."""

import json
import logging

import pytest

from han_gateway.service.app import REGISTRY
from tests.han_gateway.conftest import SECRETS, small_scenario, wait_for

DISPLAY = "00:0d:6f:00:0a:00:00:02"
THERMOSTAT = "00:0d:6f:00:0a:00:00:01"
SWITCH = "00:0d:6f:00:0a:00:00:03"
POOL_SWITCH = "00:0d:6f:00:05:3c:51:08"
POOL_SWITCH_KEY = "66B6900981E1EE3CA4206B6B861C02BB"


async def _put_scenario(service, scenario, *, gateway="MTR-200001", interface="han0"):
    """Replace an interface's scenario: a library name or a whole document."""
    return await service.request(
        "PUT",
        f"/gateways/{gateway}/interfaces/{interface}/scenario",
        gateway,
        json={"scenario": scenario},
    )


@pytest.mark.asyncio
async def test_health_needs_no_credentials(service):
    status, body = await service.request("GET", "/health")
    assert (status, body) == (200, {"status": "ok"})


@pytest.mark.asyncio
async def test_gateway_identity(service):
    status, body = await service.request("GET", "/gateways/MTR-200001", "MTR-200001")
    assert status == 200
    assert body["id"] == "MTR-200001"
    assert body["kind"] == "meter"
    assert body["model"] == "OpenWay Riva CENTRON"
    assert body["firmware"] == "4.2.1"
    assert "secret" not in json.dumps(body)


@pytest.mark.asyncio
async def test_interfaces_describe_each_han(service):
    status, body = await service.request("GET", "/gateways/MTR-200002/interfaces", "MTR-200002")
    assert status == 200
    han0, han1 = body["interfaces"]
    assert han0["id"] == "han0" and han1["id"] == "han1"
    assert han0["technology"] == "zigbee"
    assert han0["radio"] == "simulated"
    assert han0["channel"] == 15
    assert han0["pan_id"] == "0x1A62"
    assert han0["extended_pan_id"] == "00:13:50:04:00:01:1a:62"
    assert han0["security_level"] == 5
    assert han0["device_count"] == 6  # the pending switch has not joined
    assert han1["scenario"] == "weak_link"
    # What a head-end says of an interface (step 5.2).
    assert han0["smart_energy_version"] == "1.2a" and han1["smart_energy_version"] is None
    assert han0["max_devices"] == 10
    assert han0["trust_center_eui64"] == han0["coordinator_eui64"]
    assert han0["join_policy"] == "install_code_only"
    assert han0["join_windows"] == []
    # This gateway names neither its maker nor its firmware: nothing is made up.
    assert han0["coordinator_stack"] is None and han0["coordinator_firmware"] is None
    _, body = await service.request("GET", "/gateways/MTR-200001/interfaces", "MTR-200001")
    (meter,) = body["interfaces"]
    assert (meter["coordinator_stack"], meter["coordinator_firmware"]) == (
        "Itron OpenWay Riva CENTRON",
        "4.2.1",
    )


@pytest.mark.asyncio
async def test_an_interface_lists_its_open_join_windows_and_a_real_radios_capacity(service):
    status, opened = await _open_join_window(
        service, {"eui64": POOL_SWITCH, "link_key": POOL_SWITCH_KEY, "duration_s": 600}
    )
    assert status == 201

    _, body = await service.request("GET", "/gateways/MTR-200002/interfaces", "MTR-200002")
    han0, han1 = body["interfaces"]
    assert han0["join_windows"] == [{"eui64": POOL_SWITCH, "closes_at": opened["closes_at"]}]
    assert han1["join_windows"] == []

    _, body = await service.request("GET", "/gateways/MTR-200003/interfaces", "MTR-200003")
    (znp,) = body["interfaces"]
    # Not running (zigpy-znp is not installed here): the configured facts, no radio's.
    assert znp["status"] == "error" and znp["max_devices"] == 10
    assert znp["coordinator_stack"] is None and znp["trust_center_eui64"] is None


@pytest.mark.asyncio
async def test_scan_streams_ndjson_from_started_to_finished(service):
    events = await service.scan("MTR-200001", "han0")
    assert events[0]["event"] == "started"
    assert events[0]["gateway_id"] == "MTR-200001"
    assert events[-1]["event"] == "finished"
    assert events[-1]["summary"]["device_count"] == 3
    assert any(event["event"] == "progress" for event in events)
    devices = {e["device"]["eui64"]: e["device"] for e in events if e["event"] == "device"}
    assert devices[DISPLAY]["parent"] == THERMOSTAT
    assert devices[SWITCH]["join_method"] == "default_key"
    assert devices[THERMOSTAT]["profile_id"] == 0x0109


@pytest.mark.asyncio
async def test_scan_streams_devices_before_the_scan_ends(service):
    interface = service.app[REGISTRY].gateways["MTR-200002"].interfaces["han1"]
    seen_while_running = []
    async with service.session.post(
        service.url("/gateways/MTR-200002/interfaces/han1/scan"),
        headers=service.auth("MTR-200002"),
    ) as response:
        async for line in response.content:
            event = json.loads(line)
            if event["event"] == "device":
                seen_while_running.append(interface.scan_lock.locked())
    assert seen_while_running and seen_while_running[0] is True
    assert not interface.scan_lock.locked()


@pytest.mark.asyncio
async def test_scan_that_cannot_finish_ends_with_a_timeout_error_event(service):
    document = small_scenario()
    document["devices"][0]["silent"] = True  # takes frames, never answers
    status, _ = await _put_scenario(service, document)
    assert status == 200
    events = await service.scan("MTR-200001", "han0", {"timeout_s": 0.3})
    assert events[0]["event"] == "started"
    assert events[-1]["event"] == "error"
    assert events[-1]["code"] == "scan_timeout"
    assert "0.3" in events[-1]["message"]
    # The interface is free again for the next scan.
    assert not service.app[REGISTRY].gateways["MTR-200001"].interfaces["han0"].scan_lock.locked()


@pytest.mark.asyncio
async def test_client_leaving_mid_scan_frees_the_interface(service, caplog):
    await _put_scenario(service, "large_han")
    interface = service.app[REGISTRY].gateways["MTR-200001"].interfaces["han0"]
    response = await service.session.post(
        service.url("/gateways/MTR-200001/interfaces/han0/scan"),
        headers=service.auth("MTR-200001"),
    )
    first = json.loads(await response.content.readline())
    assert first["event"] == "started"
    response.close()  # the portal's worker died mid-scan

    with caplog.at_level(logging.INFO, logger="han_gateway.service.app"):
        await wait_for(lambda: not interface.scan_lock.locked(), timeout_s=10)
    assert "abandoned: the client went away" in caplog.text
    status, _ = await service.request("GET", "/gateways/MTR-200001", "MTR-200001")
    assert status == 200


@pytest.mark.asyncio
async def test_second_scan_while_one_runs_is_refused(service):
    interface = service.app[REGISTRY].gateways["MTR-200001"].interfaces["han0"]
    async with interface.scan_lock:
        status, body = await service.request(
            "POST", "/gateways/MTR-200001/interfaces/han0/scan", "MTR-200001"
        )
    assert status == 409
    assert body["error"]["code"] == "scan_in_progress"


@pytest.mark.asyncio
async def test_energy_scan_reports_every_channel(service):
    await _put_scenario(service, "channel_interference")
    status, body = await service.request(
        "POST", "/gateways/MTR-200001/interfaces/han0/energy-scan", "MTR-200001"
    )
    assert status == 200
    assert set(body["energy"]) == {str(channel) for channel in range(11, 27)}
    assert all(0 <= value <= 255 for value in body["energy"].values())
    assert body["current_channel"] == 17
    assert 17 in body["busy_channels"] and 25 not in body["busy_channels"]


async def _open_join_window(service, body):
    """``POST .../join-window`` on MTR-200002's han0, where the pool switch waits to join."""
    return await service.request(
        "POST", "/gateways/MTR-200002/interfaces/han0/join-window", "MTR-200002", json=body
    )


@pytest.mark.asyncio
async def test_join_window_with_the_right_key_lets_the_registered_device_join(service):
    status, body = await _open_join_window(
        service, {"eui64": POOL_SWITCH.upper(), "link_key": POOL_SWITCH_KEY, "duration_s": 3600}
    )
    assert status == 201
    assert body["eui64"] == POOL_SWITCH
    assert body["duration_s"] == 3600
    interface = service.app[REGISTRY].gateways["MTR-200002"].interfaces["han0"]
    await wait_for(lambda: any(a.accepted for a in interface.simulated_app.han.join_attempts))

    events = await service.scan("MTR-200002", "han0")
    found = {e["device"]["eui64"]: e["device"] for e in events if e["event"] == "device"}
    assert found[POOL_SWITCH]["model"] == "Yukon LCR-6601S"
    assert found[POOL_SWITCH]["join_method"] == "install_code"


@pytest.mark.asyncio
async def test_join_window_with_a_wrong_key_does_not(service):
    status, _ = await _open_join_window(
        service, {"eui64": POOL_SWITCH, "link_key": "00" * 16, "duration_s": 60}
    )
    assert status == 201
    interface = service.app[REGISTRY].gateways["MTR-200002"].interfaces["han0"]
    await wait_for(lambda: len(interface.simulated_app.han.join_attempts) == 1)
    assert interface.simulated_app.han.join_attempts[0].reason == "link_key_mismatch"

    events = await service.scan("MTR-200002", "han0")
    assert POOL_SWITCH not in {e["device"]["eui64"] for e in events if e["event"] == "device"}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"eui64": "00:0d:6f", "link_key": POOL_SWITCH_KEY, "duration_s": 60},
            "invalid_eui64",
            "eui64: An EUI-64 has 16 hexadecimal digits; this has 6",
        ),
        (
            {"eui64": POOL_SWITCH, "link_key": "ZigBeeAlliance09", "duration_s": 60},
            "invalid_link_key",
            "link_key: Input should be a 128-bit link key: 32 hexadecimal digits",
        ),
        (
            {"eui64": POOL_SWITCH, "link_key": POOL_SWITCH_KEY, "duration_s": 0},
            "invalid_duration",
            "duration_s: Input should be greater than or equal to 1",
        ),
        (
            {"eui64": POOL_SWITCH, "link_key": POOL_SWITCH_KEY, "duration_s": 30 * 86400 + 1},
            "invalid_duration",
            "duration_s: Input should be less than or equal to 2592000",
        ),
        (
            {"eui64": POOL_SWITCH, "duration_s": 60},
            "invalid_link_key",
            "link_key: Field required",
        ),
        (
            {"eui64": POOL_SWITCH, "link_key": POOL_SWITCH_KEY, "duration_s": 1.5},
            "invalid_duration",
            "duration_s: Input should be a valid integer",
        ),
    ],
)
async def test_join_window_rejects_bad_fields(service, body, code, message):
    status, answer = await _open_join_window(service, body)
    assert status == 400
    assert answer["error"]["code"] == code
    assert answer["error"]["message"].startswith(message)
    interface = service.app[REGISTRY].gateways["MTR-200002"].interfaces["han0"]
    assert interface.join_windows == {}


async def _operational_check(service, device: str, **body):
    """``POST .../devices/{device}/operational-check`` on MTR-200001's han0."""
    return await service.request(
        "POST",
        f"/gateways/MTR-200001/interfaces/han0/devices/{device}/operational-check",
        "MTR-200001",
        json=body,
    )


@pytest.mark.asyncio
async def test_operational_check_message_is_confirmed_by_the_display(service):
    status, body = await _operational_check(service, DISPLAY, check="message")
    assert status == 200
    assert body["delivered"] is True
    assert body["acknowledged"] is True
    assert body["acknowledgement"]["command"] == "message_confirmation"
    assert body["acknowledgement"]["message_id"] == body["issued"]["message_id"]


@pytest.mark.asyncio
async def test_operational_check_drlc_is_reported_by_the_thermostat(service):
    status, body = await _operational_check(service, THERMOSTAT, check="drlc")
    assert status == 200
    assert body["acknowledged"] is True
    assert body["acknowledgement"]["command"] == "report_event_status"
    assert body["acknowledgement"]["issuer_event_id"] == body["issued"]["issuer_event_id"]
    assert body["acknowledgement"]["event_status_name"] == "Load_Control_Event_command_received"
    # A test that changes nothing: scheduled a day ahead, cancelled once the device answered.
    assert body["detail"].endswith("was cancelled: nothing was switched")


@pytest.mark.asyncio
async def test_operational_check_without_acknowledgement(service):
    document = small_scenario()
    document["devices"][1]["acknowledges"] = []
    await _put_scenario(service, document)
    status, body = await _operational_check(service, DISPLAY, check="message", timeout_s=0.3)
    assert status == 200
    assert body["delivered"] is True
    assert body["acknowledged"] is False
    assert "message_confirmation" in body["detail"]


@pytest.mark.asyncio
async def test_operational_check_the_device_cannot_take_part_in(service):
    status, body = await _operational_check(service, DISPLAY, check="drlc")
    assert status == 422
    assert body["error"]["code"] == "check_not_supported"


@pytest.mark.asyncio
async def test_remove_device_takes_it_off_the_han(service):
    path = "/gateways/MTR-200001/interfaces/han0"
    status, body = await service.request("DELETE", f"{path}/devices/{SWITCH}", "MTR-200001")
    assert status == 200
    assert body == {"eui64": SWITCH, "removed": True, "leave_acknowledged": True}
    events = await service.scan("MTR-200001", "han0")
    assert SWITCH not in {e["device"]["eui64"] for e in events if e["event"] == "device"}
    status, body = await service.request("DELETE", f"{path}/devices/{SWITCH}", "MTR-200001")
    assert status == 404 and body["error"]["code"] == "unknown_device"


@pytest.mark.asyncio
async def test_replacing_the_scenario_fixes_the_weak_link(service):
    weak = await service.scan("MTR-200002", "han1")
    status, body = await _put_scenario(
        service, "weak_link_fixed", gateway="MTR-200002", interface="han1"
    )
    assert status == 200 and body["scenario"] == "weak_link_fixed"
    fixed = await service.scan("MTR-200002", "han1")

    def display_link(events):
        display = next(
            e["device"]
            for e in events
            if e["event"] == "device" and e["device"]["model"] == "EMU-2"
        )
        return display["links"][0]["lqi_outbound"]

    assert display_link(weak) < 80 <= display_link(fixed)


@pytest.mark.asyncio
async def test_invalid_inline_scenario_names_the_field(service):
    document = small_scenario()
    document["devices"][2]["eui64"] = "zz"
    status, body = await _put_scenario(service, document)
    assert status == 400
    assert body["error"]["code"] == "invalid_scenario"
    assert body["error"]["problems"][0].startswith("devices[2].eui64: not a valid EUI-64")


@pytest.mark.asyncio
async def test_real_radio_scenario_cannot_be_replaced(service):
    status, body = await _put_scenario(service, "healthy", gateway="MTR-200003")
    assert status == 409 and body["error"]["code"] == "not_simulated"


@pytest.mark.asyncio
async def test_missing_radio_extra_is_a_clear_interface_error_and_others_keep_serving(service):
    status, body = await service.request("GET", "/gateways/MTR-200003/interfaces", "MTR-200003")
    assert status == 200
    interface = body["interfaces"][0]
    assert interface["status"] == "error"
    assert "zigpy-znp" in interface["error"] and "radios" in interface["error"]
    status, body = await service.request(
        "POST", "/gateways/MTR-200003/interfaces/han0/scan", "MTR-200003"
    )
    assert status == 503
    assert body["error"]["code"] == "interface_unavailable"
    assert "zigpy-znp" in body["error"]["message"]
    events = await service.scan("MTR-200001", "han0")
    assert events[-1]["event"] == "finished"


# -- authentication and hostile input --------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-secret"},
        {"Authorization": f"Basic {SECRETS['MTR-200001']}"},
        {"Authorization": f"Bearer {SECRETS['MTR-200002']}"},  # another gateway's secret
    ],
)
async def test_requests_without_the_gateways_secret_get_401(service, headers, caplog):
    with caplog.at_level(logging.DEBUG):
        status, body = await service.request("GET", "/gateways/MTR-200001", headers=headers)
    assert status == 401
    assert body["error"]["code"] == "unauthorized"
    assert "MTR-200001" in caplog.text  # the rejection is logged ...
    for secret in [*SECRETS.values(), "wrong-secret"]:
        assert secret not in caplog.text  # ... without any secret
        assert secret not in json.dumps(body)


@pytest.mark.asyncio
async def test_every_gateway_endpoint_requires_authentication(service):
    base = "/gateways/MTR-200001/interfaces/han0"
    for method, path in [
        ("GET", "/gateways/MTR-200001/interfaces"),
        ("POST", base + "/scan"),
        ("POST", base + "/energy-scan"),
        ("POST", base + "/join-window"),
        ("DELETE", base + f"/devices/{SWITCH}"),
        ("POST", base + f"/devices/{SWITCH}/operational-check"),
        ("PUT", base + "/scenario"),
    ]:
        status, body = await service.request(method, path)
        assert (status, body["error"]["code"]) == (401, "unauthorized"), path


@pytest.mark.asyncio
async def test_bad_json_is_a_clear_400(service):
    async with service.session.post(
        service.url("/gateways/MTR-200001/interfaces/han0/join-window"),
        headers={**service.auth("MTR-200001"), "Content-Type": "application/json"},
        data=b'{"eui64": "00:0d',
    ) as response:
        assert response.status == 400
        body = await response.json()
    assert body["error"]["code"] == "invalid_json"


@pytest.mark.asyncio
async def test_json_that_is_not_an_object_is_a_clear_400(service):
    status, body = await service.request(
        "POST", "/gateways/MTR-200001/interfaces/han0/join-window", "MTR-200001", json=[1, 2]
    )
    assert status == 400 and body["error"]["code"] == "invalid_body"


@pytest.mark.asyncio
async def test_oversized_body_is_refused_and_the_service_keeps_serving(service):
    status, body = await service.request(
        "PUT",
        "/gateways/MTR-200001/interfaces/han0/scenario",
        "MTR-200001",
        data=b"{" + b" " * 8192 + b"}",
    )
    assert status == 413
    assert body["error"]["code"] == "body_too_large"
    status, _ = await service.request("GET", "/gateways/MTR-200001", "MTR-200001")
    assert status == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "path", "gateway", "status", "code"),
    [
        (
            "POST",
            "/gateways/MTR-200001/interfaces/han7/scan",
            "MTR-200001",
            404,
            "unknown_interface",
        ),
        (
            "DELETE",
            "/gateways/MTR-200001/interfaces/han0/devices/00:11:22:33:44:55:66:77",
            "MTR-200001",
            404,
            "unknown_device",
        ),
        (
            "DELETE",
            "/gateways/MTR-200001/interfaces/han0/devices/00:11:22",
            "MTR-200001",
            400,
            "invalid_eui64",
        ),
        (
            "DELETE",
            "/gateways/MTR-200001/interfaces/han0/devices/OO:11:22:33:44:55:66:77",
            "MTR-200001",
            400,
            "invalid_eui64",
        ),
        ("GET", "/nowhere", None, 404, "not_found"),
        ("PATCH", "/gateways/MTR-200001", None, 405, "method_not_allowed"),
    ],
)
async def test_unknown_ids_and_bad_eui64s_are_clear_4xx(
    service, method, path, gateway, status, code
):
    got_status, body = await service.request(method, path, gateway)
    assert got_status == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@pytest.mark.asyncio
async def test_operational_check_for_unknown_device_and_bad_check(service):
    status, body = await _operational_check(service, "00:11:22:33:44:55:66:77", check="message")
    assert (status, body["error"]["code"]) == (404, "unknown_device")
    status, body = await _operational_check(service, DISPLAY, check="reboot")
    assert (status, body["error"]["code"]) == (400, "invalid_check")
    assert body["error"]["message"] == "check: Input should be 'message' or 'drlc'"


BASE = "/gateways/MTR-200001/interfaces/han0"
CHECK = f"{BASE}/devices/{DISPLAY}/operational-check"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", BASE + "/scan", {"timeout_s": 601}, "timeout_s: Input should be less than"),
        ("POST", BASE + "/scan", {"timeout_s": "5"}, "timeout_s: Input should be a valid number"),
        ("POST", BASE + "/scan", {"pacing": "fast"}, "pacing: Input should be 'radio' or"),
        ("POST", BASE + "/scan", {"timeout_s": 5, "depth": 3}, "depth: Extra inputs are not"),
        (
            "POST",
            BASE + "/energy-scan",
            {"channels": [11, 27]},
            "channels[1]: Input should be less than or equal to 26",
        ),
        ("POST", BASE + "/energy-scan", {"channels": []}, "channels: List should have at least 1"),
        ("POST", BASE + "/energy-scan", {"count": True}, "count: Input should be a valid integer"),
        ("POST", BASE + "/energy-scan", {"duration_exp": 6}, "duration_exp: Input should be less"),
        (
            "POST",
            BASE + "/join-window",
            {"eui64": POOL_SWITCH, "link_key": POOL_SWITCH_KEY, "secret": "x"},
            "secret: Extra inputs are not permitted",
        ),
        ("POST", CHECK, {"check": "message", "message": "   "}, "message: Text should not be"),
        ("POST", CHECK, {"check": "message", "message": "x" * 81}, "message: String should have"),
        ("POST", CHECK, {"check": "message", "timeout_s": 121}, "timeout_s: Input should be less"),
        ("PUT", BASE + "/scenario", {"scenario": 5}, "scenario: Input should be a library"),
        ("PUT", BASE + "/scenario", {"scenario": ""}, "scenario: Input should be a library"),
        ("PUT", BASE + "/scenario", {"name": "healthy"}, "scenario: Field required"),
    ],
)
async def test_a_body_that_breaks_the_protocol_is_a_400_naming_the_field(
    service, method, path, body, message
):
    status, answer = await service.request(method, path, "MTR-200001", json=body)
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid_field"
    assert answer["error"]["message"].startswith(message), answer
    status, _ = await service.request("GET", "/gateways/MTR-200001", "MTR-200001")
    assert status == 200


@pytest.mark.asyncio
async def test_every_problem_of_a_body_is_named(service):
    status, answer = await service.request(
        "POST",
        BASE + "/energy-scan",
        "MTR-200001",
        json={"channels": [10], "count": 0, "duration_exp": -1, "speed": 1},
    )
    assert status == 400
    assert answer["error"]["message"] == (
        "channels[0]: Input should be greater than or equal to 11;"
        " duration_exp: Input should be greater than or equal to 0;"
        " count: Input should be greater than or equal to 1 (and 1 more)"
    )
