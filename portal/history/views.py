"""Pages for reviewing the diagnosis history: history, export, dashboard, reviews, audit log."""

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portal.access.roles import (
    administrator_required,
    user_is_administrator,
    utility_staff_required,
)
from portal.history import queries, reviews
from portal.history.dashboard import dashboard_charts, dashboard_report
from portal.history.export import history_csv_lines
from portal.history.filters import HistoryFilter, filter_suggestions, history_filter, start_of
from portal.history.pagination import Cursor, InvalidCursor, KeysetPage, keyset_page
from portal.history.table import history_table_rows
from portal.models import HanDataAccess, User
from portal.test_runs.review_drafts import review_draft_keep
from portal.test_runs.selectors import run_get_for_user, runs_visible_to
from trust_center.models import KeyAuditEvent


def _without(params: QueryDict, *names: str) -> str:
    kept = params.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()


def _cursor(request: HttpRequest) -> Cursor | None:
    token = request.GET.get("cursor", "")
    if not token:
        return None
    try:
        return Cursor.decode(token[:200])
    except InvalidCursor:
        messages.info(request, "That page link was not valid, so the first page is shown.")
        return None


@require_GET
@utility_staff_required
def history_list(request: HttpRequest) -> HttpResponse:
    filters = history_filter(request.GET, runs=runs_visible_to(request.user))
    valid = filters.is_valid()
    page: KeysetPage[Any] = KeysetPage([], None, None)
    if valid:
        cursor = _cursor(request)
        try:
            with queries.history_time_limit():
                page = queries.history_page(
                    filters.qs,
                    cursor=cursor,
                    newest_first=filters.newest_first,
                    page_size=filters.page_size,
                )
        except queries.HistoryTooSlow:
            messages.warning(
                request,
                "These filters match too few of the runs to find them quickly: "
                "add a date range, or remove a filter.",
            )
    return render(
        request,
        "portal/history.html",
        {
            "filters": filters,
            "form": filters.form,
            "page": page,
            "filtered_query": _without(request.GET, "cursor"),
            "suggestions": filter_suggestions(),
            "is_administrator": user_is_administrator(request.user),
            "table_rows": history_table_rows(
                page.rows, administrator=user_is_administrator(request.user)
            ),
            "no_omits": (),
        },
        status=200 if valid else 400,
    )


async def _in_chunks(lines: Iterator[str], *, lines_per_chunk: int = 500) -> AsyncIterator[str]:
    """Hand the sync, database-reading iterator to the server a chunk at a time.

    Under ASGI a sync iterator would be read whole into memory before the first byte left.
    """

    def take() -> str:
        chunk = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= lines_per_chunk:
                break
        return "".join(chunk)

    while chunk := await sync_to_async(take, thread_sensitive=True)():
        yield chunk


@require_GET
@administrator_required
def history_export(request: HttpRequest) -> HttpResponseBase:
    filters = history_filter(request.GET, runs=runs_visible_to(request.user))
    if not filters.is_valid():
        messages.error(request, "Correct the filters before exporting.")
        return redirect(f"{reverse('history')}?{_without(request.GET, 'cursor')}")
    lines = history_csv_lines(filters.qs, newest_first=filters.newest_first)
    response = StreamingHttpResponse(_in_chunks(lines), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="han-test-history-{stamp}.csv"'
    return response


DASHBOARD_DEFAULT_DAYS = 30
DASHBOARD_MAX_DAYS = 731
DASHBOARD_EARLIEST = dt.date(2000, 1, 1)


def _date_range(request: HttpRequest, filters: HistoryFilter) -> tuple[dt.date, dt.date]:
    """The dashboard's range: the filters' dates, else the last 30 days; at most two years.

    Nothing ran after today, and a chart of centuries would be a bar per day of them.
    """
    data = filters.form.cleaned_data
    today = timezone.localdate()

    def bounded(day: dt.date) -> dt.date:
        return max(min(day, today), DASHBOARD_EARLIEST)

    date_to = bounded(data.get("date_to") or today)
    date_from = bounded(
        data.get("date_from") or date_to - dt.timedelta(days=DASHBOARD_DEFAULT_DAYS - 1)
    )
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    if (date_to - date_from).days >= DASHBOARD_MAX_DAYS:
        date_from = date_to - dt.timedelta(days=DASHBOARD_MAX_DAYS - 1)
        messages.info(
            request, "The dashboard covers at most two years: showing the last two of the range."
        )
    return date_from, date_to


@require_GET
@administrator_required
def dashboard(request: HttpRequest) -> HttpResponse:
    filters = history_filter(request.GET, runs=runs_visible_to(request.user))
    if not filters.is_valid():
        return render(
            request,
            "portal/dashboard.html",
            {
                "filters_form": filters.form,
                "report": None,
                "charts": {},
                "dashboard_omits": ("sort", "per_page"),
            },
            status=400,
        )
    date_from, date_to = _date_range(request, filters)
    runs = filters.qs.filter(
        created_at__gte=start_of(date_from),
        created_at__lt=start_of(date_to + dt.timedelta(days=1)),
    )
    report = dashboard_report(runs=runs, date_from=date_from, date_to=date_to)
    query = _without(request.GET, "cursor")
    return render(
        request,
        "portal/dashboard.html",
        {
            "filters_form": filters.form,
            "report": report,
            "charts": dashboard_charts(report),
            "date_from": date_from,
            "date_to": date_to,
            "export_url": f"{reverse('history_export')}?{query}",
            "history_url": f"{reverse('history')}?{query}",
            "suggestions": filter_suggestions(),
            "dashboard_omits": ("sort", "per_page"),
        },
    )


@require_POST
@administrator_required
def finding_review(request: HttpRequest, run_id: int, finding_id: int) -> HttpResponse:
    run = run_get_for_user(user=request.user, run_id=run_id)
    finding = None if run is None else reviews.finding_get_for_run(run=run, finding_id=finding_id)
    if run is None or finding is None:
        raise Http404("No such finding.")
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    try:
        reviews.diagnosis_review_record(
            finding=finding,
            user=user,
            verdict=request.POST.get("verdict", ""),
            comment=request.POST.get("comment", ""),
        )
    except reviews.ReviewError as error:
        # Shown at the form itself, with what was chosen and written kept.
        review_draft_keep(
            request,
            finding,
            verdict=request.POST.get("verdict", ""),
            comment=request.POST.get("comment", ""),
            error=str(error),
        )
    else:
        messages.success(request, f"Review of “{finding.title}” recorded.")
    return redirect(f"{reverse('run_detail', args=[run.pk])}#finding-{finding.pk}")


@require_GET
@administrator_required
def review_report(request: HttpRequest) -> HttpResponse:
    days = request.GET.get("days", "90")
    period = int(days) if days.isdigit() and 1 <= int(days) <= 3660 else 90
    since = timezone.now() - dt.timedelta(days=period)
    return render(
        request,
        "portal/review_report.html",
        {
            "rules": reviews.disagreement_report(date_from=since),
            "disagreements": reviews.recent_disagreements(),
            "days": period,
            "periods": [30, 90, 365],
        },
    )


@require_GET
@administrator_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """Who looked at which customer's HAN, and every key operation, newest first."""
    kind = "keys" if request.GET.get("kind") == "keys" else "views"
    username = request.GET.get("user", "").strip()[:150]
    account = request.GET.get("account", "").strip()[:32]
    cursor = _cursor(request)
    page: KeysetPage[Any]
    if kind == "views":
        accesses = HanDataAccess.objects.select_related("user", "customer", "premise")
        if username:
            accesses = accesses.filter(user__username=username)
        if account:
            accesses = accesses.filter(customer__account_number=account)
        page = keyset_page(accesses, field="at", cursor=cursor)
    else:
        events = KeyAuditEvent.objects.select_related("actor")
        if username:
            events = events.filter(actor__username=username)
        if account:
            events = events.filter(gateway_label=account)
        page = keyset_page(events, field="occurred_at", cursor=cursor)
    return render(
        request,
        "portal/audit_log.html",
        {
            "kind": kind,
            "page": page,
            "user_filter": username,
            "account_filter": account,
            "filtered_query": _without(request.GET, "cursor"),
        },
    )
