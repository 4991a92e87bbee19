"""Serve the portal over ASGI; on the embedded default also run its worker in-process."""

import contextlib
import ctypes
import logging
import signal
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.runtime.embedded import embedded_worker_start

logger = logging.getLogger(__name__)

DEMO_GATEWAYS_CONFIG = Path(settings.BASE_DIR) / "han_gateway" / "demo" / "gateways.yaml"


class Command(BaseCommand):
    help = "Serve the portal (HTTP and WebSocket) on one address."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="ASGI server processes sharing the address (with REDIS_URL only: the embedded "
            "default keeps its broker and live events inside one process).",
        )
        parser.add_argument(
            "--with-demo-gateways",
            action="store_true",
            help="Also start the simulated Premises Gateways of the demo data set.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        processes = options["processes"]
        if processes < 1:
            raise CommandError("--processes must be 1 or more.")
        if processes > 1 and settings.EMBEDDED_WORKER:
            raise CommandError(
                "--processes above 1 needs REDIS_URL: the embedded default keeps its task queue "
                "and live events inside one process."
            )
        gateways = self._start_demo_gateways() if options["with_demo_gateways"] else None
        worker = embedded_worker_start()
        try:
            uvicorn.run(
                "portal.asgi:application",
                host=options["host"],
                port=options["port"],
                lifespan="off",
                log_level="info",
                ws_ping_interval=20,
                workers=processes,
            )
        finally:
            if worker is not None:
                worker.stop()
            if gateways is not None:
                gateways.terminate()
                gateways.wait(timeout=10)

    def _start_demo_gateways(self) -> subprocess.Popen[bytes]:
        if not DEMO_GATEWAYS_CONFIG.exists():
            raise CommandError(f"No demo gateway configuration at {DEMO_GATEWAYS_CONFIG}")
        process = subprocess.Popen(  # noqa: S603 - fixed argument list
            [sys.executable, "-m", "han_gateway", "serve", "--config", str(DEMO_GATEWAYS_CONFIG)],
            cwd=settings.BASE_DIR,
            preexec_fn=_die_with_parent,  # set before any thread of ours starts
        )
        self.stdout.write(f"Simulated Premises Gateways starting (pid {process.pid}).")
        return process


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: ask Linux for SIGTERM when the portal process ends, however it ends.

    uvicorn re-raises the SIGTERM it handled once it has shut down, so the portal process
    ends without running its ``finally``; the simulated gateways must not outlive it.
    """
    # Elsewhere than Linux there is no prctl, and the ``finally`` above is all there is.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
