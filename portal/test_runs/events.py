"""Live push: the one helper that publishes a run's events to its viewers after commit."""

import logging
import time
from typing import Any

from django.db import transaction

from portal.models import HanTestRun
from portal.runtime import live_events as live

logger = logging.getLogger(__name__)


def publish_run_event(run_id: int, event: dict[str, Any]) -> None:
    """Send ``event`` (JSON-able) to everyone watching the run, once the data is committed."""
    message = {"event": event, "published_at": 0.0}

    def send() -> None:
        # Stamped after the commit, so viewers (and the benchmark) can tell the push latency.
        message["published_at"] = time.time()
        try:
            live.publish(run_id, message)
        except Exception:
            # The database holds the truth; a viewer who missed this catches up on reconnect.
            logger.exception("could not publish a live event for run %s", run_id)

    transaction.on_commit(send)


def publish_case_event(case_id: int) -> None:
    """Tell everyone watching one of the case's runs that its work changed (a note, a request
    to the AMI team, an installer's visit, a close): their pages fetch the case afresh."""
    for run_id in HanTestRun.objects.filter(case_id=case_id).values_list("pk", flat=True):
        publish_run_event(run_id, {"kind": "case"})
