"""The history's runs: the rows a page shows, one page of them, within the database's time limit."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Prefetch, QuerySet
from psycopg.errors import QueryCanceled

from portal.history.pagination import DEFAULT_PAGE_SIZE, Cursor, KeysetPage, keyset_page
from portal.models import Finding, HanTestRun, RecordedAction

Runs = QuerySet[HanTestRun]


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


@contextmanager
def history_time_limit() -> Iterator[None]:
    """Read a history page inside: ``HistoryTooSlow`` rather than a page that keeps someone waiting.

    Filters that match a handful of runs among millions walk the whole newest-first index;
    on PostgreSQL the queries inside get ``HAN_HISTORY_QUERY_TIMEOUT_MS`` each.
    """
    if connection.vendor != "postgresql":
        yield
        return
    limit_ms = int(settings.HAN_HISTORY_QUERY_TIMEOUT_MS)
    try:
        with transaction.atomic():
            # Inside a caller's transaction this block is a savepoint, and a limit set with
            # SET LOCAL would outlive it: put the caller's own limit back on the way out.
            # (A cancelled query rolls the savepoint back, which restores it too.)
            with connection.cursor() as database:
                database.execute(
                    "SELECT current_setting('statement_timeout'),"
                    " set_config('statement_timeout', %s, true)",
                    [f"{limit_ms}ms"],
                )
                callers_limit = database.fetchone()[0]
            yield
            with connection.cursor() as database:
                database.execute(
                    "SELECT set_config('statement_timeout', %s, true)", [callers_limit]
                )
    except OperationalError as error:
        if not isinstance(error.__cause__, QueryCanceled):
            raise
        raise HistoryTooSlow from error
