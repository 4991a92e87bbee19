"""Drawing one ``HanPicture`` as SVG: layout, links, labels, legend. No database here.

Words are in the language active when drawn (a customer's own, on their pages).
"""

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_noop, ngettext

from han_gateway import networks
from portal.drawing.han_picture_model import (
    GATEWAY_NODE_ID,
    TREE_RELATIONSHIP,
    WEAK_LINK_LABELS,
    HanPicture,
    PictureLink,
    PictureNode,
    gateway_node,
)
from portal.drawing.link_quality import link_quality_label


def dom_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "han"


def picture_caption(picture: HanPicture) -> str:
    parts = [gettext("HAN %(interface)s") % {"interface": picture.interface}]
    parts.append(_channel_words(picture))
    if picture.pan_id is not None:
        parts.append(f"PAN 0x{picture.pan_id:04X}")
    unreachable = sum(1 for node in picture.nodes if not node.reachable)
    count = _devices_words(picture.device_count)
    if unreachable:
        count = gettext("%(devices)s, %(unreachable)s unreachable") % {
            "devices": count,
            "unreachable": unreachable,
        }
    parts.append(count)
    return " · ".join(parts)


# -- drawing -------------------------------------------------------------------------------

INK = "#1b2430"
MUTED = "#4f5b69"
HALO = "#ffffff"
UNREACHABLE = "#c8102e"
NETWORK_COLOURS: dict[str, str] = {
    networks.UTILITY: "#0b4f8a",
    networks.CUSTOMER: "#6b3fa0",
}
GATEWAY_COLOUR = "#1b2430"
MASKED_ATTRIBUTE = ' data-masked="true"'


@dataclass(frozen=True)
class _LinkStyle:
    colour: str
    dasharray: str  # "" for a solid line
    width: float
    words: str  # marked for translation; translated when drawn


# Each bucket differs by dash pattern and width as well as colour: never colour alone.
LINK_STYLES = {
    "good": _LinkStyle("#1a7f37", "", 3.5, gettext_noop("Good link")),
    "fair": _LinkStyle("#8a6a00", "12 4", 3.0, gettext_noop("Fair link")),
    "poor": _LinkStyle("#c25400", "6 4", 3.0, gettext_noop("Poor link")),
    "bad": _LinkStyle(UNREACHABLE, "3 3", 3.0, gettext_noop("Bad link")),
    "unknown": _LinkStyle("#7b8794", "1 5", 2.0, gettext_noop("Quality unknown")),
}
# What the legend says of the other marks, after the links'; translated when drawn.
LEGEND_MARKS = (
    ("neighbour", gettext_noop("Other neighbour")),
    ("unreachable", gettext_noop("Unreachable")),
    ("router", gettext_noop("Router")),
    ("end_device", gettext_noop("End device")),
    ("customer", gettext_noop("Customer-owned")),
)
# Words for link_quality_label's answers and for a link that is not to a parent.
QUALITY_WORDS = {
    "good": gettext_noop("good"),
    "fair": gettext_noop("fair"),
    "poor": gettext_noop("poor"),
    "bad": gettext_noop("bad"),
}
RELATIONSHIP_WORDS = {
    "child": gettext_noop("child"),
    "sibling": gettext_noop("sibling"),
    "neighbour": gettext_noop("neighbour"),
}
NEIGHBOUR_WIDTH = 1.25
NEIGHBOUR_OPACITY = "0.45"

NODE_RADIUS = {"gateway": 22.0, "router": 13.0, "end_device": 10.0}
DEFAULT_NODE_RADIUS = 10.0
GATEWAY_HALF_WIDTH, GATEWAY_HALF_HEIGHT = 30.0, 19.0

# Text sizes, and a generous guess of a sans-serif character's width, for the layout.
LABEL_SIZE, LABEL_LINE = 12.5, 14.5
SUBLABEL_SIZE, SUBLABEL_LINE = 11.0, 13.5
CHAR_WIDTH, BOLD_CHAR_WIDTH = 0.57, 0.63
LABEL_WRAP, LABEL_MAX_LINES, RADIAL_LABEL_CHARS, SUBLABEL_CHARS = 24, 2, 24, 28
LABEL_GAP = 6.0

FIRST_RING = 120.0  # smallest distance from the meter to its children
HORIZONTAL_SPACING = 128.0  # arc each node needs when its label is written level
RADIAL_SPACING = 40.0  # arc each node needs when its label follows the radius
MAX_LEVEL_RADIUS = 330.0  # beyond this, a crowded ring's labels follow the radius instead
MIN_RING_STEP = 80.0  # shortest link from a parent to its children
RING_STEP, RING_ATTEMPTS = 12.0, 80  # how a crowded ring moves out
VERTICAL_ZONE = 0.35  # |cos| of the angle below which a node counts as above or below
PADDING = 16.0
LEGEND_ROW = 22.0


@dataclass(frozen=True)
class _TextLine:
    text: str
    size: float
    height: float
    fill: str
    bold: bool = False


_Point = tuple[float, float]
_Corners = tuple[_Point, _Point, _Point, _Point]  # a rectangle, corner after corner


@dataclass(frozen=True)
class _Placed:
    x: float
    y: float
    angle: float
    # "level": written level, away from the meter; "inward": level, beside the node on the
    # meter's side, clear of its children's links; "radial": along the radius, for crowds.
    mode: Literal["centre", "level", "inward", "radial"]


@dataclass(frozen=True)
class _Label:
    lines: tuple[_TextLine, ...]
    anchor: Literal["start", "middle", "end"]
    x: float
    top: float
    turn: float | None  # degrees about the node, for a label along the radius
    corners: _Corners


@dataclass
class _Bounds:
    min_x: float = 0.0
    min_y: float = 0.0
    max_x: float = 0.0
    max_y: float = 0.0

    def add(self, corners: Iterable[_Point]) -> None:
        for x, y in corners:
            self.min_x, self.max_x = min(self.min_x, x), max(self.max_x, x)
            self.min_y, self.max_y = min(self.min_y, y), max(self.max_y, y)


def han_picture_svg(picture: HanPicture, *, dom_id: str | None = None) -> SafeString:
    """The picture as an inline ``<svg>``; the same picture always gives the same bytes.

    ``dom_id`` prefixes every element id; pass distinct ones for pictures on one page.
    Every text is escaped, so the result is safe to insert as it is.
    """
    prefix = dom_id or f"han-picture-{dom_slug(picture.interface)}"
    nodes = {node.id: node for node in picture.nodes}
    if GATEWAY_NODE_ID not in nodes:
        nodes[GATEWAY_NODE_ID] = gateway_node(picture.interface)
    device_ids = [
        node_id
        for node_id in dict.fromkeys(node.id for node in picture.nodes)
        if node_id != GATEWAY_NODE_ID
    ]
    links = [
        link
        for link in picture.links
        if link.source in nodes and link.target in nodes and link.source != link.target
    ]
    placed = layout_nodes(device_ids, links, nodes)
    bounds = _Bounds()
    node_parts = []
    for node_id in [GATEWAY_NODE_ID, *device_ids]:
        node_parts.append(
            _node_svg(nodes[node_id], placed[node_id], prefix, links, nodes, bounds, picture.radio)
        )
    link_parts = [
        _link_svg(link, placed, nodes, picture.radio)
        for link in sorted(links, key=lambda link: link.relationship == TREE_RELATIONSHIP)
    ]
    legend_parts, legend_height = _legend_svg(bounds)
    min_x, min_y = bounds.min_x - PADDING, bounds.min_y - PADDING
    width = bounds.max_x - bounds.min_x + 2 * PADDING
    height = bounds.max_y - bounds.min_y + 2 * PADDING + legend_height
    title, desc = _title(picture), _description(picture, nodes, links)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{_attr(prefix)}" role="img"'
        f' aria-labelledby="{_attr(prefix)}-title {_attr(prefix)}-desc"'
        f' viewBox="{_n(min_x)} {_n(min_y)} {_n(width)} {_n(height)}"'
        f' width="{math.ceil(width)}" height="{math.ceil(height)}"'
        ' class="han-picture__drawing"'
        ' font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">',
        f'<title id="{_attr(prefix)}-title">{_text(title)}</title>',
        f'<desc id="{_attr(prefix)}-desc">{_text(desc)}</desc>',
        f'<rect x="{_n(min_x)}" y="{_n(min_y)}" width="{_n(width)}" height="{_n(height)}"'
        ' fill="#ffffff"/>',
        '<g data-layer="links">',
        *link_parts,
        "</g>",
        '<g data-layer="nodes">',
        *node_parts,
        "</g>",
        *legend_parts,
        "</svg>",
    ]
    return mark_safe("".join(parts))  # noqa: S308 - every text and attribute is escaped above


# -- layout --------------------------------------------------------------------------------


def layout_nodes(
    device_ids: list[str], links: list[PictureLink], nodes: Mapping[str, PictureNode]
) -> dict[str, _Placed]:
    """Meter in the centre; each device on the ring of its depth, inside its parent's sector.

    A device whose parent is unknown, or whose parents go round in a circle, hangs off the
    meter. Sectors are shared out by the number of leaves below, so subtrees never cross;
    each ring moves out until its nodes and labels clear everything drawn nearer the meter.
    """
    children = _tree(device_ids, links)
    top_down = [GATEWAY_NODE_ID]
    for node_id in top_down:  # grows while walked: breadth first, no recursion
        top_down.extend(children[node_id])
    leaves: dict[str, int] = {}
    for node_id in reversed(top_down):
        leaves[node_id] = sum(leaves[child] for child in children[node_id]) or 1
    sectors: dict[str, tuple[float, float, int]] = {}  # start, width, depth
    first = children[GATEWAY_NODE_ID][0] if children[GATEWAY_NODE_ID] else None
    total = leaves[GATEWAY_NODE_ID]
    # The first device straight above the meter.
    start = -math.pi / 2 - (math.pi * leaves[first] / total if first else 0.0)
    sectors[GATEWAY_NODE_ID] = (start, 2 * math.pi, 0)
    rings: dict[int, list[str]] = {}
    for node_id in top_down:
        start, width, depth = sectors[node_id]
        for child in children[node_id]:
            share = width * leaves[child] / leaves[node_id]
            sectors[child] = (start, share, depth + 1)
            rings.setdefault(depth + 1, []).append(child)
            start += share

    placed = {GATEWAY_NODE_ID: _Placed(0.0, 0.0, 0.0, "centre")}
    gateway = label_outlines(nodes[GATEWAY_NODE_ID], placed[GATEWAY_NODE_ID])
    # Only the meter and the two rings inside can reach a ring: keeps a deep HAN linear.
    inner_rings: list[list[_Corners]] = []
    radius = 0.0
    for depth, ring in sorted(rings.items()):
        ring.sort(key=lambda node_id: sectors[node_id][0])  # round the ring, for neighbours
        nearby = [*gateway, *(corners for done in inner_rings[-2:] for corners in done)]
        narrowest = min(sectors[node_id][1] for node_id in ring)
        floor = FIRST_RING if depth == 1 else radius + MIN_RING_STEP
        # One way of writing for the whole ring: mixed, the wide labels collide.
        level_radius = max(floor, HORIZONTAL_SPACING / narrowest)
        level = level_radius <= max(floor, MAX_LEVEL_RADIUS)
        radius = level_radius if level else max(floor, RADIAL_SPACING / narrowest)
        for _attempt in range(RING_ATTEMPTS):
            ring_placed = {
                node_id: _place(
                    sectors[node_id], radius, level=level, has_children=bool(children[node_id])
                )
                for node_id in ring
            }
            outlines = [label_outlines(nodes[node_id], ring_placed[node_id]) for node_id in ring]
            if not _ring_collides(outlines, nearby):
                break
            radius += RING_STEP
        placed.update(ring_placed)
        inner_rings.append([corners for outline in outlines for corners in outline])
    return placed


def _tree(device_ids: list[str], links: list[PictureLink]) -> dict[str, list[str]]:
    """Children by node, from the parent links; circles are cut and strays go to the meter."""
    known = set(device_ids)
    parent_of: dict[str, str] = {}
    for link in links:
        if (
            link.relationship == TREE_RELATIONSHIP
            and link.source in known
            and link.source not in parent_of
        ):
            parent_of[link.source] = link.target
    settled = {GATEWAY_NODE_ID}
    for node_id in device_ids:
        chain: list[str] = []
        current = node_id
        while current not in settled:
            if current in chain:
                parent_of[current] = GATEWAY_NODE_ID  # cut the circle here
                break
            chain.append(current)
            current = parent_of.get(current, GATEWAY_NODE_ID)
        settled.update(chain)
    children: dict[str, list[str]] = {GATEWAY_NODE_ID: [], **{i: [] for i in device_ids}}
    for node_id in device_ids:
        children[parent_of.get(node_id, GATEWAY_NODE_ID)].append(node_id)
    return children


def _place(
    sector: tuple[float, float, int], radius: float, *, level: bool, has_children: bool
) -> _Placed:
    start, width, _ = sector
    angle = start + width / 2
    mode: Literal["level", "inward", "radial"] = "radial"
    if level:
        mode = "inward" if has_children else "level"
    return _Placed(radius * math.cos(angle), radius * math.sin(angle), angle, mode)


def _ring_collides(outlines: list[list[_Corners]], obstacles: list[_Corners]) -> bool:
    """Whether a ring's nodes touch what is already drawn, or each other."""
    for index, outline in enumerate(outlines):
        for corners in outline:
            if any(outlines_overlap(corners, obstacle) for obstacle in obstacles):
                return True
            for other in outlines[index + 1 :]:
                if any(outlines_overlap(corners, other_corners) for other_corners in other):
                    return True
    return False


def outlines_overlap(one: _Corners, other: _Corners) -> bool:
    """Whether two rectangles, turned any way, overlap: no axis separates them."""
    if (
        max(x for x, _ in one) <= min(x for x, _ in other)
        or max(x for x, _ in other) <= min(x for x, _ in one)
        or max(y for _, y in one) <= min(y for _, y in other)
        or max(y for _, y in other) <= min(y for _, y in one)
    ):
        return False
    for shape in (one, other):
        for (x1, y1), (x2, y2) in ((shape[0], shape[1]), (shape[1], shape[2])):
            axis_x, axis_y = y1 - y2, x2 - x1
            ones = [x * axis_x + y * axis_y for x, y in one]
            others = [x * axis_x + y * axis_y for x, y in other]
            if max(ones) <= min(others) or max(others) <= min(ones):
                return False
    return True


def label_outlines(node: PictureNode, place: _Placed) -> list[_Corners]:
    if node.kind == "gateway":
        return [
            _rectangle(
                place.x - GATEWAY_HALF_WIDTH,
                place.y - GATEWAY_HALF_HEIGHT,
                2 * GATEWAY_HALF_WIDTH,
                2 * GATEWAY_HALF_HEIGHT,
            )
        ]
    radius = _node_radius(node)
    circle = _rectangle(place.x - radius, place.y - radius, 2 * radius, 2 * radius)
    return [circle, _label_for(node, place).corners]


def _rectangle(left: float, top: float, width: float, height: float) -> _Corners:
    return ((left, top), (left + width, top), (left + width, top + height), (left, top + height))


def _node_radius(node: PictureNode) -> float:
    return NODE_RADIUS.get(node.kind, DEFAULT_NODE_RADIUS)


def _label_size(lines: Sequence[_TextLine]) -> tuple[float, float]:
    """A generous guess of a label's width and height: the server has no font to measure."""
    width = max(
        len(line.text) * line.size * (BOLD_CHAR_WIDTH if line.bold else CHAR_WIDTH)
        for line in lines
    )
    return width, sum(line.height for line in lines)


def _label_lines(node: PictureNode, mode: str) -> list[_TextLine]:
    if mode == "radial":
        label = [_shorten(node.label, RADIAL_LABEL_CHARS)]
    else:
        label = _wrap(node.label, LABEL_WRAP, LABEL_MAX_LINES)
    lines = [_TextLine(text, LABEL_SIZE, LABEL_LINE, INK, bold=True) for text in label]
    if node.sublabel:
        sublabel = _shorten(node.sublabel, SUBLABEL_CHARS)
        lines.append(_TextLine(sublabel, SUBLABEL_SIZE, SUBLABEL_LINE, MUTED))
    if not node.reachable:
        lines.append(
            _TextLine(gettext("unreachable"), SUBLABEL_SIZE, SUBLABEL_LINE, UNREACHABLE, True)
        )
    return lines


def _label_for(node: PictureNode, place: _Placed) -> _Label:
    """Where a device's label goes, so that the layout and the drawing agree on it."""
    lines = tuple(_label_lines(node, place.mode))
    width, height = _label_size(lines)
    cos, sin = math.cos(place.angle), math.sin(place.angle)
    gap = _node_radius(node) + LABEL_GAP
    anchor: Literal["start", "middle", "end"]
    if place.mode == "radial":
        # Along the radius, turned so that it never reads upside down.
        anchor = "start" if cos >= 0 else "end"
        corners = tuple(
            (place.x + along * cos - across * sin, place.y + along * sin + across * cos)
            for along, across in (
                (gap, -height / 2),
                (gap + width, -height / 2),
                (gap + width, height / 2),
                (gap, height / 2),
            )
        )
        return _Label(
            lines,
            anchor,
            place.x + gap if cos >= 0 else place.x - gap,
            place.y - height / 2,
            math.degrees(place.angle) + (0.0 if cos >= 0 else 180.0),
            (corners[0], corners[1], corners[2], corners[3]),
        )
    vertical = abs(cos) < VERTICAL_ZONE
    if place.mode == "inward" and vertical:
        # Above or below the meter: beside the node, leaning towards the meter.
        anchor = "start" if cos >= 0 else "end"
        x = place.x + gap if cos >= 0 else place.x - gap
        top = place.y + LABEL_LINE * 0.3 - height if sin > 0 else place.y - LABEL_LINE * 0.3
    elif place.mode == "inward":
        # Left or right of the meter: towards it, on the side away from the parent's link.
        anchor = "end" if cos > 0 else "start"
        x = place.x - gap if cos > 0 else place.x + gap
        top = place.y + gap * 0.5 if sin >= 0 else place.y - gap * 0.5 - height
    elif vertical:
        anchor, x = "middle", place.x
        top = place.y - gap - height if sin < 0 else place.y + gap
    else:
        anchor = "start" if cos > 0 else "end"
        x = place.x + gap if cos > 0 else place.x - gap
        top = place.y - height / 2 + sin * 8
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return _Label(lines, anchor, x, top, None, _rectangle(left, top, width, height))


# -- pieces --------------------------------------------------------------------------------


def _node_svg(
    node: PictureNode,
    place: _Placed,
    prefix: str,
    links: list[PictureLink],
    nodes: Mapping[str, PictureNode],
    bounds: _Bounds,
    radio: str,
) -> str:
    x, y = place.x, place.y
    parts = [
        f'<g id="{_attr(prefix)}-{_attr(node.id)}" data-node="{_attr(node.id)}"'
        f' data-kind="{_attr(node.kind)}" data-reachable="{"true" if node.reachable else "false"}"'
        f"{MASKED_ATTRIBUTE if node.masked else ''}>",
        f"<title>{_text(_node_title(node, links, nodes, radio))}</title>",
    ]
    for corners in label_outlines(node, place):
        bounds.add(corners)
    if node.kind == "gateway":
        parts.append(
            f'<rect x="{_n(x - GATEWAY_HALF_WIDTH)}" y="{_n(y - GATEWAY_HALF_HEIGHT)}"'
            f' width="{_n(2 * GATEWAY_HALF_WIDTH)}" height="{_n(2 * GATEWAY_HALF_HEIGHT)}"'
            f' rx="6" fill="{GATEWAY_COLOUR}" stroke="{HALO}" stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{_n(x)}" y="{_n(y + 4.5)}" text-anchor="middle" font-size="13"'
            f' font-weight="700" fill="#ffffff">{_text(_shorten(node.label, 8))}</text>'
        )
        parts.append("</g>")
        return "".join(parts)

    radius = _node_radius(node)
    colour = NETWORK_COLOURS.get(node.network, MUTED)
    stroke = colour if node.reachable else UNREACHABLE
    if node.kind == "router":
        fill = colour if node.reachable else "#f6d5d9"
        shape = f'fill="{fill}" stroke="{stroke}" stroke-width="{3 if not node.reachable else 2}"'
    elif node.kind == "end_device":
        shape = f'fill="#ffffff" stroke="{stroke}" stroke-width="3.5"'
    else:
        shape = f'fill="#eef1f5" stroke="{stroke}" stroke-width="2.5" stroke-dasharray="3 2"'
    parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(radius)}" {shape}/>')
    if not node.reachable:
        arm = radius * 0.62
        parts.append(
            f'<path d="M{_n(x - arm)} {_n(y - arm)}L{_n(x + arm)} {_n(y + arm)}'
            f'M{_n(x - arm)} {_n(y + arm)}L{_n(x + arm)} {_n(y - arm)}"'
            f' stroke="{UNREACHABLE}" stroke-width="3" stroke-linecap="round"'
            ' data-mark="unreachable"/>'
        )
    parts.append(_label_svg(_label_for(node, place), place))
    parts.append("</g>")
    return "".join(parts)


def _label_svg(label: _Label, place: _Placed) -> str:
    transform = ""
    if label.turn is not None:
        transform = f' transform="rotate({_n(label.turn)} {_n(place.x)} {_n(place.y)})"'
    spans = []
    baseline = label.top
    for line in label.lines:
        baseline += line.height
        weight = ' font-weight="700"' if line.bold else ""
        spans.append(
            f'<tspan x="{_n(label.x)}" y="{_n(baseline - line.height * 0.25)}"'
            f' font-size="{_n(line.size)}" fill="{line.fill}"{weight}>{_text(line.text)}</tspan>'
        )
    return (
        f'<text text-anchor="{label.anchor}" stroke="{HALO}" stroke-width="3"'
        f' stroke-linejoin="round" paint-order="stroke"{transform}>{"".join(spans)}</text>'
    )


def _link_svg(
    link: PictureLink,
    placed: Mapping[str, _Placed],
    nodes: Mapping[str, PictureNode],
    radio: str,
) -> str:
    quality = link_quality_label(link.link_quality, radio)
    style = LINK_STYLES.get(quality, LINK_STYLES["unknown"])
    tree = link.relationship == TREE_RELATIONSHIP
    width = style.width if tree else NEIGHBOUR_WIDTH
    source, target = placed[link.source], placed[link.target]
    dash = f' stroke-dasharray="{style.dasharray}"' if style.dasharray else ""
    opacity = "" if tree else f' stroke-opacity="{NEIGHBOUR_OPACITY}"'
    ends = {
        "source": _node_name(nodes[link.source]),
        "target": _node_name(nodes[link.target]),
        "quality": _quality_words(link.link_quality, radio),
    }
    if tree:
        title = gettext("%(source)s to %(target)s: %(quality)s") % ends
    else:
        relationship = RELATIONSHIP_WORDS.get(link.relationship)
        title = gettext("%(source)s to %(target)s (%(relationship)s): %(quality)s") % {
            **ends,
            "relationship": gettext(relationship) if relationship else link.relationship,
        }
    return (
        f'<line x1="{_n(source.x)}" y1="{_n(source.y)}" x2="{_n(target.x)}" y2="{_n(target.y)}"'
        f' stroke="{style.colour}" stroke-width="{_n(width)}"{dash}{opacity}'
        ' stroke-linecap="round"'
        f' data-source="{_attr(link.source)}" data-target="{_attr(link.target)}"'
        f' data-relationship="{_attr(link.relationship)}" data-quality="{quality}">'
        f"<title>{_text(title)}</title></line>"
    )


def _legend_svg(bounds: _Bounds) -> tuple[list[str], float]:
    """A key below the picture; rows wrap to the picture's width."""
    items = [
        (kind, gettext(words))
        for kind, words in [
            *((name, style.words) for name, style in LINK_STYLES.items()),
            *LEGEND_MARKS,
        ]
    ]
    available = max(bounds.max_x - bounds.min_x, 320.0)
    top = bounds.max_y + PADDING + 4
    x, y = bounds.min_x, top
    parts = ['<g data-layer="legend" font-size="11">']
    for kind, words in items:
        item_width = 30 + len(words) * 11 * CHAR_WIDTH + 16
        if x > bounds.min_x and x + item_width > bounds.min_x + available:
            x, y = bounds.min_x, y + LEGEND_ROW
        parts.append(_legend_sample(kind, x, y))
        parts.append(f'<text x="{_n(x + 30)}" y="{_n(y + 4)}" fill="{INK}">{_text(words)}</text>')
        x += item_width
    parts.append("</g>")
    return parts, y - top + LEGEND_ROW + 4


def _legend_sample(kind: str, x: float, y: float) -> str:
    if kind in LINK_STYLES or kind == "neighbour":
        style = LINK_STYLES.get(kind, LINK_STYLES["good"])
        width = style.width if kind != "neighbour" else NEIGHBOUR_WIDTH
        dash = f' stroke-dasharray="{style.dasharray}"' if style.dasharray else ""
        opacity = f' stroke-opacity="{NEIGHBOUR_OPACITY}"' if kind == "neighbour" else ""
        return (
            f'<line x1="{_n(x)}" y1="{_n(y)}" x2="{_n(x + 24)}" y2="{_n(y)}"'
            f' stroke="{style.colour}" stroke-width="{_n(width)}"{dash}{opacity}'
            ' stroke-linecap="round"/>'
        )
    cx, utility = x + 12, NETWORK_COLOURS[networks.UTILITY]
    if kind == "unreachable":
        return (
            f'<circle cx="{_n(cx)}" cy="{_n(y)}" r="7" fill="#ffffff" stroke="{UNREACHABLE}"'
            f' stroke-width="3"/><path d="M{_n(cx - 4)} {_n(y - 4)}L{_n(cx + 4)} {_n(y + 4)}'
            f'M{_n(cx - 4)} {_n(y + 4)}L{_n(cx + 4)} {_n(y - 4)}" stroke="{UNREACHABLE}"'
            ' stroke-width="2.5" stroke-linecap="round"/>'
        )
    if kind == "router":
        return f'<circle cx="{_n(cx)}" cy="{_n(y)}" r="8" fill="{utility}"/>'
    if kind == "end_device":
        return (
            f'<circle cx="{_n(cx)}" cy="{_n(y)}" r="6.5" fill="#ffffff" stroke="{utility}"'
            ' stroke-width="3"/>'
        )
    customer = NETWORK_COLOURS[networks.CUSTOMER]
    return f'<circle cx="{_n(cx)}" cy="{_n(y)}" r="8" fill="{customer}"/>'


# -- words ---------------------------------------------------------------------------------


def _channel_words(picture: HanPicture) -> str:
    if picture.channel is None:
        return gettext("channel unknown")
    return gettext("channel %(channel)s") % {"channel": picture.channel}


def _devices_words(count: int) -> str:
    return ngettext("%(count)s device", "%(count)s devices", count) % {"count": count}


def _title(picture: HanPicture) -> str:
    return gettext("Map of the HAN on %(interface)s, %(channel)s") % {
        "interface": picture.interface,
        "channel": _channel_words(picture),
    }


def _description(
    picture: HanPicture, nodes: Mapping[str, PictureNode], links: list[PictureLink]
) -> str:
    devices = [node for node in picture.nodes if node.id != GATEWAY_NODE_ID]
    parent_links = {link.source: link for link in links if link.relationship == TREE_RELATIONSHIP}
    unreachable = sum(1 for node in devices if not node.reachable)
    weak = sum(
        1
        for link in parent_links.values()
        if link_quality_label(link.link_quality, picture.radio) in WEAK_LINK_LABELS
    )
    sentences = [
        gettext(
            "Meter and %(devices)s on %(interface)s, %(channel)s; %(unreachable)s unreachable; "
            "%(weak_links)s."
        )
        % {
            "devices": _devices_words(len(devices)),
            "interface": picture.interface,
            "channel": _channel_words(picture),
            "unreachable": unreachable,
            "weak_links": ngettext("%(count)s weak link", "%(count)s weak links", weak)
            % {"count": weak},
        }
    ]
    for node in devices:
        link = parent_links.get(node.id)
        if link is None:
            connection = gettext("parent not reported")
        else:
            connection = gettext("connected to %(parent)s, %(quality)s") % {
                "parent": _node_name(nodes[link.target]),
                "quality": _quality_words(link.link_quality, picture.radio),
            }
        state = "" if node.reachable else "; " + gettext("unreachable")
        sentences.append(f"{_node_name(node)}: {connection}{state}.")
    return " ".join(sentences)


def _node_title(
    node: PictureNode, links: Iterable[PictureLink], nodes: Mapping[str, PictureNode], radio: str
) -> str:
    if node.kind == "gateway":
        return node.detail or node.label
    words = [node.detail or _node_name(node)]
    kind = {"router": gettext_noop("router"), "end_device": gettext_noop("end device")}.get(
        node.kind
    )
    if kind:
        words.append(gettext(kind))
    parent = next(
        (
            link
            for link in links
            if link.relationship == TREE_RELATIONSHIP and link.source == node.id
        ),
        None,
    )
    if parent is not None:
        words.append(
            gettext("parent %(parent)s, %(quality)s")
            % {
                "parent": _node_name(nodes[parent.target]),
                "quality": _quality_words(parent.link_quality, radio),
            }
        )
    elif node.link_quality is not None:
        words.append(_quality_words(node.link_quality, radio))
    if not node.reachable:
        words.append(gettext("unreachable"))
    return "; ".join(words)


def _node_name(node: PictureNode) -> str:
    if node.kind == "gateway":
        return gettext("the meter")
    return f"{node.label} {node.sublabel}".strip()


def _quality_words(link_quality: int | None, radio: str) -> str:
    label = link_quality_label(link_quality, radio)
    if link_quality is None:
        return gettext("link quality unknown")
    return gettext("link quality %(label)s (%(value)s)") % {
        "label": gettext(QUALITY_WORDS[label]) if label in QUALITY_WORDS else label,
        "value": link_quality,
    }


def _wrap(text: str, width: int, max_lines: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if not lines:
        return [""]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], " ".join(lines[max_lines - 1 :])]
    return [_shorten(line, width) for line in lines]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Characters XML 1.0 does not allow, even escaped: a remote name must not break the page.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(text: str) -> str:
    return str(escape(_NOT_XML.sub("\ufffd", text)))


def _attr(text: str) -> str:
    return _text(text)


def _n(value: float) -> str:
    """Coordinates with one decimal, so output does not depend on float noise."""
    text = f"{value:.1f}"
    return "0" if text in ("0.0", "-0.0") else text.removesuffix(".0")
