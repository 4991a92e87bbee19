# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""The scenario document: what a simulated HAN contains and how it behaves.

A scenario is plain data (YAML or JSON) read by `ScenarioDocument`. `parse_scenario` checks a
loaded document and returns the frozen records the simulated radio reads while it runs
(`Scenario`, `DeviceSpec`, ...); every problem is reported with the path of the bad field,
e.g. ``devices[3].eui64: not a valid EUI-64``. The JSON Schema of the document
(docs/schemas/scenario.schema.json) comes from these models:
``python -m han_gateway schema scenario``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Annotated, Any, Final, Self

import zigpy.types as zigpy_types
import zigpy.util
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from han_gateway import networks
from han_gateway.install_code_crc import install_code_with_crc
from han_gateway.protocol import (
    CHECKS,
    JOIN_METHODS,
    JOIN_POLICIES,
    JOINED_DEVICE_TYPES,
    KEY_SEPARATORS,
    POWER_SOURCES,
    ZIGBEE_CHANNELS,
    KnownJoinMethod,
    key_hex_digits,
    link_key_hex,
)
from han_gateway.scenarios.documents import (
    Choice,
    Document,
    DocumentError,
    Eui64,
    Flag,
    Integer,
    Items,
    Location,
    Number,
    Rule,
    Text,
    document_json_schema,
    document_problems,
    hex_digits_pattern,
    keys_as_text,
    problems_error,
)
from han_gateway.smart_energy import DEFAULT_TRUST_CENTER_LINK_KEY, SmartEnergyDeviceType
from han_gateway.zigbee_ids import (
    BASIC,
    DRLC_CLUSTER_ID,
    ELECTRICAL_MEASUREMENT,
    FULL_TX_POWER_DBM,
    HOME_AUTOMATION_PROFILE_ID,
    IAS_ZONE,
    IDENTIFY,
    KEY_ESTABLISHMENT_CLUSTER_ID,
    MAX_PAN_ID,
    MESSAGING_CLUSTER_ID,
    METERING_CLUSTER_ID,
    ON_OFF,
    OTA,
    POWER_CONFIGURATION,
    POWER_CUT_CHANNEL,
    PRICE_CLUSTER_ID,
    SMART_ENERGY_PROFILE_ID,
    THERMOSTAT,
    TIME,
)

CATEGORIES: Final = (
    "pct",
    "in_home_display",
    "load_control_switch",
    "smart_plug",
    "ems",
    "other_customer_interface",
)
HANS: Final = (networks.UTILITY, networks.CUSTOMER)
COORDINATOR: Final = "coordinator"

_ROUTER_CATEGORIES: Final = ("load_control_switch", "smart_plug")


class ScenarioError(DocumentError):
    """A scenario document is invalid; `problems` lists each bad field with its path."""


def install_code_link_key(text: str) -> zigpy_types.KeyData:
    """Derive the link key from an install code written in hex (CRC included)."""
    try:
        code = bytes.fromhex(key_hex_digits(text))
    except ValueError as error:
        raise ValueError("install code must be hexadecimal") from error
    key: zigpy_types.KeyData = zigpy.util.convert_install_code(code)
    return key


def derived_install_code(eui64: zigpy_types.EUI64) -> str:
    """A stable, valid 16-byte install code (CRC included) for a device that names none."""
    code = hashlib.sha256(b"han-gateway-simulated-install-code" + bytes(eui64)).digest()[:16]
    return install_code_with_crc(code).hex().upper()


def parse_link_key(text: str) -> zigpy_types.KeyData:
    """Parse a 128-bit link key written as 32 hex digits (separators allowed)."""
    digits = link_key_hex(text)
    if digits is None:
        raise ValueError("a link key is 32 hexadecimal digits")
    return zigpy_types.KeyData(bytes.fromhex(digits))


# -- rules for the scenario's own values -------------------------------------------------


class _InstallCode(Rule):
    """An install code in hex with its CRC, checked and normalised to upper case."""

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be the install code in hexadecimal, CRC included")
        install_code_link_key(value)
        return key_hex_digits(value).upper()

    def json_schema(self) -> dict[str, Any]:
        # 6, 8, 12 or 16 bytes of code and 2 of CRC; the CRC itself is checked on load.
        digits = hex_digits_pattern(16, 20, 28, 36, separators=KEY_SEPARATORS)
        return {"type": "string", "pattern": f"^{digits}$"}


class _LinkKey(Rule):
    def check(self, value: Any) -> zigpy_types.KeyData:
        if not isinstance(value, str):
            raise ValueError("a link key is 32 hexadecimal digits")
        return parse_link_key(value)

    def json_schema(self) -> dict[str, Any]:
        digits = hex_digits_pattern(32, separators=KEY_SEPARATORS)
        return {"type": "string", "pattern": f"^{digits}$"}


class _Parent(Rule):
    """``coordinator`` (read as None) or the EUI-64 of a router."""

    _eui64: Final = Eui64()

    def check(self, value: Any) -> zigpy_types.EUI64 | None:
        if value == COORDINATOR:
            return None
        return self._eui64.check(value)

    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [{"const": COORDINATOR}, self._eui64.json_schema()]}


class _ExtendedPanId(Rule):
    _eui64: Final = Eui64()

    def check(self, value: Any) -> zigpy_types.ExtendedPanId:
        return zigpy_types.ExtendedPanId(self._eui64.check(value))

    def json_schema(self) -> dict[str, Any]:
        return self._eui64.json_schema()


_Eui64Field = Annotated[zigpy_types.EUI64, Eui64()]
_ByteField = Annotated[int, Integer(0, 255)]
_WordField = Annotated[int, Integer(0, 0xFFFF)]
_TextField = Annotated[str, Text()]


# -- parts of a scenario the radio reads as they are written -------------------------------


class EndpointSpec(Document):
    """An application endpoint of a device, as its simple descriptor gives it."""

    endpoint_id: Annotated[int, Integer(1, 240)] = Field(alias="id")
    """Endpoint number."""
    profile_id: _WordField = SMART_ENERGY_PROFILE_ID
    """0x0109 Smart Energy, 0x0104 Home Automation."""
    device_type: _WordField = 0
    """Device id of the simple descriptor, e.g. 0x0502 for an in-home display."""
    input_clusters: tuple[_WordField, ...] = ()
    """Server clusters."""
    output_clusters: tuple[_WordField, ...] = ()
    """Client clusters."""


class GatewaySpec(Document):
    """The HAN as the coordinator (the meter) formed it."""

    channel: Annotated[int, Integer(ZIGBEE_CHANNELS[0], ZIGBEE_CHANNELS[-1])] = 15
    pan_id: Annotated[int, Integer(0, MAX_PAN_ID)] = 0x1A62
    extended_pan_id: Annotated[zigpy_types.ExtendedPanId, _ExtendedPanId()] = Field(
        default="00:13:50:04:00:00:00:01", validate_default=True
    )
    security_level: Annotated[int, Integer(0, 7)] = 5
    max_devices: Annotated[int, Integer(1, 250)] = 10
    """Joined devices may not exceed it."""
    join_policy: Annotated[str, Choice(JOIN_POLICIES)] = "install_code_only"
    """The Trust Center's join policy: install_code_only, or default_key_allowed (a device
    holding the well-known default key joins in any join window opened for it)."""


class RadioSpec(Document):
    """How the simulated radio behaves."""

    per_hop_latency_ms: Annotated[float, Number(0, 1000)] = 5.0
    """A round trip to a device at depth d takes d times this."""
    concurrency_limit: Annotated[int, Integer(1, 64)] = 4
    """Frames in flight at once."""
    table_page_size: Annotated[int, Integer(1, 8)] = 3
    """Neighbour and routing table entries per ZDO response."""
    join_delay_ms: Annotated[int, Integer(0, 60_000)] = 50
    """From a join window opening to the device's announcement."""
    tx_power_dbm: Annotated[int, Integer(-20, 20)] | None = None
    """Transmit power of the HAN's radios (dBm); by default full power (8), or on channel 26,
    where North American radios must cut it, -2. Link qualities are written as at full power:
    every link reads weaker by the difference (about 4 LQI and 1 dB of RSSI per dB)."""


class InterferenceDocument(Document):
    """Other radio traffic on one channel, busy in `duty_cycle` of the energy samples."""

    energy: _ByteField
    """Energy (0-255) an energy sample measures while the interference is on."""
    duty_cycle: Annotated[float, Number(0, 1)] = 1.0
    """Share of energy samples that catch it (1: always, 0.3: bursty Wi-Fi). Bursts are spread
    evenly over the samples and the first sample falls between them, so one sample misses a
    bursty channel and 1/duty_cycle samples in a row always catch it."""

    def busy_in(self, sample: int) -> bool:
        """Whether energy sample number `sample` (0, 1, ...) catches a burst."""
        # A small margin keeps 0.1 * 10 from reading as 0.9999.
        return math.floor((sample + 1) * self.duty_cycle + 1e-9) > math.floor(
            sample * self.duty_cycle + 1e-9
        )


# -- what the radio reads while it runs -----------------------------------------------------
# Frozen dataclasses built from the document rather than models read as written: their
# fields are derived (defaults from the category, network addresses assigned across devices),
# and the radio reads them for every frame it answers, where reading a dataclass attribute
# costs a fraction of reading a model's (pydantic's __getattr__ keeps Python from
# specialising the read).


@dataclasses.dataclass(frozen=True)
class LinkSpec:
    """Radio link between a device and its parent.

    `link_quality` is what the parent measures for frames from the device;
    `reverse_link_quality` is what the device measures for frames from the parent.
    """

    link_quality: int
    reverse_link_quality: int
    rssi: int


@dataclasses.dataclass(frozen=True)
class DeviceSpec:
    eui64: zigpy_types.EUI64
    nwk: int
    name: str
    category: str
    han: str
    registered: bool
    device_type: str
    parent: zigpy_types.EUI64 | None  # None: the coordinator
    link: LinkSpec
    power_source: str
    manufacturer: str
    model: str
    sw_build_id: str
    ota_file_version: int | None
    join_method: str
    install_code: str | None  # hex with CRC; None when the device has only a link key
    link_key: zigpy_types.KeyData
    endpoints: tuple[EndpointSpec, ...]
    reachable: bool
    silent: bool
    sleepy: bool
    poll_interval_ms: int
    acknowledges: frozenset[str]
    pending_join: bool
    join_logged: bool = True  # false: it joined before the gateway's join log began
    alternate_parents: tuple[zigpy_types.EUI64 | None, ...] = ()  # None: the coordinator
    loses_messages: bool = False  # utility messages to it are never acknowledged

    @property
    def logged_join_method(self) -> KnownJoinMethod | None:
        """What the join log observed of an already-joined device's join: a device holding the
        default key joined while the Trust Center accepted it, any other in an install-code
        window; None when it joined before the log began."""
        if not self.join_logged:
            return None
        return "default_key" if self.link_key == DEFAULT_TRUST_CENTER_LINK_KEY else "install_code"

    @property
    def is_router(self) -> bool:
        return self.device_type == "router"

    @property
    def profile_id(self) -> int:
        return self.endpoints[0].profile_id if self.endpoints else SMART_ENERGY_PROFILE_ID


@dataclasses.dataclass(frozen=True)
class ExtraLinkSpec:
    """A neighbour link between two routers that is not a parent/child link."""

    first: zigpy_types.EUI64
    second: zigpy_types.EUI64
    link_quality: int  # measured at `first` for frames from `second`
    reverse_link_quality: int  # measured at `second` for frames from `first`


@dataclasses.dataclass(frozen=True)
class ExpectedDeviceSpec:
    """A device the utility registered that is not on the radio."""

    eui64: zigpy_types.EUI64
    category: str
    manufacturer: str
    model: str
    install_code: str  # what the utility registered (hex, CRC included)


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    gateway: GatewaySpec
    radio: RadioSpec
    energy: dict[int, int]
    devices: tuple[DeviceSpec, ...]
    expected_devices: tuple[ExpectedDeviceSpec, ...]
    extra_links: tuple[ExtraLinkSpec, ...]
    interference: dict[int, InterferenceDocument] = dataclasses.field(default_factory=dict)
    tx_power_dbm: int = FULL_TX_POWER_DBM  # the radios' transmit power, links already weakened

    def energy_sample(self, channel: int, sample: int) -> int:
        """What energy sample number `sample` (0, 1, ...) measures on `channel`."""
        interference = self.interference.get(channel)
        if interference is not None and interference.busy_in(sample):
            return max(interference.energy, self.energy[channel])
        return self.energy[channel]

    def device(self, eui64: zigpy_types.EUI64) -> DeviceSpec:
        for device in self.devices:
            if device.eui64 == eui64:
                return device
        raise KeyError(eui64)


# The clusters every typical product of a profile has: (server clusters, client clusters).
_PROFILE_CLUSTERS: Final[dict[int, tuple[tuple[int, ...], tuple[int, ...]]]] = {
    SMART_ENERGY_PROFILE_ID: ((BASIC, IDENTIFY, KEY_ESTABLISHMENT_CLUSTER_ID), (TIME, OTA)),
    HOME_AUTOMATION_PROFILE_ID: ((BASIC, IDENTIFY), (OTA,)),
}


def _typical_endpoint(
    profile_id: int,
    device_type: int,
    *,
    inputs: tuple[int, ...] = (),
    outputs: tuple[int, ...] = (),
) -> EndpointSpec:
    """Endpoint 1 of a typical product: its profile's clusters and its own, in ascending order
    as products list them."""
    profile_inputs, profile_outputs = _PROFILE_CLUSTERS[profile_id]
    return EndpointSpec(
        id=1,
        profile_id=profile_id,
        device_type=device_type,
        input_clusters=tuple(sorted({*profile_inputs, *inputs})),
        output_clusters=tuple(sorted({*profile_outputs, *outputs})),
    )


# Endpoint layouts of typical Smart Energy products, used when a device lists none.
_DEFAULT_ENDPOINTS: Final[dict[str, EndpointSpec]] = {
    "pct": _typical_endpoint(
        SMART_ENERGY_PROFILE_ID,
        SmartEnergyDeviceType.PROGRAMMABLE_COMMUNICATING_THERMOSTAT,
        inputs=(THERMOSTAT,),
        outputs=(PRICE_CLUSTER_ID, DRLC_CLUSTER_ID, MESSAGING_CLUSTER_ID),
    ),
    "in_home_display": _typical_endpoint(
        SMART_ENERGY_PROFILE_ID,
        SmartEnergyDeviceType.IN_HOME_DISPLAY,
        outputs=(PRICE_CLUSTER_ID, METERING_CLUSTER_ID, MESSAGING_CLUSTER_ID),
    ),
    "load_control_switch": _typical_endpoint(
        SMART_ENERGY_PROFILE_ID,
        SmartEnergyDeviceType.LOAD_CONTROL_DEVICE,
        outputs=(DRLC_CLUSTER_ID,),
    ),
    "smart_plug": _typical_endpoint(
        HOME_AUTOMATION_PROFILE_ID,
        0x0051,  # HA Smart Plug
        inputs=(ON_OFF, METERING_CLUSTER_ID, ELECTRICAL_MEASUREMENT),
    ),
    "ems": _typical_endpoint(
        SMART_ENERGY_PROFILE_ID,
        SmartEnergyDeviceType.SMART_APPLIANCE,
        outputs=(PRICE_CLUSTER_ID, DRLC_CLUSTER_ID, METERING_CLUSTER_ID, MESSAGING_CLUSTER_ID),
    ),
    "other_customer_interface": _typical_endpoint(
        HOME_AUTOMATION_PROFILE_ID,
        0x0402,  # HA IAS Zone (e.g. a door sensor of a security system)
        inputs=(POWER_CONFIGURATION, IAS_ZONE),
    ),
}

_DEFAULT_ACKNOWLEDGES: Final[dict[str, frozenset[str]]] = {
    "pct": frozenset({"message", "drlc"}),
    "in_home_display": frozenset({"message"}),
    "load_control_switch": frozenset({"drlc"}),
    "smart_plug": frozenset(),
    "ems": frozenset({"message", "drlc"}),
    "other_customer_interface": frozenset(),
}

_DEFAULT_ENERGY: Final = 24  # a quiet channel: well below zigpy's 75 % warning
# What a North American radio typically keeps on channel 26 (10 dB below full power).
_POWER_CUT_TX_POWER_DBM: Final = -2
# LQI 0-255 spans about 60 dB of signal (-95 to -35 dBm), as `_rssi_for` reads it.
_LQI_PER_DB: Final = 255 / 60


def _rssi_for(link_quality: int) -> int:
    """A plausible RSSI for an LQI, for scenarios that give only the LQI."""
    return round(-95 + link_quality / _LQI_PER_DB)


def _weakened(link_quality: int, by_db: int) -> int:
    """A link quality `by_db` dB weaker (stronger if negative), within 0-255."""
    return min(255, max(0, link_quality - round(by_db * _LQI_PER_DB)))


# -- the document ---------------------------------------------------------------------------


class DeviceDocument(Document):
    """A device on the simulated HAN. Fields left out take defaults from its category."""

    eui64: _Eui64Field
    """The device's EUI-64 (IEEE MAC address)."""
    nwk: Annotated[int, Integer(1, 0xFFF7)] | None = None
    """Network address; assigned when left out."""
    name: _TextField = ""
    category: Annotated[str, Choice(CATEGORIES)]
    han: Annotated[str, Choice(HANS)] = networks.UTILITY
    registered: Annotated[bool, Flag()] | None = None
    """Registered with the utility; by default true on the utility HAN, false on the customer's."""
    device_type: Annotated[str, Choice(JOINED_DEVICE_TYPES)] | None = None
    """By default router for load control switches and smart plugs, end_device for others."""
    parent: Annotated[zigpy_types.EUI64 | None, _Parent()] = Field(
        default=COORDINATOR, validate_default=True
    )
    """coordinator, or the EUI-64 of a router in this scenario."""
    alternate_parents: tuple[Annotated[zigpy_types.EUI64 | None, _Parent()], ...] = ()
    """Where the device turns, in order, when its parent's route is down (a router switched off
    on the way): coordinator or routers of this scenario, reached with the same link. Without
    one, a device whose parent's route is down is cut off."""
    link_quality: _ByteField = 220
    """LQI the parent measures for frames from this device."""
    reverse_link_quality: _ByteField | None = None
    """LQI this device measures for frames from its parent; by default link_quality."""
    rssi: Annotated[int, Integer(-110, 0)] | None = None
    """dBm at the parent; derived from link_quality when left out."""
    power_source: Annotated[str, Choice(POWER_SOURCES)] | None = None
    """By default mains for routers, battery for end devices."""
    manufacturer: _TextField
    """Basic cluster manufacturer name."""
    model: _TextField
    """Basic cluster model identifier."""
    sw_build_id: _TextField = "1.0.0"
    """Basic cluster software build id."""
    ota_file_version: Annotated[int, Integer(0, 0xFFFFFFFF)] | None = None
    """OTA cluster current file version; none when left out."""
    join_method: Annotated[str, Choice(JOIN_METHODS)] = "install_code"
    install_code: Annotated[str, _InstallCode()] | None = None
    """Hex, CRC included; the link key is derived from it. Left out for an install_code join
    without a link_key, a stable valid code is derived from the EUI-64."""
    link_key: Annotated[zigpy_types.KeyData, _LinkKey()] | None = None
    """The link key itself (32 hex digits), instead of one derived from the install code."""
    endpoints: (
        Annotated[
            tuple[EndpointSpec, ...],
            Items.with_unique(
                "endpoint_id",
                empty="must be a non-empty list of endpoints",
                duplicate="endpoint ids must be unique",
            ),
        ]
        | None
    ) = None
    """By default the endpoint of a typical product of the category."""
    reachable: Annotated[bool, Flag()] = True
    """false: frames to it are not acknowledged (MAC no-ack)."""
    silent: Annotated[bool, Flag()] = False
    """true: frames are acknowledged but never answered."""
    sleepy: Annotated[bool, Flag()] = False
    """true: answers only when it polls, poll_interval_ms after the request."""
    loses_messages: Annotated[bool, Flag()] = False
    """true: answers the scan, but frames carrying the meter's utility messages (Messaging,
    Demand Response and Load Control) are never acknowledged, whatever the retries."""
    poll_interval_ms: Annotated[int, Integer(0, 60_000)] = 250
    acknowledges: tuple[Annotated[str, Choice(CHECKS)], ...] | None = None
    """Operational checks it answers; by default those its category supports."""
    pending_join: Annotated[bool, Flag()] = False
    """true: not on the network until a join window opens with its link key."""
    join_logged: Annotated[bool, Flag()] = True
    """false: it joined before the gateway's join log began, so how it joined is unknown. A
    joined device is otherwise in the log: with the default key as joined while the Trust
    Center accepted that key, with any other key as joined in an install-code window."""

    @property
    def effective_device_type(self) -> str:
        """`device_type`, or the one products of the category usually have."""
        if self.device_type is not None:
            return self.device_type
        return "router" if self.category in _ROUTER_CATEGORIES else "end_device"

    def spec(self, nwk: int, *, weaker_by_db: int = 0) -> DeviceSpec:
        """The device as the radio runs it, at network address `nwk`, its link `weaker_by_db`
        than written (the radios transmit below full power)."""
        category = self.category
        device_type = self.effective_device_type
        install_code, link_key = self._keys()
        reverse = (
            self.link_quality if self.reverse_link_quality is None else self.reverse_link_quality
        )
        rssi = _rssi_for(self.link_quality) if self.rssi is None else self.rssi
        return DeviceSpec(
            eui64=self.eui64,
            nwk=nwk,
            name=self.name,
            category=category,
            han=self.han,
            registered=self.han == networks.UTILITY if self.registered is None else self.registered,
            device_type=device_type,
            parent=self.parent,
            alternate_parents=self.alternate_parents,
            link=LinkSpec(
                link_quality=_weakened(self.link_quality, weaker_by_db),
                reverse_link_quality=_weakened(reverse, weaker_by_db),
                rssi=max(-110, min(0, rssi - weaker_by_db)),
            ),
            power_source=self.power_source or ("mains" if device_type == "router" else "battery"),
            manufacturer=self.manufacturer,
            model=self.model,
            sw_build_id=self.sw_build_id,
            ota_file_version=self.ota_file_version,
            join_method=self.join_method,
            install_code=install_code,
            link_key=link_key,
            endpoints=self.endpoints or (_DEFAULT_ENDPOINTS[category],),
            reachable=self.reachable,
            silent=self.silent,
            sleepy=self.sleepy,
            loses_messages=self.loses_messages,
            poll_interval_ms=self.poll_interval_ms,
            acknowledges=(
                _DEFAULT_ACKNOWLEDGES[category]
                if self.acknowledges is None
                else frozenset(self.acknowledges)
            ),
            pending_join=self.pending_join,
            join_logged=self.join_logged,
        )

    def _keys(self) -> tuple[str | None, zigpy_types.KeyData]:
        """The install code the device holds, if any, and the link key it joined with."""
        if self.join_method == "default_key":
            return self.install_code, DEFAULT_TRUST_CENTER_LINK_KEY
        if self.link_key is not None:
            return self.install_code, self.link_key
        install_code = self.install_code or derived_install_code(self.eui64)
        return install_code, install_code_link_key(install_code)


class ExpectedDeviceDocument(Document):
    """A device the utility registered that is not on the radio (the radio ignores it)."""

    eui64: _Eui64Field
    category: Annotated[str, Choice(CATEGORIES)]
    manufacturer: _TextField
    model: _TextField
    install_code: Annotated[str, _InstallCode()] | None = None
    """What the utility registered (hex, CRC included); derived from the EUI-64 when left
    out."""

    def spec(self) -> ExpectedDeviceSpec:
        return ExpectedDeviceSpec(
            eui64=self.eui64,
            category=self.category,
            manufacturer=self.manufacturer,
            model=self.model,
            install_code=self.install_code or derived_install_code(self.eui64),
        )


class ExtraLinkDocument(Document):
    """A neighbour link between two routers besides the parent/child links."""

    between: Annotated[
        tuple[_Eui64Field, ...],
        Items(minimum=2, maximum=2, length_problem="must list exactly two EUI-64s"),
    ]
    """The two routers' EUI-64s."""
    link_quality: _ByteField = 180
    """LQI the first router measures for frames from the second."""
    reverse_link_quality: _ByteField | None = None
    """LQI the second router measures for frames from the first; by default link_quality."""

    def spec(self, *, weaker_by_db: int = 0) -> ExtraLinkSpec:
        first, second = self.between
        return ExtraLinkSpec(
            first=first,
            second=second,
            link_quality=_weakened(self.link_quality, weaker_by_db),
            reverse_link_quality=_weakened(
                self.link_quality
                if self.reverse_link_quality is None
                else self.reverse_link_quality,
                weaker_by_db,
            ),
        )


_ChannelKey = Annotated[int, Integer(ZIGBEE_CHANNELS[0], ZIGBEE_CHANNELS[-1], label="channel")]


def _per_channel() -> Any:
    """A map keyed by channel, empty by default; YAML writes the keys as numbers, JSON as text."""
    return Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"pattern": "^(?:1[1-9]|2[0-6])$"}},
    )


class ScenarioDocument(Document):
    """A simulated HAN: the network the coordinator formed, the radio, the devices on it and
    the devices the utility expects. Unknown fields are errors."""

    name: _TextField | None = Field(default=None, validate_default=True)
    """Required; a scenario file's name (without .yaml or .json) when left out."""
    description: _TextField = ""
    """Human text for demos."""
    gateway: GatewaySpec = Field(default_factory=GatewaySpec)
    radio: RadioSpec = Field(default_factory=RadioSpec)
    energy: Annotated[dict[_ChannelKey, _ByteField], BeforeValidator(keys_as_text)] = _per_channel()
    """Energy (0-255) per channel as an energy scan measures it; channels left out are quiet
    (24)."""
    interference: Annotated[
        dict[_ChannelKey, InterferenceDocument], BeforeValidator(keys_as_text)
    ] = _per_channel()
    """Bursty traffic per channel: in `duty_cycle` of the energy samples the channel reads
    `energy` instead of its level in `energy`."""
    devices: tuple[DeviceDocument, ...] = ()
    expected_devices: tuple[ExpectedDeviceDocument, ...] = ()
    """Registered by the utility but not on the radio."""
    extra_links: tuple[ExtraLinkDocument, ...] = ()
    """Neighbour links between routers besides the parent/child links."""

    @field_validator("name")
    @classmethod
    def _name_or_file_name(cls, name: str | None, info: ValidationInfo) -> str:
        default_name = (info.context or {}).get("default_name", "")
        if name is None and not default_name:
            raise PydanticCustomError("missing", "is required")
        return name or str(default_name)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = _consistency_problems(self)
        if problems:
            raise problems_error(type(self), problems)
        return self

    def scenario(self) -> Scenario:
        """The HAN as the radio runs it, every device at its own network address."""
        energy = dict.fromkeys(ZIGBEE_CHANNELS, _DEFAULT_ENERGY)
        energy.update(self.energy)
        tx_power_dbm = self.radio.tx_power_dbm
        if tx_power_dbm is None:
            cut = self.gateway.channel == POWER_CUT_CHANNEL
            tx_power_dbm = _POWER_CUT_TX_POWER_DBM if cut else FULL_TX_POWER_DBM
        weaker_by_db = FULL_TX_POWER_DBM - tx_power_dbm
        return Scenario(
            name=self.name or "",
            description=self.description,
            gateway=self.gateway,
            radio=self.radio,
            energy=energy,
            devices=tuple(
                device.spec(nwk, weaker_by_db=weaker_by_db)
                for device, nwk in zip(self.devices, _network_addresses(self.devices), strict=True)
            ),
            expected_devices=tuple(expected.spec() for expected in self.expected_devices),
            extra_links=tuple(link.spec(weaker_by_db=weaker_by_db) for link in self.extra_links),
            interference=dict(self.interference),
            tx_power_dbm=tx_power_dbm,
        )


def _consistency_problems(document: ScenarioDocument) -> list[tuple[Location, str]]:
    """What the devices, their parents and the links say about one another."""
    devices = document.devices
    problems: list[tuple[Location, str]] = []
    by_eui: dict[zigpy_types.EUI64, int] = {}
    for index, device in enumerate(devices):
        if device.eui64 in by_eui:
            first = by_eui[device.eui64]
            problems.append(
                (
                    ("devices", index, "eui64"),
                    f"duplicate of devices[{first}].eui64 ({device.eui64})",
                )
            )
        by_eui.setdefault(device.eui64, index)

    for index, device in enumerate(devices):
        parents: list[tuple[Location, zigpy_types.EUI64 | None]] = [
            (("devices", index, "parent"), device.parent),
            *(
                (("devices", index, "alternate_parents", position), alternate)
                for position, alternate in enumerate(device.alternate_parents)
            ),
        ]
        for where, parent in parents:
            if parent is None:
                continue
            parent_index = by_eui.get(parent)
            if parent_index is None:
                problems.append((where, f"no device has EUI-64 {parent}"))
            elif devices[parent_index].effective_device_type != "router":
                problems.append(
                    (where, f"devices[{parent_index}] is an end device; only routers have children")
                )
            elif parent == device.eui64:
                problems.append((where, "a device cannot be its own parent"))
    # A parent chain that loops would make the device unreachable from the coordinator.
    for index, device in enumerate(devices):
        seen: set[zigpy_types.EUI64] = set()
        current: DeviceDocument | None = device
        while current is not None and current.parent is not None:
            if current.eui64 in seen:
                problems.append((("devices", index, "parent"), "parent chain loops"))
                break
            seen.add(current.eui64)
            parent_index = by_eui.get(current.parent)
            current = devices[parent_index] if parent_index is not None else None
    nwks = [device.nwk for device in devices if device.nwk is not None]
    if len(nwks) != len(set(nwks)):
        problems.append((("devices",), "nwk addresses must be unique"))
    joined = sum(1 for device in devices if not device.pending_join)
    max_devices = document.gateway.max_devices
    if joined > max_devices:
        problems.append(
            (("devices",), f"{joined} joined devices exceed gateway.max_devices ({max_devices})")
        )
    for index, link in enumerate(document.extra_links):
        for end in link.between:
            if end not in by_eui:
                problems.append((("extra_links", index, "between"), f"no device has EUI-64 {end}"))
    return problems


def _network_addresses(devices: tuple[DeviceDocument, ...]) -> list[int]:
    """Each device's own address, or a free one for a device that names none."""
    used = {device.nwk for device in devices if device.nwk is not None}
    next_nwk = 0x2A01
    addresses: list[int] = []
    for device in devices:
        if device.nwk is not None:
            addresses.append(device.nwk)
            continue
        while next_nwk in used:
            next_nwk += 0x0107
        used.add(next_nwk)
        addresses.append(next_nwk)
    return addresses


def parse_scenario(document: object, *, default_name: str = "") -> Scenario:
    """Validate a loaded scenario document; raise ScenarioError naming each bad field.

    `default_name` (a file's name) stands in for a document that names no scenario.
    """
    try:
        parsed = ScenarioDocument.model_validate(document, context={"default_name": default_name})
    except ValidationError as error:
        raise ScenarioError(document_problems(error, root="scenario")) from None
    return parsed.scenario()


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario document (docs/schemas/scenario.schema.json)."""
    return document_json_schema(ScenarioDocument, title="Scenario of a simulated HAN")
