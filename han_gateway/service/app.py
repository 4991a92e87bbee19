# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""The gateway service's HTTP/JSON API (version 1), documented in docs/GATEWAY_API.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import zigpy.application
import zigpy.exceptions
import zigpy.types as t
from aiohttp import web
from zigpy.device import ZigbeeDevice

from han_gateway.eui64 import InvalidEUI64, parse_eui64
from han_gateway.protocol import (
    MAX_SCAN_TIMEOUT_S,
    DeviceRemoved,
    EnergyScanRequest,
    EnergyScanResult,
    Health,
    InterfaceList,
    JoinWindowRequest,
    Message,
    OperationalCheckRequest,
    OperationalCheckResult,
    ProtocolViolation,
    RequestBody,
    ScanErrorEvent,
    ScanEvent,
    ScanFinishedEvent,
    ScanRequest,
    ScanStartedEvent,
    ScenarioEntry,
    ScenarioLibrary,
    ScenarioReplacement,
    field_path,
    read_request,
    short_address,
)
from han_gateway.radio.virtual_han import channel_mask
from han_gateway.scenarios import (
    ScenarioError,
    library_names,
    load_library_scenario,
    parse_scenario,
)
from han_gateway.service.auth import authenticate
from han_gateway.service.config import ServiceConfig
from han_gateway.service.errors import ApiError, error_body, error_middleware
from han_gateway.service.operational import CheckNotSupported, run_operational_check
from han_gateway.service.runtime import GatewayRegistry, GatewayRuntime, HanInterface
from han_gateway.service.scan import HanScan, ScanFailed

LOGGER = logging.getLogger(__name__)

REGISTRY: Final = web.AppKey("registry", GatewayRegistry)
NDJSON: Final = "application/x-ndjson"
BODY_READ_TIMEOUT_S: Final = 10.0
MAX_INTEGER_DIGITS: Final = 32
# zigpy warns above 75 % of full scale: such a channel is too busy for a HAN.
BUSY_ENERGY: Final = 0.75 * 255
_NOT_UNICODE: Final = "is text with an unpaired surrogate escape, which is not Unicode"
# The error code of a request whose first bad field is one of these; any other is invalid_field.
_FIELD_ERROR_CODES: Final = {
    "eui64": "invalid_eui64",
    "link_key": "invalid_link_key",
    "duration_s": "invalid_duration",
    "check": "invalid_check",
}

B = TypeVar("B", bound=RequestBody)

# -- request helpers -----------------------------------------------------------------


class _RefusedNumber:
    """Stands in, while a body is decoded, for a number the API will not take."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _decode_integer(literal: str) -> int | _RefusedNumber:
    # Python refuses to convert integers of more than 4300 digits (ValueError) and takes
    # quadratic time below that; no field needs more than a few digits.
    digits = len(literal.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        return _RefusedNumber(
            f"is an integer of {digits} digits; numbers here have at most {MAX_INTEGER_DIGITS}"
        )
    return int(literal)


def _decode_float(literal: str) -> float | _RefusedNumber:
    value = float(literal)
    if not math.isfinite(value):
        return _RefusedNumber("is too large for a number (beyond a 64-bit float)")
    return value


def _decode_constant(name: str) -> _RefusedNumber:
    return _RefusedNumber(f"is {name}, which is not a JSON number")


def _is_unicode(text: str) -> bool:
    # JSON's \u escapes can spell lone surrogates (\ud800), which no UTF-8 encoder (zigpy's
    # ZCL strings, a log file) accepts.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _first_refused_value(body: dict[str, Any]) -> tuple[str, str] | None:
    """The path and problem of a value (or key) past the API's limits, if there is one."""
    pending: list[tuple[tuple[int | str, ...], object]] = [((), body)]
    while pending:  # a loop, not recursion: the body may nest as deep as the decoder allows
        location, value = pending.pop()
        if isinstance(value, _RefusedNumber):
            return field_path(location), value.problem
        if isinstance(value, str) and not _is_unicode(value):
            return field_path(location), _NOT_UNICODE
        if isinstance(value, dict):
            members: list[tuple[tuple[int | str, ...], object]] = []
            for key, item in value.items():
                if not _is_unicode(key):
                    return field_path((*location, key)), _NOT_UNICODE
                members.append(((*location, key), item))
            pending.extend(reversed(members))
        elif isinstance(value, list):
            pending.extend(reversed([((*location, i), item) for i, item in enumerate(value)]))
    return None


async def read_json_object(request: web.Request, *, required: bool) -> dict[str, Any]:
    """The body as a JSON object of finite floats, bounded integers and Unicode text.

    Anything else is a 400 ApiError naming the problem (and the field, for a value).
    """
    try:
        # A client that promises a body and never sends it must not hold a handler forever.
        async with asyncio.timeout(BODY_READ_TIMEOUT_S):
            raw = await request.read()
    except TimeoutError:
        raise ApiError(
            408,
            "body_timeout",
            f"The request body did not arrive within {BODY_READ_TIMEOUT_S:g} s.",
        ) from None
    except web.RequestPayloadError:
        # aiohttp's reason may quote the body; the client learns only what was wrong.
        raise ApiError(
            400,
            "invalid_body",
            "The request body could not be read: it broke off, or its chunked or compressed"
            " encoding is broken.",
        ) from None
    if not raw.strip():
        if required:
            raise ApiError(400, "invalid_body", "A JSON object is required in the request body.")
        return {}
    try:
        body = json.loads(
            raw,
            parse_int=_decode_integer,
            parse_float=_decode_float,
            parse_constant=_decode_constant,
        )
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ApiError(
            400, "invalid_json", f"The request body is not valid JSON: {error}"
        ) from None
    except RecursionError:
        raise ApiError(
            400, "invalid_json", "The request body is not valid JSON: nested too deeply."
        ) from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "The request body must be a JSON object.")
    refused = _first_refused_value(body)
    if refused is not None:
        path, problem = refused
        raise ApiError(400, "invalid_field", f"{path} {problem}.")
    return body


async def read_body(request: web.Request, model: type[B], *, required: bool) -> B:
    """The body read by its protocol model; a bad one is a 400 ApiError naming the field."""
    body = await read_json_object(request, required=required)
    try:
        return read_request(model, body)
    except ProtocolViolation as violation:
        field = violation.problems[0].location[:1]
        code = _FIELD_ERROR_CODES.get(str(field[0]), "invalid_field") if field else "invalid_field"
        raise ApiError(400, code, str(violation)) from None


def _json(message: Message, *, status: int = 200) -> web.Response:
    return web.json_response(message.to_wire(), status=status)


def _parse_path_eui64(text: str) -> t.EUI64:
    try:
        return parse_eui64(text)
    except InvalidEUI64 as error:
        raise ApiError(400, "invalid_eui64", str(error)) from None


def _gateway(request: web.Request) -> GatewayRuntime:
    gateway_id = request.match_info["gateway_id"]
    gateways = request.app[REGISTRY].gateways
    gateway = gateways.get(gateway_id)
    config = authenticate(request, gateway_id, None if gateway is None else gateway.config)
    return gateways[config.gateway_id]


def running_app(interface: HanInterface) -> zigpy.application.ControllerApplication:
    if interface.app is None:
        raise ApiError(
            503, "interface_unavailable", f"Interface {interface.interface_id} is stopped."
        )
    return interface.app


def _interface(request: web.Request, *, ready: bool = True) -> HanInterface:
    gateway = _gateway(request)
    interface_id = request.match_info["interface_id"]
    interface = gateway.interfaces.get(interface_id)
    if interface is None:
        raise ApiError(
            404,
            "unknown_interface",
            f"Gateway {gateway.config.gateway_id} has no interface {interface_id!r}.",
        )
    if ready and (interface.app is None or interface.status != "ready"):
        raise ApiError(
            503,
            "interface_unavailable",
            interface.error_message or f"Interface {interface_id} is {interface.status}.",
        )
    return interface


async def _known_device(interface: HanInterface, eui64: t.EUI64) -> ZigbeeDevice:
    """The zigpy device for an EUI-64 the coordinator knows, interviewed if it is new."""
    app = running_app(interface)
    existing = app.devices.get(eui64)
    if isinstance(existing, ZigbeeDevice) and eui64 != app.state.node_info.ieee:
        return existing
    await app.load_network_info(load_devices=True)
    nwk = interface.known_devices().get(eui64)
    if nwk is None:
        raise ApiError(404, "unknown_device", f"No device {eui64} is on this HAN interface.")
    device = app.add_device(eui64, nwk)
    task = device.schedule_initialize()
    if task is not None:
        await task
    return device


# -- handlers ------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    return _json(Health(status="ok"))


async def gateway_identity(request: web.Request) -> web.Response:
    return _json(_gateway(request).identity())


async def gateway_interfaces(request: web.Request) -> web.Response:
    gateway = _gateway(request)
    interfaces = [await interface.describe() for interface in gateway.interfaces.values()]
    return _json(InterfaceList(gateway_id=gateway.config.gateway_id, interfaces=interfaces))


async def scenario_library(request: web.Request) -> web.Response:
    _gateway(request)
    scenarios = []
    for name in library_names():
        scenario = load_library_scenario(name)
        scenarios.append(ScenarioEntry(name=name, description=scenario.description))
    return _json(ScenarioLibrary(scenarios=scenarios))


def _client_went_away(error: BaseException) -> bool:
    """Whether a scan failed only because the client closed the stream (maybe in a task group)."""
    if isinstance(error, ConnectionError):
        return True
    if isinstance(error, BaseExceptionGroup):
        return all(_client_went_away(inner) for inner in error.exceptions)
    return False


def _ndjson_line(event: ScanEvent) -> bytes:
    return (json.dumps(event.to_wire(), separators=(",", ":")) + "\n").encode()


async def scan(request: web.Request) -> web.StreamResponse:
    interface = _interface(request)
    body = await read_body(request, ScanRequest, required=False)
    timeout_s = body.timeout_s
    if timeout_s is None:
        timeout_s = min(interface.config.scan_timeout_s, MAX_SCAN_TIMEOUT_S)
    if interface.scan_lock.locked():
        raise ApiError(409, "scan_in_progress", "A scan of this interface is already running.")
    async with interface.scan_lock:
        app = running_app(interface)
        scan_id = secrets.token_hex(8)
        network = app.state.network_info
        started = ScanStartedEvent(
            event="started",
            scan_id=scan_id,
            gateway_id=interface.gateway.gateway_id,
            interface_id=interface.interface_id,
            started_at=datetime.now(UTC),
            channel=int(network.channel),
            pan_id=short_address(int(network.pan_id)),
            timeout_s=timeout_s,
        )
        response = web.StreamResponse(status=200, headers={"Content-Type": NDJSON})
        await response.prepare(request)
        await response.write(_ndjson_line(started))

        async def emit(event: ScanEvent) -> None:
            await response.write(_ndjson_line(event))

        def failed(code: str, message: str) -> ScanErrorEvent:
            return ScanErrorEvent(event="error", scan_id=scan_id, code=code, message=message)

        final: ScanFinishedEvent | ScanErrorEvent
        try:
            async with asyncio.timeout(timeout_s):
                summary = await HanScan(
                    app, emit, pacing=body.pacing, join_log=interface.join_log
                ).run()
            final = ScanFinishedEvent(event="finished", scan_id=scan_id, summary=summary)
        except TimeoutError:
            final = failed("scan_timeout", f"The scan did not finish within {timeout_s:g} s.")
        except ScanFailed as error:
            final = failed(error.code, error.message)
        except ConnectionError:
            LOGGER.info("Scan %s abandoned: the client went away", scan_id)
            return response
        except (zigpy.exceptions.ZigbeeException, OSError) as error:
            LOGGER.warning("Scan %s failed: %s", scan_id, error)
            final = failed("radio_error", f"The radio failed during the scan: {error}")
        except Exception as error:
            if _client_went_away(error):
                LOGGER.info("Scan %s abandoned: the client went away", scan_id)
                return response
            reference = secrets.token_hex(6)
            LOGGER.exception("Scan %s failed unexpectedly (reference %s)", scan_id, reference)
            final = failed("internal_error", f"Sorry, the scan failed. Reference {reference}.")
        with contextlib.suppress(ConnectionError):
            await response.write(_ndjson_line(final))
            await response.write_eof()
        return response


async def energy_scan(request: web.Request) -> web.Response:
    interface = _interface(request)
    body = await read_body(request, EnergyScanRequest, required=False)
    app = running_app(interface)
    samples: dict[int, list[int]] = {}
    try:
        # One zigpy energy scan per sample: radios combine the scans of one request their own
        # way (some average them, which hides a burst), so the service keeps every sample.
        for _ in range(body.samples):
            results = await app.energy_scan(
                channel_mask(body.channels), duration_exp=body.duration_exp, count=body.count
            )
            for channel, value in results.items():
                samples.setdefault(int(channel), []).append(int(value))
    except (TimeoutError, zigpy.exceptions.ZigbeeException) as error:
        raise ApiError(502, "radio_error", f"The energy scan failed: {error}") from None
    energy = {channel: max(values) for channel, values in sorted(samples.items())}
    tx_power = app.state.network_info.tx_power
    return _json(
        EnergyScanResult(
            interface_id=interface.interface_id,
            current_channel=int(app.state.network_info.channel),
            energy=energy,
            mean_energy={
                channel: round(statistics.fmean(values))
                for channel, values in sorted(samples.items())
            },
            samples=body.samples,
            tx_power_dbm=None if tx_power is None else round(tx_power),
            busy_channels=[channel for channel, value in energy.items() if value > BUSY_ENERGY],
        )
    )


async def join_window(request: web.Request) -> web.Response:
    interface = _interface(request)
    body = await read_body(request, JoinWindowRequest, required=True)
    eui64 = parse_eui64(body.eui64)
    link_key = t.KeyData(bytes.fromhex(body.link_key))
    try:
        window = await interface.open_join_window(eui64, link_key, body.duration_s)
    except (TimeoutError, zigpy.exceptions.ZigbeeException) as error:
        raise ApiError(
            502, "radio_error", f"The radio did not open the join window: {error}"
        ) from None
    LOGGER.info(
        "Join window opened on %s/%s for %s (%d s)",
        interface.gateway.gateway_id,
        interface.interface_id,
        eui64,
        body.duration_s,
    )
    return _json(window.answer(), status=201)


async def remove_device(request: web.Request) -> web.Response:
    interface = _interface(request)
    eui64 = _parse_path_eui64(request.match_info["eui64"])
    app = running_app(interface)
    await app.load_network_info(load_devices=True)
    known = interface.known_devices()
    if eui64 not in known:
        raise ApiError(404, "unknown_device", f"No device {eui64} is on this HAN interface.")
    device = app.devices.get(eui64)
    if not isinstance(device, ZigbeeDevice):
        device = app.add_device(eui64, known[eui64])
    leave_acknowledged = True
    try:
        async with asyncio.timeout(5):
            await device.zdo.leave(remove_children=False)
    except (TimeoutError, zigpy.exceptions.ZigbeeException):
        leave_acknowledged = False
    try:
        # The stack's own removal (EZSP asks the parent to drop it); Z-Stack has none.
        await app.force_remove(device)
    except zigpy.exceptions.ZigbeeException as error:
        if not leave_acknowledged:
            raise ApiError(
                502, "radio_error", f"The radio could not remove the device: {error}"
            ) from None
        LOGGER.warning("The radio did not drop %s after it left: %s", eui64, error)
    device.cancel_initialization()
    app.devices.pop(eui64, None)
    app.listener_event("device_removed", device)
    return _json(
        DeviceRemoved(eui64=str(eui64), removed=True, leave_acknowledged=leave_acknowledged)
    )


async def operational_check(request: web.Request) -> web.Response:
    interface = _interface(request)
    eui64 = _parse_path_eui64(request.match_info["eui64"])
    body = await read_body(request, OperationalCheckRequest, required=True)
    device = await _known_device(interface, eui64)
    if not device.is_initialized:
        return _json(
            OperationalCheckResult(
                eui64=str(eui64),
                check=body.check,
                delivered=False,
                acknowledged=False,
                acknowledgement=None,
                detail="The device did not answer its interview, so no command was sent.",
            )
        )
    try:
        result = await run_operational_check(
            running_app(interface),
            device,
            body.check,
            timeout_s=body.timeout_s,
            message_text=body.message,
        )
    except CheckNotSupported as error:
        raise ApiError(422, "check_not_supported", str(error)) from None
    return _json(result)


async def replace_scenario(request: web.Request) -> web.Response:
    interface = _interface(request, ready=False)
    if not interface.is_simulated:
        raise ApiError(409, "not_simulated", "Only a simulated interface has a scenario.")
    body = await read_body(request, ScenarioReplacement, required=True)
    try:
        if isinstance(body.scenario, str):
            scenario = load_library_scenario(body.scenario)
        else:
            scenario = parse_scenario(body.scenario)
    except ScenarioError as error:
        raise ApiError(
            400, "invalid_scenario", "The scenario is not valid.", problems=error.problems
        ) from None
    if interface.scan_lock.locked():
        raise ApiError(409, "scan_in_progress", "Wait for the running scan to finish.")
    async with interface.scan_lock:
        await interface.replace_scenario(scenario)
    LOGGER.info(
        "Interface %s/%s now runs scenario %s",
        interface.gateway.gateway_id,
        interface.interface_id,
        scenario.name,
    )
    return _json(await interface.describe())


# -- application -----------------------------------------------------------------------


async def _registry_lifecycle(app: web.Application) -> AsyncIterator[None]:
    registry = app[REGISTRY]
    await registry.start()
    yield
    await registry.stop()


def create_app(config: ServiceConfig) -> web.Application:
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[error_middleware])
    app[REGISTRY] = GatewayRegistry(config)
    app.cleanup_ctx.append(_registry_lifecycle)
    gateway = "/api/v1/gateways/{gateway_id}"
    interface = gateway + "/interfaces/{interface_id}"
    app.router.add_get("/api/v1/health", health)
    app.router.add_get(gateway, gateway_identity)
    app.router.add_get(gateway + "/interfaces", gateway_interfaces)
    app.router.add_get(gateway + "/scenarios", scenario_library)
    app.router.add_post(interface + "/scan", scan)
    app.router.add_post(interface + "/energy-scan", energy_scan)
    app.router.add_post(interface + "/join-window", join_window)
    app.router.add_delete(interface + "/devices/{eui64}", remove_device)
    app.router.add_post(interface + "/devices/{eui64}/operational-check", operational_check)
    app.router.add_put(interface + "/scenario", replace_scenario)
    return app


__all__ = ["REGISTRY", "create_app", "error_body"]
