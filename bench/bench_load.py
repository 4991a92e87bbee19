"""Load test: representatives running tests and viewers watching them, for a bounded time.

Starts the benchmarks' private set-up (``private_setup.py``: its own database
``han_bench_load``, a gateway service with N simulated healthy meters, a Celery worker process
and beat when REDIS_URL is set, the portal's ASGI server, all on 127.0.0.1), then for
``--seconds`` (default 60):

- ``--reps`` representatives (default 50), each signed in with a session of their own, loop:
  press Test on their premise, follow the run's WebSocket to its diagnosis, then open the
  customer page, the premise page, the run page and the history page, as a rep does;
- ``--viewers`` extra WebSocket viewers (default 200) each watch the runs of one premise,
  reconnecting to the next run when one ends, as a supervisor's or customer's open tab does.

Nothing waits forever: every request and socket read has a timeout, and the whole test stops
at the deadline. It prints errors (target 0), p50/p95 latencies of each page, of starting a
run, and of the push from commit to viewer, and the throughput; then what the load cost: each
process's own CPU time (worker, web server, gateway service, beat, and this load generator)
per run finished and per push delivered, and the load generator's own event-loop lag, so a
slow push can be told from a late client.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/han REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/bench_load.py [--seconds 60] [--reps 50] [--viewers 200]
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("HAN_BENCH_DATABASE", "han_bench_load")
# The load is the point here: per-premise and per-user start limits would cut it short.
os.environ.setdefault("HAN_START_LIMIT_PER_PREMISE_PER_HOUR", "100000")
os.environ.setdefault("HAN_START_LIMIT_PER_USER_PER_HOUR", "100000")
os.environ.setdefault("HAN_START_LIMIT_PER_STAFF_PER_HOUR", "100000")
os.environ.setdefault("PORTAL_API_USER_RATE", "100000/minute")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psutil
import websockets
from django.conf import settings
from django.test import Client

from bench.figures import percentile
from bench.private_setup import MODE, ROOT, WORKER_KIND, PortalServer, private_setup
from portal.customers.services import user_create
from portal.models import HanTestRun, Premise, User
from tests.commands import free_port
from tests.stack import wait_until

REQUEST_TIMEOUT_S = 30
WEB_DB_CONNECTIONS = int(os.environ.get("PORTAL_DB_POOL_MAX_SIZE") or "20")
"""PostgreSQL connections the web server's processes share, as docker-compose gives them."""
SOCKET_SILENCE_S = 20


class PortalProcess:
    """The portal's ASGI server in a process of its own, so the load does not share its GIL."""

    def __init__(self, workdir: Path, processes: int = 1) -> None:
        self.processes = processes
        self.port = free_port()
        self.log = open(workdir / "portal.log", "wb")  # noqa: SIM115 - closed in __exit__
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        self.process = subprocess.Popen(  # noqa: S603 - fixed argument list
            [
                sys.executable,
                "-m",
                "uvicorn",
                "portal.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--timeout-graceful-shutdown",
                "5",
                *(["--workers", str(self.processes)] if self.processes > 1 else []),
            ],
            cwd=ROOT,
            # As docker-compose.yml runs it: connections lent from a pool per request.
            env={
                **os.environ,
                "PORTAL_DB_POOL_MAX_SIZE": str(max(2, WEB_DB_CONNECTIONS // self.processes)),
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{self.port}/health/", timeout=1).is_success
            except httpx.HTTPError:
                return False

        wait_until(answers, what="the portal server start", timeout_s=60, every_s=0.05)
        return f"127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.log.close()


class CpuAccount:
    """CPU seconds (user + system) each process of the set-up has used, by role; for the roles
    in ``with_children`` (a server that forks its workers) its child processes' too."""

    def __init__(self, pids: dict[str, int], with_children: set[str]) -> None:
        self.processes = {role: psutil.Process(pid) for role, pid in pids.items()}
        self.with_children = with_children

    def read(self) -> dict[str, float]:
        seconds = {}
        for role, process in self.processes.items():
            try:
                children = process.children(recursive=True) if role in self.with_children else []
                family = [process, *children]
            except psutil.Error:
                continue
            seconds[role] = 0.0
            for member in family:
                try:
                    times = member.cpu_times()
                except psutil.Error:
                    continue
                seconds[role] += times.user + times.system
        return seconds


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()

    def record(self, kind: str, seconds: float) -> None:
        self.latencies[kind].append(seconds)

    def error(self, kind: str) -> None:
        self.errors[kind] += 1


class Rep:
    """One signed-in representative with their own premise, as the browser holds them."""

    def __init__(self, host: str, username: str, premise: Premise) -> None:
        client = Client()
        client.force_login(User.objects.get(username=username))
        self.cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": "c" * 32}
        self.host = host
        self.premise_id = premise.pk
        self.customer_id = premise.customer_id

    def headers(self) -> dict[str, str]:
        return {
            "X-CSRFToken": self.cookies["csrftoken"],
            "Referer": f"http://{self.host}/",
            "Origin": f"http://{self.host}",
        }

    def socket_headers(self) -> dict[str, str]:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return {"Cookie": cookie, "Origin": f"http://{self.host}"}


async def get_page(http: httpx.AsyncClient, stats: Stats, kind: str, url: str) -> None:
    started = time.perf_counter()
    try:
        response = await http.get(url)
    except httpx.HTTPError:
        stats.error(f"{kind}: no answer")
        return
    stats.record(kind, time.perf_counter() - started)
    if response.status_code != 200:
        stats.error(f"{kind}: HTTP {response.status_code}")


async def follow(rep: Rep, run_id: int, stats: Stats, deadline: float) -> str | None:
    """Watch a run's socket until it has finished; the final status, or None on the deadline."""
    for _ in range(5):
        connecting = time.perf_counter()
        first = True
        try:
            async with websockets.connect(
                f"ws://{rep.host}/ws/runs/{run_id}/",
                additional_headers=rep.socket_headers(),
                open_timeout=REQUEST_TIMEOUT_S,
            ) as socket:
                while time.monotonic() < deadline:
                    message = json.loads(
                        await asyncio.wait_for(socket.recv(), timeout=SOCKET_SILENCE_S)
                    )
                    if first:
                        # Connect, access check and the run's saved state: what a viewer waits
                        # for before the page shows anything.
                        stats.record("socket snapshot", time.perf_counter() - connecting)
                        first = False
                    stats.counts["push messages"] += 1
                    if message.get("published_at"):
                        stats.record("push", time.time() - message["published_at"])
                    run = message.get("run") if message.get("kind") in {"run", "snapshot"} else None
                    if run is not None and not run["active"]:
                        return str(run["status"])
                return None
        except websockets.InvalidStatus as refused:
            stats.error(f"push: socket refused with HTTP {refused.response.status_code}")
            await asyncio.sleep(1)
        except (TimeoutError, websockets.ConnectionClosed, OSError):
            # As the page does: reconnect, and the snapshot brings the saved state.
            stats.counts["viewer reconnects"] += 1
    stats.error("push: socket kept failing")
    return None


async def rep_loop(
    rep: Rep, stats: Stats, deadline: float, run_ids: dict[int, int], period_s: float
) -> None:
    """Test, watch, read the pages; again at most every ``period_s`` (0: at once)."""
    next_start = time.monotonic() + random.uniform(0, period_s)
    async with httpx.AsyncClient(
        base_url=f"http://{rep.host}", cookies=rep.cookies, timeout=REQUEST_TIMEOUT_S
    ) as http:
        while time.monotonic() < deadline:
            await asyncio.sleep(max(0.0, min(next_start, deadline) - time.monotonic()))
            if time.monotonic() >= deadline:
                break
            next_start = max(next_start + period_s, time.monotonic())
            started = time.perf_counter()
            try:
                response = await http.post(
                    f"/api/v1/premises/{rep.premise_id}/runs/", headers=rep.headers()
                )
            except httpx.HTTPError:
                stats.error("run start: no answer")
                await asyncio.sleep(1)
                continue
            stats.record("run start", time.perf_counter() - started)
            if response.status_code != 201:
                stats.error(f"run start: HTTP {response.status_code}")
                await asyncio.sleep(1)
                continue
            run_id = response.json()["run"]["id"]
            run_ids[rep.premise_id] = run_id
            stats.counts["runs started"] += 1
            status = await follow(rep, run_id, stats, deadline)
            if status is None:
                break
            stats.counts[f"runs ended {status}"] += 1
            if status != HanTestRun.Status.PASSED:
                stats.error(f"run ended {status} on a healthy HAN")
            for kind, url in (
                ("customer page", f"/customers/{rep.customer_id}/"),
                ("premise page", f"/premises/{rep.premise_id}/"),
                ("run page", f"/runs/{run_id}/"),
                ("history page", "/history/"),
            ):
                if time.monotonic() >= deadline:
                    break
                await get_page(http, stats, kind, url)


async def viewer_loop(
    rep: Rep, stats: Stats, deadline: float, run_ids: dict[int, int], seed: int
) -> None:
    """An open tab on a premise's runs: watch the current run, then the next one."""
    await asyncio.sleep(random.Random(seed).uniform(0, 3))
    watched: set[int] = set()
    while time.monotonic() < deadline:
        run_id = run_ids.get(rep.premise_id)
        if run_id is None or run_id in watched:
            await asyncio.sleep(0.2)
            continue
        watched.add(run_id)
        stats.counts["viewer sessions"] += 1
        await follow(rep, run_id, stats, deadline)


LAG_TICK_S = 0.05


async def lag_monitor(stats: Stats, deadline: float) -> None:
    """How late this process's event loop wakes: the client's own share of a push's latency."""
    while time.monotonic() < deadline:
        started = time.perf_counter()
        await asyncio.sleep(LAG_TICK_S)
        stats.record("generator lag", max(0.0, time.perf_counter() - started - LAG_TICK_S))


async def load(reps: list[Rep], viewers: int, seconds: float, runs_per_minute: float) -> Stats:
    stats = Stats()
    deadline = time.monotonic() + seconds
    run_ids: dict[int, int] = {}
    period_s = 60 * len(reps) / runs_per_minute if runs_per_minute else 0.0
    tasks = [rep_loop(rep, stats, deadline, run_ids, period_s) for rep in reps]
    tasks += [
        viewer_loop(reps[index % len(reps)], stats, deadline, run_ids, index)
        for index in range(viewers)
    ]
    tasks.append(lag_monitor(stats, deadline))
    # Every loop checks the deadline; the margin only catches a loop stuck in a slow read.
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 2 * REQUEST_TIMEOUT_S)
    return stats


def report(
    stats: Stats, arguments: argparse.Namespace, worker_kind: str, cpu: dict[str, float]
) -> None:
    print(
        f"\nLoad test: {MODE}, {worker_kind}, {arguments.web_processes} web server process(es), "
        f"{arguments.reps} reps running tests"
        + (
            f" (at most {arguments.runs_per_minute:g} a minute), "
            if arguments.runs_per_minute
            else ", "
        )
        + f"{arguments.viewers} extra viewers, {arguments.seconds:.0f} s, healthy 6-device HANs\n"
    )
    print(f"{'latency (ms)':<28}{'count':>8}{'p50':>10}{'p95':>10}{'max':>10}")
    kinds = (
        "run start",
        "socket snapshot",
        "push",
        "customer page",
        "premise page",
        "run page",
        "history page",
    )
    for kind in (*kinds, "generator lag"):
        values = stats.latencies.get(kind, [])
        if not values:
            print(f"{kind:<28}{0:>8}")
            continue
        print(
            f"{kind:<28}{len(values):>8}{percentile(values, 0.5) * 1000:>10.1f}"
            f"{percentile(values, 0.95) * 1000:>10.1f}{max(values) * 1000:>10.1f}"
        )
    print()
    for name, count in sorted(stats.counts.items()):
        print(f"{name:<38}{count:>8}")
    print(f"{'runs per minute':<38}{stats.counts['runs started'] * 60 / arguments.seconds:>8.1f}")
    print(f"\nerrors: {sum(stats.errors.values())}")
    for name, count in stats.errors.most_common():
        print(f"  {name:<36}{count:>8}")
    finished = sum(count for name, count in stats.counts.items() if name.startswith("runs ended"))
    pushes = stats.counts["push messages"]
    print(
        f"\n{'CPU (own process time)':<28}{'% of a core':>12}{'ms per run':>12}{'ms per push':>12}"
    )
    for role, seconds in cpu.items():
        per_run = f"{seconds * 1000 / finished:.1f}" if finished else "-"
        per_push = f"{seconds * 1000 / pushes:.2f}" if pushes else "-"
        print(f"{role:<28}{seconds * 100 / arguments.seconds:>12.0f}{per_run:>12}{per_push:>12}")
    product = sum(seconds for role, seconds in cpu.items() if role in {"worker", "web server"})
    if finished:
        print(
            f"{'worker + web server':<28}{product * 100 / arguments.seconds:>12.0f}"
            f"{product * 1000 / finished:>12.1f}"
        )
    print(f"(runs finished: {finished}; load average after: {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument(
        "--runs-per-minute",
        type=float,
        default=0,
        help="offered load: the reps together start at most this many tests a minute "
        "(default 0: each rep starts its next test once it has read its pages)",
    )
    parser.add_argument("--worker-concurrency", type=int, default=64)
    parser.add_argument(
        "--web-processes",
        type=int,
        default=1,
        help="ASGI server processes sharing the port (uvicorn --workers; with Redis only)",
    )
    arguments = parser.parse_args()

    with private_setup(arguments.reps, arguments.worker_concurrency) as setup:
        for index in range(arguments.reps):
            user_create(
                username=f"load-rep-{index}",
                password=os.urandom(12).hex(),
                role=User.Role.REPRESENTATIVE,
            )
        # With Redis the portal can live in its own process, as in production; embedded, the
        # in-memory broker and channel layer only exist inside this one.
        portal = (
            PortalServer()
            if settings.EMBEDDED_WORKER
            else PortalProcess(setup.workdir, arguments.web_processes)
        )
        with portal as host:
            premises = Premise.objects.in_bulk(setup.premise_ids)
            reps = [
                Rep(host, f"load-rep-{index}", premises[premise_id])
                for index, premise_id in enumerate(setup.premise_ids)
            ]
            pids = dict(setup.pids)
            if isinstance(portal, PortalProcess) and portal.process is not None:
                pids["web server"] = portal.process.pid
            pids["load generator"] = os.getpid()
            account = CpuAccount(pids, with_children={"web server"})
            before = account.read()
            stats = asyncio.run(
                load(reps, arguments.viewers, arguments.seconds, arguments.runs_per_minute)
            )
            after = account.read()
            cpu = {role: after[role] - before[role] for role in after if role in before}
        left = HanTestRun.objects.filter(status__in=HanTestRun.ACTIVE).count()
        stats.counts["runs still active at the end"] = left
        report(stats, arguments, f"{WORKER_KIND} (threads x{arguments.worker_concurrency})", cpu)


if __name__ == "__main__":
    main()
