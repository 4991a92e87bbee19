"""A review the administrator sent that could not be recorded: kept in their session for the
one page view that follows, so the run page shows the error at that finding's form with their
choice and comment still in it."""

from typing import Any

from django.http import HttpRequest

from portal.models import Finding

SESSION_KEY = "review_drafts"


def review_draft_keep(
    request: HttpRequest, finding: Finding, *, verdict: str, comment: str, error: str
) -> None:
    drafts = request.session.get(SESSION_KEY, {})
    drafts[str(finding.pk)] = {"verdict": verdict[:16], "comment": comment[:2000], "error": error}
    request.session[SESSION_KEY] = drafts


def review_drafts_take(request: HttpRequest, findings: list[Finding]) -> list[Finding]:
    """The findings, each with ``review_draft`` (a dict, or None); the drafts are used up."""
    drafts: dict[str, Any] = request.session.get(SESSION_KEY, {})
    for finding in findings:
        finding.review_draft = drafts.pop(str(finding.pk), None)  # type: ignore[attr-defined]
    if SESSION_KEY in request.session:
        if drafts:
            request.session[SESSION_KEY] = drafts
        else:
            del request.session[SESSION_KEY]
    return findings
