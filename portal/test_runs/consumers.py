"""The live stream of one test run. Read-only: commands go through HTTP."""

import asyncio
import contextlib
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation

from portal.access.viewers import Viewer, han_data_view_open
from portal.runtime import live_events as live
from portal.runtime.idle_sessions import session_idle_expired
from portal.runtime.languages import user_language
from portal.test_runs.payloads import event_for_viewer, run_snapshot
from portal.test_runs.selectors import run_get_for_user

CLOSE_NOT_ALLOWED = 4403
CLOSE_TRY_AGAIN = 1013


class RunConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    # Live events come through the process's hub (portal.runtime.live_events). No channel layer has
    # this name, so Channels gives the consumer no channel of its own to listen on.
    channel_layer_alias = "none"
    run_id: int | None = None
    inbox: live.Inbox | None = None
    forwarder: "asyncio.Task[None] | None" = None
    # Until the access check says otherwise, the most restricted view.
    viewer = Viewer(staff=False, sees_customer_han=False)
    # The language the viewer reads (a customer's account's), as their pages are in.
    language: str = settings.LANGUAGE_CODE

    async def connect(self) -> None:
        connecting_since = time.monotonic()
        user = self.scope.get("user")
        run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        # In the thread pool, not Channels' default single thread per process: every viewer
        # connects at once after each run, and each would otherwise wait for all the others'
        # access checks and snapshots (and the events sent to it meanwhile with them). Each
        # read is whole in itself and returns the connection it used at its end.
        allowed = await database_sync_to_async(self._allowed, thread_sensitive=False)(user, run_id)
        if not allowed:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        # Join first, then read: an event committed in between arrives after the snapshot and
        # is applied again, which the page does idempotently.
        inbox: live.Inbox = asyncio.Queue(maxsize=live.INBOX_CAPACITY)
        try:
            await live.hub().join(run_id, inbox)
        except live.LiveUnavailable:
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        self.run_id, self.inbox = run_id, inbox
        await self.accept()
        await self._send_snapshot(run_id, asked_at=connecting_since)
        self.forwarder = asyncio.get_running_loop().create_task(self._forward(run_id, inbox))

    def _allowed(self, user: Any, run_id: int) -> bool:
        session = self.scope.get("session")
        # The HTTP side signs an idle session out at its next request; a stream must not open
        # on it meanwhile. Opening one is not activity: it does not keep the session alive.
        if (
            session is not None
            and user is not None
            and user.is_authenticated
            and session_idle_expired(session=session, user=user)
        ):
            return False
        run = run_get_for_user(user=user, run_id=run_id)
        if run is None:
            return False
        self.viewer = han_data_view_open(
            user=user,
            customer=run.premise.customer,
            premise=run.premise,
            what=f"HAN test run {run.pk}",
        )
        self.language = user_language(user) or settings.LANGUAGE_CODE
        return True

    def _snapshot(self, user: Any, run_id: int) -> dict[str, Any]:
        run = run_get_for_user(user=user, run_id=run_id)
        if run is None:
            return {"kind": "gone"}
        with translation.override(self.language):
            return run_snapshot(run, viewer=self.viewer)

    async def _send_snapshot(self, run_id: int, *, asked_at: float) -> None:
        """The run's saved state, as read since ``asked_at``: the page may hold anything
        committed before then."""
        user = self.scope.get("user")
        snapshot = await live.hub().snapshot(
            run_id,
            (self.viewer, self.language),
            lambda: database_sync_to_async(self._snapshot, thread_sensitive=False)(user, run_id),
            asked_at=asked_at,
        )
        await self.send_json(snapshot)

    async def _forward(self, run_id: int, inbox: live.Inbox) -> None:
        """The run's events to the viewer, one after the other as they were published."""
        while True:
            message = await inbox.get()
            if message is live.CATCH_UP:
                await self._send_snapshot(run_id, asked_at=time.monotonic())
            else:
                await self.run_event(message)

    async def disconnect(self, code: int) -> None:
        if self.run_id is not None and self.inbox is not None:
            live.hub().leave(self.run_id, self.inbox)
        if self.forwarder is not None:
            self.forwarder.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.forwarder

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Viewers only listen; anything sent is ignored."""

    async def run_event(self, message: dict[str, Any]) -> None:
        with translation.override(self.language):
            payload = event_for_viewer(message["event"], viewer=self.viewer)
        await self.send_json({**payload, "published_at": message.get("published_at")})
