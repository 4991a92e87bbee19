"""The viewers of runs connected to this process, and the events that reach them.

Each event loop serving viewers has one hub, holding every viewer's inbox by run. With Redis, a
run's events are published to a Redis channel of its own and the hub reads them all on one
connection subscribed by pattern: a viewer joining costs no Redis round trip, and an event
crosses Redis once per web process however many watch it. In the embedded default the
publishing thread hands each event straight to the hubs of its own process.

A viewer starts from the run's saved state. Viewers of one run connect together (when it ends,
every open tab reconnects), so the hub reads that state once for all who ask for the same view
at about the same time. A reading is handed only to viewers who began connecting before it
started, so it holds everything their page did (not every change to a case is an event), and
only until the run's next event reaches the hub.

An inbox that falls too far behind, or a subscription that was broken (events may have been
published meanwhile), is told to catch up: its viewer is sent the run's saved state afresh.
"""

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

INBOX_CAPACITY: Final = 1000
"""Events a viewer may have waiting; a large HAN's scan sends a few hundred."""
SUBSCRIBE_TIMEOUT_S: Final = 5.0
SNAPSHOTS_KEPT: Final = 256
CATCH_UP: Final = {"kind": "catch_up"}
"""In an inbox: events were lost, send the viewer the run's saved state."""

Inbox = asyncio.Queue[dict[str, Any]]
Snapshot = dict[str, Any]


class LiveUnavailable(RuntimeError):
    """The subscription to the run events could not be made in time."""


def run_channel(run_id: int) -> str:
    # Redis channels are shared by all its databases: the database is part of the name, as it
    # is of every other key the portal keeps there.
    url = urlsplit(settings.LIVE_EVENTS_REDIS_URL)
    database = url.path.strip("/") or parse_qs(url.query).get("db", ["0"])[0]
    return f"{settings.LIVE_EVENTS_PREFIX}:{database}:live:run:{run_id}"


class _Subscription:
    """One Redis connection subscribed to every run's events, while the hub has viewers."""

    def __init__(self, hub: "RunHub", url: str) -> None:
        self.subscribed = asyncio.Event()
        self._hub, self._url = hub, url
        self.task = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        pattern = run_channel(0).removesuffix("0") + "*"
        delay, broken = 0.05, False
        while True:
            # A quiet spell is waited out by get_message (redis-py's default 5 s read timeout
            # would break the subscription); a dead connection is found by the health check.
            client = aioredis.Redis.from_url(
                self._url,
                socket_timeout=30,
                health_check_interval=15,
                client_name=f"live-events-{os.getpid()}",
            )
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.psubscribe(pattern)
                    self.subscribed.set()
                    if broken:
                        self._hub.catch_up_everyone()
                    delay = 0.05
                    while True:
                        item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=10)
                        if item is not None and item["type"] == "pmessage":
                            self._hub.deliver(_run_id(item["channel"]), json.loads(item["data"]))
            except (redis.RedisError, OSError, ValueError) as error:
                logger.warning("live events subscription lost (%s); reconnecting", error)
            finally:
                self.subscribed.clear()
                await client.aclose()
            broken = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def _run_id(channel: bytes) -> int:
    return int(channel.rsplit(b":", 1)[1])


class RunHub:
    """The viewers of this event loop, by run."""

    def __init__(self) -> None:
        self._inboxes: dict[int, set[Inbox]] = {}
        self._subscription: _Subscription | None = None
        # By run and view: the reading, when it started, and the run's events seen before it.
        self._snapshots: dict[tuple[int, Hashable], tuple[asyncio.Task[Snapshot], float, int]] = {}
        self._events_seen: dict[int, int] = {}

    async def snapshot(
        self,
        run_id: int,
        view: Hashable,
        read: Callable[[], Awaitable[Snapshot]],
        *,
        asked_at: float,
    ) -> Snapshot:
        """The run's saved state as ``view`` shows it: ``read()``, or a reading of it that
        started at or after ``asked_at`` (time.monotonic()) and before the run's next event."""
        key = (run_id, view)
        seen = self._events_seen.get(run_id, 0)
        shared = self._snapshots.get(key)
        if shared is None or shared[2] != seen or shared[1] < asked_at:
            task = asyncio.get_running_loop().create_task(_coroutine(read))
            task.add_done_callback(lambda done: self._forget_failed(key, done))
            shared = (task, time.monotonic(), seen)
            self._snapshots.pop(key, None)
            self._snapshots[key] = shared
            while len(self._snapshots) > SNAPSHOTS_KEPT:
                del self._snapshots[next(iter(self._snapshots))]
        # Shielded: a viewer leaving while it waits does not cancel the others' reading.
        return await asyncio.shield(shared[0])

    def _forget_failed(self, key: tuple[int, Hashable], task: "asyncio.Task[Snapshot]") -> None:
        failed = task.cancelled() or task.exception() is not None
        if (failed or task.result().get("kind") == "gone") and (
            key in self._snapshots and self._snapshots[key][0] is task
        ):
            del self._snapshots[key]

    async def join(self, run_id: int, inbox: Inbox) -> None:
        """From now on, the run's events are put in ``inbox``. LiveUnavailable if Redis could
        not be subscribed to in time (nothing is joined then)."""
        self._inboxes.setdefault(run_id, set()).add(inbox)
        url = settings.LIVE_EVENTS_REDIS_URL
        if not url:
            return
        if self._subscription is None or self._subscription.task.done():
            self._subscription = _Subscription(self, url)
        try:
            await asyncio.wait_for(self._subscription.subscribed.wait(), SUBSCRIBE_TIMEOUT_S)
        except TimeoutError:
            self.leave(run_id, inbox)
            raise LiveUnavailable("live events are not available right now") from None

    def leave(self, run_id: int, inbox: Inbox) -> None:
        inboxes = self._inboxes.get(run_id, set())
        inboxes.discard(inbox)
        if not inboxes:
            self._inboxes.pop(run_id, None)
        if not self._inboxes and self._subscription is not None:
            self._subscription.task.cancel()
            self._subscription = None

    def deliver(self, run_id: int, message: dict[str, Any]) -> None:
        self._events_seen[run_id] = self._events_seen.get(run_id, 0) + 1
        if len(self._events_seen) > 4 * SNAPSHOTS_KEPT:
            self._events_seen = {
                run: count for run, count in self._events_seen.items() if run in self._inboxes
            }
            self._snapshots = {
                key: each for key, each in self._snapshots.items() if key[0] in self._events_seen
            }
        for inbox in tuple(self._inboxes.get(run_id, ())):
            try:
                inbox.put_nowait(message)
            except asyncio.QueueFull:
                _catch_up(inbox)

    def catch_up_everyone(self) -> None:
        self._snapshots.clear()
        for inboxes in tuple(self._inboxes.values()):
            for inbox in tuple(inboxes):
                _catch_up(inbox)


async def _coroutine(read: Callable[[], Awaitable[Snapshot]]) -> Snapshot:
    return await read()


def _catch_up(inbox: Inbox) -> None:
    while not inbox.empty():
        inbox.get_nowait()
    inbox.put_nowait(CATCH_UP)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RunHub]" = weakref.WeakKeyDictionary()
_hubs_lock = threading.Lock()


def hub() -> RunHub:
    """The running event loop's hub."""
    loop = asyncio.get_running_loop()
    with _hubs_lock:
        return _hubs.setdefault(loop, RunHub())


def publish(run_id: int, message: dict[str, Any]) -> None:
    """Hand ``message`` (JSON-able) to every viewer of the run, in any process; in order, for
    messages published one after the other."""
    if settings.LIVE_EVENTS_REDIS_URL:
        _publisher().publish(run_channel(run_id), json.dumps(message))
        return
    with _hubs_lock:
        hubs = list(_hubs.items())
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    for loop, each in hubs:
        if loop is running:
            each.deliver(run_id, message)
            continue
        with contextlib.suppress(RuntimeError):  # a closed loop has no viewers left
            loop.call_soon_threadsafe(each.deliver, run_id, message)


def round_trip(timeout_s: float = 3.0) -> None:
    """A message through Redis and back, as events take (RuntimeError if it does not come
    back in time). Embedded, events stay in the process: nothing to check."""
    if not settings.LIVE_EVENTS_REDIS_URL:
        return
    channel, token = run_channel(0).replace(":run:", ":health:"), os.urandom(8).hex()
    with _publisher().pubsub() as pubsub:  # type: ignore[no-untyped-call]
        pubsub.subscribe(channel)
        _publisher().publish(channel, token)
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            item = pubsub.get_message(ignore_subscribe_messages=True, timeout=remaining)
            if item is not None and item["data"] == token.encode():
                return
    raise RuntimeError("live events did not come back through Redis in time")


_publishers: dict[tuple[int, str], redis.Redis] = {}


def _publisher() -> redis.Redis:
    """This process's client (a forked child makes its own)."""
    key = (os.getpid(), settings.LIVE_EVENTS_REDIS_URL)
    client = _publishers.get(key)
    if client is None:
        client = redis.Redis.from_url(
            key[1],
            socket_timeout=5,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=3),
        )
        _publishers[key] = client
    return client
