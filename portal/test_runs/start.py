"""Writes of the Utility HAN Test Tool loop: start, cancel, record an action, retest, reap."""

import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from han_gateway.eui64 import InvalidEUI64, normalise_eui64
from portal import task_names
from portal.access.roles import user_sees_technical_evidence
from portal.celery import app
from portal.diagnosis.rules import CUSTOMER_ACTION_LABELS, Action
from portal.models import HanTestCase, HanTestRun, Premise, RecordedAction, User
from portal.test_runs.events import publish_run_event
from portal.test_runs.expectations import premise_expectations
from portal.test_runs.payloads import run_state

logger = logging.getLogger(__name__)


OTHER_ACTION = "other"


class HanTestError(Exception):
    """Something the user asked cannot be done; the message says why."""


class ActiveRunExists(HanTestError):
    def __init__(self, run: HanTestRun) -> None:
        super().__init__("A HAN test is already running for this premise.")
        self.run = run


class StartLimitReached(HanTestError):
    """Too many runs started in the last hour, for the premise or by the user."""

    def __init__(self, message: str, *, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil((self.retry_at - timezone.now()).total_seconds()))


def queue_for_region(region: str) -> str:
    queues: dict[str, str] = settings.HAN_REGION_QUEUES
    return queues.get(region, settings.CELERY_TASK_DEFAULT_QUEUE)


def han_test_run_enqueue(run: HanTestRun) -> None:
    """Send the run to a worker on its region's queue (by task name: services import no tasks)."""
    HanTestRun.objects.filter(pk=run.pk).update(enqueued_at=timezone.now())
    app.signature(task_names.EXECUTE_HAN_TEST_RUN, args=(run.pk,)).apply_async(queue=run.queue)


def han_test_start(
    *, premise: Premise, user: User, problem: str = "", subject_eui64: str = ""
) -> HanTestRun:
    """Start a run: in the premise's open case if it has one, else in a new case.

    ``subject_eui64`` names the device the call is about, one of the utility's devices on
    record for the premise; the case keeps it for its retests. The caller has already checked
    the user may see the premise.
    """
    if premise.premises_gateway_id is None:
        raise HanTestError("This premise has no premises gateway to test.")
    subject = _subject_on_record(premise=premise, subject_eui64=subject_eui64)
    try:
        with transaction.atomic():
            active = HanTestRun.objects.filter(
                premise=premise, status__in=HanTestRun.ACTIVE
            ).first()
            if active is not None:
                raise ActiveRunExists(active)
            _start_limits_check(premise=premise, user=user)
            case = (
                HanTestCase.objects.select_for_update()
                .filter(premise=premise, status=HanTestCase.Status.OPEN)
                .order_by("-opened_at")
                .first()
            )
            if case is None:
                case = HanTestCase.objects.create(
                    premise=premise, problem=problem[:200], subject_eui64=subject, opened_by=user
                )
            elif subject and subject != case.subject_eui64:
                case.subject_eui64 = subject
                case.save(update_fields=["subject_eui64"])
            run = _run_create(case=case, user=user)
    except IntegrityError:
        # Another request started a run for this premise at the same moment.
        active = HanTestRun.objects.filter(premise=premise, status__in=HanTestRun.ACTIVE).first()
        if active is None:
            raise
        raise ActiveRunExists(active) from None
    return run


def _subject_on_record(*, premise: Premise, subject_eui64: str) -> str:
    """The device the call is about, checked against the premise's utility devices on record
    (and registrations); blank for the whole HAN."""
    if not subject_eui64.strip():
        return ""
    try:
        eui64 = normalise_eui64(subject_eui64)
    except InvalidEUI64 as error:
        raise HanTestError(f"The device the call is about: {error}") from error
    on_record = {device.eui64 for device in premise_expectations(premise=premise).utility_devices}
    if eui64 not in on_record:
        raise HanTestError(
            "The device the call is about is not one of this premise's devices on record."
        )
    return eui64


START_LIMIT_WINDOW = timedelta(hours=1)


def _start_limits_check(*, premise: Premise, user: User) -> None:
    """Refuse a start beyond the hourly limits (settings ``HAN_START_LIMIT_*``).

    Counted from the runs themselves, so every web process agrees and nothing expires
    separately. Every run counts, whatever its outcome: each one reached the meter.
    """
    now = timezone.now()
    premise_limit: int = settings.HAN_START_LIMIT_PER_PREMISE_PER_HOUR
    user_limit: int = (
        settings.HAN_START_LIMIT_PER_STAFF_PER_HOUR
        if user_sees_technical_evidence(user)
        else settings.HAN_START_LIMIT_PER_USER_PER_HOUR
    )
    limits = [
        (
            HanTestRun.objects.filter(premise=premise),
            premise_limit,
            f"This premise has been tested {premise_limit} times in the last hour",
        ),
        (
            HanTestRun.objects.filter(started_by=user),
            user_limit,
            f"You have started {user_limit} HAN tests in the last hour",
        ),
    ]
    for runs, limit, reached in limits:
        retry_at = _limit_reached_until(runs, limit=limit, now=now)
        if retry_at is not None:
            raise StartLimitReached(
                f"{reached}; try again after {_clock(retry_at)}.", retry_at=retry_at
            )


def _limit_reached_until(
    runs: QuerySet[HanTestRun], *, limit: int, now: datetime
) -> datetime | None:
    """When the oldest of the last ``limit`` runs leaves the window, if all are inside it."""
    if limit <= 0:
        return None
    # Served by the (premise, -created_at) and (started_by, -created_at) indexes.
    recent = list(
        runs.filter(created_at__gt=now - START_LIMIT_WINDOW)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return None
    # Whole minutes, so "try again after 14:05" is true at 14:05.
    until = recent[-1] + START_LIMIT_WINDOW
    if until.second or until.microsecond:
        until = until.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return until


def _clock(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def _run_create(*, case: HanTestCase, user: User) -> HanTestRun:
    premise = case.premise
    gateway = premise.premises_gateway
    last = case.runs.order_by("-number").values_list("number", flat=True).first()
    run = HanTestRun.objects.create(
        case=case,
        premise=premise,
        number=(last or 0) + 1,
        started_by=user,
        queue=queue_for_region(gateway.region if gateway else ""),
        region=gateway.region if gateway else "",
        gateway_model=gateway.model if gateway else "",
        phase="Waiting for a worker",
    )
    transaction.on_commit(lambda: han_test_run_enqueue(run))
    return run


def han_test_retest(*, run: HanTestRun, user: User) -> HanTestRun:
    """The next run in the same case (step 5.5 of the use case)."""
    if run.is_active:
        raise ActiveRunExists(run)
    return han_test_start(premise=run.premise, user=user)


def han_test_cancel(*, run: HanTestRun, user: User) -> HanTestRun:
    """Cancel at once if no worker has it yet; a running scan stops at its next step."""
    now = timezone.now()
    with transaction.atomic():
        if HanTestRun.objects.filter(pk=run.pk, status=HanTestRun.Status.QUEUED).update(
            status=HanTestRun.Status.CANCELLED,
            finished_at=now,
            cancel_requested=True,
            phase=f"Cancelled by {user.get_full_name() or user.username}",
        ):
            run.refresh_from_db()
            publish_run_event(run.pk, {"kind": "run", "run": run_state(run)})
            return run
        updated = HanTestRun.objects.filter(pk=run.pk, status=HanTestRun.Status.RUNNING).update(
            cancel_requested=True, phase="Cancelling…"
        )
        run.refresh_from_db()
        if not updated:
            raise HanTestError("This run has already finished.")
        publish_run_event(run.pk, {"kind": "run", "run": run_state(run)})
    return run


def words_required(
    text: str,
    *,
    missing: str | None,
    limit: int,
    what: str = "it",
    error: type[Exception] = HanTestError,
) -> str:
    """What someone typed, trimmed: refused when too long, and when empty unless ``missing`` is
    None (else it says what to write)."""
    text = text.strip()
    if not text and missing is not None:
        raise error(missing)
    if len(text) > limit:
        raise error(f"Keep {what} under {limit} characters.")
    return text


def recorded_action_create(
    *, run: HanTestRun, user: User, action: str, note: str = ""
) -> RecordedAction:
    """Record what was done about a finished run's findings (step 5.4)."""
    note = note.strip()
    if run.is_active:
        raise HanTestError("Wait for the run to finish before recording an action.")
    if not user_sees_technical_evidence(user):
        # A customer says what they did themselves; the utility's actions are its people's.
        if action not in {*CUSTOMER_ACTION_LABELS, OTHER_ACTION}:
            raise HanTestError("Pick one of the things listed, or 'Something else' with a note.")
    elif action not in {*Action, OTHER_ACTION}:
        raise HanTestError("Pick one of the recommended actions, or 'Other' with a note.")
    if action == OTHER_ACTION and not note:
        raise HanTestError("Describe the action you took.")
    if len(note) > 1000:
        raise HanTestError("Keep the note under 1000 characters.")
    with transaction.atomic():
        recorded = RecordedAction.objects.create(
            run=run, action=action, note=note, recorded_by=user
        )
        publish_run_event(run.pk, {"kind": "actions"})
    return recorded
