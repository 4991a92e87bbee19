"""Catching runs whose worker died or whose task was lost, and stopping their open steps."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.models import HanTestRun, RunStep, save_changes
from portal.test_runs.events import publish_run_event
from portal.test_runs.payloads import run_state, step_payload
from portal.test_runs.start import han_test_run_enqueue

logger = logging.getLogger(__name__)


def run_steps_stop(*, run: HanTestRun, moment: datetime) -> None:
    """Close the steps of a run that ended early (time limit, error, lost worker, cancel).

    Without this, a finished run kept showing the step it was in as still running.
    """
    status = (
        RunStep.Status.SKIPPED
        if run.status == HanTestRun.Status.CANCELLED
        else RunStep.Status.FAILED
    )
    for step in RunStep.objects.filter(run=run, status=RunStep.Status.RUNNING):
        save_changes(step, status=status, detail="Stopped before it finished.", finished_at=moment)
        publish_run_event(run.pk, {"kind": "step", "step": step_payload(step)})


def han_test_runs_reap() -> int:
    """Fail runs whose worker died: running without a heartbeat, or never picked up.

    A worker's heartbeat comes every few seconds while it is on a run, waiting on the gateway
    included, so silence for ``HAN_RUN_STALE_AFTER_S`` means the worker is gone; redelivery
    would otherwise wait for the broker's visibility timeout. A run still going that long past
    its time limit has a stuck worker.
    """
    moment = timezone.now()
    stale = moment - timedelta(seconds=settings.HAN_RUN_STALE_AFTER_S)
    never_started = moment - timedelta(seconds=settings.HAN_RUN_QUEUE_TIMEOUT_S)
    resend_before = moment - timedelta(seconds=settings.HAN_RUN_REQUEUE_AFTER_S)
    for run in HanTestRun.objects.filter(
        status=HanTestRun.Status.QUEUED, created_at__gte=never_started
    ).filter(Q(enqueued_at__lt=resend_before) | Q(enqueued_at__isnull=True)):
        # The claim in the task makes a second delivery harmless.
        logger.warning("run %s still queued: sending its task again", run.pk)
        han_test_run_enqueue(run)
    # A live worker stops its own run at the time limit; one still running well past it is stuck.
    overdue = stale - timedelta(seconds=settings.HAN_RUN_TIME_LIMIT_S)
    reaped = 0
    candidates = [
        *HanTestRun.objects.filter(status=HanTestRun.Status.RUNNING).filter(
            Q(heartbeat_at__lt=stale) | Q(started_at__lt=overdue)
        ),
        *HanTestRun.objects.filter(status=HanTestRun.Status.QUEUED, created_at__lt=never_started),
    ]
    for run in candidates:
        if run.status == HanTestRun.Status.QUEUED:
            message = "No worker picked up the test in time. Please retest."
        elif run.heartbeat_at is not None and run.heartbeat_at >= stale:
            message = (
                "The test did not finish in time: the worker running it is stuck. Please retest."
            )
        else:
            message = (
                "The test stopped unexpectedly: the worker running it was lost. Please retest."
            )
        with transaction.atomic():
            if not HanTestRun.objects.filter(pk=run.pk, status=run.status).update(
                status=HanTestRun.Status.ERROR,
                finished_at=moment,
                error_message=message,
                phase="Stopped",
            ):
                continue
            run.refresh_from_db()
            run_steps_stop(run=run, moment=moment)
            publish_run_event(run.pk, {"kind": "run", "run": run_state(run)})
        logger.warning("reaped run %s: %s", run.pk, message)
        reaped += 1
    return reaped
