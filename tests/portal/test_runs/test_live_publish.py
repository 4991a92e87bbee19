"""Live events published from a worker's threads through the Redis channel layer.

A worker runs many runs at once, each in a thread of its own, and every device found is an
event. Each must reach the run's viewers, in order, without a new event loop (and with it a new
thread and Redis connection) for every event.
"""

import asyncio
import threading
import time
from typing import Any

import pytest
from channels.layers import get_channel_layer

from portal.test_runs import events

pytestmark = pytest.mark.realservices

RUNS = 8
EVENTS_PER_RUN = 20


def test_events_from_many_threads_arrive_in_order_on_one_loop(monkeypatch):
    layer = get_channel_layer()
    received: dict[int, list[int]] = {run: [] for run in range(RUNS)}
    listening = threading.Event()

    async def listen() -> None:
        channel = await layer.new_channel()
        for run in range(RUNS):
            await layer.group_add(events.run_group(900_000 + run), channel)
        listening.set()
        deadline = time.monotonic() + 30
        while sum(map(len, received.values())) < RUNS * EVENTS_PER_RUN:
            remaining = deadline - time.monotonic()
            message = await asyncio.wait_for(layer.receive(channel), timeout=max(remaining, 0))
            event = message["event"]
            received[event["run"]].append(event["number"])
        for run in range(RUNS):
            await layer.group_discard(events.run_group(900_000 + run), channel)

    listener = threading.Thread(target=lambda: asyncio.run(listen()))
    listener.start()
    assert listening.wait(10)

    loops_started = []
    real_new_event_loop = asyncio.new_event_loop

    def counting_new_event_loop() -> Any:
        loops_started.append(threading.current_thread().name)
        return real_new_event_loop()

    monkeypatch.setattr(asyncio, "new_event_loop", counting_new_event_loop)
    monkeypatch.setattr(asyncio.events, "new_event_loop", counting_new_event_loop)  # asyncio.run

    def run_in_a_worker_thread(run: int) -> None:
        for number in range(EVENTS_PER_RUN):
            message = {"type": "run.event", "event": {"run": run, "number": number}}
            events._send_now(events.run_group(900_000 + run), message)

    threads = [threading.Thread(target=run_in_a_worker_thread, args=(run,)) for run in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    listener.join(40)

    assert not listener.is_alive()
    assert received == {run: list(range(EVENTS_PER_RUN)) for run in range(RUNS)}
    # At most the process's one publishing loop, started on first use.
    assert len(loops_started) <= 1, loops_started
