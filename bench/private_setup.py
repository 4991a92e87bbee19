"""The private set-up the end-to-end benchmarks run against, all on 127.0.0.1.

Importing this module points the portal at a database of its own and starts Django: with
DATABASE_URL set, a fresh PostgreSQL database (``HAN_BENCH_DATABASE``, ``han_bench_tool`` unless
set) on that server; otherwise a temporary SQLite file. ``private_setup()`` then brings up a HAN
gateway service with N simulated healthy meters, a premise for each, and the worker (with
REDIS_URL: a Celery worker process and beat, as in production; otherwise the embedded worker);
``PortalServer`` serves the portal's ASGI application in a thread.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
BENCH_DATABASE = os.environ.get("HAN_BENCH_DATABASE", "han_bench_tool")


def _prepare_database() -> str:
    """Point the portal at a database of its own before Django starts."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        os.environ["PORTAL_VAR_DIR"] = tempfile.mkdtemp(prefix="han-bench-")
        return "SQLite (embedded)"
    import psycopg

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))
    return "PostgreSQL"


MODE = _prepare_database()
# Channels of its own: a run's group from an earlier benchmark (run ids start again in each fresh
# database) must not still list the sockets of that benchmark's stopped web server.
os.environ.setdefault("CHANNELS_PREFIX", f"hanbench{os.getpid()}")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from han_gateway.models import HanDevice, PremisesGateway  # noqa: E402
from han_gateway.scenarios import load_library_scenario  # noqa: E402
from portal.models import Customer, Premise  # noqa: E402
from tests.commands import (  # noqa: E402
    celery_beat_argv,
    celery_worker_argv,
    free_port,
    gateway_service_argv,
)
from tests.stack import wait_until  # noqa: E402
from trust_center.crypto import secret_sha256  # noqa: E402
from trust_center.services import gateway_credential_issue  # noqa: E402

WORKER_KIND = "embedded worker" if settings.EMBEDDED_WORKER else "Celery worker process"


def bench_secret(gateway_id: str) -> str:
    return f"bench-secret-{gateway_id.lower()}"


@dataclass(frozen=True)
class Setup:
    workdir: Path
    service_url: str
    premise_ids: list[int]
    # The set-up's own processes by role (the gateway service; with Redis, the Celery worker
    # and beat), for the benchmarks' CPU accounts.
    pids: dict[str, int]


@contextmanager
def private_setup(meters: int, worker_concurrency: int) -> Iterator[Setup]:
    """Migrate; start the gateway service with ``meters`` simulated meters, a premise for each
    meter and the worker; stop them and remove their working directory afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="han-bench-"))
    call_command("migrate", verbosity=0)
    gateways, service_url = _start_gateway_service(meters, workdir)
    worker = None
    try:
        premise_ids = _create_premises(meters, service_url)
        worker = _start_worker(workdir, worker_concurrency)
        pids = {"gateway service": gateways.pid}
        if isinstance(worker, tuple):
            pids.update({"worker": worker[0].pid, "beat": worker[1].pid})
        yield Setup(workdir=workdir, service_url=service_url, premise_ids=premise_ids, pids=pids)
    finally:
        if worker is not None:
            _stop_worker(worker)
        gateways.terminate()
        gateways.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def _start_gateway_service(count: int, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    gateways = [
        {
            "id": f"BENCH-{index:03d}",
            "kind": "meter",
            "manufacturer": "Itron",
            "model": "OpenWay Riva CENTRON",
            "firmware": "4.2.1",
            "secret_sha256": secret_sha256(bench_secret(f"BENCH-{index:03d}")),
            "interfaces": [{"id": "han0", "radio": "simulated", "scenario": "healthy"}],
        }
        for index in range(1, count + 1)
    ]
    config = workdir / "gateways.json"
    config.write_text(
        json.dumps({"listen": {"host": "127.0.0.1", "port": port}, "gateways": gateways})
    )
    log = open(workdir / "gateway-service.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(  # noqa: S603
        gateway_service_argv(config=config),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        with suppress(httpx.HTTPError):
            return httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200
        return False

    wait_until(healthy, what="the gateway service start", timeout_s=120, every_s=0.05)
    return process, url


def _create_premises(count: int, service_url: str) -> list[int]:
    """One premise per simulated meter, with the healthy HAN's devices on record."""
    healthy = load_library_scenario("healthy")
    premise_ids = []
    for index in range(1, count + 1):
        gateway_id = f"BENCH-{index:03d}"
        gateway = PremisesGateway.objects.create(
            ami_id=f"AMI-{gateway_id}",
            meter_number=gateway_id,
            manufacturer="Itron",
            model="OpenWay Riva CENTRON",
            service_url=service_url,
            service_gateway_id=gateway_id,
        )
        gateway_credential_issue(premises_gateway=gateway, secret=bench_secret(gateway_id))
        HanDevice.objects.bulk_create(
            HanDevice(
                premises_gateway=gateway,
                eui64=str(device.eui64),
                network=device.han,
                category=device.category,
                manufacturer=device.manufacturer,
                model=device.model,
            )
            for device in healthy.devices
            if device.registered or device.han == "customer"
        )
        customer = Customer.objects.create(
            name=f"Bench Customer {index}", account_number=f"9{index:09d}"
        )
        premise = Premise.objects.create(
            customer=customer,
            service_point_id=f"SP-B{index:05d}",
            address_line=f"{index} Benchmark Road",
            city="Springfield",
            state="IL",
            postal_code="62704",
            premises_gateway=gateway,
        )
        premise_ids.append(premise.pk)
    return premise_ids


def _start_worker(workdir: Path, concurrency: int) -> Any:
    if settings.EMBEDDED_WORKER:
        from portal.runtime.embedded import EmbeddedWorker

        worker = EmbeddedWorker(concurrency=concurrency)
        worker.start()
        return worker
    log = open(workdir / "celery-worker.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(  # noqa: S603
        celery_worker_argv(queues=["default"], concurrency=concurrency, log_level="WARNING"),
        cwd=ROOT,
        # As docker-compose.yml runs it: a connection pool as large as its concurrency.
        env={**os.environ, "PORTAL_DB_POOL_MAX_SIZE": str(concurrency)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    from portal.celery import app

    wait_until(
        lambda: bool(app.control.ping(timeout=0.5)),
        what="the Celery worker start",
        timeout_s=60,
        every_s=0.05,
    )
    # Beat, as in production: it re-sends the task of a run no worker has taken.
    beat = subprocess.Popen(  # noqa: S603
        celery_beat_argv(schedule=workdir / "celerybeat-schedule", log_level="WARNING"),
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return (process, beat)


def _stop_worker(worker: Any) -> None:
    if isinstance(worker, tuple):
        for process in worker:
            process.terminate()
            process.wait(timeout=30)
    else:
        worker.stop()


class PortalServer:
    """The portal's ASGI server in a thread of this process."""

    def __init__(self) -> None:
        from portal.asgi import application

        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                application, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        wait_until(
            lambda: self.server.started, what="the portal server start", timeout_s=60, every_s=0.05
        )
        return f"127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
