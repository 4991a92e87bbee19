"""What a run saw, turned into rows: a reported device checked against the premise's records,
the interface remembered on the gateway, and each observed device in the diagnosis's terms.
"""

import math
from dataclasses import dataclass
from typing import Any

from han_gateway.eui64 import InvalidEUI64, normalise_eui64
from han_gateway.models import HanDevice, NetworkInterface, PremisesGateway
from han_gateway.zigbee_ids import (
    DRLC_CLUSTER_ID,
    HOME_AUTOMATION_PROFILE_ID,
    MESSAGING_CLUSTER_ID,
    METERING_CLUSTER_ID,
    ON_OFF,
    THERMOSTAT,
)
from portal.access.attribution import PremiseOwnership, premise_device_ownership
from portal.diagnosis import rules as diagnosis
from portal.models import (
    HanTestRun,
    ObservedDevice,
)
from portal.test_runs.expectations import premise_expectations
from trust_center.models import DeviceRegistration


@dataclass(frozen=True)
class KnownDevice:
    registered: bool
    customer_owned: bool
    category: str
    registered_elsewhere: bool = False


@dataclass
class PremiseRecords:
    gateway_id: int
    utility: dict[str, HanDevice]
    customer: dict[str, HanDevice]
    ownership: PremiseOwnership

    def for_device(self, eui64: str) -> KnownDevice:
        if eui64 in self.utility:
            return KnownDevice(True, False, self.utility[eui64].category)
        if eui64 in self.customer:
            return KnownDevice(False, True, self.customer[eui64].category)
        elsewhere = (
            DeviceRegistration.objects.filter(eui64=eui64)
            .exclude(premises_gateway_id=self.gateway_id)
            .exclude(status__in=DeviceRegistration.ENDED_STATUSES)
            .exists()
        )
        return KnownDevice(False, False, "", registered_elsewhere=elsewhere)


def int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            return None
    return None


def int_in(value: Any, low: int, high: int) -> int | None:
    """A reported integer, or None (unknown) when it is not one or lies outside [low, high]."""
    number = int_or_none(value)
    return number if number is not None and low <= number <= high else None


def pan_id_or_none(value: Any) -> int | None:
    return int_in(value, 0, 0xFFFF)


def eui64_or_none(value: Any) -> str | None:
    return eui64_or_blank(value) or None


def eui64_or_blank(value: Any) -> str:
    try:
        return normalise_eui64(value) if isinstance(value, str) else ""
    except InvalidEUI64:
        return ""


def _storable_text(text: str) -> str:
    """Text every database stores: no NUL (PostgreSQL refuses it), no lone surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def clipped_text(value: Any, limit: int) -> str:
    return _storable_text(value)[:limit] if isinstance(value, str) else ""


_MAX_DETAIL_DEPTH = 8


def _storable_json(value: Any, depth: int = 0) -> Any:
    """A reported JSON value as the database will take it.

    Python's json accepts NaN and Infinity, which no database's JSON does; nesting is cut off
    at a depth no honest report reaches.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, list | dict) and depth >= _MAX_DETAIL_DEPTH:
        return None
    if isinstance(value, list):
        return [_storable_json(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            _storable_text(str(key)): _storable_json(item, depth + 1) for key, item in value.items()
        }
    return value


def _clusters(endpoint: Any, key: str) -> set[int]:
    """The cluster ids an endpoint lists under `key`, ignoring anything that is not one."""
    listed = endpoint.get(key) if isinstance(endpoint, dict) else None
    if not isinstance(listed, list):
        return set()
    return {c for c in listed if isinstance(c, int) and not isinstance(c, bool) and c >= 0}


def _link_quality(reported: dict[str, Any]) -> int | None:
    """The worse direction of the device's link towards its parent (or the gateway)."""
    parent = reported.get("parent")
    links = reported.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("neighbor") == parent:
            values = [
                value
                for value in (link.get("lqi_inbound"), link.get("lqi_outbound"))
                if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255
            ]
            if values:
                return min(values)
    lqi = reported.get("lqi")
    return lqi if isinstance(lqi, int) and not isinstance(lqi, bool) and 0 <= lqi <= 255 else None


def _infer_category(reported: dict[str, Any]) -> str:
    """A best guess for a device the utility has no record of, from its clusters."""
    clusters: set[int] = set()
    endpoints = reported.get("endpoints")
    for endpoint in endpoints if isinstance(endpoints, list) else []:
        clusters |= _clusters(endpoint, "input_clusters") | _clusters(endpoint, "output_clusters")
    if THERMOSTAT in clusters:
        return HanDevice.Category.PCT
    if MESSAGING_CLUSTER_ID in clusters and METERING_CLUSTER_ID in clusters:
        return HanDevice.Category.IN_HOME_DISPLAY
    if DRLC_CLUSTER_ID in clusters:
        return HanDevice.Category.LOAD_CONTROL_SWITCH
    if ON_OFF in clusters:
        return HanDevice.Category.SMART_PLUG
    return HanDevice.Category.OTHER_CUSTOMER_INTERFACE


def device_fields(reported: dict[str, Any], known: KnownDevice) -> dict[str, Any]:
    profile_id = int_in(reported.get("profile_id"), 0, 0xFFFF)
    customer_owned = known.customer_owned or (
        not known.registered and profile_id == HOME_AUTOMATION_PROFILE_ID
    )
    links = reported.get("links")
    endpoints = reported.get("endpoints")
    return {
        "network_address": int_in(reported.get("nwk"), 0, 0xFFFF),
        "device_type": clipped_text(reported.get("device_type"), 16),
        "category": known.category or _infer_category(reported),
        "network": HanDevice.Network.CUSTOMER if customer_owned else HanDevice.Network.UTILITY,
        "manufacturer": clipped_text(reported.get("manufacturer"), 64),
        "model": clipped_text(reported.get("model"), 64),
        "firmware_version": clipped_text(reported.get("sw_build_id"), 32),
        "ota_file_version": int_in(reported.get("ota_file_version"), 0, 0xFFFFFFFF),
        "power_source": clipped_text(reported.get("power_source"), 32),
        "profile_id": profile_id,
        "reachable": reported.get("reachable") is not False,
        "link_quality": _link_quality(reported),
        "rssi": int_in(reported.get("rssi"), -128, 127),
        "join_method": clipped_text(reported.get("join_method"), 16) or "unknown",
        "registered": known.registered,
        "details": {
            "parent": _storable_json(reported.get("parent")),
            "depth": _storable_json(reported.get("depth")),
            "interview": _storable_json(reported.get("interview")),
            "links": _storable_json(links) if isinstance(links, list) else [],
            "endpoints": _storable_json(endpoints) if isinstance(endpoints, list) else [],
            "registered_elsewhere": known.registered_elsewhere,
        },
    }


def check_for_device(device: ObservedDevice) -> str | None:
    """Which Smart Energy check the device can take: it must have the client cluster."""
    if not device.reachable or device.network != HanDevice.Network.UTILITY:
        return None
    output_clusters: set[int] = set()
    endpoints = device.details.get("endpoints") if isinstance(device.details, dict) else None
    for endpoint in endpoints if isinstance(endpoints, list) else []:
        output_clusters |= _clusters(endpoint, "output_clusters")
    if DRLC_CLUSTER_ID in output_clusters and device.category != HanDevice.Category.IN_HOME_DISPLAY:
        return "drlc"
    if MESSAGING_CLUSTER_ID in output_clusters:
        return "message"
    return None


def interface_remember(gateway: PremisesGateway, reported: dict[str, Any]) -> None:
    """Keep the gateway's interface list current for the customer page."""
    NetworkInterface.objects.update_or_create(
        premises_gateway=gateway,
        identifier=str(reported["id"])[:32],
        defaults={
            "channel": int_in(reported.get("channel"), 0, 255),
            "pan_id": pan_id_or_none(reported.get("pan_id")),
            "extended_pan_id": eui64_or_blank(reported.get("extended_pan_id")),
            "security_level": int_in(reported.get("security_level"), 0, 7),
        },
    )


def premise_records_for_run(run: HanTestRun) -> PremiseRecords:
    expected = premise_expectations(premise=run.premise)
    return PremiseRecords(
        gateway_id=run.premise.premises_gateway_id or 0,
        utility={device.eui64: device for device in expected.utility_devices},
        customer={device.eui64: device for device in expected.customer_devices},
        ownership=premise_device_ownership(premise=run.premise),
    )


def device_observation(device: ObservedDevice) -> diagnosis.DeviceObservation:
    """A device as the run recorded it, as the diagnosis takes it."""
    return diagnosis.DeviceObservation(
        eui64=device.eui64,
        interface=device.interface,
        category_label=device.get_category_display(),
        manufacturer=device.manufacturer,
        model=device.model,
        firmware_version=device.firmware_version,
        ota_file_version=device.ota_file_version,
        reachable=device.reachable,
        link_quality=device.link_quality,
        rssi=device.rssi,
        join_method=device.join_method,
        profile_id=device.profile_id,
        registered=device.registered,
        registered_elsewhere=bool(device.details.get("registered_elsewhere")),
        customer_owned=device.network == HanDevice.Network.CUSTOMER,
        operational_check=device.operational_check,
    )
