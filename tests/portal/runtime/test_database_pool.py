"""PostgreSQL connections per process: a burst of threads, as ASGI runs a burst of requests.

Each request of the ASGI server runs in a thread of its own. Without a pool each of those
threads opens a connection of its own, so a burst of requests opens as many connections as it
has requests, past the server's ``max_connections``. With ``PORTAL_DB_POOL_MAX_SIZE`` the
process never holds more than that many, and every request still gets its turn.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

pytestmark = [pytest.mark.realservices, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[3]
THREADS = 12
POOL = 3

BURST = f"""
import json, threading
import django
django.setup()
from django.db import connection

backends, errors, lock = set(), [], threading.Lock()

def request():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.3)")
            backend = cursor.fetchone()[0]
        with lock:
            backends.add(backend)
    except Exception as error:
        errors.append(repr(error))
    finally:
        connection.close()  # what the end of a request does

threads = [threading.Thread(target=request) for _ in range({THREADS})]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(60)
print(json.dumps({{"connections": len(backends), "errors": errors}}))
"""


def _burst(pool_size: str) -> dict[str, object]:
    url = urlsplit(os.environ["DATABASE_URL"])
    test_database = settings.DATABASES["default"]["NAME"]
    environment = {
        **os.environ,
        "DATABASE_URL": urlunsplit(url._replace(path=f"/{test_database}")),
        "PORTAL_DB_POOL_MAX_SIZE": pool_size,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    finished = subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, "-c", BURST],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


def test_a_burst_of_requests_shares_the_pool_and_each_gets_its_turn():
    pooled = _burst(str(POOL))
    assert pooled["errors"] == []
    assert 1 <= pooled["connections"] <= POOL


def test_without_the_pool_each_thread_opens_its_own_connection():
    assert _burst("0") == {"connections": THREADS, "errors": []}
