"""The server-rendered picture of a run's HAN: data, drawing, privacy and the fragment."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from portal.access.viewers import Viewer
from portal.drawing.han_picture_model import GATEWAY_NODE_ID, HanPicture, PictureLink, PictureNode
from portal.drawing.han_picture_svg import LINK_STYLES, han_picture_svg
from portal.models import HanTestCase, HanTestRun, ObservedDevice, ObservedInterface
from portal.test_runs.han_picture import han_pictures_context, han_pictures_for_run
from tests.factories import PremiseFactory

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
GATEWAY_EUI = "00:0d:6f:ff:fe:00:00:01"


@pytest.fixture(autouse=True)
def _default_thresholds(settings):
    # The buckets below are the default limits: bad < 40 <= poor < 100 <= fair < 192 <= good.
    settings.HAN_DIAGNOSIS_THRESHOLDS = {}


@pytest.fixture
def run():
    premise = PremiseFactory()
    case = HanTestCase.objects.create(premise=premise)
    test_run = HanTestRun.objects.create(
        case=case, premise=premise, number=1, status=HanTestRun.Status.PASSED
    )
    ObservedInterface.objects.create(run=test_run, identifier="han0", channel=15, pan_id=0x1A2B)
    return test_run


def eui(number: int) -> str:
    return f"00:0d:6f:00:00:00:{number // 256:02x}:{number % 256:02x}"


def link(neighbor, relationship="parent", inbound=None, outbound=None):
    return {
        "neighbor": neighbor,
        "relationship": relationship,
        "lqi_inbound": inbound,
        "lqi_outbound": outbound,
        "rssi": None,
    }


def add_device(run, sequence, *, interface="han0", parent=GATEWAY_EUI, links=None, **fields):
    fields.setdefault("eui64", eui(sequence))
    fields.setdefault("category", "in_home_display")
    fields.setdefault("device_type", "end_device")
    fields.setdefault("manufacturer", "Rainforest Automation")
    fields.setdefault("model", "EMU-2")
    fields.setdefault(
        "details", {"parent": parent, "depth": 1, "links": links if links is not None else []}
    )
    return ObservedDevice.objects.create(run=run, interface=interface, sequence=sequence, **fields)


def viewer(*, staff=True, reveal_customer_han=False) -> Viewer:
    return Viewer(staff=staff, sees_customer_han=not staff or reveal_customer_han)


def only_picture(run, *, staff=True, reveal_customer_han=False) -> HanPicture:
    (picture,) = han_pictures_for_run(
        run, viewer=viewer(staff=staff, reveal_customer_han=reveal_customer_han)
    )
    return picture


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - the portal's own output, in a test


def link_lines(root: ET.Element) -> list[ET.Element]:
    (layer,) = [g for g in root.iter(f"{SVG}g") if g.get("data-layer") == "links"]
    return list(layer.iter(f"{SVG}line"))


def node_of(root: ET.Element, node_id: str) -> ET.Element:
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("data-node") == node_id]
    return group


def parent_line(root: ET.Element, node_id: str) -> ET.Element:
    (line,) = [
        line
        for line in link_lines(root)
        if line.get("data-source") == node_id and line.get("data-relationship") == "parent"
    ]
    return line


def all_text(element: ET.Element) -> str:
    return " ".join(element.itertext())


def test_parent_links_are_coloured_by_the_bucket_of_their_link_quality(run):
    for sequence, lqi in [(1, 230), (2, 150), (3, 60), (4, 20)]:
        add_device(run, sequence, links=[link(GATEWAY_EUI, inbound=lqi, outbound=lqi)])
    root = parse(han_picture_svg(only_picture(run)))

    for node_id, bucket in [("n1", "good"), ("n2", "fair"), ("n3", "poor"), ("n4", "bad")]:
        line = parent_line(root, node_id)
        assert line.get("data-target") == GATEWAY_NODE_ID
        assert line.get("data-quality") == bucket
        assert line.get("stroke") == LINK_STYLES[bucket].colour
    # Not by colour alone: the bad link is dashed, the good one solid.
    assert parent_line(root, "n4").get("stroke-dasharray")
    assert parent_line(root, "n1").get("stroke-dasharray") is None


def test_a_link_is_as_good_as_its_worse_direction_else_the_devices_own_quality(run):
    add_device(run, 1, links=[link(GATEWAY_EUI, inbound=220, outbound=30)])
    add_device(run, 2, links=[link(GATEWAY_EUI, outbound=150)], link_quality=10)
    add_device(run, 3, links=[], link_quality=70)
    add_device(run, 4, links=[], link_quality=None)

    links = {link.source: link for link in only_picture(run).links}
    assert [links[n].link_quality for n in ("n1", "n2", "n3", "n4")] == [30, 150, 70, None]
    root = parse(han_picture_svg(only_picture(run)))
    assert parent_line(root, "n1").get("data-quality") == "bad"
    assert parent_line(root, "n4").get("data-quality") == "unknown"


def test_links_reported_by_both_ends_are_drawn_once(run):
    router = add_device(run, 1, device_type="router", links=[link(GATEWAY_EUI, inbound=200)])
    add_device(
        run,
        2,
        parent=router.eui64,
        links=[link(router.eui64, inbound=180), link(eui(3), "sibling", inbound=90)],
    )
    add_device(run, 3, links=[link(eui(2), "sibling", outbound=120)])
    router.details["links"].append(link(eui(2), "child", outbound=170))
    router.save(update_fields=["details"])

    picture = only_picture(run)
    pairs = [frozenset((link.source, link.target)) for link in picture.links]
    assert len(pairs) == len(set(pairs))
    by_pair = {frozenset((link.source, link.target)): link for link in picture.links}
    assert by_pair[frozenset(("n2", "n1"))].relationship == "parent"
    assert by_pair[frozenset(("n2", "n1"))].link_quality == 170
    assert by_pair[frozenset(("n2", "n3"))].relationship == "sibling"
    assert by_pair[frozenset(("n2", "n3"))].link_quality == 90


def test_children_are_drawn_further_out_than_their_parent(run):
    router = add_device(run, 1, device_type="router", links=[link(GATEWAY_EUI, inbound=200)])
    for sequence in range(2, 8):
        add_device(run, sequence, parent=router.eui64 if sequence < 4 else GATEWAY_EUI)
    root = parse(han_picture_svg(only_picture(run)))

    def distance(node_id):
        circle = node_of(root, node_id).find(f"{SVG}circle")
        return float(circle.get("cx")) ** 2 + float(circle.get("cy")) ** 2

    assert distance("n2") > distance("n1")
    assert distance("n3") > distance("n1")
    assert distance("n4") == pytest.approx(distance("n1"), rel=0.01)


def _random_han(seed: int) -> tuple[dict[str, PictureNode], list[PictureLink]]:
    """Up to 60 devices, about half hanging off the meter and half off earlier devices."""
    import random

    choice = random.Random(seed)
    categories = ["In-home display", "Programmable communicating thermostat", "Smart plug"]
    nodes = {"gw": PictureNode("gw", "Meter", "", "gateway")}
    links = []
    for number in range(1, choice.randint(1, 60) + 1):
        node_id = f"n{number}"
        nodes[node_id] = PictureNode(
            node_id, choice.choice(categories), eui(number), "router", choice.random() > 0.1
        )
        parent = "gw" if choice.random() < 0.5 else f"n{choice.randint(1, number)}"
        links.append(PictureLink(node_id, "gw" if parent == node_id else parent, 200, "parent"))
    return nodes, links


@pytest.mark.parametrize("shape", ["star-1", "star-3", "star-12", "star-13", "star-60", *range(40)])
def test_no_label_overlaps_another_label_or_device(shape):
    from portal.drawing.han_picture_svg import label_outlines, layout_nodes, outlines_overlap

    if isinstance(shape, int):
        nodes, links = _random_han(shape)
    else:
        nodes = {"gw": PictureNode("gw", "Meter", "", "gateway")}
        for number in range(1, int(shape.removeprefix("star-")) + 1):
            nodes[f"n{number}"] = PictureNode(
                f"n{number}",
                "Programmable communicating thermostat",
                eui(number),
                "end_device",
                reachable=number % 4 != 0,
            )
        links = [PictureLink(node_id, "gw", 200, "parent") for node_id in list(nodes)[1:]]
    placed = layout_nodes(list(nodes)[1:], links, nodes)
    outlines = [
        (node_id, corners)
        for node_id in nodes
        for corners in label_outlines(nodes[node_id], placed[node_id])
    ]
    assert not [
        (one, other)
        for index, (one, one_corners) in enumerate(outlines)
        for other, other_corners in outlines[index + 1 :]
        if one != other and outlines_overlap(one_corners, other_corners)
    ]


def test_an_unreachable_device_is_marked(run):
    add_device(run, 1)
    add_device(run, 2, reachable=False, link_quality=None)
    root = parse(han_picture_svg(only_picture(run)))

    lost = node_of(root, "n2")
    assert lost.get("data-reachable") == "false"
    assert "unreachable" in all_text(lost.find(f"{SVG}text"))
    assert "unreachable" in lost.find(f"{SVG}title").text
    assert lost.find(f"{SVG}path").get("data-mark") == "unreachable"
    assert node_of(root, "n1").find(f"{SVG}path") is None
    assert "1 unreachable" in root.find(f"{SVG}desc").text


def test_staff_without_consent_see_customer_devices_only_by_category_and_masked_eui(run):
    plug_eui = "28:2c:02:bf:ff:e6:0a:12"
    add_device(
        run,
        1,
        eui64=plug_eui,
        network="customer",
        category="smart_plug",
        manufacturer="Hidden Vendor",
        model="SecretPlug 9000",
        links=[link(GATEWAY_EUI, inbound=120)],
    )
    add_device(run, 2, links=[link(plug_eui, "neighbour", inbound=90)])

    masked = han_picture_svg(only_picture(run, staff=True, reveal_customer_han=False))
    assert plug_eui not in masked
    assert "SecretPlug 9000" not in masked
    assert "Hidden Vendor" not in masked
    assert "••:••:••:••:••:••:0a:12" in masked
    assert "Smart plug" in masked
    assert node_of(parse(masked), "n1").get("data-masked") == "true"
    # The neighbour link is still drawn, between synthetic ids only.
    assert {
        (line.get("data-source"), line.get("data-target"))
        for line in link_lines(parse(masked))
        if line.get("data-relationship") == "neighbour"
    } == {("n1", "n2")}

    revealed = han_picture_svg(only_picture(run, staff=True, reveal_customer_han=True))
    assert plug_eui in revealed
    assert "SecretPlug 9000" in revealed


def test_customers_see_vendors_and_models_but_no_eui64(run):
    add_device(run, 1, model="EMU-2")
    add_device(run, 2, network="customer", category="smart_plug", model="Plug One")
    svg = han_picture_svg(only_picture(run, staff=False, reveal_customer_han=False))
    assert "EMU-2" in svg
    assert "Plug One" in svg
    assert eui(1) not in svg
    assert eui(2) not in svg


def test_node_ids_are_synthetic_never_eui64s(run):
    for sequence in range(1, 4):
        add_device(run, sequence, network="customer")
    picture = only_picture(run, staff=True, reveal_customer_han=True)
    ids = [node.id for node in picture.nodes]
    assert all(re.fullmatch(r"gw|n\d+", node_id) for node_id in ids)
    assert all(
        re.fullmatch(r"gw|n\d+", end)
        for link in picture.links
        for end in (link.source, link.target)
    )


@pytest.mark.parametrize(
    "details",
    [
        {"parent": GATEWAY_EUI, "links": "not a list"},
        {"parent": 12345, "links": [{"neighbor": 7, "lqi_inbound": 200}]},
        {"links": [{"neighbor": GATEWAY_EUI, "lqi_inbound": "200", "lqi_outbound": True}]},
        {"links": [None, "x", ["a"], {"relationship": "parent"}, {"neighbor": "zz"}]},
        {"parent": "ff:ff:ff:ff:ff:ff:ff:ff", "depth": "deep", "links": [{"neighbor": ""}]},
        {"links": [{"neighbor": eui(1), "relationship": "parent", "lqi_inbound": 999}]},
        [],
        "garbage",
        42,
    ],
)
def test_malformed_details_are_drawn_as_far_as_they_go(run, details):
    add_device(run, 1, details=details)
    add_device(run, 2)
    picture = only_picture(run)
    root = parse(han_picture_svg(picture))
    assert {g.get("data-node") for g in root.iter(f"{SVG}g") if g.get("data-node")} == {
        "gw",
        "n1",
        "n2",
    }
    for line in link_lines(root):
        assert line.get("data-quality") in LINK_STYLES


def test_parents_that_go_round_in_a_circle_still_give_a_picture(run):
    add_device(run, 1, parent=eui(2), device_type="router")
    add_device(run, 2, parent=eui(3), device_type="router")
    add_device(run, 3, parent=eui(1), device_type="router")
    add_device(run, 4, parent=eui(4))  # its own parent
    root = parse(han_picture_svg(only_picture(run)))
    assert len([g for g in root.iter(f"{SVG}g") if g.get("data-node")]) == 5


def test_svg_is_accessible_xml_with_a_summary(run):
    add_device(run, 1, links=[link(GATEWAY_EUI, inbound=200)])
    add_device(run, 2, links=[link(GATEWAY_EUI, inbound=50)])
    add_device(run, 3, reachable=False)
    svg = han_picture_svg(only_picture(run))
    root = parse(svg)

    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("viewBox")
    labelled_by = root.get("aria-labelledby").split()
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    assert set(labelled_by) <= ids
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.get("id") in labelled_by and "han0" in title.text
    assert desc.text.startswith("Meter and 3 devices on han0, channel 15; 1 unreachable;")
    assert "1 weak link" in desc.text
    for group in root.iter(f"{SVG}g"):
        if group.get("data-node"):
            assert group.find(f"{SVG}title").text
    legend = all_text(next(g for g in root.iter(f"{SVG}g") if g.get("data-layer") == "legend"))
    for words in ("Good", "Fair", "Poor", "Bad", "Unreachable"):
        assert words in legend


def test_the_same_picture_always_gives_the_same_bytes(run):
    router = add_device(run, 1, device_type="router", links=[link(GATEWAY_EUI, inbound=200)])
    for sequence in range(2, 10):
        add_device(run, sequence, parent=router.eui64 if sequence % 2 else GATEWAY_EUI)
    assert han_picture_svg(only_picture(run)) == han_picture_svg(only_picture(run))


def test_hostile_texts_from_a_gateway_are_escaped(run):
    ObservedInterface.objects.filter(run=run).update(identifier="han0<b>")
    add_device(
        run,
        1,
        interface="han0<b>",
        manufacturer="<script>alert(1)</script>",
        model='" onload="alert(2)',
        eui64="<img src=x>",
    )
    # The executor strips NUL before saving (PostgreSQL refuses it); other control characters
    # reach the database and must not break the XML.
    add_device(run, 2, interface="han0<b>", manufacturer="Bell\x07 & \x1bCo")
    for staff in (True, False):
        svg = han_picture_svg(only_picture(run, staff=staff))
        assert "<script>" not in svg
        assert "<img" not in svg
        assert "<b>" not in svg
        assert '" onload=' not in svg
        assert "&lt;script&gt;" in svg
        parse(svg)  # control characters must not break the XML either


def test_two_interfaces_give_two_pictures_with_distinct_ids(run):
    ObservedInterface.objects.create(run=run, identifier="han1", channel=20)
    add_device(run, 1, interface="han1")
    add_device(run, 2, interface="han0")
    add_device(run, 3, interface="han0")

    pictures = han_pictures_for_run(run, viewer=viewer(staff=True, reveal_customer_han=False))
    assert [(p.interface, p.channel, p.device_count) for p in pictures] == [
        ("han0", 15, 2),
        ("han1", 20, 1),
    ]
    views = han_pictures_context(run, viewer=viewer(staff=True, reveal_customer_han=False))
    ids = [
        element.get("id")
        for view in views
        for element in parse(view.svg).iter()
        if element.get("id")
    ]
    assert len(ids) == len(set(ids))
    assert len({view.dom_id for view in views}) == 2


@pytest.mark.parametrize("device_count", [2, 40])
def test_building_pictures_takes_two_queries_whatever_the_device_count(run, device_count):
    ObservedInterface.objects.create(run=run, identifier="han1", channel=20)
    for sequence in range(1, device_count + 1):
        add_device(run, sequence, interface="han0" if sequence % 2 else "han1")
    run = HanTestRun.objects.get(pk=run.pk)
    with CaptureQueriesContext(connection) as queries:
        pictures = han_pictures_for_run(run, viewer=viewer(staff=True, reveal_customer_han=False))
    assert len(queries) == 2
    assert sum(picture.device_count for picture in pictures) == device_count


def test_a_large_han_is_drawn_in_full(run):
    for router_number in range(1, 6):
        add_device(run, router_number, device_type="router")
    for sequence in range(6, 61):
        add_device(run, sequence, parent=eui(1 + sequence % 5), link_quality=sequence * 4)
    root = parse(han_picture_svg(only_picture(run)))
    circles = [
        (circle.get("cx"), circle.get("cy"))
        for group in root.iter(f"{SVG}g")
        if group.get("data-node")
        for circle in group.iter(f"{SVG}circle")
    ]
    assert len(circles) == 60
    assert len(set(circles)) == 60  # nobody drawn on top of anybody else


def test_fragment_renders_a_figure_per_interface_and_says_when_none_was_found(run):
    ObservedInterface.objects.create(run=run, identifier="han1", channel=20)
    add_device(run, 1, model="<i>EMU-2</i>")
    html = render_to_string(
        "portal/_han_picture.html",
        {
            "han_pictures": han_pictures_context(
                run, viewer=viewer(staff=False, reveal_customer_han=False)
            )
        },
    )
    assert html.count("<figure") == 2
    assert html.count("<svg") == 1
    assert "<i>EMU-2" not in html
    assert "&lt;i&gt;EMU-2" in html
    assert "HAN han0 · channel 15" in html
    assert "No devices found on han1." in html


def test_picture_of_a_real_scan(demo_world):
    from portal.models import Premise, User
    from portal.test_runs.execute import han_test_run_execute
    from portal.test_runs.start import han_test_start

    premise = Premise.objects.get(premises_gateway__meter_number="MTR-100002")
    real_run = han_test_start(premise=premise, user=User.objects.get(username="rep"))
    han_test_run_execute(real_run.pk)
    real_run.refresh_from_db()
    devices = list(real_run.devices.all())
    assert devices

    views = han_pictures_context(real_run, viewer=viewer(staff=True, reveal_customer_han=False))
    (view,) = views
    root = parse(view.svg)
    drawn = [g.get("data-node") for g in root.iter(f"{SVG}g") if g.get("data-node")]
    assert len(drawn) == len(devices) + 1
    assert drawn[0] == GATEWAY_NODE_ID
    qualities = [
        line.get("data-quality")
        for line in link_lines(root)
        if line.get("data-relationship") == "parent"
    ]
    assert len(qualities) >= 1
    assert set(qualities) - {"unknown"}
    # The scenario's problem, a weak link, shows.
    assert {"poor", "bad"} & set(qualities)
    # The scenario has a customer-owned plug: staff without consent never see its EUI-64.
    for device in devices:
        if device.network == "customer":
            assert device.eui64 not in view.svg


def test_picture_data_can_be_drawn_without_a_database():
    picture = HanPicture(
        interface="han0",
        channel=None,
        nodes=(
            PictureNode("gw", "Meter", "", "gateway"),
            PictureNode("n1", "Smart plug", "", "end_device", link_quality=None),
        ),
        links=(
            PictureLink("n1", "gw", 200, "parent"),
            PictureLink("n1", "n9", 200, "neighbour"),  # to nobody: left out
        ),
    )
    root = parse(han_picture_svg(picture))
    assert [line.get("data-target") for line in link_lines(root)] == ["gw"]
    assert "channel unknown" in root.find(f"{SVG}desc").text
