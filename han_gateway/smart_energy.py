# zigpy's types have untyped constructors, and its command definitions take dict schemas
# that its own annotations do not admit.
# mypy: disable-error-code="no-untyped-call,arg-type"
"""Zigbee Smart Energy 1.x definitions that zigpy leaves as empty stubs.

zigpy knows the Smart Energy cluster ids but defines commands only for Metering. The
operational checks need the Messaging (0x0703) and Demand Response / Load Control (0x0701)
commands, so they are defined here from the Smart Energy Profile specification
(ZigBee 07-5356, sections D.2 and D.5).

Importing this module replaces zigpy's stubs for those two cluster ids in zigpy's cluster
registry, so every device zigpy builds afterwards decodes these commands.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Final

import zigpy.types as t
from zigpy.zcl.clusters import smartenergy as zigpy_smartenergy
from zigpy.zcl.foundation import BaseCommandDefs, ZCLCommandDef

# The well-known Trust Center link key of the Smart Energy and Home Automation profiles.
# A device holding this key instead of one derived from its install code joined insecurely.
DEFAULT_TRUST_CENTER_LINK_KEY: Final = t.KeyData(b"ZigBeeAlliance09")


class SmartEnergyDeviceType(enum.IntEnum):
    """Smart Energy device ids used in simple descriptors (SE 1.1 table 5.13)."""

    RANGE_EXTENDER = 0x0008
    ENERGY_SERVICE_INTERFACE = 0x0500
    METERING_DEVICE = 0x0501
    IN_HOME_DISPLAY = 0x0502
    PROGRAMMABLE_COMMUNICATING_THERMOSTAT = 0x0503
    LOAD_CONTROL_DEVICE = 0x0504
    SMART_APPLIANCE = 0x0505
    PREPAYMENT_TERMINAL = 0x0506


class MessageControl(t.bitmap8):
    """Display Message control bits (SE D.5.2.3.1.1.2)."""

    NORMAL_TRANSMISSION = 0b0000_0000
    IMPORTANCE_LOW = 0b0000_0000
    IMPORTANCE_MEDIUM = 0b0000_0100
    IMPORTANCE_HIGH = 0b0000_1000
    IMPORTANCE_CRITICAL = 0b0000_1100
    CONFIRMATION_REQUIRED = 0b1000_0000


class EventStatus(t.enum8):
    """Report Event Status values (SE D.2.3.3.1.1.2)."""

    Load_Control_Event_command_received = 0x01
    Event_started = 0x02
    Event_completed = 0x03
    User_opted_out = 0x04
    User_opted_in = 0x05
    Event_cancelled = 0x06
    Event_superseded = 0x07
    Event_partially_completed_with_user_opt_out = 0x08
    Event_partially_completed_due_to_user_opt_in = 0x09
    Event_completed_no_user_participation = 0x0A
    Rejected_invalid_cancel_command_default = 0xF8
    Rejected_invalid_cancel_command_invalid_effective_time = 0xF9
    Rejected_event_expired = 0xFB
    Rejected_invalid_cancel_command_undefined_event = 0xFD
    Load_Control_Event_command_rejected = 0xFE


# Statuses by which a device says it accepted a Load Control Event.
ACCEPTING_EVENT_STATUSES: Final = frozenset(
    {
        EventStatus.Load_Control_Event_command_received,
        EventStatus.Event_started,
        EventStatus.User_opted_in,
    }
)


class DeviceClass(t.bitmap16):
    """DRLC device classes (SE D.2.2.3.1): which loads an event addresses."""

    HVAC_COMPRESSOR_OR_FURNACE = 0x0001
    STRIP_HEATERS = 0x0002
    WATER_HEATER = 0x0004
    POOL_PUMP = 0x0008
    SMART_APPLIANCES = 0x0010
    IRRIGATION_PUMP = 0x0020
    MANAGED_COMMERCIAL_LOADS = 0x0040
    SIMPLE_MISC_LOADS = 0x0080
    EXTERIOR_LIGHTING = 0x0100
    INTERIOR_LIGHTING = 0x0200
    ELECTRIC_VEHICLE = 0x0400
    GENERATION_SYSTEMS = 0x0800


class EventSignature(t.FixedList, item_type=t.uint8_t, length=42):  # type: ignore[type-arg]
    """The 42-octet ECDSA signature field of Report Event Status (0xFF-filled if unsigned)."""


UNSIGNED_EVENT_SIGNATURE: Final = EventSignature([0xFF] * 42)

# Values of the optional temperature and load fields meaning "not used by this event".
TEMPERATURE_OFFSET_UNUSED: Final = 0xFF
TEMPERATURE_SET_POINT_UNUSED: Final = 0x8000
LOAD_ADJUSTMENT_UNUSED: Final = -128
DUTY_CYCLE_UNUSED: Final = 0xFF


class Messaging(zigpy_smartenergy.Messaging):
    """Messaging cluster (0x0703).

    The meter is the server; an in-home display or thermostat is a client that shows the
    message and, when asked, answers Message Confirmation.
    """

    title: Final = "Messaging"

    class ServerCommandDefs(BaseCommandDefs):
        # Sent by the client (the HAN device) to the server (the meter).
        get_last_message: Final = ZCLCommandDef(id=0x00, schema={})
        message_confirmation: Final = ZCLCommandDef(
            id=0x01,
            schema={
                "message_id": t.uint32_t,
                "confirmation_time": t.UTCTime,
                # Added in SE 1.2; absent from SE 1.0/1.1 devices.
                "message_confirmation_control?": t.bitmap8,
                "message_response?": t.LVBytes,
            },
        )

    class ClientCommandDefs(BaseCommandDefs):
        # Sent by the server (the meter) to the client.
        display_message: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "message_id": t.uint32_t,
                "message_control": t.bitmap8,
                "start_time": t.UTCTime,
                "duration_in_minutes": t.uint16_t,
                "message": t.CharacterString,
                "extended_message_control?": t.bitmap8,
            },
        )
        cancel_message: Final = ZCLCommandDef(
            id=0x01,
            schema={"message_id": t.uint32_t, "message_control": t.bitmap8},
        )


class Drlc(zigpy_smartenergy.Drlc):
    """Demand Response and Load Control cluster (0x0701).

    The meter is the server; a thermostat or load control switch is a client that takes
    part in events and reports their status.
    """

    title: Final = "Demand Response and Load Control"

    class ServerCommandDefs(BaseCommandDefs):
        # Sent by the client (the HAN device) to the server (the meter).
        report_event_status: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "issuer_event_id": t.uint32_t,
                "event_status": EventStatus,
                "event_status_time": t.UTCTime,
                "criticality_level_applied": t.uint8_t,
                "cooling_temperature_set_point_applied": t.uint16_t,
                "heating_temperature_set_point_applied": t.uint16_t,
                "average_load_adjustment_percentage_applied": t.int8s,
                "duty_cycle_applied": t.uint8_t,
                "event_control": t.bitmap8,
                "signature_type": t.uint8_t,
                "signature": EventSignature,
            },
        )
        get_scheduled_events: Final = ZCLCommandDef(
            id=0x01,
            schema={"start_time": t.UTCTime, "number_of_events": t.uint8_t},
        )

    class ClientCommandDefs(BaseCommandDefs):
        # Sent by the server (the meter) to the client.
        load_control_event: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "issuer_event_id": t.uint32_t,
                "device_class": DeviceClass,
                "utility_enrollment_group": t.uint8_t,
                "start_time": t.UTCTime,
                "duration_in_minutes": t.uint16_t,
                "criticality_level": t.uint8_t,
                "cooling_temperature_offset": t.uint8_t,
                "heating_temperature_offset": t.uint8_t,
                "cooling_temperature_set_point": t.int16s,
                "heating_temperature_set_point": t.int16s,
                "average_load_adjustment_percentage": t.int8s,
                "duty_cycle": t.uint8_t,
                "event_control": t.bitmap8,
            },
        )
        cancel_load_control_event: Final = ZCLCommandDef(
            id=0x01,
            schema={
                "issuer_event_id": t.uint32_t,
                "device_class": DeviceClass,
                "utility_enrollment_group": t.uint8_t,
                "cancel_control": t.bitmap8,
                "effective_time": t.UTCTime,
            },
        )
        cancel_all_load_control_events: Final = ZCLCommandDef(
            id=0x02,
            schema={"cancel_control": t.bitmap8},
        )


@dataclasses.dataclass(frozen=True)
class Exchange:
    """A command the meter sends a HAN device, and the command by which the device acknowledges
    it; both carry the id the meter chose, in the field `id_field`."""

    cluster: type[Messaging | Drlc]
    command_name: str  # a client command: from the meter (the server) to the device
    acknowledgement_name: str  # a server command: from the device to the meter
    id_field: str

    @property
    def cluster_id(self) -> int:
        cluster_id: int = self.cluster.cluster_id
        return cluster_id

    @property
    def command(self) -> ZCLCommandDef:
        command: ZCLCommandDef = getattr(self.cluster.ClientCommandDefs, self.command_name)
        return command

    @property
    def acknowledgement(self) -> ZCLCommandDef:
        answer: ZCLCommandDef = getattr(self.cluster.ServerCommandDefs, self.acknowledgement_name)
        return answer


# The exchange of each operational check, by the check's name (`han_gateway.protocol.Check`).
EXCHANGES: Final = {
    "message": Exchange(Messaging, "display_message", "message_confirmation", "message_id"),
    "drlc": Exchange(Drlc, "load_control_event", "report_event_status", "issuer_event_id"),
}
