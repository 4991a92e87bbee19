"""Benchmark of the Utility HAN Test Tool end to end, as a browser sees it.

Runs in the mode the environment selects: the embedded default, or with DATABASE_URL and
REDIS_URL set, PostgreSQL, Redis and a separate Celery worker process (the production shape).
It uses its own database (``han_bench_tool`` on PostgreSQL, a temporary SQLite file otherwise),
its own HAN gateway service with simulated healthy meters, and the portal's ASGI server, all
on 127.0.0.1. It prints:

- time from pressing Test (the API call the page makes) to the first device on screen, and to
  the finished diagnosis, against the gateway's own scan of the same HAN (the baseline);
- commit-to-browser push latency, p50 and p95, over every event received;
- how many runs one worker process carries at once: N runs started together, their wall time
  against one run's.

    .venv/bin/python bench/bench_test_tool.py [--runs 10] [--concurrent 50]
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import websockets
from django.db.models import F
from django.test import Client

from bench.figures import percentile
from bench.private_setup import MODE, WORKER_KIND, PortalServer, bench_secret, private_setup
from han_gateway.client import GatewayClient
from han_gateway.protocol import ScanDeviceEvent
from portal.customers.services import user_create
from portal.models import HanTestRun, User

DEADLINE_S = 600


class Session:
    """A signed-in representative: session cookie and CSRF token, as the browser holds them."""

    def __init__(self, host: str) -> None:
        client = Client()
        client.force_login(User.objects.get(username="bench-rep"))
        self.cookies = {
            "sessionid": client.cookies["sessionid"].value,
            "csrftoken": "b" * 32,
        }
        self.host = host

    def headers(self) -> dict[str, str]:
        return {
            "X-CSRFToken": self.cookies["csrftoken"],
            "Referer": f"http://{self.host}/",
            "Origin": f"http://{self.host}",
        }

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())


async def one_run(
    session: Session, http: httpx.AsyncClient, premise_id: int, latencies: list[float]
) -> dict[str, float]:
    """Press Test, open the live view, and time the first device and the diagnosis."""
    pressed = time.perf_counter()
    response = await http.post(f"/api/v1/premises/{premise_id}/runs/", headers=session.headers())
    response.raise_for_status()
    run_id = response.json()["run"]["id"]
    first_device = None
    reconnects = 0
    while True:
        try:
            async with websockets.connect(
                f"ws://{session.host}/ws/runs/{run_id}/",
                additional_headers={
                    "Cookie": session.cookie_header(),
                    "Origin": f"http://{session.host}",
                },
                open_timeout=10,
            ) as socket:
                while True:
                    message = json.loads(await asyncio.wait_for(socket.recv(), timeout=15))
                    outcome = _take(message, pressed, latencies)
                    if outcome.get("first_device") and first_device is None:
                        first_device = outcome["first_device"]
                    if "diagnosis" in outcome:
                        return {
                            "first_device": first_device or float("nan"),
                            "diagnosis": outcome["diagnosis"],
                            "reconnects": reconnects,
                        }
        except (TimeoutError, websockets.ConnectionClosed):
            # As the page does: after silence or a drop, reconnect for the saved state.
            reconnects += 1
            if reconnects > 5:
                raise


def _take(message: dict[str, Any], pressed: float, latencies: list[float]) -> dict[str, float]:
    """Timings from one live message: a first device, or the finished run."""
    received = time.time()
    if message.get("published_at"):
        latencies.append(received - message["published_at"])
    outcome: dict[str, float] = {}
    if message["kind"] == "device" or (message["kind"] == "snapshot" and message["devices"]):
        outcome["first_device"] = time.perf_counter() - pressed
    run = message.get("run") if message["kind"] in {"run", "snapshot"} else None
    if run is not None and not run["active"]:
        outcome["diagnosis"] = time.perf_counter() - pressed
    return outcome


def gateway_scan_baseline(service_url: str, runs: int) -> tuple[float, float]:
    """The gateway's own scan of the same HAN, with no portal: first device and whole scan."""
    firsts, wholes = [], []
    for _ in range(runs):
        with GatewayClient(
            base_url=service_url, gateway_id="BENCH-001", secret=bench_secret("BENCH-001")
        ) as client:
            started = time.perf_counter()
            first = None
            for event in client.scan("han0", timeout_s=60):
                if isinstance(event, ScanDeviceEvent) and event.device.device_type != "coordinator":
                    first = first or time.perf_counter() - started
            wholes.append(time.perf_counter() - started)
            firsts.append(first or float("nan"))
    return statistics.median(firsts), statistics.median(wholes)


def row(label: str, value: float, baseline: float | None = None) -> None:
    if baseline is None:
        print(f"{label:<46}{value:>10.1f}")
    else:
        print(f"{label:<46}{value:>10.3f}{baseline:>10.3f}{value / baseline:>8.2f}")


async def sequential(
    session: Session, premise_ids: list[int], runs: int
) -> tuple[list[dict[str, float]], list[float]]:
    latencies: list[float] = []
    results = []
    async with httpx.AsyncClient(
        base_url=f"http://{session.host}", cookies=session.cookies, timeout=30
    ) as http:
        for index in range(runs):
            results.append(
                await one_run(session, http, premise_ids[index % len(premise_ids)], latencies)
            )
    return results, latencies


async def concurrent(
    session: Session, premise_ids: list[int]
) -> tuple[float, int, list[float], int]:
    latencies: list[float] = []
    peak = 0
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            running = await asyncio.to_thread(HanTestRun.objects.filter(status="running").count)
            peak = max(peak, running)
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    limits = httpx.Limits(max_connections=len(premise_ids) + 5)
    async with httpx.AsyncClient(
        base_url=f"http://{session.host}", cookies=session.cookies, timeout=60, limits=limits
    ) as http:
        started = time.perf_counter()
        results = await asyncio.wait_for(
            asyncio.gather(
                *(one_run(session, http, premise_id, latencies) for premise_id in premise_ids)
            ),
            timeout=DEADLINE_S,
        )
        wall = time.perf_counter() - started
    stop.set()
    await sampler
    return wall, peak, latencies, sum(int(result["reconnects"]) for result in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="sequential runs for the timings")
    parser.add_argument("--concurrent", type=int, default=50, help="runs started at once")
    parser.add_argument("--worker-concurrency", type=int, default=64)
    arguments = parser.parse_args()

    with private_setup(arguments.concurrent, arguments.worker_concurrency) as setup:
        user_create(
            username="bench-rep", password=os.urandom(12).hex(), role=User.Role.REPRESENTATIVE
        )
        premise_ids, service_url = setup.premise_ids, setup.service_url
        with PortalServer() as host:
            session = Session(host)
            base_first, base_whole = gateway_scan_baseline(service_url, arguments.runs)
            results, latencies = asyncio.run(sequential(session, premise_ids, arguments.runs))
            HanTestRun.objects.all().delete()
            wall, peak, concurrent_latencies, reconnects = asyncio.run(
                concurrent(session, premise_ids)
            )
        first = statistics.median(result["first_device"] for result in results)
        done = statistics.median(result["diagnosis"] for result in results)
        print(
            f"\nUtility HAN Test Tool benchmark: {MODE}, {WORKER_KIND} "
            f"(threads x{arguments.worker_concurrency}), healthy 6-device HAN, 5 ms per hop\n"
        )
        print(f"{'figure':<46}{'portal':>10}{'baseline':>10}{'ratio':>8}")
        row("press Test -> first device on screen (s)", first, base_first)
        row("press Test -> diagnosis on screen (s)", done, base_whole)
        print("  (baseline: the gateway service's own scan of the same HAN, no portal)")
        row("push latency commit -> browser p50 (ms)", percentile(latencies, 0.5) * 1000)
        row("push latency commit -> browser p95 (ms)", percentile(latencies, 0.95) * 1000)
        many = arguments.concurrent
        row(
            f"  ... with {many} runs at once, p50 (ms)",
            percentile(concurrent_latencies, 0.5) * 1000,
        )
        row(
            f"  ... with {many} runs at once, p95 (ms)",
            percentile(concurrent_latencies, 0.95) * 1000,
        )
        row(f"{many} runs started at once: wall time (s)", wall, done)
        print("  (baseline: one run alone; a ratio near 1 means the runs overlapped)")
        print(f"{'runs in progress at once in one worker (peak)':<46}{peak:>10d}")
        print(f"{'events measured':<46}{len(latencies) + len(concurrent_latencies):>10d}")
        print(f"{'viewers that reconnected after a silence':<46}{reconnects:>10d}")
        resent = HanTestRun.objects.filter(enqueued_at__gt=F("created_at") + timedelta(seconds=5))
        print(f"{'runs whose task had to be sent again':<46}{resent.count():>10d}")


if __name__ == "__main__":
    main()
