"""The history table's rows, rendered once for the page and the live refresh."""

from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from portal.models import Finding, HanTestRun


def history_table_rows(runs: list[HanTestRun], *, administrator: bool) -> SafeString:
    """The rows of the history table, built here rather than in the template.

    The history is the page admins page through most; Django's template engine spent most of
    its time resolving the same few attributes fifty times over. Every value is escaped.
    """
    run_url = reverse("run_detail", args=[0]).removesuffix("0/")
    customer_url = reverse("customer_detail", args=[0]).removesuffix("0/")
    rows = []
    for run in runs:
        premise = run.premise
        gateway = premise.premises_gateway
        started_by = run.started_by
        if started_by is None:
            who = "—"
        else:
            who = format_html(
                "{}{}",
                started_by.get_full_name() or started_by.username,
                mark_safe(' <span class="badge">customer</span>')
                if started_by.role == started_by.Role.CUSTOMER
                else "",
            )
        findings = [
            format_html(
                '<li class="history__finding history__finding--{}">{}{}</li>',
                finding.severity,
                finding.title,
                _review_badge(finding) if administrator else "",
            )
            for finding in run.findings.all()
        ] or [mark_safe('<li class="muted">—</li>')]
        actions = [action.action_label for action in run.actions.all()]
        rows.append(
            format_html(
                '<tr data-run-id="{}">'
                '<th scope="row"><a href="{}{}/">Case {} · run {}</a><br>'
                '<span class="badge">case {}</span></th>'
                '<td><time datetime="{}">{}</time></td>'
                '<td><a href="{}{}/">{}</a><br><span class="muted">{}, {}</span></td>'
                '<td>{}<br><span class="muted">{}{}</span></td>'
                "<td>{}</td>"
                '<td><span class="status status--{}">{}</span></td>'
                '<td><ul class="history__findings">{}</ul></td>'
                "<td>{}</td></tr>",
                run.pk,
                run_url,
                run.pk,
                run.case_id,
                run.number,
                run.case.get_status_display().lower(),
                run.created_at.isoformat(),
                timezone.localtime(run.created_at).strftime("%Y-%m-%d %H:%M"),
                customer_url,
                premise.customer_id,
                premise.customer.name,
                premise.address_line,
                premise.city,
                gateway.meter_number if gateway else "—",
                run.gateway_model or "—",
                f" · {run.region}" if run.region else "",
                who,
                run.status,
                run.get_status_display(),
                mark_safe("".join(findings)),  # noqa: S308 - each item built by format_html
                ", ".join(actions) if actions else mark_safe('<span class="muted">—</span>'),
            )
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - each row built by format_html


def _review_badge(finding: Finding) -> SafeString | str:
    review = getattr(finding, "review", None)
    if review is None:
        return ""
    return format_html(
        ' <span class="badge badge--review-{}">judged {}</span>',
        review.verdict,
        review.get_verdict_display().lower(),
    )
