"""Live events published from a worker's threads through Redis to the viewers of a web process.

A worker runs many runs at once, each in a thread of its own, and every device found is an
event. Each must reach every viewer of the run, in order; the web process reads them all on one
subscription, and a subscription that breaks tells its viewers to catch up.
"""

import asyncio
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.conf import settings

from portal.runtime import live_events as live
from tests.stack import wait_until

pytestmark = pytest.mark.realservices

RUNS = 8
VIEWERS_PER_RUN = 3
EVENTS_PER_RUN = 20
FIRST_RUN = 900_000


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.LIVE_EVENTS_REDIS_URL)


def _our_subscriptions() -> list[dict[str, Any]]:
    name = f"live-events-{os.getpid()}"
    return [client for client in _redis().client_list() if client.get("name") == name]


class Viewers:
    """Viewers of runs on an event loop of their own, as a web process's are."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.inboxes: dict[int, list[live.Inbox]] = {}

    def call(self, make: Callable[[], Any]) -> Any:
        async def run() -> Any:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(15)

    def join(self, run_id: int, count: int) -> None:
        async def join() -> None:
            for _ in range(count):
                inbox: live.Inbox = asyncio.Queue(maxsize=live.INBOX_CAPACITY)
                await live.hub().join(run_id, inbox)
                self.inboxes.setdefault(run_id, []).append(inbox)

        self.call(join)

    def received(self) -> dict[int, list[list[dict[str, Any]]]]:
        async def drain() -> dict[int, list[list[dict[str, Any]]]]:
            return {
                run_id: [_drained(inbox) for inbox in inboxes]
                for run_id, inboxes in self.inboxes.items()
            }

        received: dict[int, list[list[dict[str, Any]]]] = self.call(drain)
        return received

    def close(self) -> None:
        async def leave() -> None:
            for run_id, inboxes in self.inboxes.items():
                for inbox in inboxes:
                    live.hub().leave(run_id, inbox)
            await asyncio.sleep(0.1)  # the subscription's task ends

        self.call(leave)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _drained(inbox: live.Inbox) -> list[dict[str, Any]]:
    messages = []
    while not inbox.empty():
        messages.append(inbox.get_nowait())
    return messages


@pytest.fixture
def viewers():
    each = Viewers()
    yield each
    each.close()


def test_events_from_many_threads_reach_every_viewer_in_order_on_one_subscription(viewers):
    for run in range(RUNS):
        viewers.join(FIRST_RUN + run, VIEWERS_PER_RUN)
    # However many watch, the process reads every run's events on one Redis connection.
    assert len(_our_subscriptions()) == 1

    def run_in_a_worker_thread(run: int) -> None:
        for number in range(EVENTS_PER_RUN):
            live.publish(FIRST_RUN + run, {"event": {"run": run, "number": number}})

    threads = [threading.Thread(target=run_in_a_worker_thread, args=(run,)) for run in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    got: dict[int, list[list[dict[str, Any]]]] = {}

    def all_arrived() -> bool:
        for run_id, inboxes in viewers.received().items():
            for index, messages in enumerate(inboxes):
                got.setdefault(run_id, [[] for _ in range(VIEWERS_PER_RUN)])[index] += messages
        return sum(len(each) for runs in got.values() for each in runs) >= (
            RUNS * VIEWERS_PER_RUN * EVENTS_PER_RUN
        )

    wait_until(all_arrived, timeout_s=15, what="every viewer received every event", every_s=0.05)
    for run in range(RUNS):
        for messages in got[FIRST_RUN + run]:
            assert [message["event"] for message in messages] == [
                {"run": run, "number": number} for number in range(EVENTS_PER_RUN)
            ]


def test_a_broken_subscription_tells_its_viewers_to_catch_up_and_events_flow_again(viewers):
    run_id = FIRST_RUN + 99
    viewers.join(run_id, 2)
    (subscription,) = _our_subscriptions()
    _redis().client_kill_filter(_id=subscription["id"])

    caught_up: list[list[dict[str, Any]]] = [[], []]

    def told_to_catch_up() -> bool:
        for index, messages in enumerate(viewers.received()[run_id]):
            caught_up[index] += messages
        return all(live.CATCH_UP in messages for messages in caught_up)

    wait_until(
        told_to_catch_up, timeout_s=15, what="both viewers were told to catch up", every_s=0.05
    )
    wait_until(
        lambda: len(_our_subscriptions()) == 1,
        timeout_s=15,
        what="the subscription was made again",
        every_s=0.05,
    )
    live.publish(run_id, {"event": {"after": True}})
    after: list[list[dict[str, Any]]] = [[], []]

    def arrived() -> bool:
        for index, messages in enumerate(viewers.received()[run_id]):
            after[index] += messages
        return all(messages for messages in after)

    wait_until(arrived, timeout_s=15, what="the next event reached both viewers", every_s=0.05)
    assert after == [[{"event": {"after": True}}]] * 2


def test_another_redis_database_does_not_see_the_events(viewers, settings):
    run_id = FIRST_RUN + 98
    viewers.join(run_id, 1)
    base, _, _ = settings.LIVE_EVENTS_REDIS_URL.rpartition("/")
    settings.LIVE_EVENTS_REDIS_URL = f"{base}/{14}"
    live.publish(run_id, {"event": {"elsewhere": True}})
    time.sleep(0.3)
    assert viewers.received()[run_id] == [[]]
