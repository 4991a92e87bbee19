"""The embedded default: a Celery worker as threads of the web process, on the memory broker."""

import logging
import threading

from celery.worker import WorkController
from django.conf import settings

from portal.celery import app

logger = logging.getLogger(__name__)


class EmbeddedWorker:
    """Runs a Celery WorkController in a daemon thread; ``stop()`` shuts it down cleanly."""

    def __init__(self, *, concurrency: int, queues: list[str] | None = None) -> None:
        self.controller = WorkController(
            app=app,
            pool_cls="threads",
            concurrency=concurrency,
            queues=queues,
            without_mingle=True,
            without_gossip=True,
            without_heartbeat=True,
            hostname=f"embedded@{threading.get_native_id()}",
            loglevel="WARNING",
        )
        self.thread = threading.Thread(
            target=self.controller.start, name="embedded-celery-worker", daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        logger.info("embedded Celery worker started")

    def stop(self, timeout: float = 10.0) -> None:
        self.controller.stop(in_sighandler=False)
        self.thread.join(timeout)


def embedded_worker_start() -> EmbeddedWorker | None:
    """Start the in-process worker when no external broker is configured."""
    if not settings.EMBEDDED_WORKER:
        return None
    worker = EmbeddedWorker(concurrency=settings.EMBEDDED_WORKER_CONCURRENCY)
    worker.start()
    return worker
