# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""Operational checks: does a HAN device act on a utility message?

- ``message``: the meter sends Messaging Display Message asking for confirmation; an
  in-home display (or thermostat) acknowledges with Message Confirmation.
- ``drlc``: the meter sends a Load Control Event; a thermostat or load control switch
  acknowledges with Report Event Status ("Load Control Event command received"). The event is a
  test that changes nothing: it is scheduled a day ahead (``TEST_EVENT_LEAD_S``) and cancelled
  (Cancel Load Control Event, effective at once) as soon as the device has answered, so no load
  is ever switched. A device that does not take the cancel is said so in the result.

Delivery (the device's ZCL Default Response) and acknowledgement (the Smart Energy answer)
are reported separately: a device can receive a command and still not act on it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from typing import Any, cast

import zigpy.application
import zigpy.exceptions
import zigpy.types as t
from zigpy.device import ZigbeeDevice
from zigpy.zcl import Cluster, ClusterType, foundation

from han_gateway import smart_energy
from han_gateway.protocol import (
    DEFAULT_MESSAGE,
    MAX_MESSAGE_LENGTH,
    Acknowledgement,
    Check,
    CheckCommand,
    IssuedCommand,
    OperationalCheckResult,
)

# A load control test event starts this far ahead, and is cancelled long before.
TEST_EVENT_LEAD_S = 24 * 60 * 60
# The loads a thermostat or load control switch serves, so that the device takes the event.
_TEST_EVENT_DEVICE_CLASSES = (
    smart_energy.DeviceClass.HVAC_COMPRESSOR_OR_FURNACE
    | smart_energy.DeviceClass.WATER_HEATER
    | smart_energy.DeviceClass.SIMPLE_MISC_LOADS
)
_ZIGBEE_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _zigbee_time_in(seconds: int) -> t.UTCTime:
    """UTCTime (seconds since 2000-01-01 UTC) this many seconds from now."""
    now = dt.datetime.now(dt.UTC)
    return t.UTCTime(int((now - _ZIGBEE_EPOCH).total_seconds()) + seconds)


class CheckNotSupported(Exception):
    """The device has no client cluster for the requested check."""


def _client_cluster(device: ZigbeeDevice, exchange: smart_energy.Exchange) -> Cluster:
    try:
        return device.find_cluster(exchange.cluster_id, ClusterType.Client)
    except ValueError:
        raise CheckNotSupported(
            f"Device {device.ieee} has no {exchange.cluster.title} client cluster"
            f" (0x{exchange.cluster_id:04X}); it cannot take part in this check"
        ) from None


def _command_fields(check: Check, message_text: str) -> dict[str, Any]:
    """What the meter's command for `check` says, besides the id it carries."""
    if check == "message":
        return {
            "message_control": smart_energy.MessageControl.CONFIRMATION_REQUIRED
            | smart_energy.MessageControl.IMPORTANCE_MEDIUM,
            "start_time": t.UTCTime(0),  # 0: start now
            "duration_in_minutes": 1,
            "message": message_text[:MAX_MESSAGE_LENGTH],
        }
    return {
        "device_class": _TEST_EVENT_DEVICE_CLASSES,
        "utility_enrollment_group": 0,
        "start_time": _zigbee_time_in(TEST_EVENT_LEAD_S),  # ahead, then cancelled
        "duration_in_minutes": 1,
        "criticality_level": 1,  # green: voluntary, the mildest event
        "cooling_temperature_offset": smart_energy.TEMPERATURE_OFFSET_UNUSED,
        "heating_temperature_offset": smart_energy.TEMPERATURE_OFFSET_UNUSED,
        "cooling_temperature_set_point": -0x8000,
        "heating_temperature_set_point": -0x8000,
        "average_load_adjustment_percentage": smart_energy.LOAD_ADJUSTMENT_UNUSED,
        "duty_cycle": smart_energy.DUTY_CYCLE_UNUSED,
        "event_control": 0,
    }


async def run_operational_check(
    app: zigpy.application.ControllerApplication,
    device: ZigbeeDevice,
    check: Check,
    *,
    timeout_s: float,
    message_text: str = DEFAULT_MESSAGE,
) -> OperationalCheckResult:
    exchange = smart_energy.EXCHANGES[check]
    cluster = _client_cluster(device, exchange)
    command_id = secrets.randbits(32)
    acknowledgement_name = exchange.acknowledgement.name
    acknowledgement_schema = exchange.acknowledgement.schema

    def matches(_header: object, command: Any) -> bool:
        return (
            isinstance(command, acknowledgement_schema)
            and getattr(command, exchange.id_field, None) == command_id
        )

    def send() -> Any:
        return cluster.client_command(
            exchange.command.id,
            **{exchange.id_field: command_id},
            **_command_fields(check, message_text),
            expect_reply=True,
            disable_default_response=False,
            timeout=timeout_s,
            retries=1,
        )

    issued = IssuedCommand.model_validate({exchange.id_field: command_id})

    def result(
        *,
        delivered: bool,
        detail: str,
        acknowledged: bool = False,
        acknowledgement: Acknowledgement | None = None,
        round_trip_ms: float | None = None,
    ) -> OperationalCheckResult:
        return OperationalCheckResult(
            eui64=str(device.ieee),
            check=check,
            command=cast(CheckCommand, exchange.command.name),
            issued=issued,
            delivered=delivered,
            acknowledged=acknowledged,
            acknowledgement=acknowledgement,
            round_trip_ms=round_trip_ms,
            detail=detail,
        )

    started = time.monotonic()
    with app.wait_for_response(device, [matches]) as acknowledgement:
        try:
            response = await send()
        except (TimeoutError, zigpy.exceptions.ZigbeeException) as error:
            return result(
                delivered=False,
                detail=f"The device did not receive the command: {error or 'timeout'}",
            )
        if isinstance(response, foundation.DefaultResponse) and (
            response.status != foundation.Status.SUCCESS
        ):
            return result(
                delivered=True,
                detail=f"The device refused the command: {response.status.name}",
            )
        try:
            async with asyncio.timeout(max(0.0, timeout_s - (time.monotonic() - started))):
                _header, command = await acknowledgement
        except TimeoutError:
            return result(
                delivered=True,
                detail=f"The device received the command but sent no {acknowledgement_name}"
                f" within {timeout_s:g} s",
            )
    round_trip_ms = round((time.monotonic() - started) * 1000, 1)
    answer: dict[str, Any] = {"command": acknowledgement_name}
    answer.update({key: _json_value(value) for key, value in command.as_dict().items()})
    if check == "drlc":
        status = smart_energy.EventStatus(command.event_status)
        answer["event_status_name"] = status.name
        acknowledged = status in smart_energy.ACCEPTING_EVENT_STATUSES
        detail = (
            "The device accepted the load control event"
            if acknowledged
            else f"The device answered but did not accept the event: {status.name}"
        )
        detail += await _cancel_test_event(cluster, command_id, timeout_s=timeout_s)
    else:
        acknowledged = True
        detail = "The device confirmed the message"
    return result(
        delivered=True,
        detail=detail,
        acknowledged=acknowledged,
        acknowledgement=Acknowledgement.model_validate(answer),
        round_trip_ms=round_trip_ms,
    )


async def _cancel_test_event(cluster: Cluster, event_id: int, *, timeout_s: float) -> str:
    """Cancel the test event at once; what to add to the result's detail."""
    cancel = smart_energy.Drlc.ClientCommandDefs.cancel_load_control_event
    try:
        await cluster.client_command(
            cancel.id,
            issuer_event_id=event_id,
            device_class=_TEST_EVENT_DEVICE_CLASSES,
            utility_enrollment_group=0,
            cancel_control=0,  # end at once, no randomisation
            effective_time=t.UTCTime(0),  # 0: now
            expect_reply=False,
            timeout=timeout_s,
            retries=1,
        )
    except (TimeoutError, zigpy.exceptions.ZigbeeException) as error:
        return (
            f"; the test event (scheduled {TEST_EVENT_LEAD_S // 3600} h ahead) could not be "
            f"cancelled: {error or 'timeout'}"
        )
    return "; the test event, scheduled a day ahead, was cancelled: nothing was switched"


def _json_value(value: object) -> object:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, bytes | list):
        return bytes(value).hex()
    return str(value)
