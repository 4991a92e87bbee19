"""The live stream of a run over a real WebSocket application, with real sessions."""

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from portal.asgi import application
from portal.models import Premise, User
from portal.runtime import live_events as live
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.start import han_test_start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _session_cookie(username: str) -> bytes:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def _start_run(meter: str = "MTR-100002") -> int:
    """A queued run; by default at the meter whose display has a weak link."""
    premise = Premise.objects.get(premises_gateway__meter_number=meter)
    from unittest import mock

    with mock.patch("portal.test_runs.start.han_test_run_enqueue"):
        run = han_test_start(premise=premise, user=User.objects.get(username="rep"))
    return run.pk


async def _connect(run_id: int, username: str) -> tuple[WebsocketCommunicator, bool]:
    cookie = await database_sync_to_async(_session_cookie)(username)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/runs/{run_id}/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)],
    )
    connected, _ = await communicator.connect()
    return communicator, connected


async def _events_until_finished(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    events = []
    while True:
        event = await communicator.receive_json_from(timeout=20)
        events.append(event)
        if event.get("kind") == "run" and not event["run"]["active"]:
            return events


async def test_rep_sees_snapshot_then_devices_live_with_customer_devices_masked(demo_world):
    run_id = await database_sync_to_async(_start_run)()
    communicator, connected = await _connect(run_id, "rep")
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["kind"] == "snapshot"
    assert snapshot["run"]["status"] == "queued"
    assert snapshot["devices"] == []

    executing = asyncio.ensure_future(database_sync_to_async(han_test_run_execute)(run_id))
    events = await _events_until_finished(communicator)
    await executing

    devices = [event["device"] for event in events if event["kind"] == "device"]
    by_category = {device["category"]: device for device in devices}
    display = by_category["in_home_display"]
    assert display["eui64"] == "00:1b:c5:0c:00:21:7f:10"
    assert display["link_quality"] < 60
    plug = by_category["smart_plug"]
    assert plug["eui64"].startswith("••:••:••:••:••:••:")
    assert "28:2c:02:bf:ff:e6:0a:12" not in str(events)
    findings = next(event for event in events if event["kind"] == "findings")["findings"]
    assert [finding["rule"] for finding in findings] == ["weak_link"]
    assert "link quality" in findings[0]["evidence"]
    assert events[-1]["run"]["status"] == "failed"
    await communicator.disconnect()


async def test_customer_sees_plain_words_and_no_technical_fields(demo_world):
    run_id = await database_sync_to_async(_start_run)()
    communicator, connected = await _connect(run_id, "bernard")
    assert connected
    await communicator.receive_json_from(timeout=5)
    executing = asyncio.ensure_future(database_sync_to_async(han_test_run_execute)(run_id))
    events = await _events_until_finished(communicator)
    await executing
    device = next(event["device"] for event in events if event["kind"] == "device")
    assert "join_method" not in device and "link_quality" not in device
    findings = next(event for event in events if event["kind"] == "findings")["findings"]
    assert set(findings[0]) == {"rule", "severity", "customer_text"}
    assert "closer to the meter" in findings[0]["customer_text"]
    await communicator.disconnect()


async def test_late_viewer_gets_the_full_state_from_the_database(demo_world):
    run_id = await database_sync_to_async(_start_run)()
    await database_sync_to_async(han_test_run_execute)(run_id)
    communicator, connected = await _connect(run_id, "rep")
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["run"]["status"] == "failed"
    assert len(snapshot["devices"]) == 6
    assert [step["key"] for step in snapshot["steps"]][-1] == "diagnose"
    assert snapshot["findings"][0]["rule"] == "weak_link"
    await communicator.disconnect()


async def test_another_customer_cannot_watch_the_run(demo_world):
    run_id = await database_sync_to_async(_start_run)()
    communicator, connected = await _connect(run_id, "alice")
    if connected:
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}
    else:
        assert not connected
    await communicator.disconnect()


async def test_anonymous_visitor_cannot_watch_the_run(demo_world):
    run_id = await database_sync_to_async(_start_run)()
    communicator = WebsocketCommunicator(
        application, f"/ws/runs/{run_id}/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, code = await communicator.connect()
    assert not connected or code == 4403
    await communicator.disconnect()


async def test_messages_from_viewers_are_ignored(demo_world):
    run_id = await database_sync_to_async(_start_run)()
    communicator, _ = await _connect(run_id, "rep")
    await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"kind": "run", "run": {"status": "passed"}})
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


def _note_on_the_case(run_id: int, text: str) -> None:
    from portal.models import HanTestRun
    from portal.test_runs.cases import case_note_add

    run = HanTestRun.objects.get(pk=run_id)
    case_note_add(case=run.case, user=User.objects.get(username="admin"), text=text)


async def test_another_staff_members_note_reaches_a_rep_watching_the_case(demo_world):
    """A note (or request, visit, close) by someone else is pushed: the rep's page fetches the
    case afresh, and the snapshot it reconnects for carries the note on the timeline."""
    run_id = await database_sync_to_async(_start_run)()
    await database_sync_to_async(han_test_run_execute)(run_id)
    communicator, connected = await _connect(run_id, "rep")
    assert connected
    await communicator.receive_json_from(timeout=5)

    await database_sync_to_async(_note_on_the_case)(run_id, "Customer calls back at 4 pm")
    event = await communicator.receive_json_from(timeout=5)
    assert event["kind"] == "case"
    await communicator.disconnect()

    again, _ = await _connect(run_id, "rep")
    snapshot = await again.receive_json_from(timeout=5)
    assert any("Customer calls back at 4 pm" in item["what"] for item in snapshot["timeline"])
    await again.disconnect()


async def test_a_slow_snapshot_does_not_hold_up_the_next_viewers(demo_world, monkeypatch):
    """After each run every watching tab connects at once: one viewer's snapshot being read
    must not keep the viewers of other runs waiting for theirs (nor the events already sent to
    them)."""
    import threading

    from portal.test_runs import consumers

    first_read, release, first_done = threading.Event(), threading.Event(), threading.Event()
    real_snapshot = consumers.run_snapshot

    def snapshot(run: Any, **kwargs: Any) -> dict[str, Any]:
        if not first_read.is_set():
            first_read.set()
            release.wait(10)
            first_done.set()
        result: dict[str, Any] = real_snapshot(run, **kwargs)
        return result

    monkeypatch.setattr(consumers, "run_snapshot", snapshot)
    run_id = await database_sync_to_async(_start_run)()
    other_run_id = await database_sync_to_async(_start_run)("MTR-100001")
    other_cookie = await database_sync_to_async(_session_cookie)("admin")
    slow, connected = await _connect(run_id, "rep")
    assert connected
    assert await asyncio.to_thread(first_read.wait, 5)
    try:
        other = WebsocketCommunicator(
            application,
            f"/ws/runs/{other_run_id}/",
            headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", other_cookie)],
        )
        connected, _ = await other.connect(timeout=5)
        assert connected
        assert (await other.receive_json_from(timeout=5))["kind"] == "snapshot"
        assert not first_done.is_set()  # the first viewer's snapshot is still being read
    finally:
        release.set()
    assert (await slow.receive_json_from(timeout=5))["kind"] == "snapshot"
    await other.disconnect()
    await slow.disconnect()


async def test_a_viewer_too_far_behind_is_sent_the_saved_state_afresh(demo_world):
    run_id = await database_sync_to_async(_start_run)()
    communicator, connected = await _connect(run_id, "rep")
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["kind"] == "snapshot"

    # More events than a viewer may have waiting reach this process's hub at once: the viewer
    # cannot be sent them one by one, so it is sent the run as it is saved, then what follows.
    hub = live.hub()
    for number in range(live.INBOX_CAPACITY + 5):
        hub.deliver(run_id, {"event": {"kind": "note", "number": number}, "published_at": 0})
    hub.deliver(run_id, {"event": {"kind": "case"}, "published_at": 0})

    caught_up = await communicator.receive_json_from(timeout=5)
    assert caught_up["kind"] == "snapshot"
    assert caught_up["run"]["id"] == run_id
    after = [await communicator.receive_json_from(timeout=5) for _ in range(5)]
    assert [event.get("number") for event in after] == [
        live.INBOX_CAPACITY + 1,
        live.INBOX_CAPACITY + 2,
        live.INBOX_CAPACITY + 3,
        live.INBOX_CAPACITY + 4,
        None,
    ]
    assert after[-1]["kind"] == "case"
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_viewers_connecting_together_share_one_reading_of_the_saved_state(
    demo_world, monkeypatch
):
    """When a run ends every open tab reconnects at once: the saved state is read once for all
    who see it alike and began connecting before it was read."""
    from portal.test_runs import consumers

    reads: list[int] = []
    real_snapshot = consumers.run_snapshot

    def snapshot(run: Any, **kwargs: Any) -> dict[str, Any]:
        reads.append(run.pk)
        result: dict[str, Any] = real_snapshot(run, **kwargs)
        return result

    monkeypatch.setattr(consumers, "run_snapshot", snapshot)
    run_id = await database_sync_to_async(_start_run)()
    await database_sync_to_async(han_test_run_execute)(run_id)

    tabs = await asyncio.gather(*(_connect(run_id, "rep") for _ in range(3)))
    snapshots = [await tab.receive_json_from(timeout=5) for tab, _ in tabs]
    assert len(reads) == 1
    assert all(each == snapshots[0] for each in snapshots)
    assert snapshots[0]["run"]["status"] == "failed"

    # The customer sees the run in other words: a reading of their own.
    customer, _ = await _connect(run_id, "bernard")
    assert "join_method" not in str(await customer.receive_json_from(timeout=5))
    assert len(reads) == 2

    # A tab that connects once those readings are done may hold a page drawn after them (not
    # every change to a case is an event): its state is read afresh.
    late, _ = await _connect(run_id, "rep")
    assert (await late.receive_json_from(timeout=5))["kind"] == "snapshot"
    assert len(reads) == 3
    for tab in [*(tab for tab, _ in tabs), customer, late]:
        await tab.disconnect()
