"""A private, disposable copy of the production stack, for fault tests that kill its parts.

Every part runs as its own process on a free loopback port, in a temporary directory:
PostgreSQL (its own cluster, trust auth, no fsync), redis-server (nothing kept on disk), the
HAN gateway service with the demo's simulated meters, the portal's ASGI server
(``manage.py serve``, as production starts it, with DEBUG off), Celery workers and Celery beat
(which sends the stale-run reaper). The machine's shared PostgreSQL and Redis are never
touched, so a test may stop, SIGKILL or restart anything here.

    with Stack.create() as stack:
        rep = stack.sign_in("rep", "han-demo-rep")
        run_id = rep.start_run(stack.premise_id("MTR-100002"))
        stack.wait_for_run_end(run_id, timeout_s=60)

This module imports no Django, so a script (a load test, a demo) can use it too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
from cryptography.fernet import Fernet
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as websocket_connect
from websockets.typing import Origin

from han_gateway.service.tls import self_signed_certificate
from tests.commands import (
    celery_beat_argv,
    celery_worker_argv,
    free_port,
    gateway_service_argv,
)

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
DEMO_GATEWAYS_CONFIG = ROOT / "han_gateway" / "demo" / "gateways.yaml"
ARTIFACTS = ROOT / "test-artifacts" / "faults"
ACTIVE_STATUSES = ("queued", "running")
T = TypeVar("T")


class StackError(RuntimeError):
    """A part of the stack did not start, stop or answer in time; the message says which."""


def wait_until(
    condition: Callable[[], T | None], *, timeout_s: float, what: str, every_s: float = 0.1
) -> T:
    """Poll ``condition`` until it returns something truthy; StackError after the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(every_s)


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Service:
    """One process of the stack; its process group is its own, so nothing outlives a stop."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready: Callable[[], bool]
    user: str | None = None
    start_timeout_s: float = 60.0
    # Started again if it exits on its own, as a restart policy (Docker's unless-stopped,
    # systemd's Restart=always) does; a stop() or kill() by the test is left alone.
    supervised: bool = False
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    wanted: bool = False
    pids: list[int] = field(default_factory=list)
    exits: list[tuple[float, int | None]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, wait: bool = True) -> None:
        with self.lock:
            self._start()
        if wait:
            self.wait_ready()

    def _start(self) -> None:
        self.wanted = True
        if self.running:
            return
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- start {self.starts + 1} at {time.time():.3f}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 - argument list built here
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                user=self.user,
            )
        self.starts += 1
        self.pids.append(self.process.pid)

    def supervise(self) -> None:
        """Called every so often: note an exit nobody asked for, and start again if supervised."""
        with self.lock:
            if not self.wanted or self.process is None or self.process.poll() is None:
                return
            self.exits.append((time.time(), self.process.returncode))
            with open(self.log_path, "ab") as log:
                log.write(f"\n--- exited on its own ({self.process.returncode})\n".encode())
            if self.supervised:
                self._start()
            else:
                self.wanted = False

    def wait_ready(self) -> None:
        def up() -> bool:
            if self.process is None or self.process.poll() is not None:
                code = self.process.returncode if self.process else None
                raise StackError(f"{self.name} exited ({code}); see {self.log_path}")
            return self.ready()

        wait_until(up, timeout_s=self.start_timeout_s, what=f"{self.name} to be ready")

    def send_signal(self, signum: int) -> None:
        if self.running:
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL, no goodbye: what an OOM kill or a pulled plug does."""
        with self.lock:
            self.wanted = False
            if self.process is None:
                return
            self.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, *, signum: int = signal.SIGTERM, timeout_s: float = 15.0) -> None:
        """Ask politely, then SIGKILL the whole process group."""
        with self.lock:
            self.wanted = False
            if self.process is None:
                return
            if self.process.poll() is None:
                self.send_signal(signum)
                try:
                    self.process.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    self.send_signal(signal.SIGKILL)
                    self.process.wait(timeout=10)
            # Children the leader left behind (a postgres backend, say) go with it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def restart(self, *, downtime_s: float = 0.0) -> None:
        self.stop()
        time.sleep(downtime_s)
        self.start()


@dataclass
class RunRow:
    id: int
    status: str
    error_message: str
    phase: str
    started_at: Any
    finished_at: Any
    progress: int


class Stack:
    """The private stack; see the module docstring. Use ``Stack.create()`` as a context."""

    def __init__(
        self,
        directory: Path,
        *,
        env: dict[str, str] | None = None,
        region_queues: dict[str, str] | None = None,
    ) -> None:
        self.directory = directory
        self.ports = {name: free_port() for name in ("postgres", "redis", "gateway", "portal")}
        self.database_url = f"postgres://postgres@127.0.0.1:{self.ports['postgres']}/han"
        self.redis_url = f"redis://127.0.0.1:{self.ports['redis']}/0"
        # DJANGO_DEBUG=0 below, as in production: the worker reaches gateways over TLS only.
        self.tls = self_signed_certificate(["127.0.0.1"], directory / "tls")
        self.gateway_url = f"https://127.0.0.1:{self.ports['gateway']}"
        self.portal_url = f"http://127.0.0.1:{self.ports['portal']}"
        self.region_queues = region_queues or {}
        self._pg_user = "postgres" if os.geteuid() == 0 else None
        (directory / "var").mkdir(parents=True, exist_ok=True)
        (directory / "logs").mkdir(exist_ok=True)
        self.env = {
            **{
                name: value
                for name, value in os.environ.items()
                if not name.startswith(("PYTEST", "HAN_", "DJANGO_", "PORTAL_", "CELERY_"))
                and name not in {"DATABASE_URL", "REDIS_URL", "CHANNELS_PREFIX"}
            },
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "PORTAL_VAR_DIR": str(directory / "var"),
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "fault-tests-only",
            "HAN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "HAN_DEMO_SERVICE_URL": self.gateway_url,
            "HAN_GATEWAY_SERVICE_ORIGINS": "https://127.0.0.1:*",
            "HAN_GATEWAY_CA_FILE": str(self.tls[0]),
            "HAN_REGION_QUEUES": ",".join(f"{r}={q}" for r, q in self.region_queues.items()),
            "PYTHONUNBUFFERED": "1",
            # Timings that let the reaper act in seconds, not minutes.
            "HAN_RUN_STALE_AFTER_S": "10",
            "HAN_REAPER_INTERVAL_S": "2",
            "HAN_RUN_REQUEUE_AFTER_S": "8",
            "HAN_RUN_TIME_LIMIT_S": "60",
            **(env or {}),
        }
        self.postgres = self._postgres_service()
        self.redis = Service(
            name="redis",
            argv=[
                "redis-server",
                "--port",
                str(self.ports["redis"]),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
            ],
            env=dict(os.environ),
            log_path=self._log("redis"),
            ready=lambda: self._redis_ping(),
            start_timeout_s=15,
        )
        self.gateway = Service(
            name="gateway service",
            argv=gateway_service_argv(
                config=DEMO_GATEWAYS_CONFIG,
                host="127.0.0.1",
                port=self.ports["gateway"],
                tls=self.tls,
                log_level="WARNING",
            ),
            env=self.env,
            log_path=self._log("gateway"),
            ready=lambda: self._http_ok(
                f"{self.gateway_url}/api/v1/health", verify=str(self.tls[0])
            ),
            supervised=True,
        )
        self.portal = Service(
            name="portal",
            argv=[
                sys.executable,
                "manage.py",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.ports["portal"]),
            ],
            env=self.env,
            log_path=self._log("portal"),
            ready=lambda: _port_open(self.ports["portal"]),
            supervised=True,
        )
        self.beat = Service(
            name="celery beat",
            argv=celery_beat_argv(schedule=directory / "celerybeat-schedule"),
            env=self.env,
            log_path=self._log("beat"),
            ready=lambda: True,
            supervised=True,
        )
        self.workers: dict[str, Service] = {}
        self._retired: list[Service] = []
        self._celery: Any = None
        self._closed = False
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True, name="stack")

    # --- life cycle ---------------------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def create(cls, **options: Any) -> Iterator[Stack]:
        directory = Path(tempfile.mkdtemp(prefix="han-stack-"))
        # PostgreSQL refuses to run as root; its own user must reach its data directory.
        directory.chmod(0o755)
        stack = cls(directory, **options)
        try:
            stack.start()
            yield stack
        finally:
            stack.close()

    def start(self) -> dict[str, float]:
        """Bring everything up; returns how long each stage took (seconds)."""
        timings: dict[str, float] = {}
        started = time.monotonic()
        self._initdb()
        self.postgres.start(wait=False)
        self.redis.start(wait=False)
        self.gateway.start(wait=False)
        self.postgres.wait_ready()
        self.sql_execute("CREATE DATABASE han", database="postgres")
        timings["postgres"] = time.monotonic() - started
        self.manage("migrate", "--no-input")
        self.manage("load_demo_data")
        timings["migrate_and_demo_data"] = time.monotonic() - started - timings["postgres"]
        self.portal.start(wait=False)
        self.beat.start(wait=False)
        self.add_worker("w1", queues=["default"], wait=False)
        for service in (self.redis, self.gateway, self.portal, self.workers["w1"]):
            service.wait_ready()
        self._supervisor.start()
        self.wait_healthy()
        timings["total"] = time.monotonic() - started
        self.timings = timings
        return timings

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        if self._supervisor.is_alive():
            self._supervisor.join(5)
        applications = [*self.workers.values(), self.beat, self.portal, self.gateway]
        for service in applications:  # all at once: each takes a moment to wind down
            service.wanted = False
            service.send_signal(signal.SIGTERM)
        for service in applications:
            service.stop(timeout_s=10)
        self.redis.stop()
        self.postgres.stop(signum=signal.SIGINT)
        self.keep_logs()
        shutil.rmtree(self.directory, ignore_errors=True)

    def keep_logs(self) -> None:
        """Copy the logs where CI keeps its artifacts."""
        with contextlib.suppress(OSError):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for log in (self.directory / "logs").glob("*.log"):
                shutil.copy(log, ARTIFACTS / log.name)

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            for service in self.services():
                # A restart that fails is tried again next round.
                with contextlib.suppress(Exception):
                    service.supervise()

    def services(self) -> list[Service]:
        return [
            self.postgres,
            self.redis,
            self.gateway,
            self.portal,
            self.beat,
            *self.workers.values(),
        ]

    def pids(self) -> list[int]:
        """Every process the stack ever started (for the no-orphans check)."""
        return [pid for service in [*self.services(), *self._retired] for pid in service.pids]

    def ensure_running(self) -> None:
        """Start again whatever a previous test left stopped, then wait until healthy."""
        for service in (self.postgres, self.redis, self.gateway, self.portal, self.beat):
            if not service.running:
                service.start()
        if not self.workers.get("w1") or not self.workers["w1"].running:
            self.add_worker("w1", queues=["default"])
        self.wait_healthy()

    # --- parts --------------------------------------------------------------------------
    def _log(self, name: str) -> Path:
        return self.directory / "logs" / f"{name}.log"

    def _postgres_service(self) -> Service:
        return Service(
            name="postgres",
            argv=[
                str(PG_BIN / "postgres"),
                "-D",
                str(self.directory / "pgdata"),
                "-p",
                str(self.ports["postgres"]),
                "-k",
                str(self.directory / "pgrun"),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "shared_buffers=32MB",
                "-c",
                "max_connections=100",
            ],
            env=dict(os.environ),
            log_path=self._log("postgres"),
            ready=lambda: self._postgres_accepts(),
            user=self._pg_user,
            start_timeout_s=30,
        )

    def _initdb(self) -> None:
        data = self.directory / "pgdata"
        data.mkdir()
        (self.directory / "pgrun").mkdir()
        self._log("postgres").touch()
        if self._pg_user:
            shutil.chown(data, self._pg_user, self._pg_user)
            shutil.chown(self.directory / "pgrun", self._pg_user, self._pg_user)
            shutil.chown(self._log("postgres"), self._pg_user, self._pg_user)
        subprocess.run(  # noqa: S603 - fixed argument list
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "--auth=trust",
                "--username=postgres",
                "--no-sync",
                "--encoding=UTF8",
            ],
            check=True,
            capture_output=True,
            user=self._pg_user,
            timeout=60,
        )

    def _postgres_accepts(self) -> bool:
        try:
            with psycopg.connect(
                self._url("postgres"), connect_timeout=1, autocommit=True
            ) as connection:
                connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def _redis_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.ports["redis"]), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @staticmethod
    def _http_ok(url: str, *, verify: str | None = None) -> bool:
        try:
            context = ssl.create_default_context(cafile=verify) if verify else True
            return httpx.get(url, timeout=2, verify=context).status_code == 200
        except httpx.HTTPError:
            return False

    def manage(self, *arguments: str, timeout_s: float = 180) -> str:
        result = subprocess.run(  # noqa: S603 - fixed argument list
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if result.returncode != 0:
            raise StackError(f"manage.py {' '.join(arguments)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def add_worker(
        self,
        name: str,
        *,
        queues: list[str],
        env: dict[str, str] | None = None,
        concurrency: int = 4,
        wait: bool = True,
    ) -> Service:
        """A Celery worker process, started as tests/worker_process.py and production do."""
        hostname = f"{name}@faults"
        worker = Service(
            name=f"worker {name}",
            argv=celery_worker_argv(queues=queues, concurrency=concurrency, hostname=hostname),
            env={**self.env, **(env or {})},
            log_path=self._log(f"worker-{name}"),
            ready=lambda: self._worker_ready(name),
            supervised=True,
        )
        old = self.workers.get(name)
        if old is not None:
            old.stop()
            self._retired.append(old)
        self.workers[name] = worker
        worker.start(wait=wait)
        return worker

    def _worker_ready(self, name: str) -> bool:
        """The worker answers a control ping over the broker: its consumer is attached."""
        try:
            replies = self.celery.control.ping(destination=[f"{name}@faults"], timeout=0.5)
        except Exception:  # the broker may be restarting: ask again
            self._celery = None
            return False
        return bool(replies)

    @property
    def celery(self) -> Any:
        """A Celery client of the private broker (to ping workers and send tasks)."""
        if self._celery is None:
            from celery import Celery

            self._celery = Celery("faults", broker=self.redis_url)
            self._celery.conf.broker_connection_retry_on_startup = False
        return self._celery

    def send_task(self, name: str, *args: Any, queue: str = "default") -> None:
        """Send a task message as the portal does (a redelivery, a resend)."""
        self.celery.send_task(name, args=args, queue=queue)

    def remove_worker(self, name: str) -> None:
        worker = self.workers.pop(name, None)
        if worker is not None:
            worker.stop()
            self._retired.append(worker)

    # --- health -------------------------------------------------------------------------
    def health(self, *, worker: bool = True, timeout_s: float = 10) -> tuple[int, dict[str, Any]]:
        response = httpx.get(
            f"{self.portal_url}/health/",
            params={"worker": "1"} if worker else {},
            timeout=timeout_s,
        )
        try:
            body = response.json()
        except ValueError:
            body = {"raw": response.text[:300]}
        return response.status_code, body

    def wait_healthy(self, *, timeout_s: float = 60) -> None:
        def healthy() -> bool:
            try:
                return self.health()[0] == 200
            except httpx.HTTPError:
                return False

        wait_until(
            healthy, timeout_s=timeout_s, what="/health/?worker=1 to answer 200", every_s=0.5
        )

    # --- the private database -----------------------------------------------------------
    def _url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.ports['postgres']}/{database}"

    def sql(self, query: str, params: tuple[Any, ...] = (), *, database: str = "han") -> list[Any]:
        """Rows of one query on a fresh connection (the server may have restarted since)."""
        with psycopg.connect(self._url(database), connect_timeout=3, autocommit=True) as conn:
            # The queries are this module's own literals; psycopg's typing wants LiteralString.
            cursor = conn.execute(query.encode(), params)
            return cursor.fetchall() if cursor.description else []

    def sql_execute(
        self, query: str, params: tuple[Any, ...] = (), *, database: str = "han"
    ) -> None:
        self.sql(query, params, database=database)

    def sql_row(self, query: str, params: tuple[Any, ...], *, missing: str) -> Any:
        """The first row of one query; StackError saying ``missing`` when there is none."""
        rows = self.sql(query, params)
        if not rows:
            raise StackError(missing)
        return rows[0]

    def premise_id(self, meter_number: str) -> int:
        row = self.sql_row(
            "SELECT p.id FROM portal_premise p JOIN han_gateway_premisesgateway g"
            " ON g.id = p.premises_gateway_id WHERE g.meter_number = %s",
            (meter_number,),
            missing=f"no premise for meter {meter_number}",
        )
        return int(row[0])

    def point_gateway_at(self, meter_number: str, service_url: str) -> None:
        self.sql_execute(
            "UPDATE han_gateway_premisesgateway SET service_url = %s WHERE meter_number = %s",
            (service_url, meter_number),
        )

    def run(self, run_id: int) -> RunRow:
        row = self.sql_row(
            "SELECT id, status, error_message, phase, started_at, finished_at, progress"
            " FROM portal_hantestrun WHERE id = %s",
            (run_id,),
            missing=f"no run {run_id}",
        )
        return RunRow(*row)

    def active_runs(self) -> list[tuple[int, str]]:
        return [
            (int(row[0]), str(row[1]))
            for row in self.sql(
                "SELECT id, status FROM portal_hantestrun WHERE status IN ('queued', 'running')"
            )
        ]

    def devices(self, run_id: int) -> list[str]:
        """EUI-64s the run recorded, in the order it found them."""
        return [
            str(row[0])
            for row in self.sql(
                "SELECT eui64 FROM portal_observeddevice WHERE run_id = %s ORDER BY sequence",
                (run_id,),
            )
        ]

    def duplicates(self, run_id: int) -> dict[str, list[Any]]:
        """Anything recorded twice for the run (empty lists when all is well)."""
        return {
            "devices": self.sql(
                "SELECT interface, eui64, count(*) FROM portal_observeddevice WHERE run_id = %s"
                " GROUP BY interface, eui64 HAVING count(*) > 1",
                (run_id,),
            ),
            "device_sequences": self.sql(
                "SELECT sequence, count(*) FROM portal_observeddevice WHERE run_id = %s"
                " GROUP BY sequence HAVING count(*) > 1",
                (run_id,),
            ),
            "steps": self.sql(
                "SELECT key, count(*) FROM portal_runstep WHERE run_id = %s"
                " GROUP BY key HAVING count(*) > 1",
                (run_id,),
            ),
            "interfaces": self.sql(
                "SELECT identifier, count(*) FROM portal_observedinterface WHERE run_id = %s"
                " GROUP BY identifier HAVING count(*) > 1",
                (run_id,),
            ),
            "findings": self.sql(
                "SELECT rule, eui64, count(*) FROM portal_finding WHERE run_id = %s"
                " GROUP BY rule, eui64 HAVING count(*) > 1",
                (run_id,),
            ),
        }

    def findings(self, run_id: int) -> list[tuple[str, str, str]]:
        """(rule, title, evidence) of the run's findings, in order."""
        return [
            (str(rule), str(title), str(evidence))
            for rule, title, evidence in self.sql(
                "SELECT rule, title, evidence FROM portal_finding WHERE run_id = %s"
                " ORDER BY position",
                (run_id,),
            )
        ]

    def steps(self, run_id: int) -> dict[str, str]:
        return {
            str(key): str(status)
            for key, status in self.sql(
                "SELECT key, status FROM portal_runstep WHERE run_id = %s", (run_id,)
            )
        }

    def wait_for_run_end(self, run_id: int, *, timeout_s: float) -> RunRow:
        def ended() -> RunRow | None:
            try:
                run = self.run(run_id)
            except psycopg.OperationalError:
                return None
            return run if run.status not in ACTIVE_STATUSES else None

        return wait_until(ended, timeout_s=timeout_s, what=f"run {run_id} to end", every_s=0.2)

    def wait_for_devices(self, run_id: int, count: int, *, timeout_s: float) -> list[str]:
        def committed() -> list[str] | None:
            found = self.devices(run_id)
            return found if len(found) >= count else None

        return wait_until(
            committed,
            timeout_s=timeout_s,
            what=f"run {run_id} to commit {count} device(s)",
            every_s=0.05,
        )

    # --- the gateway service ------------------------------------------------------------
    def replace_scenario(
        self, meter_number: str, scenario: str | dict[str, Any], interface: str = "han0"
    ) -> None:
        from han_gateway.client import GatewayClient

        with GatewayClient(
            base_url=self.gateway_url,
            gateway_id=meter_number,
            secret=demo_gateway_secret(meter_number),
            ca_file=str(self.tls[0]),
        ) as client:
            client.replace_scenario(interface, scenario)

    # --- people -------------------------------------------------------------------------
    def sign_in(self, username: str, password: str) -> PortalSession:
        session = PortalSession(self.portal_url)
        session.sign_in(username, password)
        return session


def demo_gateway_secret(meter_number: str) -> str:
    """Same rule as portal.demo.demo_gateway_secret (this module imports no Django)."""
    return f"demo-secret-{meter_number.lower()}"


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class PortalSession:
    """A browser's HTTP side: cookies, the real sign-in form, CSRF tokens from the pages.

    The portal runs as in production, DEBUG off, so its cookies are Secure and it expects
    HTTPS. The session plays the TLS proxy in front (``X-Forwarded-Proto: https``, which the
    ASGI server trusts from loopback) and keeps the cookies itself, as a browser would.
    """

    def __init__(self, portal_url: str) -> None:
        self.portal_url = portal_url
        self.origin = portal_url.replace("http://", "https://")
        self.cookies: dict[str, str] = {}
        self.http = httpx.Client(
            base_url=portal_url,
            timeout=15,
            follow_redirects=False,
            headers={"X-Forwarded-Proto": "https"},
        )

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, path, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        self.http.cookies.clear()
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post_form(self, path: str, data: dict[str, str]) -> httpx.Response:
        if "csrftoken" not in self.cookies:
            self.get("/sign-in/")
        return self.request(
            "POST",
            path,
            data={"csrfmiddlewaretoken": self.cookies["csrftoken"], **data},
            headers={"Origin": self.origin, "Referer": self.origin + path},
        )

    def sign_in(self, username: str, password: str) -> None:
        page = self.get("/sign-in/")
        match = CSRF_FIELD.search(page.text)
        if page.status_code != 200 or match is None:
            raise StackError(f"sign-in page answered {page.status_code}")
        answer = self.request(
            "POST",
            "/sign-in/",
            data={
                "csrfmiddlewaretoken": match.group(1),
                "username": username,
                "password": password,
            },
            headers={"Origin": self.origin, "Referer": self.origin + "/sign-in/"},
        )
        if answer.status_code != 302 or "sessionid" not in self.cookies:
            raise StackError(f"signing in as {username} failed ({answer.status_code})")

    @property
    def session_cookie(self) -> str:
        return self.cookies["sessionid"]

    def start_run(self, premise_id: int, problem: str = "") -> int:
        """Press Test HAN on the premise page; the run's id from the redirect."""
        answer = self.post_form(f"/premises/{premise_id}/test/", {"problem": problem})
        location = answer.headers.get("location", "")
        match = re.search(r"/runs/(\d+)/$", location)
        if answer.status_code != 302 or match is None:
            raise StackError(f"starting a run answered {answer.status_code} {location!r}")
        return int(match.group(1))

    def retest(self, run_id: int) -> int:
        answer = self.post_form(f"/runs/{run_id}/retest/", {})
        match = re.search(r"/runs/(\d+)/$", answer.headers.get("location", ""))
        if answer.status_code != 302 or match is None:
            raise StackError(f"retest answered {answer.status_code}")
        return int(match.group(1))

    def viewer(self, run_id: int) -> RunViewer:
        return RunViewer(self.portal_url, run_id, self.session_cookie)


@dataclass
class RunViewer:
    """A browser's live side: the run's WebSocket, every frame recorded, in a thread."""

    portal_url: str
    run_id: int
    session_cookie: str
    frames: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    closed: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: Any = None
        self._thread = threading.Thread(target=self._listen, daemon=True, name="run-viewer")
        self._thread.start()
        if not self.opened.wait(15):
            raise StackError(f"the WebSocket of run {self.run_id} did not open")

    def _listen(self) -> None:
        url = self.portal_url.replace("http://", "ws://") + f"/ws/runs/{self.run_id}/"
        try:
            with websocket_connect(
                url,
                origin=Origin(self.portal_url),
                additional_headers={"Cookie": f"sessionid={self.session_cookie}"},
                open_timeout=10,
            ) as websocket:
                self._socket = websocket
                self.opened.set()
                for message in websocket:
                    with self._lock:
                        self.frames.append(json.loads(message))
        except ConnectionClosed as error:
            self.close_code = error.rcvd.code if error.rcvd else None
        except OSError:
            pass
        finally:
            if self._socket is not None and self._socket.close_code is not None:
                self.close_code = self._socket.close_code
            self.opened.set()
            self.closed.set()

    def snapshot(self, *, timeout_s: float = 10) -> dict[str, Any]:
        """The first frame, which the server sends on connect: the run's full state."""
        return wait_until(
            lambda: next((f for f in self.frames if f.get("kind") == "snapshot"), None),
            timeout_s=timeout_s,
            what=f"the snapshot of run {self.run_id}",
        )

    def events(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [frame for frame in self.frames if frame.get("kind") == kind]

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], *, timeout_s: float, what: str
    ) -> dict[str, Any]:
        def seen() -> dict[str, Any] | None:
            with self._lock:
                return next((frame for frame in self.frames if predicate(frame)), None)

        return wait_until(seen, timeout_s=timeout_s, what=what, every_s=0.05)

    def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(Exception):
                self._socket.close()
        self._thread.join(5)


def processes_of(pids: list[int]) -> list[int]:
    """Processes still alive in the process groups these leaders started (none, after close).

    Each service runs in its own session, so its process group id is its leader's pid: a child
    the leader left behind (a postgres backend, a worker thread's subprocess) is found too.
    """
    groups = set(pids)
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command name: state, ppid, pgrp, ...; a zombie is already gone.
        if fields[0] != "Z" and int(fields[2]) in groups:
            alive.append(int(stat.parent.name))
    return sorted(alive)
