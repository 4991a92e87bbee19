"""Reading runs and cases: which a user may see, a premise's recent and active runs, a case's
timeline, the findings an administrator reviews."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from portal.access.visibility import visible_to
from portal.models import (
    CaseNote,
    CustomerMessage,
    DiagnosisReview,
    Escalation,
    Finding,
    HanTestCase,
    HanTestRun,
    Premise,
    RecordedAction,
    User,
    WorkOrder,
)


def runs_visible_to(user: User | AnonymousUser) -> QuerySet[HanTestRun]:
    # Staff get every run with no premise subquery: the history walks an index on the runs alone.
    return visible_to(
        user,
        HanTestRun.objects.all(),
        account_users="premise__customer__users",
        work_order_premise="premise_id",
    )


def run_or_404(*, user: User | AnonymousUser, run_id: int) -> HanTestRun:
    run = run_get_for_user(user=user, run_id=run_id)
    if run is None:
        raise Http404("No such test run.")
    return run


def run_get_for_user(*, user: User | AnonymousUser, run_id: int) -> HanTestRun | None:
    return (
        runs_visible_to(user)
        .select_related("case", "premise__customer", "premise__premises_gateway", "started_by")
        .filter(pk=run_id)
        .first()
    )


def premise_active_run(*, premise: Premise) -> HanTestRun | None:
    return HanTestRun.objects.filter(premise=premise, status__in=HanTestRun.ACTIVE).first()


def premise_recent_runs(*, premise: Premise, limit: int = 10) -> QuerySet[HanTestRun]:
    return (
        HanTestRun.objects.filter(premise=premise)
        .select_related("case", "started_by")
        .order_by("-created_at")[:limit]
    )


def case_runs(*, case: HanTestCase) -> QuerySet[HanTestRun]:
    return case.runs.select_related("started_by").order_by("number")


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    who: str
    what: str
    run_id: int | None = None


def _name(user: User | None) -> str:
    if user is None:
        return "(removed user)"
    return user.get_full_name() or user.username


def case_timeline(*, case: HanTestCase) -> list[TimelineEvent]:
    """Who did what in a case, oldest first: opened, runs, actions, reviews, notes, requests
    to the AMI team, installers sent, instructions emailed, closing. Eight queries."""
    events = [TimelineEvent(case.opened_at, _name(case.opened_by), "opened the case")]
    runs = list(case.runs.select_related("started_by").order_by("number"))
    for run in runs:
        events.append(
            TimelineEvent(
                run.created_at, _name(run.started_by), f"started run {run.number}", run.pk
            )
        )
        if run.finished_at is not None:
            events.append(
                TimelineEvent(
                    run.finished_at,
                    "HAN test tool",
                    f"finished run {run.number}: {run.get_status_display().lower()}",
                    run.pk,
                )
            )
    for action in RecordedAction.objects.filter(run__case=case).select_related(
        "recorded_by", "run"
    ):
        note = f" ({action.note})" if action.note else ""
        events.append(
            TimelineEvent(
                action.recorded_at,
                _name(action.recorded_by),
                f"recorded after run {action.run.number}: {action.action_label}{note}",
                action.run_id,
            )
        )
    for review in DiagnosisReview.objects.filter(finding__run__case=case).select_related(
        "reviewed_by", "finding__run"
    ):
        events.append(
            TimelineEvent(
                review.reviewed_at,
                _name(review.reviewed_by),
                f"judged “{review.finding.title}” {review.get_verdict_display().lower()}",
                review.finding.run_id,
            )
        )
    for message in CustomerMessage.objects.filter(run__case=case).select_related("sent_by", "run"):
        events.append(
            TimelineEvent(
                message.sent_at,
                _name(message.sent_by),
                f"emailed the customer what to do after run {message.run.number} "
                f"({message.sent_to})",
                message.run_id,
            )
        )
    for case_note in CaseNote.objects.filter(case=case).select_related("written_by"):
        events.append(
            TimelineEvent(
                case_note.written_at, _name(case_note.written_by), f"noted: {case_note.text}"
            )
        )
    for escalation in Escalation.objects.filter(case=case).select_related(
        "raised_by", "updated_by"
    ):
        kind = escalation.kind_in_a_sentence
        events.append(
            TimelineEvent(
                escalation.raised_at,
                _name(escalation.raised_by),
                f"asked the AMI network team to {kind}: {escalation.reason}",
            )
        )
        if escalation.updated_at is not None:
            answer = f": {escalation.answer}" if escalation.answer else ""
            events.append(
                TimelineEvent(
                    escalation.updated_at,
                    _name(escalation.updated_by),
                    f"marked the AMI team's request ({kind}) "
                    f"{escalation.get_status_display().lower()}{answer}",
                )
            )
    for order in WorkOrder.objects.filter(case=case).select_related(
        "installer", "created_by", "completed_by"
    ):
        installer = _name(order.installer)
        events.append(
            TimelineEvent(
                order.created_at,
                _name(order.created_by),
                f"sent {installer} (work order {order.pk}) for "
                f"{order.scheduled_for:%a %-d %b}, {order.get_window_display().lower()}: "
                f"{order.instructions}",
            )
        )
        if order.completed_at is not None:
            by = _name(order.completed_by) if order.completed_by else "HAN test tool"
            events.append(
                TimelineEvent(
                    order.completed_at,
                    by,
                    f"marked work order {order.pk} {order.get_status_display().lower()}: "
                    f"{order.outcome}",
                )
            )
    if case.resolved_at is not None:
        if case.close_reason:
            events.append(
                TimelineEvent(
                    case.resolved_at, _name(case.closed_by), f"closed the case: {case.close_reason}"
                )
            )
        else:
            events.append(TimelineEvent(case.resolved_at, "HAN test tool", "resolved the case"))
    return sorted(events, key=lambda event: event.at)


def run_findings_for_review(*, run: HanTestRun) -> list[Finding]:
    return list(run.findings.select_related("review__reviewed_by").order_by("position"))


@dataclass(frozen=True)
class Worklist:
    """A rep's start page: the open cases they work, and the runs they started last."""

    open_cases: list[HanTestCase]
    recent_runs: list[HanTestRun]


def rep_worklist(*, user: User, limit: int = 10) -> Worklist:
    """The open cases the user opened or ran a test in, the most recently tested first, each
    with its last run (``last_run_id``, ``last_run_number``, ``last_run_status``); and the
    runs the user started last."""
    mine = HanTestRun.objects.filter(started_by=user)
    last_run = HanTestRun.objects.filter(case=OuterRef("pk")).order_by("-number")
    open_cases = (
        HanTestCase.objects.filter(status=HanTestCase.Status.OPEN)
        .filter(Q(opened_by=user) | Q(pk__in=mine.values("case_id")))
        .select_related("premise__customer")
        .annotate(
            last_run_id=Subquery(last_run.values("pk")[:1]),
            last_run_number=Subquery(last_run.values("number")[:1]),
            last_run_status=Subquery(last_run.values("status")[:1]),
            last_run_at=Subquery(last_run.values("created_at")[:1]),
        )
        .order_by(F("last_run_at").desc(nulls_last=True), "-opened_at")[:limit]
    )
    recent_runs = mine.select_related("case", "premise__customer").order_by("-created_at")[:limit]
    cases: list[Any] = list(open_cases)
    for case in cases:
        status = case.last_run_status
        case.last_run_label = HanTestRun.Status(status).label if status else ""
    return Worklist(open_cases=cases, recent_runs=list(recent_runs))
