"""Live push: the one helper that publishes a run's events to its Channels group after commit.

Embedded default: the in-memory channel layer belongs to the web server's event loop, and a
send from a worker thread's own loop reaches it late (it does not wake that loop), so the send
is handed to the server loop. With Redis, sends are handed to one long-lived event loop of the
process (`_Publisher`): the layer keeps a connection pool per event loop, and `async_to_sync`
would start a fresh loop, thread and Redis connection for every event.
"""

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from portal.models import HanTestRun

logger = logging.getLogger(__name__)

SEND_TIMEOUT_S = 5.0
_server_loop: asyncio.AbstractEventLoop | None = None

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def remember_server_loop(app: AsgiApp) -> AsgiApp:
    """ASGI wrapper noting the server's event loop, where the in-memory layer lives."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        global _server_loop
        _server_loop = asyncio.get_running_loop()
        await app(scope, receive, send)

    return wrapper


class _Publisher:
    """The process's publishing event loop, in a daemon thread of its own, started on first use
    (and again in a forked child, which does not inherit the thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive()
            if self._loop is None or self._pid != os.getpid() or not alive:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="live-event-publisher", daemon=True
                )
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            return self._loop


_publisher = _Publisher()


def run_group(run_id: int) -> str:
    return f"test_run_{run_id}"


def _send_now(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _server_loop
    if isinstance(layer, InMemoryChannelLayer) and loop is not None and loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(layer.group_send(group, message))
            return
        _send_on(loop, layer.group_send(group, message), group)
        return
    if isinstance(layer, InMemoryChannelLayer):
        async_to_sync(layer.group_send)(group, message)
        return
    _send_on(_publisher.loop(), layer.group_send(group, message), group)


def _send_on(loop: asyncio.AbstractEventLoop, send: Coroutine[Any, Any, None], group: str) -> None:
    """Run ``send`` on ``loop`` and wait for it, so a run's events leave in order."""
    future = asyncio.run_coroutine_threadsafe(send, loop)
    try:
        future.result(SEND_TIMEOUT_S)
    except FutureTimeout:
        future.cancel()
        logger.warning("live event to %s timed out", group)


def publish_run_event(run_id: int, event: dict[str, Any]) -> None:
    """Send ``event`` (JSON-able) to everyone watching the run, once the data is committed."""
    message = {"type": "run.event", "event": event, "published_at": 0.0}
    group = run_group(run_id)

    def send() -> None:
        # Stamped after the commit, so viewers (and the benchmark) can tell the push latency.
        message["published_at"] = time.time()
        try:
            _send_now(group, message)
        except Exception:
            # The database holds the truth; a viewer who missed this catches up on reconnect.
            logger.exception("could not publish a live event for run %s", run_id)

    transaction.on_commit(send)


def publish_case_event(case_id: int) -> None:
    """Tell everyone watching one of the case's runs that its work changed (a note, a request
    to the AMI team, an installer's visit, a close): their pages fetch the case afresh."""
    for run_id in HanTestRun.objects.filter(case_id=case_id).values_list("pk", flat=True):
        publish_run_event(run_id, {"kind": "case"})
