"""Starts a real Celery worker process against the test database and the Redis broker."""

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

from portal.celery import app
from tests.commands import celery_worker_argv, stop_process

LOG_DIR = Path(settings.BASE_DIR) / "test-artifacts"
START_TIMEOUT_S = 30


def _test_database_url() -> str:
    """The configured DATABASE_URL with the database name pytest-django created."""
    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@contextlib.contextmanager
def worker_process(queues: str = "default") -> Iterator[subprocess.Popen[bytes]]:
    LOG_DIR.mkdir(exist_ok=True)
    log_path = LOG_DIR / "celery-worker.log"
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    hostname = f"test-{os.getpid()}@%h"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argument list
            celery_worker_argv(queues=queues.split(","), concurrency=8, hostname=hostname),
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"celery worker exited with {process.returncode}; see {log_path}"
                )
            replies = app.control.ping(timeout=0.5) or []
            if any(hostname.split("@")[0] in name for reply in replies for name in reply):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not answer within {START_TIMEOUT_S}s")
        yield process
    finally:
        stop_process(process, timeout_s=15)
