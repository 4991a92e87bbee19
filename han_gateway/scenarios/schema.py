# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""The scenario document: what a simulated HAN contains and how it behaves.

A scenario is plain data (YAML or JSON). `parse_scenario` validates a loaded document and
returns frozen dataclasses; every problem is reported with the path of the bad field, e.g.
``devices[3].eui64: not a valid EUI-64``. The schema is documented in docs/GATEWAY_API.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import zigpy.types as zigpy_types
import zigpy.util

from han_gateway.eui64 import InvalidEUI64, parse_eui64
from han_gateway.install_code_crc import install_code_with_crc
from han_gateway.smart_energy import DEFAULT_TRUST_CENTER_LINK_KEY, SmartEnergyDeviceType
from han_gateway.zigbee_ids import (
    BASIC,
    DRLC_CLUSTER_ID,
    ELECTRICAL_MEASUREMENT,
    HOME_AUTOMATION_PROFILE_ID,
    IAS_ZONE,
    IDENTIFY,
    KEY_ESTABLISHMENT_CLUSTER_ID,
    MESSAGING_CLUSTER_ID,
    METERING_CLUSTER_ID,
    ON_OFF,
    OTA,
    POWER_CONFIGURATION,
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
HANS: Final = ("utility", "customer")
DEVICE_TYPES: Final = ("router", "end_device")
POWER_SOURCES: Final = ("mains", "battery")
JOIN_METHODS: Final = ("install_code", "default_key")
OPERATIONAL_CHECKS: Final = ("message", "drlc")
COORDINATOR: Final = "coordinator"
ZIGBEE_CHANNELS: Final = range(11, 27)


_HEX_KEY = re.compile(r"^[0-9a-fA-F]{32}$")


class ScenarioError(ValueError):
    """A scenario document is invalid; `problems` lists each bad field with its path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclasses.dataclass(frozen=True)
class EndpointSpec:
    endpoint_id: int
    profile_id: int
    device_type: int
    input_clusters: tuple[int, ...]
    output_clusters: tuple[int, ...]


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
class GatewaySpec:
    channel: int
    pan_id: int
    extended_pan_id: zigpy_types.ExtendedPanId
    security_level: int
    max_devices: int


@dataclasses.dataclass(frozen=True)
class RadioSpec:
    per_hop_latency_ms: float
    concurrency_limit: int
    table_page_size: int
    join_delay_ms: int


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

    def device(self, eui64: zigpy_types.EUI64) -> DeviceSpec:
        for device in self.devices:
            if device.eui64 == eui64:
                return device
        raise KeyError(eui64)


# Endpoint layouts of typical Smart Energy products, used when a device lists none.
_DEFAULT_ENDPOINTS: Final[dict[str, EndpointSpec]] = {
    "pct": EndpointSpec(
        1,
        SMART_ENERGY_PROFILE_ID,
        SmartEnergyDeviceType.PROGRAMMABLE_COMMUNICATING_THERMOSTAT,
        (BASIC, IDENTIFY, THERMOSTAT, KEY_ESTABLISHMENT_CLUSTER_ID),
        (TIME, OTA, PRICE_CLUSTER_ID, DRLC_CLUSTER_ID, MESSAGING_CLUSTER_ID),
    ),
    "in_home_display": EndpointSpec(
        1,
        SMART_ENERGY_PROFILE_ID,
        SmartEnergyDeviceType.IN_HOME_DISPLAY,
        (BASIC, IDENTIFY, KEY_ESTABLISHMENT_CLUSTER_ID),
        (TIME, OTA, PRICE_CLUSTER_ID, METERING_CLUSTER_ID, MESSAGING_CLUSTER_ID),
    ),
    "load_control_switch": EndpointSpec(
        1,
        SMART_ENERGY_PROFILE_ID,
        SmartEnergyDeviceType.LOAD_CONTROL_DEVICE,
        (BASIC, IDENTIFY, KEY_ESTABLISHMENT_CLUSTER_ID),
        (TIME, OTA, DRLC_CLUSTER_ID),
    ),
    "smart_plug": EndpointSpec(
        1,
        HOME_AUTOMATION_PROFILE_ID,
        0x0051,  # HA Smart Plug
        (BASIC, IDENTIFY, ON_OFF, METERING_CLUSTER_ID, ELECTRICAL_MEASUREMENT),
        (OTA,),
    ),
    "ems": EndpointSpec(
        1,
        SMART_ENERGY_PROFILE_ID,
        SmartEnergyDeviceType.SMART_APPLIANCE,
        (BASIC, IDENTIFY, KEY_ESTABLISHMENT_CLUSTER_ID),
        (
            TIME,
            OTA,
            PRICE_CLUSTER_ID,
            DRLC_CLUSTER_ID,
            METERING_CLUSTER_ID,
            MESSAGING_CLUSTER_ID,
        ),
    ),
    "other_customer_interface": EndpointSpec(
        1,
        HOME_AUTOMATION_PROFILE_ID,
        0x0402,  # HA IAS Zone (e.g. a door sensor of a security system)
        (BASIC, POWER_CONFIGURATION, IDENTIFY, IAS_ZONE),
        (OTA,),
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


def install_code_link_key(text: str) -> zigpy_types.KeyData:
    """Derive the link key from an install code written in hex (CRC included)."""
    digits = re.sub(r"[\s:\-]", "", text)
    try:
        code = bytes.fromhex(digits)
    except ValueError as error:
        raise ValueError("install code must be hexadecimal") from error
    key: zigpy_types.KeyData = zigpy.util.convert_install_code(code)
    return key


def _install_code(value: Any) -> str:
    """An install code in hex, checked (length and CRC) and normalised to upper case."""
    if not isinstance(value, str):
        raise TypeError("must be the install code in hexadecimal, CRC included")
    install_code_link_key(value)
    return re.sub(r"[\s:\-]", "", value).upper()


def derived_install_code(eui64: zigpy_types.EUI64) -> str:
    """A stable, valid 16-byte install code (CRC included) for a device that names none."""
    code = hashlib.sha256(b"han-gateway-simulated-install-code" + bytes(eui64)).digest()[:16]
    return install_code_with_crc(code).hex().upper()


def parse_link_key(text: str) -> zigpy_types.KeyData:
    """Parse a 128-bit link key written as 32 hex digits (separators allowed)."""
    digits = re.sub(r"[\s:\-]", "", text)
    if not _HEX_KEY.match(digits):
        raise ValueError("a link key is 32 hexadecimal digits")
    return zigpy_types.KeyData(bytes.fromhex(digits))


_T = TypeVar("_T")


class DocumentReader:
    """Reads typed fields out of a loaded document, collecting path-named problems."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def mapping(self, value: object, path: str) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.problem(path, "must be a mapping")
            return None
        return value

    def unknown_keys(self, data: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(f"{path}.{key}" if path else str(key), "unknown field")

    def field(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        convert: Callable[[Any], _T],
        default: _T | None = None,
        *,
        required: bool = False,
    ) -> _T | None:
        where = f"{path}.{key}" if path else key
        if key not in data or data[key] is None:
            if required:
                self.problem(where, "is required")
            return default
        try:
            return convert(data[key])
        except (TypeError, ValueError) as error:
            self.problem(where, str(error))
            return default


def text_field(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("must be text")
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def boolean_field(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("must be true or false")
    return value


def integer_field(minimum: int, maximum: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, str):
            try:
                value = int(value, 0)
            except ValueError:
                raise ValueError(f"must be an integer from {minimum} to {maximum}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"must be an integer from {minimum} to {maximum}")
        if not minimum <= value <= maximum:
            raise ValueError(f"must be from {minimum} to {maximum}, not {value}")
        return value

    return convert


def number_field(minimum: float, maximum: float) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"must be a number from {minimum} to {maximum}")
        if not minimum <= value <= maximum:
            raise ValueError(f"must be from {minimum} to {maximum}, not {value}")
        return float(value)

    return convert


def choice_field(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, not {value!r}")
        return str(value)

    return convert


def eui64_field(value: Any) -> zigpy_types.EUI64:
    if not isinstance(value, str):
        raise TypeError("not a valid EUI-64: write it as text, e.g. '00:0d:6f:00:0a:90:69:e7'")
    try:
        return parse_eui64(value)
    except InvalidEUI64 as error:
        raise ValueError(f"not a valid EUI-64 ({error})") from None


def _extended_pan_id(value: Any) -> zigpy_types.ExtendedPanId:
    eui = eui64_field(value)
    return zigpy_types.ExtendedPanId(eui)


def _cluster_list(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise TypeError("must be a list of cluster ids")
    convert = integer_field(0, 0xFFFF)
    return tuple(convert(item) for item in value)


_DEFAULT_EXTENDED_PAN_ID: Final = _extended_pan_id("00:13:50:04:00:00:00:01")


def _parse_gateway(reader: DocumentReader, value: object) -> GatewaySpec:
    data = reader.mapping(value, "gateway") or {}
    reader.unknown_keys(
        data, {"channel", "pan_id", "extended_pan_id", "security_level", "max_devices"}, "gateway"
    )
    return GatewaySpec(
        channel=reader.field(data, "channel", "gateway", integer_field(11, 26), 15) or 15,
        pan_id=reader.field(data, "pan_id", "gateway", integer_field(0, 0xFFFE), 0x1A62) or 0,
        extended_pan_id=reader.field(
            data,
            "extended_pan_id",
            "gateway",
            _extended_pan_id,
            _DEFAULT_EXTENDED_PAN_ID,
        )
        or _DEFAULT_EXTENDED_PAN_ID,
        security_level=reader.field(data, "security_level", "gateway", integer_field(0, 7), 5) or 0,
        max_devices=reader.field(data, "max_devices", "gateway", integer_field(1, 250), 10) or 10,
    )


def _parse_radio(reader: DocumentReader, value: object) -> RadioSpec:
    data = reader.mapping(value, "radio") or {}
    reader.unknown_keys(
        data,
        {"per_hop_latency_ms", "concurrency_limit", "table_page_size", "join_delay_ms"},
        "radio",
    )
    return RadioSpec(
        per_hop_latency_ms=reader.field(
            data, "per_hop_latency_ms", "radio", number_field(0, 1000), 5.0
        )
        or 0.0,
        concurrency_limit=reader.field(data, "concurrency_limit", "radio", integer_field(1, 64), 4)
        or 4,
        table_page_size=reader.field(data, "table_page_size", "radio", integer_field(1, 8), 3) or 3,
        join_delay_ms=reader.field(data, "join_delay_ms", "radio", integer_field(0, 60_000), 50)
        or 0,
    )


def _parse_energy(reader: DocumentReader, value: object) -> dict[int, int]:
    energy = dict.fromkeys(ZIGBEE_CHANNELS, _DEFAULT_ENERGY)
    if value is None:
        return energy
    data = reader.mapping(value, "energy")
    if data is None:
        return energy
    for key in data:
        try:
            channel = integer_field(11, 26)(key)
        except (TypeError, ValueError) as error:
            reader.problem(f"energy.{key}", f"channel {error}")
            continue
        parsed = reader.field(data, key, "energy", integer_field(0, 255))
        if parsed is not None:
            energy[channel] = parsed
    return energy


def _parse_endpoints(
    reader: DocumentReader, value: object, path: str, category: str
) -> tuple[EndpointSpec, ...]:
    if value is None:
        return (_DEFAULT_ENDPOINTS.get(category, _DEFAULT_ENDPOINTS["pct"]),)
    if not isinstance(value, list) or not value:
        reader.problem(path, "must be a non-empty list of endpoints")
        return ()
    endpoints: list[EndpointSpec] = []
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        data = reader.mapping(item, where)
        if data is None:
            continue
        reader.unknown_keys(
            data, {"id", "profile_id", "device_type", "input_clusters", "output_clusters"}, where
        )
        endpoints.append(
            EndpointSpec(
                endpoint_id=reader.field(data, "id", where, integer_field(1, 240), required=True)
                or 1,
                profile_id=reader.field(
                    data, "profile_id", where, integer_field(0, 0xFFFF), SMART_ENERGY_PROFILE_ID
                )
                or 0,
                device_type=reader.field(data, "device_type", where, integer_field(0, 0xFFFF), 0)
                or 0,
                input_clusters=reader.field(data, "input_clusters", where, _cluster_list, ()) or (),
                output_clusters=reader.field(data, "output_clusters", where, _cluster_list, ())
                or (),
            )
        )
    ids = [endpoint.endpoint_id for endpoint in endpoints]
    if len(ids) != len(set(ids)):
        reader.problem(path, "endpoint ids must be unique")
    return tuple(endpoints)


_DEVICE_FIELDS: Final = {
    "eui64",
    "nwk",
    "name",
    "category",
    "han",
    "registered",
    "device_type",
    "parent",
    "link_quality",
    "reverse_link_quality",
    "rssi",
    "power_source",
    "manufacturer",
    "model",
    "sw_build_id",
    "ota_file_version",
    "join_method",
    "install_code",
    "link_key",
    "endpoints",
    "reachable",
    "silent",
    "sleepy",
    "poll_interval_ms",
    "acknowledges",
    "pending_join",
}


def _parent(value: Any) -> zigpy_types.EUI64 | None:
    if value == COORDINATOR:
        return None
    return eui64_field(value)


def _acknowledges(value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        raise TypeError(f"must be a list drawn from {', '.join(OPERATIONAL_CHECKS)}")
    for item in value:
        if item not in OPERATIONAL_CHECKS:
            raise ValueError(f"must list only {', '.join(OPERATIONAL_CHECKS)}, not {item!r}")
    return frozenset(value)


def _parse_device(reader: DocumentReader, value: object, index: int) -> DeviceSpec | None:
    path = f"devices[{index}]"
    data = reader.mapping(value, path)
    if data is None:
        return None
    reader.unknown_keys(data, set(_DEVICE_FIELDS), path)
    eui64 = reader.field(data, "eui64", path, eui64_field, required=True)
    category = (
        reader.field(data, "category", path, choice_field(CATEGORIES), required=True) or "pct"
    )
    han = reader.field(data, "han", path, choice_field(HANS), "utility") or "utility"
    registered = reader.field(data, "registered", path, boolean_field, han == "utility")
    is_router_default = category in ("load_control_switch", "smart_plug")
    device_type = reader.field(
        data,
        "device_type",
        path,
        choice_field(DEVICE_TYPES),
        "router" if is_router_default else "end_device",
    )
    power_source = reader.field(
        data,
        "power_source",
        path,
        choice_field(POWER_SOURCES),
        "mains" if device_type == "router" else "battery",
    )
    join_method = reader.field(
        data, "join_method", path, choice_field(JOIN_METHODS), "install_code"
    ) or ("install_code")
    link_quality = reader.field(data, "link_quality", path, integer_field(0, 255), 220) or 0
    install_code = reader.field(data, "install_code", path, _install_code)
    explicit_key = reader.field(data, "link_key", path, parse_link_key)
    if eui64 is None:
        return None
    if install_code is None and explicit_key is None and join_method == "install_code":
        install_code = derived_install_code(eui64)
    if join_method == "default_key":
        link_key = DEFAULT_TRUST_CENTER_LINK_KEY
    elif explicit_key is not None:
        link_key = explicit_key
    else:
        link_key = install_code_link_key(install_code or derived_install_code(eui64))
    return DeviceSpec(
        eui64=eui64,
        nwk=reader.field(data, "nwk", path, integer_field(1, 0xFFF7), 0) or 0,
        name=reader.field(data, "name", path, text_field, "") or "",
        category=category,
        han=han,
        registered=bool(registered),
        device_type=device_type or "end_device",
        parent=reader.field(data, "parent", path, _parent),
        link=LinkSpec(
            link_quality=link_quality,
            reverse_link_quality=reader.field(
                data, "reverse_link_quality", path, integer_field(0, 255), link_quality
            )
            or 0,
            rssi=reader.field(data, "rssi", path, integer_field(-110, 0), _rssi_for(link_quality))
            or 0,
        ),
        power_source=power_source or "battery",
        manufacturer=reader.field(data, "manufacturer", path, text_field, required=True) or "",
        model=reader.field(data, "model", path, text_field, required=True) or "",
        sw_build_id=reader.field(data, "sw_build_id", path, text_field, "1.0.0") or "",
        ota_file_version=reader.field(data, "ota_file_version", path, integer_field(0, 0xFFFFFFFF)),
        join_method=join_method,
        install_code=install_code,
        link_key=link_key,
        endpoints=_parse_endpoints(reader, data.get("endpoints"), f"{path}.endpoints", category),
        reachable=bool(reader.field(data, "reachable", path, boolean_field, True)),
        silent=bool(reader.field(data, "silent", path, boolean_field, False)),
        sleepy=bool(reader.field(data, "sleepy", path, boolean_field, False)),
        poll_interval_ms=reader.field(data, "poll_interval_ms", path, integer_field(0, 60_000), 250)
        or 0,
        acknowledges=reader.field(
            data, "acknowledges", path, _acknowledges, _DEFAULT_ACKNOWLEDGES[category]
        )
        or frozenset(),
        pending_join=bool(reader.field(data, "pending_join", path, boolean_field, False)),
    )


def _rssi_for(link_quality: int) -> int:
    """A plausible RSSI for an LQI, for scenarios that give only the LQI."""
    return round(-95 + link_quality * 60 / 255)


def _parse_expected(reader: DocumentReader, value: object) -> tuple[ExpectedDeviceSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        reader.problem("expected_devices", "must be a list")
        return ()
    expected: list[ExpectedDeviceSpec] = []
    for index, item in enumerate(value):
        path = f"expected_devices[{index}]"
        data = reader.mapping(item, path)
        if data is None:
            continue
        reader.unknown_keys(
            data, {"eui64", "category", "manufacturer", "model", "install_code"}, path
        )
        eui64 = reader.field(data, "eui64", path, eui64_field, required=True)
        category = reader.field(data, "category", path, choice_field(CATEGORIES), required=True)
        manufacturer = reader.field(data, "manufacturer", path, text_field, required=True)
        model = reader.field(data, "model", path, text_field, required=True)
        install_code = reader.field(data, "install_code", path, _install_code)
        if eui64 and category and manufacturer and model:
            expected.append(
                ExpectedDeviceSpec(
                    eui64,
                    category,
                    manufacturer,
                    model,
                    install_code or derived_install_code(eui64),
                )
            )
    return tuple(expected)


def _parse_extra_links(reader: DocumentReader, value: object) -> tuple[ExtraLinkSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        reader.problem("extra_links", "must be a list")
        return ()
    links: list[ExtraLinkSpec] = []
    for index, item in enumerate(value):
        path = f"extra_links[{index}]"
        data = reader.mapping(item, path)
        if data is None:
            continue
        reader.unknown_keys(data, {"between", "link_quality", "reverse_link_quality"}, path)
        between = data.get("between")
        if not isinstance(between, list) or len(between) != 2:
            reader.problem(f"{path}.between", "must list exactly two EUI-64s")
            continue
        ends: list[zigpy_types.EUI64] = []
        for position, end in enumerate(between):
            try:
                ends.append(eui64_field(end))
            except (TypeError, ValueError) as error:
                reader.problem(f"{path}.between[{position}]", str(error))
        link_quality = reader.field(data, "link_quality", path, integer_field(0, 255), 180) or 0
        reverse = reader.field(
            data, "reverse_link_quality", path, integer_field(0, 255), link_quality
        )
        if len(ends) == 2:
            links.append(ExtraLinkSpec(ends[0], ends[1], link_quality, reverse or 0))
    return tuple(links)


def _check_consistency(
    reader: DocumentReader, devices: list[DeviceSpec], gateway: GatewaySpec
) -> None:
    by_eui: dict[zigpy_types.EUI64, int] = {}
    for index, device in enumerate(devices):
        if device.eui64 in by_eui:
            reader.problem(
                f"devices[{index}].eui64",
                f"duplicate of devices[{by_eui[device.eui64]}].eui64 ({device.eui64})",
            )
        by_eui.setdefault(device.eui64, index)
    for index, device in enumerate(devices):
        if device.parent is None:
            continue
        parent_index = by_eui.get(device.parent)
        if parent_index is None:
            reader.problem(f"devices[{index}].parent", f"no device has EUI-64 {device.parent}")
        elif devices[parent_index].device_type != "router":
            reader.problem(
                f"devices[{index}].parent",
                f"devices[{parent_index}] is an end device; only routers have children",
            )
        elif device.parent == device.eui64:
            reader.problem(f"devices[{index}].parent", "a device cannot be its own parent")
    # A parent chain that loops would make the device unreachable from the coordinator.
    for index, device in enumerate(devices):
        seen: set[zigpy_types.EUI64] = set()
        current: DeviceSpec | None = device
        while current is not None and current.parent is not None:
            if current.eui64 in seen:
                reader.problem(f"devices[{index}].parent", "parent chain loops")
                break
            seen.add(current.eui64)
            parent_index = by_eui.get(current.parent)
            current = devices[parent_index] if parent_index is not None else None
    nwks = [device.nwk for device in devices if device.nwk]
    if len(nwks) != len(set(nwks)):
        reader.problem("devices", "nwk addresses must be unique")
    joined = [device for device in devices if not device.pending_join]
    if len(joined) > gateway.max_devices:
        reader.problem(
            "devices",
            f"{len(joined)} joined devices exceed gateway.max_devices ({gateway.max_devices})",
        )


def _assign_network_addresses(devices: list[DeviceSpec]) -> list[DeviceSpec]:
    used = {device.nwk for device in devices if device.nwk}
    next_nwk = 0x2A01
    assigned: list[DeviceSpec] = []
    for device in devices:
        if device.nwk:
            assigned.append(device)
            continue
        while next_nwk in used:
            next_nwk += 0x0107
        used.add(next_nwk)
        assigned.append(dataclasses.replace(device, nwk=next_nwk))
    return assigned


def parse_scenario(document: object, *, default_name: str = "") -> Scenario:
    """Validate a loaded scenario document; raise ScenarioError naming each bad field."""
    reader = DocumentReader()
    data = reader.mapping(document, "scenario")
    if data is None:
        raise ScenarioError(reader.problems)
    reader.unknown_keys(
        data,
        {
            "name",
            "description",
            "gateway",
            "radio",
            "energy",
            "devices",
            "expected_devices",
            "extra_links",
        },
        "",
    )
    name = reader.field(
        data, "name", "", text_field, default_name or None, required=not default_name
    )
    description = reader.field(data, "description", "", text_field, "") or ""
    gateway = _parse_gateway(reader, data.get("gateway", {}))
    radio = _parse_radio(reader, data.get("radio", {}))
    energy = _parse_energy(reader, data.get("energy"))
    raw_devices = data.get("devices", [])
    devices: list[DeviceSpec] = []
    if not isinstance(raw_devices, list):
        reader.problem("devices", "must be a list")
    else:
        for index, item in enumerate(raw_devices):
            device = _parse_device(reader, item, index)
            if device is not None:
                devices.append(device)
    expected_devices = _parse_expected(reader, data.get("expected_devices"))
    extra_links = _parse_extra_links(reader, data.get("extra_links"))
    if not reader.problems:
        _check_consistency(reader, devices, gateway)
        known = {device.eui64 for device in devices}
        for index, link in enumerate(extra_links):
            for end in (link.first, link.second):
                if end not in known:
                    reader.problem(f"extra_links[{index}].between", f"no device has EUI-64 {end}")
    if reader.problems:
        raise ScenarioError(reader.problems)
    return Scenario(
        name=name or default_name,
        description=description,
        gateway=gateway,
        radio=radio,
        energy=energy,
        devices=tuple(_assign_network_addresses(devices)),
        expected_devices=expected_devices,
        extra_links=extra_links,
    )
