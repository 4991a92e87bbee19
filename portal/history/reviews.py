"""Administrators' judgement of the diagnosis, and the report that tunes the rules."""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from portal.diagnosis.rules import rule_label
from portal.models import DiagnosisReview, Finding, HanTestRun, User
from portal.test_runs.start import words_required

COMMENT_MAX_LENGTH = 2000


class ReviewError(ValueError):
    """The review cannot be recorded; the message says why."""


def diagnosis_review_record(
    *, finding: Finding, user: User, verdict: str, comment: str = ""
) -> DiagnosisReview:
    """Record (or change) the verdict on one finding. A "wrong" verdict needs a comment."""
    if user.role != User.Role.ADMINISTRATOR:
        raise PermissionError("Only administrators review diagnoses.")
    if verdict not in DiagnosisReview.Verdict.values:
        raise ReviewError("Choose whether the finding was right or wrong.")
    comment = words_required(
        comment,
        missing="Say what was wrong, so the rule can be tuned."
        if verdict == DiagnosisReview.Verdict.WRONG
        else None,
        limit=COMMENT_MAX_LENGTH,
        what="the comment",
        error=ReviewError,
    )
    with transaction.atomic():
        review, _ = DiagnosisReview.objects.update_or_create(
            finding=finding,
            defaults={
                "run_id": finding.run_id,
                "rule": finding.rule,
                "verdict": verdict,
                "comment": comment,
                "reviewed_by": user,
                "reviewed_at": timezone.now(),
            },
        )
    return review


def finding_get_for_run(*, run: HanTestRun, finding_id: int) -> Finding | None:
    return run.findings.filter(pk=finding_id).first()


@dataclass(frozen=True)
class RuleAgreement:
    rule: str
    findings: int
    reviewed: int
    right: int
    wrong: int

    @property
    def label(self) -> str:
        return rule_label(self.rule)

    @property
    def disagreement_rate(self) -> float | None:
        return None if not self.reviewed else self.wrong / self.reviewed

    @property
    def review_coverage(self) -> float | None:
        return None if not self.findings else self.reviewed / self.findings


def disagreement_report(
    *, date_from: dt.datetime | None = None, date_to: dt.datetime | None = None
) -> list[RuleAgreement]:
    """Per rule: how often it fired, how often it was reviewed, and how often judged wrong.

    The range is on when the run was made. Worst disagreement first, then the busiest rules.
    """
    findings: QuerySet[Finding] = Finding.objects.all()
    if date_from is not None:
        findings = findings.filter(run__created_at__gte=date_from)
    if date_to is not None:
        findings = findings.filter(run__created_at__lt=date_to)
    counts = findings.values("rule").annotate(
        total=Count("pk"),
        reviewed=Count("review"),
        right=Count("review", filter=Q(review__verdict=DiagnosisReview.Verdict.RIGHT)),
        wrong=Count("review", filter=Q(review__verdict=DiagnosisReview.Verdict.WRONG)),
    )
    rows = [
        RuleAgreement(
            rule=row["rule"],
            findings=row["total"],
            reviewed=row["reviewed"],
            right=row["right"],
            wrong=row["wrong"],
        )
        for row in counts
    ]
    return sorted(rows, key=lambda row: (-(row.disagreement_rate or 0), -row.findings, row.rule))


def recent_disagreements(*, limit: int = 20) -> QuerySet[DiagnosisReview]:
    """The latest "wrong" verdicts with their comments, for whoever tunes the rules."""
    return (
        DiagnosisReview.objects.filter(verdict=DiagnosisReview.Verdict.WRONG)
        .select_related("finding__run", "reviewed_by")
        .order_by("-reviewed_at")[:limit]
    )
