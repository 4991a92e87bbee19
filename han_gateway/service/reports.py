# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""JSON descriptions of what zigpy learned about a device during a scan."""

from __future__ import annotations

import datetime as dt
from typing import Any

import zigpy.application
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.device import ZigbeeDevice
from zigpy.zcl.clusters.general import Basic, Ota

from han_gateway.protocol import (
    DeviceReport,
    DeviceType,
    EndpointReport,
    Interview,
    JoinMethod,
    LinkRelationship,
    LinkReport,
    PowerSource,
    Profile,
    short_address,
)
from han_gateway.radio.profile import SmartEnergyProfileMixin
from han_gateway.zigbee_ids import HOME_AUTOMATION_PROFILE_ID, SMART_ENERGY_PROFILE_ID

PROFILE_NAMES: dict[int, Profile] = {
    SMART_ENERGY_PROFILE_ID: "smart_energy",
    HOME_AUTOMATION_PROFILE_ID: "home_automation",
}

_NEIGHBOUR_DEVICE_TYPES = {
    zdo_t.Neighbor.DeviceType.Coordinator: "coordinator",
    zdo_t.Neighbor.DeviceType.Router: "router",
    zdo_t.Neighbor.DeviceType.EndDevice: "end_device",
}

# A neighbour entry of `owner` for `device` says how `device` relates to `owner`;
# from the device's side of the link the relationship is the inverse.
_INVERSE_RELATIONSHIP: dict[int, LinkRelationship] = {
    zdo_t.Neighbor.Relationship.Child: "parent",
    zdo_t.Neighbor.Relationship.Parent: "child",
    zdo_t.Neighbor.Relationship.Sibling: "sibling",
    zdo_t.Neighbor.Relationship.PreviousChild: "previous_parent",
    zdo_t.Neighbor.Relationship.NoneOfTheAbove: "neighbour",
}
_RELATIONSHIP: dict[int, LinkRelationship] = {
    zdo_t.Neighbor.Relationship.Child: "child",
    zdo_t.Neighbor.Relationship.Parent: "parent",
    zdo_t.Neighbor.Relationship.Sibling: "sibling",
    zdo_t.Neighbor.Relationship.PreviousChild: "previous_child",
    zdo_t.Neighbor.Relationship.NoneOfTheAbove: "neighbour",
}


def _device_type(device: ZigbeeDevice, hint: DeviceType | None) -> DeviceType:
    descriptor = device.node_desc
    if descriptor is not None:
        if descriptor.is_coordinator:
            return "coordinator"
        if descriptor.is_router:
            return "router"
        if descriptor.is_end_device:
            return "end_device"
    return hint or "unknown"


def _power_source(device: ZigbeeDevice, basic_power_source: object) -> PowerSource:
    if isinstance(basic_power_source, int):
        source = int(basic_power_source) & 0x7F
        if source == Basic.PowerSource.Battery:
            return "battery"
        if source != Basic.PowerSource.Unknown:
            return "mains"
    descriptor = device.node_desc
    if descriptor is not None and descriptor.is_mains_powered is not None:
        return "mains" if descriptor.is_mains_powered else "battery"
    return "unknown"


def _cluster_attribute(device: ZigbeeDevice, cluster_id: int, name: str, *, client: bool) -> Any:
    for endpoint in device.non_zdo_endpoints:
        clusters = endpoint.out_clusters if client else endpoint.in_clusters
        if cluster_id in clusters:
            value = clusters[cluster_id].get(name)
            if value is not None:
                return value
    return None


def endpoints_report(device: ZigbeeDevice) -> list[EndpointReport]:
    return [
        EndpointReport(
            id=endpoint.endpoint_id,
            profile_id=endpoint.profile_id,
            profile=PROFILE_NAMES.get(endpoint.profile_id or -1, "other"),
            device_type=None if endpoint.device_type is None else int(endpoint.device_type),
            input_clusters=sorted(int(cluster) for cluster in endpoint.in_clusters),
            output_clusters=sorted(int(cluster) for cluster in endpoint.out_clusters),
        )
        for endpoint in device.non_zdo_endpoints
    ]


def links_report(
    eui64: t.EUI64,
    neighbour_tables: dict[t.EUI64, list[zdo_t.Neighbor]],
    *,
    last_hop_rssi: int | None,
    coordinator: t.EUI64,
) -> tuple[list[LinkReport], t.EUI64 | None, int | None]:
    """Links of one device from every neighbour table read, its parent and its depth.

    `lqi_outbound` is what the neighbour measured for this device's frames (from the
    neighbour's table); `lqi_inbound` is what this device measured for the neighbour's
    frames (from this device's own table).
    """
    links: dict[t.EUI64, dict[str, Any]] = {}
    parent: t.EUI64 | None = None
    depth: int | None = None

    def link(other: t.EUI64) -> dict[str, Any]:
        return links.setdefault(
            other,
            {
                "neighbor": str(other),
                "relationship": "neighbour",
                "lqi_inbound": None,
                "lqi_outbound": None,
                "rssi": None,
            },
        )

    for owner, table in neighbour_tables.items():
        if owner == eui64:
            continue
        for entry in table:
            if entry.ieee != eui64:
                continue
            record = link(owner)
            record["lqi_outbound"] = int(entry.lqi)
            record["relationship"] = _INVERSE_RELATIONSHIP.get(entry.relationship, "neighbour")
            depth = int(entry.depth)
            if entry.relationship == zdo_t.Neighbor.Relationship.Child:
                parent = owner
    for entry in neighbour_tables.get(eui64, []):
        record = link(entry.ieee)
        record["lqi_inbound"] = int(entry.lqi)
        if record["relationship"] == "neighbour":
            record["relationship"] = _RELATIONSHIP.get(entry.relationship, "neighbour")
        if entry.relationship == zdo_t.Neighbor.Relationship.Parent and parent is None:
            parent = entry.ieee
    if parent == coordinator and coordinator in links:
        links[coordinator]["rssi"] = last_hop_rssi
    return [LinkReport.model_validate(record) for record in links.values()], parent, depth


def stored_parent(
    eui64: t.EUI64, stored_tables: dict[t.EUI64, list[zdo_t.Neighbor]]
) -> t.EUI64 | None:
    """The device's parent in the topology the coordinator stored at its last scan."""
    for owner, table in stored_tables.items():
        for entry in table:
            if entry.ieee == eui64 and entry.relationship == zdo_t.Neighbor.Relationship.Child:
                return owner
    for entry in stored_tables.get(eui64, []):
        if entry.relationship == zdo_t.Neighbor.Relationship.Parent:
            return entry.ieee
    return None


def device_report(
    app: zigpy.application.ControllerApplication,
    device: ZigbeeDevice,
    *,
    neighbour_tables: dict[t.EUI64, list[zdo_t.Neighbor]],
    stored_tables: dict[t.EUI64, list[zdo_t.Neighbor]] | None = None,
    join_method: JoinMethod,
    device_type_hint: DeviceType | None,
    reachable: bool,
    basic_extras: dict[str, Any],
) -> DeviceReport:
    coordinator = app.state.node_info.ieee
    is_coordinator = device.ieee == coordinator
    links, parent, depth = links_report(
        device.ieee, neighbour_tables, last_hop_rssi=device.rssi, coordinator=coordinator
    )
    if parent is None and not is_coordinator and stored_tables:
        # No table read now places it (its parent did not answer): where the coordinator's
        # stored topology last saw it.
        parent = stored_parent(device.ieee, stored_tables)
    endpoints = endpoints_report(device)
    interview: Interview
    if device.is_initialized:
        interview = "complete"
    elif device.node_desc is not None:
        interview = "partial"
    else:
        interview = "failed"
    ota_file_version = _cluster_attribute(
        device, Ota.cluster_id, Ota.AttributeDefs.current_file_version.name, client=True
    )
    sw_build_id = basic_extras.get("sw_build_id") or _cluster_attribute(
        device, Basic.cluster_id, Basic.AttributeDefs.sw_build_id.name, client=False
    )
    return DeviceReport(
        eui64=str(device.ieee),
        nwk=short_address(device.nwk),
        device_type="coordinator" if is_coordinator else _device_type(device, device_type_hint),
        manufacturer=device.manufacturer,
        model=device.model,
        sw_build_id=sw_build_id,
        ota_file_version=None if ota_file_version is None else int(ota_file_version),
        power_source=_power_source(device, basic_extras.get("power_source")),
        reachable=reachable,
        interview=interview,
        join_method=None if is_coordinator else join_method,
        profile_id=endpoints[0].profile_id if endpoints else None,
        endpoints=endpoints,
        parent=None if parent is None else str(parent),
        depth=0 if is_coordinator else depth,
        lqi=device.lqi,
        rssi=device.rssi,
        links=links,
        sleepy=None if is_coordinator else _sleepy(device, neighbour_tables),
        aps_encrypted=None if is_coordinator else _replies_aps_encrypted(app, device),
        last_heard=(
            None
            if is_coordinator or device.last_seen is None
            else dt.datetime.fromtimestamp(device.last_seen, dt.UTC)
        ),
    )


def _replies_aps_encrypted(
    app: zigpy.application.ControllerApplication, device: ZigbeeDevice
) -> bool | None:
    """Whether its ZCL answers came APS-encrypted, as the radio marked them (None: no answer)."""
    if not isinstance(app, SmartEnergyProfileMixin):
        return None
    return app.replies_aps_encrypted(device.nwk)


def _sleepy(
    device: ZigbeeDevice, neighbour_tables: dict[t.EUI64, list[zdo_t.Neighbor]]
) -> bool | None:
    """Whether its receiver is off when idle: its node descriptor says, or, when it did not
    answer, the table of the parent that holds its frames."""
    if device.node_desc is not None:
        return not device.node_desc.is_receiver_on_when_idle
    for table in neighbour_tables.values():
        for entry in table:
            if (
                entry.ieee == device.ieee
                and entry.relationship == zdo_t.Neighbor.Relationship.Child
            ):
                if entry.rx_on_when_idle == zdo_t.Neighbor.RxOnWhenIdle.Off:
                    return True
                if entry.rx_on_when_idle == zdo_t.Neighbor.RxOnWhenIdle.On:
                    return False
    return None
