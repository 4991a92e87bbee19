"""What a run saw, turned into rows: a reported device checked against the premise's records,
the interface remembered on the gateway, and each observed device in the diagnosis's terms.
"""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from han_gateway.models import HanDevice, NetworkInterface, PremisesGateway
from han_gateway.protocol import (
    DeviceReport,
    EndpointReport,
    Eui64,
    InterfaceInfo,
    Interview,
    LinkReport,
    Uint8,
)
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
        # Registered with the Trust Center, or on record as a utility device, at another meter.
        elsewhere = (
            DeviceRegistration.objects.filter(eui64=eui64)
            .exclude(premises_gateway_id=self.gateway_id)
            .exclude(status__in=DeviceRegistration.ENDED_STATUSES)
            .exists()
            or HanDevice.objects.filter(eui64=eui64, network=HanDevice.Network.UTILITY)
            .exclude(premises_gateway_id=self.gateway_id)
            .exists()
        )
        return KnownDevice(False, False, "", registered_elsewhere=elsewhere)


def storable_text(text: str | None, limit: int) -> str:
    """Reported text every database stores: no NUL (PostgreSQL refuses it), no lone surrogates."""
    if not text:
        return ""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:limit]


def short_address_value(text: str | None) -> int | None:
    """``0x1A2B``, as the gateway writes network addresses and PAN ids, as a number."""
    return int(text, 16) if text is not None else None


class DeviceDetails(BaseModel):
    """What ``ObservedDevice.details`` holds: the device's place in the HAN and its endpoints,
    in the gateway protocol's own types, and whether the device is registered elsewhere."""

    model_config = ConfigDict(strict=True, frozen=True)

    parent: Eui64 | None = None
    depth: Uint8 | None = None
    interview: Interview | None = None
    links: list[LinkReport] = []
    endpoints: list[EndpointReport] = []
    sleepy: bool | None = None
    aps_encrypted: bool | None = None  # its answers came with APS security
    last_heard: str | None = None  # ISO 8601, as the gateway reported it
    registered_elsewhere: bool = False


NO_DETAILS = DeviceDetails()
REPORTED_DETAILS = set(DeviceDetails.model_fields) - {"registered_elsewhere"}


def device_details(device: ObservedDevice) -> DeviceDetails:
    """The stored details, read with the types they were written with. A row that does not
    hold them (written by hand, or damaged) reads as no details, never as an error."""
    try:
        return DeviceDetails.model_validate(device.details)
    except ValidationError:
        return NO_DETAILS


def _parent_hop(report: DeviceReport) -> tuple[int | None, int | None]:
    """Link quality (the worse direction) and RSSI of one and the same hop: the device's link
    to its parent. The RSSI is the coordinator's, so it is known only when the parent is the
    coordinator; what the coordinator last heard is the device's own hop only then too."""
    for link in report.links:
        if link.neighbor == report.parent:
            values = [value for value in (link.lqi_inbound, link.lqi_outbound) if value is not None]
            if values:
                return min(values), link.rssi
    if (report.depth or 0) <= 1:
        return report.lqi, report.rssi
    return None, None


def _infer_category(report: DeviceReport) -> str:
    """A best guess for a device the utility has no record of, from its clusters."""
    clusters: set[int] = set()
    for endpoint in report.endpoints:
        clusters |= set(endpoint.input_clusters) | set(endpoint.output_clusters)
    if THERMOSTAT in clusters:
        return HanDevice.Category.PCT
    if MESSAGING_CLUSTER_ID in clusters and METERING_CLUSTER_ID in clusters:
        return HanDevice.Category.IN_HOME_DISPLAY
    if DRLC_CLUSTER_ID in clusters:
        return HanDevice.Category.LOAD_CONTROL_SWITCH
    if ON_OFF in clusters:
        return HanDevice.Category.SMART_PLUG
    return HanDevice.Category.OTHER_CUSTOMER_INTERFACE


def device_fields(report: DeviceReport, known: KnownDevice) -> dict[str, Any]:
    """An observed device's columns from the gateway's report (checked by the protocol)."""
    customer_owned = known.customer_owned or (
        not known.registered and report.profile_id == HOME_AUTOMATION_PROFILE_ID
    )
    link_quality, rssi = _parent_hop(report)
    return {
        "network_address": short_address_value(report.nwk),
        "device_type": report.device_type,
        "category": known.category or _infer_category(report),
        "network": HanDevice.Network.CUSTOMER if customer_owned else HanDevice.Network.UTILITY,
        "manufacturer": storable_text(report.manufacturer, 64),
        "model": storable_text(report.model, 64),
        "firmware_version": storable_text(report.sw_build_id, 32),
        "ota_file_version": report.ota_file_version,
        "power_source": report.power_source,
        "profile_id": report.profile_id,
        "reachable": report.reachable,
        "link_quality": link_quality,
        "rssi": rssi,
        "join_method": report.join_method or "unknown",
        "registered": known.registered,
        "details": {
            **report.model_dump(mode="json", include=REPORTED_DETAILS),
            "registered_elsewhere": known.registered_elsewhere,
        },
    }


def check_for_device(device: ObservedDevice) -> str | None:
    """Which Smart Energy check the device can take: it must have the client cluster."""
    if not device.reachable or device.network != HanDevice.Network.UTILITY:
        return None
    output_clusters = {
        cluster
        for endpoint in device_details(device).endpoints
        for cluster in endpoint.output_clusters
    }
    if DRLC_CLUSTER_ID in output_clusters and device.category != HanDevice.Category.IN_HOME_DISPLAY:
        return "drlc"
    if MESSAGING_CLUSTER_ID in output_clusters:
        return "message"
    return None


def interface_remember(gateway: PremisesGateway, interface: InterfaceInfo) -> None:
    """Keep the gateway's interface list current for the customer page."""
    NetworkInterface.objects.update_or_create(
        premises_gateway=gateway,
        identifier=interface.id,
        defaults={
            "channel": interface.channel,
            "pan_id": short_address_value(interface.pan_id),
            "extended_pan_id": interface.extended_pan_id or "",
            "security_level": interface.security_level,
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


# What a run records of a device under the names the diagnosis uses for it.
RECORDED_AS_OBSERVED = frozenset(
    {"eui64", "interface", "manufacturer", "model", "firmware_version", "ota_file_version"}
    | {"reachable", "link_quality", "rssi", "join_method", "profile_id", "registered"}
    | {"operational_check"}
)


def device_observation(device: ObservedDevice) -> diagnosis.DeviceObservation:
    """A device as the run recorded it, as the diagnosis takes it (without its name, which
    the gateway reports and the diagnosis does not rely on)."""
    return diagnosis.DeviceObservation(
        **{name: getattr(device, name) for name in RECORDED_AS_OBSERVED},
        category_label=device.get_category_display(),
        customer_owned=device.network == HanDevice.Network.CUSTOMER,
        **_from_details(device_details(device)),
    )


def _from_details(details: DeviceDetails) -> dict[str, Any]:
    return {
        "registered_elsewhere": details.registered_elsewhere,
        "sleepy": bool(details.sleepy),
        "last_heard": details.last_heard or "",
        "parent": str(details.parent or ""),
    }
