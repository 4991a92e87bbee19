"""Checks behind the health endpoint: database, live events and (on request) a worker."""

import logging
from typing import Any

from django.db import connection

from portal.runtime import live_events as live
from portal.runtime.tasks import ping

logger = logging.getLogger(__name__)

WORKER_TIMEOUT_S = 5.0


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_worker() -> None:
    result = ping.apply_async(expires=WORKER_TIMEOUT_S)
    # The embedded worker shares this process, which makes Celery believe every caller is a
    # task; this call runs in a web request, never in a task.
    answer = result.get(timeout=WORKER_TIMEOUT_S, disable_sync_subtasks=False)
    if answer != "pong":
        raise RuntimeError(f"unexpected worker answer {answer!r}")


def health_report(*, check_worker: bool) -> dict[str, Any]:
    checks: dict[str, Any] = {
        "database": _check_database,
        "live_events": live.round_trip,
    }
    if check_worker:
        checks["worker"] = _check_worker
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
        except Exception:
            logger.exception("health check %s failed", name)
            results[name] = "failing"
        else:
            results[name] = "ok"
    status = "ok" if all(value == "ok" for value in results.values()) else "failing"
    return {"status": status, "checks": results}
