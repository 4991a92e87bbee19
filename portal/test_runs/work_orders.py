"""Field work: staff send a field technician (installer) to a premise with a work order made
from a case's recommendation; the technician tests on site and says what was done. A passing
run in the case finishes its open work orders, and closing the case by hand cancels them."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.db.models import Case, QuerySet, When
from django.utils import timezone

from portal.access.roles import user_works_for_utility
from portal.diagnosis.rules import Action, action_label
from portal.models import (
    Finding,
    HanTestCase,
    HanTestRun,
    ObservedDevice,
    User,
    WorkOrder,
    save_changes,
)
from portal.test_runs.events import publish_case_event
from portal.test_runs.start import OTHER_ACTION, HanTestError, words_required

INSTRUCTIONS_MAX_LENGTH = 2000
OUTCOME_MAX_LENGTH = 300
# How far ahead a visit may be booked.
LATEST_VISIT_DAYS = 90


@dataclass(frozen=True)
class Recommendation:
    """What a run says an installer should do: the first finding that calls for an action."""

    action: str
    instructions: str
    device_ids: list[int]


def recommendation_for(run: HanTestRun) -> Recommendation:
    lead: Finding | None = (
        run.findings.exclude(action=Action.NONE).order_by("position").first()
        if not run.is_active
        else None
    )
    if lead is None:
        return Recommendation(action=OTHER_ACTION, instructions="", device_ids=[])
    label = action_label(lead.action, unknown="Other")
    devices = (
        list(run.devices.filter(eui64=lead.eui64).values_list("pk", flat=True))
        if lead.eui64
        else []
    )
    return Recommendation(
        action=lead.action, instructions=f"{lead.title}. {label}.", device_ids=devices
    )


def installers() -> QuerySet[User]:
    return User.objects.filter(role=User.Role.INSTALLER, is_active=True).order_by(
        "first_name", "last_name", "username"
    )


def _visit_date(text: str, *, today: date) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise HanTestError("Give the day of the visit (YYYY-MM-DD).") from None
    if day < today:
        raise HanTestError("The visit cannot be booked in the past.")
    if (day - today).days > LATEST_VISIT_DAYS:
        raise HanTestError(f"Book the visit within {LATEST_VISIT_DAYS} days.")
    return day


def work_order_dispatch(
    *,
    case: HanTestCase,
    user: User,
    installer_id: int,
    instructions: str,
    scheduled_for: str,
    window: str,
    device_ids: list[int],
) -> WorkOrder:
    """A work order for an installer from the case's latest finished run: its recommendation,
    the devices chosen among those the run found, the day and the time of day."""
    if not user_works_for_utility(user):
        raise PermissionError("Only the utility's staff send an installer.")
    if case.status != HanTestCase.Status.OPEN:
        raise HanTestError("This case is resolved; open a new one by testing again.")
    run = case.runs.exclude(status__in=HanTestRun.ACTIVE).order_by("-number").first()
    if run is None:
        raise HanTestError("Wait for the test to finish before sending an installer.")
    installer = installers().filter(pk=installer_id).first()
    if installer is None:
        raise HanTestError("Choose the field technician to send.")
    instructions = words_required(
        instructions, missing="Say what the installer should do.", limit=INSTRUCTIONS_MAX_LENGTH
    )
    if window not in WorkOrder.Window.values:
        raise HanTestError("Choose the time of day of the visit.")
    day = _visit_date(scheduled_for, today=timezone.localdate())
    devices = list(ObservedDevice.objects.filter(run=run, pk__in=device_ids))
    if len(devices) != len(set(device_ids)):
        raise HanTestError("Choose devices among those the last test found.")
    recommendation = recommendation_for(run)
    with transaction.atomic():
        work_order = WorkOrder.objects.create(
            case=case,
            premise_id=case.premise_id,
            from_run=run,
            installer=installer,
            action=recommendation.action,
            instructions=instructions,
            scheduled_for=day,
            window=window,
            created_by=user,
        )
        work_order.devices.set(devices)
        publish_case_event(case.pk)
    return work_order


def work_order_complete(*, work_order: WorkOrder, user: User, outcome: str) -> WorkOrder:
    """The installer (or staff) says the visit is over and what came of it."""
    if not (user_works_for_utility(user) or work_order.installer_id == user.pk):
        raise PermissionError("Only the installer of this work order or staff finish it.")
    outcome = words_required(
        outcome, missing="Say what was done at the premise.", limit=OUTCOME_MAX_LENGTH
    )
    with transaction.atomic():
        locked = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
        if locked.status != WorkOrder.Status.OPEN:
            raise HanTestError(f"This work order is already {locked.get_status_display().lower()}.")
        if locked.case.runs.filter(status__in=HanTestRun.ACTIVE).exists():
            raise HanTestError("A test is running: let it finish first.")
        save_changes(
            locked,
            status=WorkOrder.Status.DONE,
            outcome=outcome,
            completed_by=user,
            completed_at=timezone.now(),
        )
        publish_case_event(locked.case_id)
    return locked


def work_orders_end_with_case(
    *, case_id: int, status: WorkOrder.Status, outcome: str, moment: datetime
) -> int:
    """The case is over: a run passed (its open work orders are done) or staff closed it
    (they are cancelled). Pages open on any of the case's runs learn it."""
    ended = WorkOrder.objects.filter(case_id=case_id, status=WorkOrder.Status.OPEN).update(
        status=status, outcome=outcome[:OUTCOME_MAX_LENGTH], completed_at=moment
    )
    publish_case_event(case_id)
    return ended


def work_orders_for_installer(user: User) -> QuerySet[WorkOrder]:
    """An installer's open work orders, soonest first."""
    return (
        WorkOrder.objects.filter(installer=user, status=WorkOrder.Status.OPEN)
        .select_related("premise__customer", "case")
        .annotate(
            window_order=Case(
                When(window=WorkOrder.Window.MORNING, then=0),
                When(window=WorkOrder.Window.AFTERNOON, then=1),
                default=2,
            )
        )
        .order_by("scheduled_for", "window_order", "pk")
    )
