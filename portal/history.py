"""The history of HAN test runs: filters, keyset pages and the CSV export.

A utility keeps millions of runs, so a page never counts the table or skips with OFFSET:
it asks for the next rows after the last one shown, walking an index on
(created_at, id). The filters are EXISTS subqueries on indexed (value, run) pairs.
"""

import base64
import binascii
import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import django_filters
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.db.models import Exists, Model, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from psycopg.errors import QueryCanceled

from portal.diagnosis import ACTION_LABELS, RuleId
from portal.models import (
    DiagnosisReview,
    Finding,
    HanTestCase,
    HanTestRun,
    ObservedDevice,
    RecordedAction,
    User,
)

M = TypeVar("M", bound=Model)

PAGE_SIZES = (25, 50)
DEFAULT_PAGE_SIZE = 50
EXPORT_CHUNK = 2000

Runs = QuerySet[HanTestRun]


def rule_choices() -> list[tuple[str, str]]:
    return [(rule.value, rule.value.replace("_", " ").capitalize()) for rule in RuleId]


def action_choices() -> list[tuple[str, str]]:
    return [(action.value, label) for action, label in ACTION_LABELS.items()]


class DateInput(forms.DateInput):
    input_type = "date"


class HistoryFilter(django_filters.FilterSet):
    """What an administrator narrows the history by; every filter is optional."""

    date_from = django_filters.DateFilter(
        label="From", method="filter_date_from", widget=DateInput()
    )
    date_to = django_filters.DateFilter(label="To", method="filter_date_to", widget=DateInput())
    outcome = django_filters.ChoiceFilter(
        label="Outcome", field_name="status", choices=HanTestRun.Status.choices
    )
    case_status = django_filters.ChoiceFilter(
        label="Case", field_name="case__status", choices=HanTestCase.Status.choices
    )
    finding = django_filters.ChoiceFilter(
        label="Finding", choices=rule_choices, method="filter_finding"
    )
    recommended = django_filters.ChoiceFilter(
        label="Recommended action", choices=action_choices, method="filter_recommended"
    )
    taken = django_filters.ChoiceFilter(
        label="Action taken",
        choices=lambda: [*action_choices(), ("other", "Other")],
        method="filter_taken",
    )
    rep = django_filters.CharFilter(
        label="Started by (user name)", method="filter_rep", max_length=150
    )
    region = django_filters.CharFilter(label="Region", field_name="region", max_length=32)
    gateway_model = django_filters.CharFilter(
        label="Meter model", field_name="gateway_model", max_length=64
    )
    device_model = django_filters.CharFilter(
        label="Device model", method="filter_device_model", max_length=64
    )
    review = django_filters.ChoiceFilter(
        label="Review",
        choices=[
            ("unreviewed", "Not reviewed"),
            (DiagnosisReview.Verdict.RIGHT, "Judged right"),
            (DiagnosisReview.Verdict.WRONG, "Judged wrong"),
        ],
        method="filter_review",
    )
    sort = django_filters.ChoiceFilter(
        label="Order",
        choices=[("newest", "Newest first"), ("oldest", "Oldest first")],
        method="filter_nothing",
        empty_label=None,
    )
    per_page = django_filters.ChoiceFilter(
        label="Per page",
        choices=[(str(size), str(size)) for size in PAGE_SIZES],
        method="filter_nothing",
        empty_label=None,
    )

    class Meta:
        model = HanTestRun
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("region", "gateway_model", "device_model"):
            self.form.fields[name].widget.attrs.update(list=f"known-{name}", autocomplete="off")

    # The first and last days a date can name bound nothing, and their midnights may not exist
    # in UTC: they are left out rather than computed.
    def filter_date_from(self, queryset: Runs, name: str, value: dt.date) -> Runs:
        if value <= dt.date.min + dt.timedelta(days=1):
            return queryset
        return queryset.filter(created_at__gte=start_of(value))

    def filter_date_to(self, queryset: Runs, name: str, value: dt.date) -> Runs:
        if value >= dt.date.max - dt.timedelta(days=1):
            return queryset
        return queryset.filter(created_at__lt=start_of(value + dt.timedelta(days=1)))

    def filter_finding(self, queryset: Runs, name: str, value: str) -> Runs:
        return queryset.filter(Exists(Finding.objects.filter(rule=value, run_id=OuterRef("pk"))))

    def filter_recommended(self, queryset: Runs, name: str, value: str) -> Runs:
        return queryset.filter(Exists(Finding.objects.filter(action=value, run_id=OuterRef("pk"))))

    def filter_taken(self, queryset: Runs, name: str, value: str) -> Runs:
        return queryset.filter(
            Exists(RecordedAction.objects.filter(action=value, run_id=OuterRef("pk")))
        )

    def filter_device_model(self, queryset: Runs, name: str, value: str) -> Runs:
        return queryset.filter(
            Exists(ObservedDevice.objects.filter(model=value.strip(), run_id=OuterRef("pk")))
        )

    def filter_review(self, queryset: Runs, name: str, value: str) -> Runs:
        reviews = DiagnosisReview.objects.filter(run_id=OuterRef("pk"))
        if value == "unreviewed":
            finished = queryset.exclude(status__in=HanTestRun.ACTIVE)
            return finished.filter(~Exists(reviews))
        return queryset.filter(Exists(reviews.filter(verdict=value)))

    def filter_rep(self, queryset: Runs, name: str, value: str) -> Runs:
        # By id, not by a join on the user: the planner can then walk the rep's own index.
        rep = User.objects.filter(username=value.strip()).values("pk")[:1]
        return queryset.filter(started_by_id=Subquery(rep))

    def filter_nothing(self, queryset: Runs, name: str, value: Any) -> Runs:
        return queryset

    @property
    def newest_first(self) -> bool:
        data = getattr(self.form, "cleaned_data", {})
        return data.get("sort") != "oldest"

    @property
    def page_size(self) -> int:
        data = getattr(self.form, "cleaned_data", {})
        size = data.get("per_page")
        return int(size) if size and int(size) in PAGE_SIZES else DEFAULT_PAGE_SIZE


def start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def history_filter(data: Any, *, runs: QuerySet[HanTestRun]) -> HistoryFilter:
    # Always bound: no filters is a valid request for everything.
    return HistoryFilter(data if data is not None else {}, queryset=runs)


def filter_suggestions() -> dict[str, list[str]]:
    """Known regions, meter models and device models for the filters' autocomplete.

    Distinct values over millions of rows are not free, so they are cached for a while.
    """
    cached: dict[str, list[str]] | None = cache.get("history:suggestions")
    if cached is not None:
        return cached
    from han_gateway.models import HanDevice, PremisesGateway

    suggestions = {
        "region": sorted(
            set(PremisesGateway.objects.values_list("region", flat=True).distinct()[:200])
        ),
        "gateway_model": sorted(
            set(PremisesGateway.objects.values_list("model", flat=True).distinct()[:200])
        ),
        "device_model": sorted(
            set(HanDevice.objects.exclude(model="").values_list("model", flat=True)[:5000])
        )[:200],
    }
    cache.set("history:suggestions", suggestions, 600)
    return suggestions


class InvalidCursor(ValueError):
    """A page link that was tampered with or has expired its format."""


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: just past (or, walking back, just before) one row."""

    at: dt.datetime
    row_id: int
    before: bool  # True: the page before this row; False: the page after it.

    def encode(self) -> str:
        text = f"{'b' if self.before else 'a'}|{self.at.isoformat()}|{self.row_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        try:
            padded = token + "=" * (-len(token) % 4)
            direction, at, row_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
            moment = dt.datetime.fromisoformat(at)
            if direction not in {"a", "b"} or moment.tzinfo is None:
                raise ValueError(token)
            # A moment the database cannot hold (it must exist in UTC) is no row's.
            moment.astimezone(dt.UTC)
            return cls(at=moment, row_id=int(row_id), before=direction == "b")
        except (ValueError, OverflowError, binascii.Error) as error:
            raise InvalidCursor("That page link is not valid.") from error


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    rows: list[M]
    next_cursor: str | None
    previous_cursor: str | None


def _beyond(field: str, cursor: Cursor, *, descending: bool) -> Q:
    """Rows strictly past the cursor in the walking order.

    The first condition is a plain range the index can seek to; the second only settles
    rows that share the cursor's timestamp.
    """
    if descending:
        return Q(**{f"{field}__lte": cursor.at}) & (
            Q(**{f"{field}__lt": cursor.at}) | Q(pk__lt=cursor.row_id)
        )
    return Q(**{f"{field}__gte": cursor.at}) & (
        Q(**{f"{field}__gt": cursor.at}) | Q(pk__gt=cursor.row_id)
    )


def keyset_page(
    queryset: QuerySet[M],
    *,
    field: str,
    cursor: Cursor | None,
    newest_first: bool = True,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> KeysetPage[M]:
    """One page of rows in (field, id) order, after or before a cursor; never an OFFSET."""
    walking_backwards = cursor is not None and cursor.before
    descending = newest_first != walking_backwards
    order = [f"-{field}", "-pk"] if descending else [field, "pk"]
    queryset = queryset.order_by(*order)
    if cursor is not None:
        queryset = queryset.filter(_beyond(field, cursor, descending=descending))
    rows = list(queryset[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    if walking_backwards:
        rows.reverse()
    if not rows:
        return KeysetPage([], None, None)
    first, last = rows[0], rows[-1]
    has_next = more if not walking_backwards else True
    has_previous = (cursor is not None) if not walking_backwards else more
    return KeysetPage(
        rows=rows,
        next_cursor=Cursor(getattr(last, field), last.pk, before=False).encode()
        if has_next
        else None,
        previous_cursor=Cursor(getattr(first, field), first.pk, before=True).encode()
        if has_previous
        else None,
    )


def history_rows(runs: QuerySet[HanTestRun]) -> QuerySet[HanTestRun]:
    """What a history row shows, in a fixed number of queries whatever the page size."""
    return runs.select_related(
        "case", "premise__customer", "premise__premises_gateway", "started_by"
    ).prefetch_related(
        Prefetch("findings", queryset=Finding.objects.select_related("review")),
        Prefetch("actions", queryset=RecordedAction.objects.only("run_id", "action")),
    )


def history_page(
    runs: QuerySet[HanTestRun],
    *,
    cursor: Cursor | None,
    newest_first: bool = True,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> KeysetPage[HanTestRun]:
    return keyset_page(
        history_rows(runs),
        field="created_at",
        cursor=cursor,
        newest_first=newest_first,
        page_size=page_size,
    )


class HistoryTooSlow(Exception):
    """The database gave up on a page within the time limit (rare filters, no date range)."""


def history_page_within_time_limit(
    runs: QuerySet[HanTestRun],
    *,
    cursor: Cursor | None,
    newest_first: bool = True,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> KeysetPage[HanTestRun]:
    """A history page, or ``HistoryTooSlow`` rather than a page that keeps someone waiting.

    Filters that match a handful of runs among millions walk the whole newest-first index;
    on PostgreSQL the page's queries get ``HAN_HISTORY_QUERY_TIMEOUT_MS`` each.
    """
    if connection.vendor != "postgresql":
        return history_page(runs, cursor=cursor, newest_first=newest_first, page_size=page_size)
    limit_ms = int(settings.HAN_HISTORY_QUERY_TIMEOUT_MS)
    try:
        with transaction.atomic():
            with connection.cursor() as database:
                database.execute(f"SET LOCAL statement_timeout = {limit_ms}")
            return history_page(runs, cursor=cursor, newest_first=newest_first, page_size=page_size)
    except OperationalError as error:
        if not isinstance(error.__cause__, QueryCanceled):
            raise
        raise HistoryTooSlow from error


EXPORT_HEADER = [
    "run_id",
    "case_id",
    "run_number",
    "started_at",
    "finished_at",
    "outcome",
    "case_status",
    "customer_account",
    "service_point_id",
    "meter_number",
    "region",
    "meter_model",
    "started_by",
    "findings",
    "recommended_actions",
    "actions_taken",
    "review",
]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a stream."""

    def write(self, value: str) -> str:
        return value


def _spreadsheet_safe(value: str) -> str:
    """Text a spreadsheet would run as a formula is prefixed so it stays text."""
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value


def history_csv_lines(runs: QuerySet[HanTestRun], *, newest_first: bool = True) -> Iterator[str]:
    """The export, one line at a time: keyset chunks, so memory stays flat for any range."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_HEADER)
    cursor: Cursor | None = None
    while True:
        page = history_page(runs, cursor=cursor, newest_first=newest_first, page_size=EXPORT_CHUNK)
        for run in page.rows:
            yield writer.writerow([_spreadsheet_safe(str(cell)) for cell in _export_row(run)])
        if page.next_cursor is None:
            return
        cursor = Cursor.decode(page.next_cursor)


def _export_row(run: HanTestRun) -> Iterable[object]:
    findings = list(run.findings.all())
    reviews = [
        f"{finding.rule}:{finding.review.verdict}"
        for finding in findings
        if hasattr(finding, "review")
    ]
    gateway = run.premise.premises_gateway
    return [
        run.pk,
        run.case_id,
        run.number,
        run.created_at.isoformat(),
        run.finished_at.isoformat() if run.finished_at else "",
        run.status,
        run.case.status,
        run.premise.customer.account_number,
        run.premise.service_point_id,
        gateway.meter_number if gateway else "",
        run.region,
        run.gateway_model,
        run.started_by.username if run.started_by else "",
        ";".join(finding.rule for finding in findings),
        ";".join(sorted({finding.action for finding in findings})),
        ";".join(action.action for action in run.actions.all()),
        ";".join(reviews),
    ]
