"""The administrators' dashboard: what the HAN test runs of a period add up to.

Everything is computed from a queryset of runs the caller has already filtered (region, rep,
outcome, dates…), in a fixed number of queries whatever its size.

Definitions, as the dashboard states them:

* **Runs** are counted by the day they were started (``created_at``, in the portal's time zone)
  and split by outcome: passed, problems found (``failed``), could not complete (``error``),
  cancelled, and in progress (queued or running).
* A **case** counts when at least one of its runs is among the filtered runs. Cases are then
  judged on their whole history, whatever the filters: a case whose first run is in the period
  and its retest the day after still has a retest.
* **First-time fix rate**: of the cases whose first run found problems (run 1 ``failed``) and
  that were retested to a verdict (a later run that passed or found problems), the share whose
  first such retest passed, i.e. the first action taken fixed the problem. Retests that could
  not complete or were cancelled tested nothing and are skipped over. A case fixed at its third
  run does not count as fixed first time; a case that passed at run 1 had nothing to fix and is
  left out, as is a case never retested.
* **Mean time to resolution**: the mean of ``resolved_at - opened_at`` over the resolved cases.
* **By region and by rep**: the same figures over the runs of each region (the gateway's region
  when the run started) and of each person who started them. Runs started by customers, or by
  someone since deleted, are grouped as "Customers / self-service". A case worked on by two reps
  counts for both, so the rows need not add up to the total.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Aggregate,
    Avg,
    Case,
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.safestring import SafeString

from portal.diagnosis.rules import RuleId, action_label, rule_label
from portal.drawing import charts
from portal.models import Finding, HanTestCase, HanTestRun, User

SELF_SERVICE_KEY = "self-service"
SELF_SERVICE_LABEL = "Customers / self-service"
NO_REGION_LABEL = "No region"
TOP_FINDINGS = 10

_Status = HanTestRun.Status
_STAFF_ROLES = (User.Role.REPRESENTATIVE, User.Role.ADMINISTRATOR)
# The outcomes runs are split by (fields of DayCounts and GroupStats), each with its runs.
_OUTCOMES: dict[str, Q] = {
    "passed": Q(status=_Status.PASSED),
    "failed": Q(status=_Status.FAILED),
    "error": Q(status=_Status.ERROR),
    "cancelled": Q(status=_Status.CANCELLED),
    "in_progress": Q(status__in=HanTestRun.ACTIVE),
}


@dataclass(frozen=True)
class FirstTimeFix:
    """Of ``denominator`` cases that could be fixed first time, ``numerator`` were."""

    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent_text(self) -> str:
        rate = self.rate
        return "—" if rate is None else f"{rate * 100:.0f} %"


@dataclass(frozen=True)
class GroupStats:
    """The figures for all runs, or for one region or one rep."""

    key: str  # the region; the user's id as text, or SELF_SERVICE_KEY; "" for the totals
    label: str
    runs: int
    passed: int
    failed: int  # problems found
    error: int  # could not complete
    cancelled: int
    in_progress: int
    cases: int
    cases_resolved: int
    first_time_fix: FirstTimeFix
    mean_time_to_resolution: datetime.timedelta | None

    @property
    def mean_time_to_resolution_text(self) -> str:
        return duration_text(self.mean_time_to_resolution)


@dataclass(frozen=True)
class DayCounts:
    day: datetime.date
    passed: int = 0
    failed: int = 0
    error: int = 0
    cancelled: int = 0
    in_progress: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.error + self.cancelled + self.in_progress


@dataclass(frozen=True)
class FindingCount:
    rule: str
    label: str
    findings: int  # a run can have several findings of one rule (one per device)
    runs: int  # runs with at least one
    action: str  # the action most often recommended for it
    action_label: str


@dataclass(frozen=True)
class DashboardReport:
    date_from: datetime.date
    date_to: datetime.date
    totals: GroupStats
    days: tuple[DayCounts, ...]  # one per day from date_from to date_to, zeros included
    findings: tuple[FindingCount, ...]  # most common first, at most TOP_FINDINGS
    by_region: tuple[GroupStats, ...]  # most runs first
    by_rep: tuple[GroupStats, ...]  # most runs first; can be long, show the top few


def dashboard_report(
    *, runs: QuerySet[HanTestRun], date_from: datetime.date, date_to: datetime.date
) -> DashboardReport:
    """Aggregate ``runs`` (already filtered, dates included, by the caller) for the dashboard.

    ``date_from`` and ``date_to`` (inclusive) only lay out the days of the chart, so days
    without runs show as zero. Six queries, whatever the number of runs.
    """
    if date_from > date_to:
        raise ValueError(f"date_from {date_from} is after date_to {date_to}")
    # Normalise whatever the caller built (joins that repeat a run, ordering, annotations) to
    # a plain set of runs, so every count below counts each run once.
    base = HanTestRun.objects.filter(pk__in=runs.values("pk")).order_by()
    findings = _findings(base)
    return DashboardReport(
        date_from=date_from,
        date_to=date_to,
        totals=_totals(base),
        days=_days(base, date_from, date_to),
        findings=findings,
        by_region=_by_region(base),
        by_rep=_by_rep(base),
    )


def duration_text(duration: datetime.timedelta | None) -> str:
    """A duration as people say it: "45 min", "3 h 20 min", "2 days 4 h"; "—" when unknown."""
    if duration is None:
        return "—"
    seconds = max(duration.total_seconds(), 0)
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(round(seconds / 3600), 24)
    day_text = "1 day" if days == 1 else f"{days} days"
    return f"{day_text} {hours} h" if hours else day_text


# --- Queries ----------------------------------------------------------------------------------


def _days(
    base: QuerySet[HanTestRun], date_from: datetime.date, date_to: datetime.date
) -> tuple[DayCounts, ...]:
    rows = (
        base.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(**_outcome_aggregates())
        .order_by("day")
    )
    by_day: dict[datetime.date, Mapping[str, Any]] = {row["day"]: row for row in rows}
    days = []
    for offset in range((date_to - date_from).days + 1):
        day = date_from + datetime.timedelta(days=offset)
        row = by_day.get(day)
        if row is None:
            days.append(DayCounts(day=day))
            continue
        days.append(DayCounts(day=day, **_outcome_counts(row)))
    return tuple(days)


def _totals(base: QuerySet[HanTestRun]) -> GroupStats:
    row = _with_case_facts(base, group=()).aggregate(**_outcome_aggregates(), **_case_aggregates())
    return _group_stats(row, key="", label="All runs")


def _by_region(base: QuerySet[HanTestRun]) -> tuple[GroupStats, ...]:
    rows = (
        _with_case_facts(base, group=("region",))
        .values("region")
        .annotate(**_outcome_aggregates(), **_case_aggregates())
        .order_by()
    )
    groups = [
        _group_stats(row, key=row["region"], label=row["region"] or NO_REGION_LABEL) for row in rows
    ]
    return tuple(sorted(groups, key=lambda group: (-group.runs, group.label.casefold())))


def _by_rep(base: QuerySet[HanTestRun]) -> tuple[GroupStats, ...]:
    # Staff are grouped one by one; customers and deleted users form one group (rep_id 0).
    is_staff = Q(started_by__role__in=_STAFF_ROLES)

    def staff_only(field: str, default: Any, output_field: Any) -> Case:
        return Case(
            When(is_staff, then=F(field)), default=Value(default), output_field=output_field
        )

    with_rep = base.annotate(rep_id=staff_only("started_by_id", 0, IntegerField()))
    rows = (
        _with_case_facts(with_rep, group=("rep_id",))
        .values(
            rep=F("rep_id"),
            rep_username=staff_only("started_by__username", "", CharField()),
            rep_first_name=staff_only("started_by__first_name", "", CharField()),
            rep_last_name=staff_only("started_by__last_name", "", CharField()),
        )
        .annotate(**_outcome_aggregates(), **_case_aggregates())
        .order_by()
    )
    groups = []
    for row in rows:
        if row["rep"]:
            full_name = f"{row['rep_first_name']} {row['rep_last_name']}".strip()
            groups.append(
                _group_stats(row, key=str(row["rep"]), label=full_name or row["rep_username"])
            )
        else:
            groups.append(_group_stats(row, key=SELF_SERVICE_KEY, label=SELF_SERVICE_LABEL))
    return tuple(sorted(groups, key=lambda group: (-group.runs, group.label.casefold())))


def _findings(base: QuerySet[HanTestRun]) -> tuple[FindingCount, ...]:
    findings = Finding.objects.filter(run__in=base.values("pk")).exclude(rule=RuleId.HEALTHY)
    top = list(
        findings.values("rule")
        .annotate(findings=Count("pk"), runs=Count("run", distinct=True))
        # Ranked by the runs that had it: ten weak devices at one premise are one case.
        .order_by("-runs", "-findings", "rule")[:TOP_FINDINGS]
    )
    if not top:
        return ()
    # Rules recommend one action each today; should that change, show the most frequent.
    actions: dict[str, str] = {}
    for row in (
        findings.filter(rule__in=[row["rule"] for row in top])
        .values("rule", "action")
        .annotate(count=Count("pk"))
        .order_by("rule", "-count", "action")
    ):
        actions.setdefault(row["rule"], row["action"])
    return tuple(
        FindingCount(
            rule=row["rule"],
            label=rule_label(row["rule"]),
            findings=row["findings"],
            runs=row["runs"],
            action=actions[row["rule"]],
            action_label=action_label(actions[row["rule"]]),
        )
        for row in top
    )


def _outcome_aggregates() -> dict[str, Aggregate]:
    return {
        "runs": Count("pk"),
        **{outcome: Count("pk", filter=runs) for outcome, runs in _OUTCOMES.items()},
    }


def _outcome_counts(row: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome fields of DayCounts or GroupStats from a row of ``_outcome_aggregates``."""
    return {outcome: row[outcome] for outcome in _OUTCOMES}


def _with_case_facts(runs: QuerySet[HanTestRun], *, group: tuple[str, ...]) -> QuerySet[HanTestRun]:
    """Annotate each run with what the first-time fix rate and the mean time need of its case.

    ``first_of_case`` marks one run per case and group (the case's earliest among ``runs`` with
    the same ``group`` values), so the mean time to resolution weighs each case once, not once
    per run.
    """
    all_runs_of_case = HanTestRun.objects.filter(case=OuterRef("case"))
    first_retest_verdict = (
        all_runs_of_case.filter(number__gt=1, status__in=(_Status.PASSED, _Status.FAILED))
        .order_by("number")
        .values("status")[:1]
    )
    earlier_in_group = runs.filter(
        case=OuterRef("case"),
        number__lt=OuterRef("number"),
        **{field: OuterRef(field) for field in group},
    )
    return runs.annotate(
        case_first_failed=Exists(all_runs_of_case.filter(number=1, status=_Status.FAILED)),
        case_first_retest_verdict=Subquery(first_retest_verdict),
        first_of_case=~Exists(earlier_in_group),
    )


def _case_aggregates() -> dict[str, Aggregate]:
    resolved = Q(case__status=HanTestCase.Status.RESOLVED, case__resolved_at__isnull=False)
    retested = Q(case_first_failed=True, case_first_retest_verdict__isnull=False)
    return {
        "cases": Count("case", distinct=True),
        "cases_resolved": Count("case", distinct=True, filter=resolved),
        "ftf_denominator": Count("case", distinct=True, filter=retested),
        "ftf_numerator": Count(
            "case",
            distinct=True,
            filter=Q(case_first_failed=True, case_first_retest_verdict=_Status.PASSED),
        ),
        "mean_time_to_resolution": Avg(
            ExpressionWrapper(
                F("case__resolved_at") - F("case__opened_at"), output_field=DurationField()
            ),
            filter=resolved & Q(first_of_case=True),
        ),
    }


def _group_stats(row: Mapping[str, Any], *, key: str, label: str) -> GroupStats:
    mean = row["mean_time_to_resolution"]
    if mean is not None and not isinstance(mean, datetime.timedelta):
        # SQLite's average of durations (microseconds) can come back as a bare number.
        mean = datetime.timedelta(microseconds=mean)
    return GroupStats(
        key=key,
        label=label,
        runs=row["runs"],
        **_outcome_counts(row),
        cases=row["cases"],
        cases_resolved=row["cases_resolved"],
        first_time_fix=FirstTimeFix(
            numerator=row["ftf_numerator"], denominator=row["ftf_denominator"]
        ),
        mean_time_to_resolution=mean,
    )


# --- Charts -----------------------------------------------------------------------------------

_OUTCOME_SERIES: tuple[tuple[str, str, str, charts.Pattern], ...] = (
    # attribute, label, colour, pattern: the patterns tell the outcomes apart without colour.
    ("passed", "Passed", "#2f855a", "solid"),
    ("failed", "Problems found", "#a4161a", "stripes"),
    ("error", "Could not complete", "#b7791f", "dots"),
    ("cancelled", "Cancelled", "#718096", "crosshatch"),
    ("in_progress", "In progress", "#0b4f8a", "lines"),
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def day_text(day: datetime.date, *, year: bool = True, weekday: bool = False) -> str:
    """ "Mar 4, 2025" (fixed English names, so the output does not depend on the locale)."""
    text = f"{_MONTHS[day.month - 1]} {day.day}"
    if year:
        text += f", {day.year}"
    if weekday:
        text = f"{_WEEKDAYS[day.weekday()]} {text}"
    return text


def dashboard_charts(report: DashboardReport) -> dict[str, SafeString]:
    """The dashboard's SVG charts: ``runs_per_day`` and ``findings``."""
    return {"runs_per_day": _runs_per_day_chart(report), "findings": _findings_chart(report)}


def _runs_per_day_chart(report: DashboardReport) -> SafeString:
    days = report.days
    one_year = report.date_from.year == report.date_to.year
    series = [
        charts.Series(
            label=label,
            values=tuple(getattr(day, attribute) for day in days),
            colour=colour,
            pattern=pattern,
        )
        for attribute, label, colour, pattern in _OUTCOME_SERIES
    ]
    # An outcome that never happened only clutters the legend.
    series = [item for item in series if any(item.values)]
    period = f"{day_text(report.date_from)} to {day_text(report.date_to)}"
    totals = report.totals
    description = (
        f"Runs started each day from {period}, stacked by outcome. "
        f"{totals.runs} runs: {totals.passed} passed, {totals.failed} problems found, "
        f"{totals.error} could not complete, {totals.cancelled} cancelled"
        + (f", {totals.in_progress} in progress" if totals.in_progress else "")
        + "."
    )
    if days and totals.runs:
        busiest = max(days, key=lambda day: (day.total, -day.day.toordinal()))
        description += f" Busiest day: {day_text(busiest.day)}, {busiest.total} runs."
    return charts.bar_chart_svg(
        chart_id="runs-per-day",
        title="Runs per day by outcome",
        description=description,
        categories=[day_text(day.day, year=not one_year) for day in days],
        category_titles=[day_text(day.day, weekday=True) for day in days],
        series=series,
        stacked=True,
        value_axis_label="Runs",
        category_axis_label="Day started" if one_year else "Day started (month day, year)",
        empty_message="No runs in this range",
    )


def _findings_chart(report: DashboardReport) -> SafeString:
    findings = report.findings
    description = "Runs with each finding, most common first; healthy runs are left out."
    if findings:
        description += " " + "; ".join(f"{item.label}: {item.runs} runs" for item in findings) + "."
    return charts.bar_chart_svg(
        chart_id="common-findings",
        title="Most common findings",
        description=description,
        categories=[item.label for item in findings],
        category_titles=[
            f"{item.label} ({item.findings} findings; usual action: {item.action_label})"
            for item in findings
        ],
        series=[
            charts.Series(
                label="Runs with it",
                values=tuple(item.runs for item in findings),
                colour="#0b4f8a",
            )
        ],
        horizontal=True,
        value_axis_label="Runs",
        empty_message="No findings in this range",
    )
