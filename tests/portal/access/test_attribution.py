"""Two customers on one pole-top gateway: each run keeps only its own premise's devices."""

import asyncio
import csv
import io
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from han_gateway.models import HanDevice, PremisesGateway
from han_gateway.protocol import DeviceReport, LinkReport
from portal.access.attribution import InterfaceAttribution, Placement, PremiseOwnership
from portal.asgi import application
from portal.models import HanTestRun, Premise, User
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.start import han_test_start
from tests.factories import CustomerFactory, PremiseFactory, UserFactory
from trust_center.models import DeviceRegistration

METER = "MTR-100010"

# Premise A (the demo's) and premise B (a neighbour) share the gateway's one HAN.
A_THERMOSTAT = "00:0d:6f:00:0a:aa:00:01"
A_PLUG = "28:2c:02:bf:ff:aa:00:02"  # customer-owned router at A, on record
A_CHILD = "00:0d:6f:00:0a:aa:00:03"  # of no known premise, joined through A's plug
B_DISPLAY = "00:1b:c5:0c:00:bb:00:01"
B_PLUG = "28:2c:02:bf:ff:bb:00:02"  # customer-owned router at B, on record
B_CHILD = "00:0d:6f:00:0a:bb:00:03"  # of no known premise, joined through B's plug
B_SWITCH = "00:0d:6f:00:05:bb:00:04"  # registered with the Trust Center at B only
STRAY = "00:0d:6f:00:0a:cc:00:05"  # of no known premise, joined straight to the gateway

pytestmark = pytest.mark.django_db

NEIGHBOUR_DEVICES = (B_DISPLAY, B_PLUG, B_CHILD, B_SWITCH, STRAY)


def _device(eui64, name, category, han, device_type, *, parent=None, quality=200, **extra):
    manufacturer = "Neighbourly Inc" if eui64 in NEIGHBOUR_DEVICES else "Honeywell"
    return {
        "eui64": eui64,
        "name": name,
        "category": category,
        "han": han,
        "device_type": device_type,
        "manufacturer": manufacturer,
        "model": f"Model {name}",
        "link_quality": quality,
        "reverse_link_quality": quality,
        **({"parent": parent} if parent else {}),
        **extra,
    }


SHARED_HAN = {
    "name": "shared_pole_top",
    "description": "A pole-top gateway's HAN with the devices of two premises.",
    "gateway": {
        "channel": 20,
        "pan_id": 4660,
        "extended_pan_id": "00:13:50:04:00:01:1a:99",
        "security_level": 5,
        "max_devices": 20,
    },
    "devices": [
        _device(A_THERMOSTAT, "A thermostat", "pct", "utility", "end_device"),
        _device(A_PLUG, "A plug", "smart_plug", "customer", "router"),
        _device(A_CHILD, "A child", "pct", "utility", "end_device", parent=A_PLUG),
        _device(B_DISPLAY, "B display", "in_home_display", "utility", "end_device"),
        _device(B_PLUG, "B plug", "smart_plug", "customer", "router"),
        _device(B_CHILD, "B child", "pct", "utility", "end_device", parent=B_PLUG, quality=20),
        _device(B_SWITCH, "B switch", "load_control_switch", "utility", "router", quality=30),
        _device(STRAY, "Stray", "pct", "utility", "end_device", join_method="default_key"),
    ],
}


@pytest.fixture
def shared_gateway(demo_world, scenario_switch):
    """Premise A (Ivan Petrov's, the demo's) and premise B (Bea Neighbour's) on one pole-top."""
    scenario_switch(METER, SHARED_HAN)
    gateway = PremisesGateway.objects.get(meter_number=METER)
    gateway.kind = PremisesGateway.Kind.POLE_TOP
    gateway.save(update_fields=["kind"])
    premise_a = Premise.objects.get(premises_gateway=gateway)
    neighbour = CustomerFactory(name="Bea Neighbour", account_number="1000999999")
    premise_b = PremiseFactory(  # next door to premise A, on the same pole-top
        customer=neighbour,
        address_line="482 Sunset Boulevard",
        city="Chatham",
        premises_gateway=gateway,
    )
    UserFactory(username="bea", role=User.Role.CUSTOMER, customer_accounts=[neighbour])
    user_a = UserFactory(
        username="ivan", role=User.Role.CUSTOMER, customer_accounts=[premise_a.customer]
    )
    on_record = [
        (A_THERMOSTAT, premise_a, HanDevice.Network.UTILITY, "pct"),
        (A_PLUG, premise_a, HanDevice.Network.CUSTOMER, "smart_plug"),
        (B_DISPLAY, premise_b, HanDevice.Network.UTILITY, "in_home_display"),
        (B_PLUG, premise_b, HanDevice.Network.CUSTOMER, "smart_plug"),
    ]
    for eui64, premise, network, category in on_record:
        HanDevice.objects.create(
            premises_gateway=gateway,
            eui64=eui64,
            service_point_id=premise.service_point_id,
            network=network,
            category=category,
        )
    DeviceRegistration.objects.create(
        premises_gateway=gateway,
        service_point_id=premise_b.service_point_id,
        eui64=B_SWITCH,
        category="load_control_switch",
        link_key_ciphertext="",
        status=DeviceRegistration.Status.JOIN_WINDOW_OPEN,
    )
    return {"a": premise_a, "b": premise_b, "user_a": user_a}


def _run_at(premise, username="rep"):
    run = han_test_start(premise=premise, user=User.objects.get(username=username))
    han_test_run_execute(run.pk)
    run.refresh_from_db()
    return run


def _assert_no_neighbour_in(text, *, label):
    lowered = text.lower()
    for eui64 in NEIGHBOUR_DEVICES:
        assert eui64 not in lowered, f"{eui64} in {label}"
        assert eui64.replace(":", "") not in lowered, f"{eui64} in {label}"
    assert "neighbourly" not in lowered, f"a neighbour's device maker in {label}"


def test_a_run_keeps_only_its_premises_devices(shared_gateway):
    run = _run_at(shared_gateway["a"])
    assert run.status in {HanTestRun.Status.PASSED, HanTestRun.Status.FAILED}
    assert set(run.devices.values_list("eui64", flat=True)) == {A_THERMOSTAT, A_PLUG, A_CHILD}
    interface = run.interfaces.get()
    assert interface.device_count == 3
    findings = list(run.findings.values("rule", "eui64", "title", "evidence", "customer_text"))
    _assert_no_neighbour_in(json.dumps(findings), label="findings")
    # The unknown device behind A's own router is A's to explain; nothing else is unknown here.
    unknown = [f["eui64"] for f in findings if f["rule"] == "unknown_device"]
    assert unknown == [A_CHILD]
    _assert_no_neighbour_in(json.dumps(list(run.devices.values("details"))), label="links")


def test_the_neighbours_run_sees_their_own_devices_and_not_the_first_premises(shared_gateway):
    run = _run_at(shared_gateway["b"])
    assert set(run.devices.values_list("eui64", flat=True)) == {
        B_DISPLAY,
        B_PLUG,
        B_CHILD,
        B_SWITCH,
    }
    text = json.dumps(list(run.findings.values("eui64", "evidence", "title")))
    for eui64 in (A_THERMOSTAT, A_PLUG, A_CHILD, STRAY):
        assert eui64 not in text
    assert not run.findings.filter(rule="registered_device_missing").exists()


def test_no_view_of_a_run_shows_the_neighbours_devices(shared_gateway):
    run = _run_at(shared_gateway["a"])
    for username in ("rep", "admin", "ivan"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        for url in (
            f"/runs/{run.pk}/",
            f"/runs/{run.pk}/picture/",
            f"/premises/{shared_gateway['a'].pk}/",
            f"/api/v1/runs/{run.pk}/",
        ):
            response = client.get(url)
            assert response.status_code == 200, (username, url)
            _assert_no_neighbour_in(response.content.decode(), label=f"{url} as {username}")
    admin = Client()
    admin.force_login(User.objects.get(username="admin"))
    export = admin.get("/history/export.csv")
    body = b"".join(export).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert str(run.pk) in [row["run_id"] for row in rows]
    _assert_no_neighbour_in(body, label="CSV export")
    history = admin.get("/api/v1/runs/")
    _assert_no_neighbour_in(history.content.decode(), label="history API")


def test_staff_see_that_the_gateway_serves_several_premises(shared_gateway):
    run = _run_at(shared_gateway["a"])
    rep = Client()
    rep.force_login(User.objects.get(username="rep"))
    assert "shared by 2 premises" in rep.get(f"/runs/{run.pk}/").content.decode()
    assert "Serves 2 premises" in rep.get(f"/premises/{shared_gateway['a'].pk}/").content.decode()
    customer = Client()
    customer.force_login(shared_gateway["user_a"])
    assert "shared by" not in customer.get(f"/runs/{run.pk}/").content.decode()
    premise_page = customer.get(f"/premises/{shared_gateway['a'].pk}/").content.decode()
    assert "Serves 2 premises" not in premise_page


@pytest.mark.django_db(transaction=True)
def test_the_live_stream_carries_no_neighbours_device(shared_gateway):
    premise = shared_gateway["a"]
    from unittest import mock

    with mock.patch("portal.test_runs.start.han_test_run_enqueue"):
        run = han_test_start(premise=premise, user=User.objects.get(username="rep"))
    client = Client()
    client.force_login(User.objects.get(username="rep"))
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def watch():
        communicator = WebsocketCommunicator(
            application,
            f"/ws/runs/{run.pk}/",
            headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)],
        )
        connected, _ = await communicator.connect()
        assert connected
        events = [await communicator.receive_json_from(timeout=5)]
        executing = asyncio.ensure_future(database_sync_to_async(han_test_run_execute)(run.pk))
        while True:
            event = await communicator.receive_json_from(timeout=20)
            events.append(event)
            if event.get("kind") == "run" and not event["run"]["active"]:
                break
        await executing
        await communicator.disconnect()
        return events

    events = asyncio.run(watch())
    devices = {e["device"]["category"] for e in events if e["kind"] == "device"}
    assert devices == {"pct", "smart_plug"}
    _assert_no_neighbour_in(json.dumps(events), label="WebSocket events")


def _report(*, parent: str, neighbours: list[str]) -> DeviceReport:
    """A device report reduced to what placing it reads (the names stand for EUI-64s)."""
    return DeviceReport.model_construct(
        parent=parent, links=[LinkReport.model_construct(neighbor=name) for name in neighbours]
    )


def test_an_unknown_device_follows_its_parent_however_the_scan_orders_them():
    ownership = PremiseOwnership(shared=True, here=frozenset({"p"}), elsewhere=frozenset({"q"}))
    attribution = InterfaceAttribution(ownership, coordinator="c")
    assert attribution.arrive("grandchild", "child") is None
    assert attribution.arrive("child", "p") is None
    assert attribution.arrive("p", "c") is Placement.HERE
    assert attribution.arrive("theirs", "q") is None
    assert attribution.arrive("q", "c") is Placement.ELSEWHERE
    assert attribution.arrive("stray", "c") is None
    assert attribution.arrive("orphan", None) is None
    assert attribution.settle() == {
        "grandchild": Placement.HERE,
        "child": Placement.HERE,
        "theirs": Placement.ELSEWHERE,
        "stray": Placement.UNATTRIBUTED,
        "orphan": Placement.UNATTRIBUTED,
    }
    cleaned = attribution.without_other_premises(
        _report(parent="q", neighbours=["q", "child", "c"])
    )
    assert cleaned.parent is None
    assert [link.neighbor for link in cleaned.links] == ["child", "c"]


def test_a_meter_serving_one_premise_keeps_every_device():
    attribution = InterfaceAttribution(PremiseOwnership(shared=False), coordinator="c")
    assert attribution.arrive("anything", None) is Placement.HERE
    report = _report(parent="x", neighbours=["x"])
    assert attribution.without_other_premises(report) == report
