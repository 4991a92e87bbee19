import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.history import reviews
from portal.models import DiagnosisReview, HanDataAccess, HanTestRun
from tests.factories import FindingFactory, HanTestRunFactory, RecordedActionFactory
from trust_center.models import KeyAuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def finding():
    return FindingFactory(rule="weak_link", title="Weak link to the thermostat")


def _review(client, finding, **data):
    return client.post(reverse("finding_review", args=[finding.run_id, finding.pk]), data)


def test_administrator_judges_a_finding_from_the_run_page(client, administrator, finding):
    client.force_login(administrator)
    page = client.get(reverse("run_detail", args=[finding.run_id]))
    assert "Review the diagnosis" in page.text
    assert f'id="finding-{finding.pk}"' in page.text

    response = _review(client, finding, verdict="wrong", comment="It was channel interference")
    assert response.status_code == 302
    assert response["Location"].endswith(f"#finding-{finding.pk}")
    review = DiagnosisReview.objects.get(finding=finding)
    assert (review.verdict, review.rule, review.reviewed_by) == (
        "wrong",
        "weak_link",
        administrator,
    )

    page = client.get(reverse("run_detail", args=[finding.run_id]))
    assert "judged wrong" in page.text
    assert "It was channel interference" in page.text


def test_changing_a_verdict_keeps_one_review(client, administrator, finding):
    client.force_login(administrator)
    _review(client, finding, verdict="wrong", comment="No")
    _review(client, finding, verdict="right", comment="")
    assert DiagnosisReview.objects.filter(finding=finding).get().verdict == "right"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"verdict": "wrong", "comment": "  "}, "Say what was wrong"),
        ({"verdict": "maybe"}, "right or wrong"),
        ({"verdict": "right", "comment": "x" * 2001}, "under 2000"),
    ],
)
def test_a_bad_review_is_refused_with_a_reason(client, administrator, finding, data, message):
    client.force_login(administrator)
    response = _review(client, finding, **data)
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert message in page.text
    assert not DiagnosisReview.objects.exists()


def test_reps_and_customers_cannot_review(client, rep, user_a, premise_a):
    finding = FindingFactory(run=HanTestRunFactory(premise=premise_a))
    for user in (rep, user_a):
        client.force_login(user)
        assert _review(client, finding, verdict="right").status_code == 403
        page = client.get(reverse("run_detail", args=[finding.run_id]))
        assert "Review the diagnosis" not in page.text
    assert not DiagnosisReview.objects.exists()


def test_a_finding_is_reviewed_only_through_its_own_run(client, administrator, finding):
    other_run = HanTestRunFactory()
    client.force_login(administrator)
    url = reverse("finding_review", args=[other_run.pk, finding.pk])
    assert client.post(url, {"verdict": "right"}).status_code == 404


def test_active_runs_are_not_offered_for_review(client, administrator):
    finding = FindingFactory(run=HanTestRunFactory(status=HanTestRun.Status.RUNNING))
    client.force_login(administrator)
    page = client.get(reverse("run_detail", args=[finding.run_id]))
    assert "Review the diagnosis" not in page.text


def test_disagreement_report_by_rule(client, administrator):
    for verdict in ("wrong", "wrong", "right", None):
        finding = FindingFactory(rule="weak_link")
        if verdict:
            reviews.diagnosis_review_record(
                finding=finding, user=administrator, verdict=verdict, comment="checked on site"
            )
    reviews.diagnosis_review_record(
        finding=FindingFactory(rule="insecure_join"), user=administrator, verdict="right"
    )
    report = {row.rule: row for row in reviews.disagreement_report()}
    assert (report["weak_link"].findings, report["weak_link"].reviewed) == (4, 3)
    assert report["weak_link"].disagreement_rate == pytest.approx(2 / 3)
    assert report["insecure_join"].disagreement_rate == 0

    client.force_login(administrator)
    page = client.get(reverse("review_report"))
    assert page.status_code == 200
    rows = page.context["rules"]
    assert rows[0].rule == "weak_link"  # worst first
    assert "67%" in page.text
    assert "checked on site" in page.text


def test_report_period_excludes_old_runs(administrator):
    old = FindingFactory(rule="weak_link")
    HanTestRun.objects.filter(pk=old.run_id).update(
        created_at=timezone.now() - dt.timedelta(days=400)
    )
    since = timezone.now() - dt.timedelta(days=90)
    assert reviews.disagreement_report(date_from=since) == []


def test_review_pages_are_for_administrators(client, rep, user_a):
    for user in (rep, user_a):
        client.force_login(user)
        assert client.get(reverse("review_report")).status_code == 403
        assert client.get(reverse("audit_log")).status_code == 403
        assert client.get(reverse("dashboard")).status_code == 403


def test_audit_log_lists_who_viewed_what(client, administrator, rep, premise_a):
    run = HanTestRunFactory(premise=premise_a)
    client.force_login(rep)
    client.get(reverse("run_detail", args=[run.pk]))
    client.force_login(administrator)
    page = client.get(reverse("audit_log"), {"user": "rita"})
    assert page.status_code == 200
    rows = page.context["page"].rows
    assert [access.what for access in rows] == [f"HAN test run {run.pk}"]
    assert premise_a.customer.name in page.text
    nobody = client.get(reverse("audit_log"), {"user": "nobody"})
    assert nobody.context["page"].rows == []


def test_audit_log_pages_through_many_entries(client, administrator, rep, customer_a):
    HanDataAccess.objects.bulk_create(
        HanDataAccess(user=rep, customer=customer_a, what=f"view {i}") for i in range(60)
    )
    client.force_login(administrator)
    first = client.get(reverse("audit_log"), {"user": "rita"})
    assert len(first.context["page"].rows) == 50
    second = client.get(
        reverse("audit_log"), {"user": "rita", "cursor": first.context["page"].next_cursor}
    )
    whats = {a.what for a in first.context["page"].rows} | {
        a.what for a in second.context["page"].rows
    }
    assert len(whats) == 60


def test_audit_log_shows_key_operations(client, administrator):
    KeyAuditEvent.objects.create(
        action=KeyAuditEvent.Action.CREDENTIAL_ROTATED,
        gateway_label="MTR-777",
        detail="Gateway credential rotated.",
    )
    client.force_login(administrator)
    page = client.get(reverse("audit_log"), {"kind": "keys", "account": "MTR-777"})
    assert "Gateway credential rotated" in page.text
    assert len(page.context["page"].rows) == 1


def test_run_page_tells_who_did_what(client, rep, administrator):
    run = HanTestRunFactory(started_by=rep)
    RecordedActionFactory(run=run, recorded_by=rep, action="change_range", note="moved it")
    reviews.diagnosis_review_record(
        finding=FindingFactory(run=run), user=administrator, verdict="right"
    )
    client.force_login(administrator)
    page = client.get(reverse("run_detail", args=[run.pk]))
    timeline = page.context["snapshot"]["timeline"]
    whats = [event["what"] for event in timeline]
    assert whats[0] == "opened the case"
    assert any(what.startswith("started run") for what in whats)
    assert any("Move the device closer" in what and "moved it" in what for what in whats)
    assert any(what.startswith("judged") for what in whats)
    assert "Who did what in this case" in page.text


def test_customers_see_no_staff_timeline(client, user_a, premise_a):
    run = HanTestRunFactory(premise=premise_a)
    client.force_login(user_a)
    page = client.get(reverse("run_detail", args=[run.pk]))
    assert page.status_code == 200
    assert "Who did what" not in page.text


def test_api_review_by_administrator(client, administrator, rep, finding):
    url = reverse("api:finding_review", args=[finding.run_id, finding.pk])
    client.force_login(rep)
    assert client.put(url, {"verdict": "right"}, content_type="application/json").status_code == 403
    client.force_login(administrator)
    bad = client.put(url, {"verdict": "wrong"}, content_type="application/json")
    assert bad.status_code == 400
    assert "comment" in bad.json()
    ok = client.put(url, {"verdict": "wrong", "comment": "missed"}, content_type="application/json")
    assert ok.status_code == 200
    assert ok.json()["verdict"] == "wrong"


@pytest.mark.parametrize(
    "params",
    [
        {"date_to": "9999-12-31"},
        {"date_to": "0001-01-01"},
        {"date_from": "9999-12-31"},
        {"date_from": "0001-01-01"},
    ],
)
def test_dashboard_keeps_any_date_range_within_bounds(client, administrator, params):
    HanTestRunFactory()
    client.force_login(administrator)
    response = client.get(reverse("dashboard"), params)
    assert response.status_code == 200
    report = response.context["report"]
    assert report.date_to <= timezone.localdate()
    assert (report.date_to - report.date_from).days < 731
