"""The embedded default: a Celery worker as threads of the web process, on the memory broker."""

import logging
import threading

from celery.worker import WorkController
from django.conf import settings
from django.db import close_old_connections

from portal import task_names
from portal.celery import app

logger = logging.getLogger(__name__)


def all_queues() -> list[str]:
    return sorted({settings.CELERY_TASK_DEFAULT_QUEUE, *settings.HAN_REGION_QUEUES.values()})


class EmbeddedWorker:
    """A Celery WorkController in a daemon thread, and the stale-run reaper beside it.

    Celery beat would run the reaper as a separate process, which cannot see the in-memory
    broker; a timer thread calls it directly instead.
    """

    def __init__(self, *, concurrency: int, reaper_interval_s: float | None = None) -> None:
        self.controller = WorkController(
            app=app,
            pool_cls="threads",
            concurrency=concurrency,
            queues=all_queues(),
            without_mingle=True,
            without_gossip=True,
            without_heartbeat=True,
            hostname=f"embedded@{threading.get_native_id()}",
            loglevel="WARNING",
        )
        self.thread = threading.Thread(
            target=self.controller.start, name="embedded-celery-worker", daemon=True
        )
        self.reaper_interval_s = reaper_interval_s or settings.HAN_REAPER_INTERVAL_S
        self._stopping = threading.Event()
        self.reaper = threading.Thread(target=self._reap, name="embedded-reaper", daemon=True)

    def start(self) -> None:
        self.thread.start()
        self.reaper.start()
        logger.info("embedded Celery worker started on queues %s", ", ".join(all_queues()))

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self.controller.stop(in_sighandler=False)
        self.thread.join(timeout)
        self.reaper.join(timeout)

    def _reap(self) -> None:
        # Beat's periodic tasks, run by name in this thread (``Task.__call__`` runs the body).
        periodic = [
            app.tasks[task_names.REAP_STALE_HAN_TEST_RUNS],
            app.tasks[task_names.EXPIRE_JOIN_WINDOWS],
        ]
        while not self._stopping.wait(self.reaper_interval_s):
            try:
                for task in periodic:
                    task()
            except Exception:
                logger.exception("reaping stale runs failed")
            finally:
                close_old_connections()


def embedded_worker_start() -> EmbeddedWorker | None:
    """Start the in-process worker when no external broker is configured."""
    if not settings.EMBEDDED_WORKER:
        return None
    worker = EmbeddedWorker(concurrency=settings.EMBEDDED_WORKER_CONCURRENCY)
    worker.start()
    return worker
