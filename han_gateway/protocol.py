"""The gateway service's wire format (API v1): every request body and answer, as typed models.

The service reads each request body with these models and builds each answer from them; the
portal's client (`han_gateway.client`) builds its requests and reads each answer and scan line
with them. Requests refuse unknown fields; answers ignore fields they do not know. A message
that breaks the rules raises `ProtocolViolation`, whose problems name each field by its path,
e.g. ``duration_s: Input should be less than or equal to 2592000``. Imports no Django.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Final, Literal, TypeAlias, TypeVar, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from han_gateway.eui64 import InvalidEUI64, normalise_eui64

API_VERSION: Final = "v1"
MIN_TIMEOUT_S: Final = 0.05
MAX_SCAN_TIMEOUT_S: Final = 600.0
DEFAULT_CHECK_TIMEOUT_S: Final = 10.0
MAX_CHECK_TIMEOUT_S: Final = 120.0
DEFAULT_JOIN_WINDOW_S: Final = 3600
MAX_JOIN_WINDOW_S: Final = 30 * 24 * 3600  # utilities open windows of up to 30 days
DEFAULT_MESSAGE: Final = "Utility HAN test: please press OK to confirm."
MAX_MESSAGE_LENGTH: Final = 80
ZIGBEE_CHANNELS: Final = tuple(range(11, 27))
# One short energy sample misses bursty Wi-Fi: the energy scan samples every channel this
# many times by default, so a burst on one sample in six is always seen.
DEFAULT_ENERGY_SAMPLES: Final = 6
MAX_ENERGY_SAMPLES: Final = 16
_PROBLEMS_SHOWN: Final = 3

# -- values ------------------------------------------------------------------------------


def _canonical_eui64(text: str) -> str:
    try:
        return normalise_eui64(text)
    except InvalidEUI64 as error:
        raise PydanticCustomError("eui64", "{reason}", {"reason": str(error)}) from None


KEY_SEPARATORS: Final = r"\s:\-"
"""What may stand between the hex digits of a link key or an install code (the inside of a
regular expression's character class)."""
_KEY_SEPARATOR: Final = re.compile(f"[{KEY_SEPARATORS}]")
_KEY_DIGITS: Final = re.compile(r"[0-9a-fA-F]{32}")


def key_hex_digits(text: str) -> str:
    """A link key or an install code written in hex, without its separators."""
    return _KEY_SEPARATOR.sub("", text)


def link_key_hex(text: str) -> str | None:
    """The 32 hex digits of a 128-bit link key (separators allowed), or None if it is not one."""
    digits = key_hex_digits(text)
    return digits if _KEY_DIGITS.fullmatch(digits) else None


def _link_key_digits(text: str) -> str:
    digits = link_key_hex(text)
    if digits is None:
        raise PydanticCustomError(
            "link_key", "Input should be a 128-bit link key: 32 hexadecimal digits"
        )
    return digits.lower()


def _not_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("blank_text", "Text should not be blank")
    return text


def _scenario_reference(value: object) -> str | dict[str, Any]:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict):
        return value
    raise PydanticCustomError(
        "scenario_reference", "Input should be a library scenario's name or a scenario document"
    )


def _isoformat(value: datetime) -> str:
    return value.isoformat()


def identifier_pattern(max_length: int) -> str:
    """A regular expression for an id: letters, digits, '.', '_' or '-', up to `max_length`
    characters, starting with a letter or digit."""
    return rf"[A-Za-z0-9][A-Za-z0-9_.\-]{{0,{max_length - 1}}}"


GATEWAY_ID_MAX_LENGTH: Final = 64
INTERFACE_ID_MAX_LENGTH: Final = 32
GATEWAY_ID_PATTERN: Final = identifier_pattern(GATEWAY_ID_MAX_LENGTH)
INTERFACE_ID_PATTERN: Final = identifier_pattern(INTERFACE_ID_MAX_LENGTH)


def _between(low: int, high: int) -> Any:
    return Field(ge=low, le=high)


Eui64: TypeAlias = Annotated[str, AfterValidator(_canonical_eui64)]
"""An EUI-64 (IEEE MAC), written any way `han_gateway.eui64` reads; held in canonical form
(``00:0d:6f:00:0a:90:69:e7``)."""
LinkKey: TypeAlias = Annotated[str, AfterValidator(_link_key_digits)]
"""A 128-bit link key as 32 hex digits (spaces, ':' and '-' allowed); held in lower case."""
GatewayId: TypeAlias = Annotated[str, StringConstraints(pattern=f"^{GATEWAY_ID_PATTERN}$")]
InterfaceId: TypeAlias = Annotated[str, StringConstraints(pattern=f"^{INTERFACE_ID_PATTERN}$")]
"""At most 32 characters: the portal stores it with every device and puts it in paths."""
ShortAddress: TypeAlias = Annotated[str, StringConstraints(pattern=r"^0x[0-9A-F]{4}$")]
"""A 16-bit network address or PAN id as text, e.g. ``0x2A01``."""
Token: TypeAlias = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
ErrorCode: TypeAlias = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Timestamp: TypeAlias = Annotated[
    AwareDatetime, PlainSerializer(_isoformat, return_type=str, when_used="json")
]
Channel: TypeAlias = Annotated[int, _between(ZIGBEE_CHANNELS[0], ZIGBEE_CHANNELS[-1])]
Lqi: TypeAlias = Annotated[int, _between(0, 255)]
Rssi: TypeAlias = Annotated[int, _between(-128, 127)]
"""dBm."""
Energy: TypeAlias = Annotated[int, _between(0, 255)]
Count: TypeAlias = Annotated[int, Field(ge=0)]
Uint8: TypeAlias = Annotated[int, _between(0, 0xFF)]
Uint16: TypeAlias = Annotated[int, _between(0, 0xFFFF)]
Uint32: TypeAlias = Annotated[int, _between(0, 0xFFFF_FFFF)]
EndpointId: TypeAlias = Annotated[int, _between(1, 254)]
MessageText: TypeAlias = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_MESSAGE_LENGTH),
    AfterValidator(_not_blank),
]
ScenarioReference: TypeAlias = Annotated[str | dict[str, Any], PlainValidator(_scenario_reference)]
"""A library scenario's name, or an inline scenario document (read by the scenario models)."""

GatewayKind: TypeAlias = Literal["meter", "pole_top"]
GATEWAY_KINDS: Final[tuple[GatewayKind, ...]] = get_args(GatewayKind)
Radio: TypeAlias = Literal["simulated", "ezsp", "znp", "deconz"]
RADIOS: Final[tuple[Radio, ...]] = get_args(Radio)
InterfaceStatus: TypeAlias = Literal["ready", "starting", "stopped", "error"]
# Smart Energy profile versions a meter's Energy Service Interface is certified for.
SmartEnergyVersion: TypeAlias = Literal["1.0", "1.1", "1.1b", "1.2", "1.2a", "1.2b", "1.4"]
SMART_ENERGY_VERSIONS: Final[tuple[SmartEnergyVersion, ...]] = get_args(SmartEnergyVersion)
Pacing: TypeAlias = Literal["radio", "zigpy_default"]
Check: TypeAlias = Literal["message", "drlc"]
CHECKS: Final[tuple[Check, ...]] = get_args(Check)
CheckCommand: TypeAlias = Literal["display_message", "load_control_event"]
"""The ZCL command an operational check sends (`han_gateway.smart_energy.EXCHANGES`)."""
JoinedDeviceType: TypeAlias = Literal["router", "end_device"]
"""What a device that joined a coordinator's network is."""
JOINED_DEVICE_TYPES: Final[tuple[JoinedDeviceType, ...]] = get_args(JoinedDeviceType)
DeviceType: TypeAlias = Literal["coordinator", JoinedDeviceType, "unknown"]
KnownPowerSource: TypeAlias = Literal["mains", "battery"]
POWER_SOURCES: Final[tuple[KnownPowerSource, ...]] = get_args(KnownPowerSource)
PowerSource: TypeAlias = Literal[KnownPowerSource, "unknown"]
Interview: TypeAlias = Literal["complete", "partial", "failed"]
KnownJoinMethod: TypeAlias = Literal["install_code", "default_key"]
JOIN_METHODS: Final[tuple[KnownJoinMethod, ...]] = get_args(KnownJoinMethod)
JoinMethod: TypeAlias = Literal[KnownJoinMethod, "unknown"]
"""What the Trust Center's join log proves of a device's join: ``install_code`` (it joined while
an install-code-only join window the service opened for it was open), ``default_key`` (it joined
while the Trust Center accepted the well-known default key), ``unknown`` (no join record)."""
JoinPolicy: TypeAlias = Literal["install_code_only", "default_key_allowed"]
"""The Trust Center's join policy: only install-code link keys, or the default key too."""
JOIN_POLICIES: Final[tuple[JoinPolicy, ...]] = get_args(JoinPolicy)
JoinDecisionKind: TypeAlias = Literal[
    "joined", "refused_key_mismatch", "refused_no_window", "refused_policy"
]
"""The Trust Center's decision on one join: admitted; refused because the device's key is not the
one its join window was opened with; refused because no join window was open for it; refused by
the policy (e.g. the default key under install-code-only)."""
Profile: TypeAlias = Literal["smart_energy", "home_automation", "other"]
LinkRelationship: TypeAlias = Literal[
    "parent", "child", "sibling", "neighbour", "previous_parent", "previous_child"
]
"""A link as the reported device sees it."""
TableRelationship: TypeAlias = Literal[
    "parent", "child", "sibling", "noneoftheabove", "previouschild"
]
"""A neighbour-table entry's relationship, as the measuring device's table names it."""


def short_address(value: int) -> str:
    """A 16-bit network address or PAN id as the protocol writes it, e.g. ``0x2A01``."""
    return f"0x{value:04X}"


# -- messages ----------------------------------------------------------------------------


class Message(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, allow_inf_nan=False)

    def to_wire(self) -> dict[str, Any]:
        """The message as JSON data: the fields it was given, absent ones left out."""
        return self.model_dump(mode="json", exclude_unset=True)


class RequestBody(Message):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Answer(Message):
    """An answer from the service: fields it does not know are ignored."""


class Health(Answer):
    status: Literal["ok"]


class Identity(Answer):
    """``GET /gateways/{gateway_id}``."""

    id: GatewayId
    kind: GatewayKind
    manufacturer: str
    model: str
    firmware: str
    interface_count: Count
    api_version: Literal["v1"]


class OpenJoinWindow(Answer):
    eui64: Eui64
    closes_at: Timestamp


class InterfaceInfo(Answer):
    """A HAN interface; its network fields are null while the radio is not running."""

    id: InterfaceId
    technology: Literal["zigbee"]
    radio: Radio
    status: InterfaceStatus
    channel: Channel | None
    pan_id: ShortAddress | None
    extended_pan_id: Eui64 | None
    security_level: Annotated[int, _between(0, 7)] | None
    device_count: Count
    coordinator_eui64: Eui64 | None = None
    """Only while the radio runs."""
    scenario: str | None = None
    """Simulated interfaces only."""
    max_devices: Count | None = None
    """Simulated interfaces only."""
    error: str | None = None
    """Why the interface is not running, with status ``error``."""
    join_policy: JoinPolicy | Literal["unknown"] = "unknown"
    """The Trust Center's join policy in force; ``unknown`` when the radio does not say."""
    smart_energy_version: SmartEnergyVersion | None = None
    """The Smart Energy version the meter's ESI is certified for, as configured: no radio
    reports it."""
    coordinator_stack: str | None = None
    """The coordinator's maker and chip or stack, as the radio reports them; only while it runs."""
    coordinator_firmware: str | None = None
    """The coordinator's firmware, as the radio reports it; only while it runs."""
    trust_center_eui64: Eui64 | None = None
    """The Trust Center's address (the coordinator's, on a meter); only while the radio runs."""
    join_windows: list[OpenJoinWindow] = Field(default_factory=list)
    """The join windows open now, one per device."""


class InterfaceList(Answer):
    """``GET /gateways/{gateway_id}/interfaces``."""

    gateway_id: GatewayId
    interfaces: list[InterfaceInfo]


class ScenarioEntry(Answer):
    name: str
    description: str


class ScenarioLibrary(Answer):
    """``GET /gateways/{gateway_id}/scenarios``."""

    scenarios: list[ScenarioEntry]


class ScanRequest(RequestBody):
    """``POST .../scan`` (the body is optional)."""

    timeout_s: Annotated[float, Field(ge=MIN_TIMEOUT_S, le=MAX_SCAN_TIMEOUT_S)] | None = None
    """None: the interface's configured scan time-out."""
    pacing: Pacing = "radio"


class EndpointReport(Answer):
    id: EndpointId
    profile_id: Uint16 | None
    profile: Profile
    device_type: Uint16 | None
    input_clusters: list[Uint16]
    output_clusters: list[Uint16]


class LinkReport(Answer):
    """One neighbour-table link of a device, from the device's side."""

    neighbor: Eui64
    relationship: LinkRelationship
    lqi_inbound: Lqi | None
    """What the device measured for the neighbour's frames (its own table)."""
    lqi_outbound: Lqi | None
    """What the neighbour measured for the device's frames (the neighbour's table)."""
    rssi: Rssi | None
    """Measured by the coordinator, on a link to the coordinator only."""


class DeviceReport(Answer):
    """What a scan learned about one device (the first one reported is the coordinator)."""

    eui64: Eui64
    nwk: ShortAddress
    device_type: DeviceType
    manufacturer: str | None
    model: str | None
    sw_build_id: str | None
    ota_file_version: Uint32 | None
    power_source: PowerSource
    reachable: bool
    interview: Interview
    join_method: JoinMethod | None
    """None for the coordinator."""
    profile_id: Uint16 | None
    endpoints: list[EndpointReport]
    parent: Eui64 | None
    """From this scan's neighbour tables; when its parent did not answer, from the topology
    the coordinator stored at its last scan."""
    depth: Uint8 | None
    lqi: Lqi | None
    rssi: Rssi | None
    links: list[LinkReport]
    sleepy: bool | None = None
    """True: its receiver is off when idle (a sleepy end device that hears frames only when it
    polls its parent), from its node descriptor or its parent's neighbour table; None: unknown."""
    aps_encrypted: bool | None = None
    """Whether its ZCL answers to the scan came with APS security (Smart Energy traffic must);
    None: it sent none, or it is the coordinator."""
    last_heard: Timestamp | None = None
    """When the coordinator last heard a frame from it; None: not while the service ran."""


class TableLink(Answer):
    """One neighbour-table entry read during a scan."""

    measured_by: Eui64
    neighbor: Eui64
    neighbor_nwk: ShortAddress
    relationship: TableRelationship
    lqi: Lqi


class JoinDecision(Answer):
    """One Trust Center join decision from the interface's join log."""

    eui64: Eui64
    at: Timestamp
    decision: JoinDecisionKind
    join_method: JoinMethod | None = None
    """For ``joined``: what the decision proves of the key it joined with."""


class StackCounters(Answer):
    """What the coordinator's stack counted while the scan ran (EmberZNet's counters, read and
    cleared before and after it). 16-bit counters: each stops at 65535."""

    mac_tx_broadcast: Count
    mac_tx_unicast_success: Count
    mac_tx_unicast_retry: Count
    """Unicasts sent again because the next hop did not acknowledge them."""
    mac_tx_unicast_failed: Count
    aps_data_tx_unicast_success: Count
    aps_data_tx_unicast_failed: Count
    phy_cca_fail_count: Count
    """Clear-channel assessments that found the channel busy: the radio had to back off."""
    child_removed: Count
    nwk_decryption_failure: Count
    aps_decryption_failure: Count
    nwk_frame_counter_failure: Count
    aps_frame_counter_failure: Count


class ScanSummary(Answer):
    device_count: Count
    """Without the coordinator."""
    reachable_count: Count
    unreachable_count: Count
    tables_read: Count
    duration_ms: Annotated[float, Field(ge=0)]
    pacing: Pacing
    links: list[TableLink]
    join_decisions: list[JoinDecision] = Field(default_factory=list)
    """The interface's join log, oldest first (the service keeps the latest few hundred)."""
    stack_counters: StackCounters | None = None
    """None when the radio's stack keeps no counters the host can read (Z-Stack, deCONZ), or
    did not give them."""


class ScanStartedEvent(Answer):
    event: Literal["started"]
    scan_id: Token
    gateway_id: GatewayId
    interface_id: InterfaceId
    started_at: Timestamp
    channel: Channel
    pan_id: ShortAddress
    timeout_s: Annotated[float, Field(ge=MIN_TIMEOUT_S, le=MAX_SCAN_TIMEOUT_S)]


class ScanProgressEvent(Answer):
    event: Literal["progress"]
    phase: Literal["neighbour_table"]
    devices_found: Count
    devices_reported: Count
    tables_read: Count


class ScanDeviceEvent(Answer):
    event: Literal["device"]
    device: DeviceReport


class ScanFinishedEvent(Answer):
    event: Literal["finished"]
    scan_id: Token
    summary: ScanSummary


class ScanErrorEvent(Answer):
    event: Literal["error"]
    scan_id: Token
    code: ErrorCode
    message: str


ScanEvent: TypeAlias = Annotated[
    ScanStartedEvent | ScanProgressEvent | ScanDeviceEvent | ScanFinishedEvent | ScanErrorEvent,
    Field(discriminator="event"),
]
"""One NDJSON line of a scan; a stream ends with one finished or error event."""
_SCAN_EVENT: Final[TypeAdapter[ScanEvent]] = TypeAdapter(ScanEvent)
_SCAN_EVENT_TAGS: Final = frozenset(
    tag
    for event in get_args(get_args(ScanEvent)[0])
    for tag in get_args(event.model_fields["event"].annotation)
)


class EnergyScanRequest(RequestBody):
    """``POST .../energy-scan`` (the body is optional)."""

    channels: Annotated[list[Channel], Field(min_length=1)] = Field(
        default_factory=lambda: list(ZIGBEE_CHANNELS)
    )
    duration_exp: Annotated[int, _between(0, 5)] = 2
    count: Annotated[int, _between(1, 8)] = 1
    """zigpy's scan count within one sample (radios combine those scans their own way)."""
    samples: Annotated[int, _between(1, MAX_ENERGY_SAMPLES)] = DEFAULT_ENERGY_SAMPLES
    """Energy samples of every channel, one zigpy energy scan each."""


class EnergyScanResult(Answer):
    interface_id: InterfaceId
    current_channel: Channel
    energy: dict[Channel, Energy]
    """The highest energy sample per channel, 0-255 (keys are channel numbers as text on the
    wire): a burst of interference shows here."""
    mean_energy: dict[Channel, Energy] = Field(default_factory=dict)
    """The mean of the samples per channel; empty from a gateway that sampled once."""
    samples: Annotated[int, _between(1, MAX_ENERGY_SAMPLES)] = 1
    tx_power_dbm: Annotated[int, _between(-128, 127)] | None = None
    """The coordinator's transmit power, when its radio says."""
    busy_channels: list[Channel]


class JoinWindowRequest(RequestBody):
    """``POST .../join-window``: admit one device with its install-code link key."""

    eui64: Eui64
    link_key: LinkKey
    duration_s: Annotated[int, _between(1, MAX_JOIN_WINDOW_S)] = DEFAULT_JOIN_WINDOW_S


class JoinWindowOpened(Answer):
    eui64: Eui64
    opened_at: Timestamp
    closes_at: Timestamp
    duration_s: Annotated[int, _between(1, MAX_JOIN_WINDOW_S)]


class DeviceRemoved(Answer):
    """``DELETE .../devices/{eui64}`` (the request has no body: the EUI-64 is in the path)."""

    eui64: Eui64
    removed: bool
    leave_acknowledged: bool


class OperationalCheckRequest(RequestBody):
    """``POST .../devices/{eui64}/operational-check``."""

    check: Check
    timeout_s: Annotated[float, Field(ge=MIN_TIMEOUT_S, le=MAX_CHECK_TIMEOUT_S)] = (
        DEFAULT_CHECK_TIMEOUT_S
    )
    message: MessageText = DEFAULT_MESSAGE


class IssuedCommand(Answer):
    """The id the gateway put in the command: ``message_id`` or ``issuer_event_id``."""

    message_id: Uint32 | None = None
    issuer_event_id: Uint32 | None = None


class Acknowledgement(Answer):
    """The device's Smart Energy answer; its other fields are kept as JSON scalars."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, bool | int | str | None]

    command: Literal["message_confirmation", "report_event_status"]
    message_id: Uint32 | None = None
    issuer_event_id: Uint32 | None = None
    event_status: Uint8 | None = None
    event_status_name: str | None = None


class OperationalCheckResult(Answer):
    """A test result: ``delivered`` is the ZCL Default Response, ``acknowledged`` the answer.

    A device that was not interviewed gets no command: then there is no ``command``,
    ``issued`` or ``round_trip_ms``.
    """

    eui64: Eui64
    check: Check
    command: CheckCommand | None = None
    issued: IssuedCommand | None = None
    delivered: bool
    acknowledged: bool
    acknowledgement: Acknowledgement | None
    round_trip_ms: Annotated[float, Field(ge=0)] | None = None
    detail: str


class ScenarioReplacement(RequestBody):
    """``PUT .../scenario`` (simulated interfaces); the answer is the `InterfaceInfo`."""

    scenario: ScenarioReference


class ErrorDetail(Answer):
    code: ErrorCode
    message: str
    reference: str | None = None
    """For an internal error: where the service's log has the details."""
    problems: list[str] | None = None
    """For an invalid scenario: each bad field."""


class ErrorBody(Answer):
    """Every 4xx and 5xx answer."""

    error: ErrorDetail


# -- reading -----------------------------------------------------------------------------

M = TypeVar("M", bound=Message)
_PLAIN_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_KEY_SHOWN: Final = 40


def field_path(location: Iterable[int | str]) -> str:
    """A field's path as a person reads it: ``devices[0].eui64``, ``scenario."odd key"``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        if not _PLAIN_KEY.fullmatch(part):
            part = json.dumps(part if len(part) <= _KEY_SHOWN else part[:_KEY_SHOWN] + "...")
        path = f"{path}.{part}" if path else part
    return path


@dataclasses.dataclass(frozen=True)
class Problem:
    """One bad field: where it is (pydantic's location) and what is wrong with it."""

    location: tuple[int | str, ...]
    message: str

    def __str__(self) -> str:
        path = field_path(self.location)
        return f"{path}: {self.message}" if path else self.message


class ProtocolViolation(ValueError):
    """A message that is not what the protocol says; `problems` names each bad field."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(str(problem).rstrip(".") for problem in problems[:_PROBLEMS_SHOWN])
        more = len(problems) - _PROBLEMS_SHOWN
        super().__init__(f"{shown} (and {more} more)" if more > 0 else shown)

    @classmethod
    def from_error(cls, error: ValidationError, *, tags: Iterable[str] = ()) -> ProtocolViolation:
        """The problems of pydantic's error; `tags` are union tags left out of each path."""
        skipped = set(tags)
        problems = []
        for detail in error.errors(include_url=False, include_context=False, include_input=False):
            location = tuple(detail["loc"])
            if location and location[0] in skipped:
                location = location[1:]
            if location[-1:] == ("[key]",):  # pydantic's mark for a bad key, named before it
                location = location[:-1]
            problems.append(Problem(location, detail["msg"]))
        return cls(problems)


def read_request(model: type[M], body: object) -> M:
    """A request body (decoded JSON) as its model; raises ProtocolViolation."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise ProtocolViolation.from_error(error) from None


def read_answer(model: type[M], raw: bytes | str) -> M:
    """An answer (JSON text) as its model; raises ProtocolViolation."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise ProtocolViolation.from_error(error) from None


def read_scan_event(raw: bytes | str) -> ScanEvent:
    """One NDJSON line of a scan as its event; raises ProtocolViolation."""
    try:
        return _SCAN_EVENT.validate_json(raw)
    except ValidationError as error:
        raise ProtocolViolation.from_error(error, tags=_SCAN_EVENT_TAGS) from None
