"""The history as CSV, streamed, with cells a spreadsheet will not run as formulas."""

import csv
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from portal.history.pagination import Cursor
from portal.history.queries import history_page
from portal.models import (
    HanTestRun,
)

EXPORT_CHUNK = 2000


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
