"""A server-rendered picture of a run's HAN: the meter, its devices and their links.

Two halves that meet in plain data. ``han_pictures_for_run`` reads a run's observations and
applies the privacy rule of the device lists (a customer-owned device is only a category and
a masked identifier for staff without the customer's consent); ``han_picture_svg`` draws one
``HanPicture`` and never touches the database. ``han_pictures_context`` joins them for
``templates/portal/_han_picture.html``.

``ObservedDevice.details`` is read with the gateway protocol's types it was written with
(``device_details``); a row that does not hold them is drawn without its links.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext

from han_gateway.eui64 import mask_eui64
from han_gateway.models import HanDevice
from portal.access.viewers import Viewer
from portal.drawing.han_picture_model import (
    GATEWAY_NODE_ID,
    RELATIONSHIPS,
    TREE_RELATIONSHIP,
    HanPicture,
    HanPictureView,
    PictureLink,
    PictureNode,
    gateway_node,
)
from portal.drawing.han_picture_svg import dom_slug, han_picture_svg, picture_caption
from portal.models import HanTestRun, ObservedDevice, ObservedInterface
from portal.test_runs.observations import DeviceDetails, device_details

# -- from a run to pictures ----------------------------------------------------------------


def han_pictures_for_run(run: HanTestRun, *, viewer: Viewer) -> list[HanPicture]:
    """One picture per interface, ordered by identifier, in two queries (none if prefetched)."""
    interfaces: dict[str, ObservedInterface] = {
        interface.identifier: interface for interface in run.interfaces.all()
    }
    devices_by_interface: dict[str, list[ObservedDevice]] = {}
    for device in run.devices.all():
        devices_by_interface.setdefault(device.interface, []).append(device)
    pictures = []
    for identifier in sorted(interfaces.keys() | devices_by_interface.keys()):
        devices = sorted(
            devices_by_interface.get(identifier, []), key=lambda d: (d.sequence, d.pk or 0)
        )
        pictures.append(
            _picture_for_interface(
                identifier,
                interfaces.get(identifier),
                devices,
                viewer=viewer,
            )
        )
    return pictures


def han_pictures_context(run: HanTestRun, *, viewer: Viewer) -> list[HanPictureView]:
    """The ``han_pictures`` the ``portal/_han_picture.html`` fragment renders."""
    views = []
    for index, picture in enumerate(han_pictures_for_run(run, viewer=viewer), 1):
        dom_id = f"han-picture-{run.pk}-{index}-{dom_slug(picture.interface)}"
        views.append(
            HanPictureView(
                picture=picture,
                svg=han_picture_svg(picture, dom_id=dom_id),
                dom_id=dom_id,
                caption=picture_caption(picture),
            )
        )
    return views


@dataclass
class _PairLinks:
    """Everything both ends reported about one link, merged."""

    values: list[int] = field(default_factory=list)
    relationships: set[str] = field(default_factory=set)


def _picture_for_interface(
    identifier: str,
    interface: ObservedInterface | None,
    devices: list[ObservedDevice],
    *,
    viewer: Viewer,
) -> HanPicture:
    node_ids = [f"n{index}" for index, _ in enumerate(devices, 1)]
    id_by_eui: dict[str, str] = {}
    for node_id, device in zip(node_ids, devices, strict=True):
        id_by_eui.setdefault(_eui(device.eui64), node_id)

    def node_for(reported: str) -> str:
        # The coordinator is not an observed device: whatever the run did not observe is it.
        return id_by_eui.get(_eui(reported), GATEWAY_NODE_ID)

    nodes = [gateway_node(identifier)]
    parent_links: list[PictureLink] = []
    pairs: dict[tuple[str, str], _PairLinks] = {}
    parents: dict[str, tuple[str, int | None]] = {}
    for node_id, device in zip(node_ids, devices, strict=True):
        nodes.append(_device_node(node_id, device, viewer=viewer))
        details = device_details(device)
        for link in details.links:
            neighbour_id = node_for(link.neighbor)
            if neighbour_id == node_id:
                continue
            pair = _pair_links(pairs, node_id, neighbour_id)
            pair.values.extend(
                value for value in (link.lqi_inbound, link.lqi_outbound) if value is not None
            )
            pair.relationships.add(
                link.relationship if link.relationship in RELATIONSHIPS else "neighbour"
            )
        parent = _reported_parent(details)
        if parent is not None and node_for(parent) != node_id:
            parents[node_id] = (node_for(parent), device.link_quality)

    for node_id in node_ids:
        if node_id not in parents:
            continue
        parent_id, fallback_quality = parents[node_id]
        pair = pairs.pop(_pair_key(node_id, parent_id), _PairLinks())
        quality = min(pair.values) if pair.values else fallback_quality
        parent_links.append(PictureLink(node_id, parent_id, quality, TREE_RELATIONSHIP))
    other_links = [
        PictureLink(
            source,
            target,
            min(pair.values) if pair.values else None,
            "sibling" if pair.relationships == {"sibling"} else "neighbour",
        )
        for (source, target), pair in sorted(pairs.items(), key=lambda item: _pair_sort(item[0]))
    ]
    return HanPicture(
        interface=identifier,
        channel=interface.channel if interface is not None else None,
        pan_id=interface.pan_id if interface is not None else None,
        radio=interface.radio if interface is not None else "",
        nodes=tuple(nodes),
        links=(*parent_links, *other_links),
    )


def _device_node(node_id: str, device: ObservedDevice, *, viewer: Viewer) -> PictureNode:
    # The category labels are in the catalogue as the model spells them.
    category_label = device.get_category_display()
    category = gettext(category_label) if category_label else gettext("Unknown device")
    kind = device.device_type if device.device_type in ("router", "end_device") else "unknown"
    vendor = " ".join(part for part in (device.manufacturer, device.model) if part)
    masked = viewer.masks_customer_han and device.network == HanDevice.Network.CUSTOMER
    if masked:
        # Category and masked identifier only: no vendor, model or full EUI-64.
        sublabel = mask_eui64(device.eui64)
        detail = f"{category} {sublabel}, customer-owned; details hidden without consent"
    elif viewer.staff:
        sublabel = device.eui64
        detail = ", ".join(
            part for part in (category, vendor, device.eui64, device.get_network_display()) if part
        )
    else:
        sublabel = vendor
        detail = ", ".join(part for part in (category, vendor) if part)
    return PictureNode(
        id=node_id,
        label=category,
        sublabel=sublabel,
        kind=kind,
        reachable=device.reachable,
        masked=masked,
        link_quality=device.link_quality,
        network=device.network,
        detail=detail,
    )


def _reported_parent(details: DeviceDetails) -> str | None:
    if details.parent is not None:
        return details.parent
    # No parent field: the device's own table may still name it.
    for link in details.links:
        if link.relationship == "parent":
            return link.neighbor
    return None


def _eui(text: str) -> str:
    return text.strip().lower()


def _pair_key(one: str, other: str) -> tuple[str, str]:
    return (one, other) if _node_sort(one) <= _node_sort(other) else (other, one)


def _pair_links(pairs: dict[tuple[str, str], _PairLinks], one: str, other: str) -> _PairLinks:
    return pairs.setdefault(_pair_key(one, other), _PairLinks())


def _node_sort(node_id: str) -> tuple[int, str]:
    """The gateway first, then n1, n2, … n10 in number order."""
    if node_id == GATEWAY_NODE_ID:
        return (0, "")
    digits = node_id[1:]
    return (int(digits), "") if digits.isdigit() else (1 << 30, node_id)


def _pair_sort(pair: tuple[str, str]) -> tuple[tuple[int, str], tuple[int, str]]:
    return (_node_sort(pair[0]), _node_sort(pair[1]))
