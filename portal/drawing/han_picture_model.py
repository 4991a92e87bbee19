"""The plain data between the two halves of the HAN picture: nodes, links, pictures."""

from dataclasses import dataclass

from django.utils.safestring import SafeString
from django.utils.translation import gettext

from han_gateway import networks

GATEWAY_NODE_ID = "gw"
TREE_RELATIONSHIP = "parent"
RELATIONSHIPS = frozenset({"parent", "child", "sibling", "neighbour"})
WEAK_LINK_LABELS = frozenset({"poor", "bad"})


# -- plain data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PictureNode:
    """One box or dot of the picture. ``id`` is synthetic ("gw", "n3"), never an EUI-64."""

    id: str
    label: str
    sublabel: str
    kind: str  # "gateway", "router", "end_device" or "unknown"
    reachable: bool = True
    masked: bool = False
    link_quality: int | None = None
    network: str = networks.UTILITY
    # Longer words for the node's tooltip; the builder decides what the viewer may read.
    detail: str = ""


@dataclass(frozen=True)
class PictureLink:
    """A radio link. For ``relationship == "parent"``, ``source`` is the child."""

    source: str
    target: str
    link_quality: int | None
    relationship: str


@dataclass(frozen=True)
class HanPicture:
    interface: str
    channel: int | None
    nodes: tuple[PictureNode, ...]
    links: tuple[PictureLink, ...]
    pan_id: int | None = None
    radio: str = ""  # the gateway's radio type: the LQI scale of the links

    @property
    def device_count(self) -> int:
        return sum(1 for node in self.nodes if node.kind != "gateway")


@dataclass(frozen=True)
class HanPictureView:
    """What the template gets for one interface: the data, its drawing and a caption."""

    picture: HanPicture
    svg: SafeString
    dom_id: str
    caption: str

    @property
    def device_count(self) -> int:
        return self.picture.device_count


def gateway_node(identifier: str) -> PictureNode:
    """The meter's node, in the active language."""
    return PictureNode(
        id=GATEWAY_NODE_ID,
        label=gettext("Meter"),
        sublabel=gettext("Premises Gateway"),
        kind="gateway",
        detail=gettext("Meter (Premises Gateway), coordinator of %(interface)s")
        % {"interface": identifier},
    )
