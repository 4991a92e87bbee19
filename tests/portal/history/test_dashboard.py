import datetime
from xml.etree import ElementTree

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.history.dashboard import (
    SELF_SERVICE_KEY,
    SELF_SERVICE_LABEL,
    dashboard_charts,
    dashboard_report,
    duration_text,
)
from portal.models import HanTestCase, HanTestRun, User
from tests.factories import FindingFactory, HanTestCaseFactory, HanTestRunFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = HanTestRun.Status
FIRST_DAY = datetime.date(2025, 3, 1)
LAST_DAY = datetime.date(2025, 3, 7)


def local(day: datetime.date, hour: int = 12, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time(hour, minute), tzinfo=timezone.get_current_timezone()
    )


def make_case(
    statuses,
    *,
    day=FIRST_DAY,
    started_by=None,
    region="north",
    resolved_after=None,
):
    """A case with one run per status, numbered 1, 2, 3…, the first at noon on ``day``."""
    opened_at = local(day, 11)
    case = HanTestCaseFactory()
    runs = []
    for number, status in enumerate(statuses, start=1):
        run = HanTestRunFactory(
            case=case,
            premise=case.premise,
            number=number,
            status=status,
            started_by=started_by,
            region=region,
            finished_at=None,
        )
        HanTestRun.objects.filter(pk=run.pk).update(
            created_at=local(day, 12) + datetime.timedelta(minutes=10 * number)
        )
        runs.append(run)
    HanTestCase.objects.filter(pk=case.pk).update(
        opened_at=opened_at,
        status=HanTestCase.Status.RESOLVED if resolved_after else HanTestCase.Status.OPEN,
        resolved_at=opened_at + resolved_after if resolved_after else None,
    )
    return case, runs


def report_for(runs=None, date_from=FIRST_DAY, date_to=LAST_DAY):
    return dashboard_report(
        runs=HanTestRun.objects.all() if runs is None else runs,
        date_from=date_from,
        date_to=date_to,
    )


def test_runs_per_day_has_every_day_of_the_range_and_splits_by_outcome():
    make_case([Status.PASSED], day=datetime.date(2025, 3, 2))
    make_case([Status.FAILED, Status.ERROR, Status.CANCELLED], day=datetime.date(2025, 3, 2))
    make_case([Status.RUNNING], day=datetime.date(2025, 3, 5))

    report = report_for()

    assert [day.day for day in report.days] == [
        FIRST_DAY + datetime.timedelta(days=offset) for offset in range(7)
    ]
    totals_by_day = {day.day.day: day.total for day in report.days}
    assert totals_by_day == {1: 0, 2: 4, 3: 0, 4: 0, 5: 1, 6: 0, 7: 0}
    second = report.days[1]
    assert (second.passed, second.failed, second.error, second.cancelled, second.in_progress) == (
        1,
        1,
        1,
        1,
        0,
    )
    assert report.days[4].in_progress == 1
    totals = report.totals
    assert (totals.runs, totals.passed, totals.failed, totals.error, totals.cancelled) == (
        5,
        1,
        1,
        1,
        1,
    )
    assert totals.in_progress == 1


def test_a_run_late_in_the_evening_counts_on_the_local_day():
    _, (run,) = make_case([Status.PASSED], day=datetime.date(2025, 3, 3))
    # 23:30 in the portal's time zone is already the next day in UTC.
    HanTestRun.objects.filter(pk=run.pk).update(created_at=local(datetime.date(2025, 3, 3), 23, 30))

    report = report_for()

    assert {day.day.day: day.total for day in report.days if day.total} == {3: 1}


def test_one_day_range_has_one_day():
    make_case([Status.PASSED], day=FIRST_DAY)

    report = report_for(date_from=FIRST_DAY, date_to=FIRST_DAY)

    assert [(day.day, day.passed) for day in report.days] == [(FIRST_DAY, 1)]


def test_date_from_after_date_to_is_refused():
    with pytest.raises(ValueError, match="after"):
        report_for(date_from=LAST_DAY, date_to=FIRST_DAY)


def test_first_time_fix_rate_counts_cases_fixed_by_their_first_retest():
    make_case([Status.FAILED, Status.PASSED])  # fixed at run 2: counts
    make_case([Status.FAILED, Status.FAILED, Status.PASSED])  # fixed at run 3: does not
    make_case([Status.PASSED])  # nothing to fix: left out
    make_case([Status.FAILED])  # never retested: left out
    make_case([Status.FAILED, Status.CANCELLED])  # retest tested nothing: left out
    # The retest that could not complete tested nothing; the next one is the first verdict.
    make_case([Status.FAILED, Status.ERROR, Status.PASSED])
    make_case([Status.ERROR, Status.PASSED])  # first run found nothing to fix: left out

    fix = report_for().totals.first_time_fix

    assert (fix.numerator, fix.denominator) == (2, 3)
    assert fix.percent_text == "67 %"


def test_first_time_fix_looks_at_the_whole_case_whatever_the_filters():
    _, (first, _) = make_case([Status.FAILED, Status.PASSED])

    # Only run 1 is in the filtered runs (the retest was the day after the range, say).
    fix = report_for(HanTestRun.objects.filter(pk=first.pk)).totals.first_time_fix

    assert (fix.numerator, fix.denominator) == (1, 1)


def test_no_cases_to_fix_gives_no_rate_rather_than_zero():
    make_case([Status.PASSED])

    fix = report_for().totals.first_time_fix

    assert (fix.numerator, fix.denominator, fix.rate, fix.percent_text) == (0, 0, None, "—")


def test_mean_time_to_resolution_weighs_each_resolved_case_once():
    # Three runs of this case must not give its two hours three times the weight.
    make_case(
        [Status.FAILED, Status.FAILED, Status.PASSED], resolved_after=datetime.timedelta(hours=2)
    )
    make_case([Status.FAILED, Status.PASSED], resolved_after=datetime.timedelta(hours=5))
    make_case([Status.FAILED])  # open: no resolution time

    totals = report_for().totals

    assert totals.mean_time_to_resolution == datetime.timedelta(hours=3, minutes=30)
    assert totals.mean_time_to_resolution_text == "3 h 30 min"
    assert (totals.cases, totals.cases_resolved) == (3, 2)


def test_no_resolved_case_has_no_mean_time():
    make_case([Status.FAILED])

    totals = report_for().totals

    assert totals.mean_time_to_resolution is None
    assert totals.mean_time_to_resolution_text == "—"


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (datetime.timedelta(seconds=20), "under 1 min"),
        (datetime.timedelta(minutes=45), "45 min"),
        (datetime.timedelta(hours=3), "3 h"),
        (datetime.timedelta(hours=3, minutes=20), "3 h 20 min"),
        (datetime.timedelta(hours=23, minutes=59, seconds=40), "1 day"),
        (datetime.timedelta(days=1, hours=1), "1 day 1 h"),
        (datetime.timedelta(days=2, hours=4, minutes=10), "2 days 4 h"),
        (None, "—"),
    ],
)
def test_duration_text(duration, text):
    assert duration_text(duration) == text


def test_by_region_splits_runs_and_case_figures():
    make_case(
        [Status.FAILED, Status.PASSED], region="north", resolved_after=datetime.timedelta(hours=1)
    )
    make_case([Status.FAILED, Status.FAILED], region="north")
    make_case([Status.ERROR], region="south")
    make_case([Status.PASSED], region="", resolved_after=datetime.timedelta(days=2))

    by_region = {group.key: group for group in report_for().by_region}

    assert list(by_region) == ["north", "", "south"]
    north = by_region["north"]
    assert (north.runs, north.passed, north.failed, north.error) == (4, 1, 3, 0)
    assert (north.first_time_fix.numerator, north.first_time_fix.denominator) == (1, 2)
    assert north.mean_time_to_resolution == datetime.timedelta(hours=1)
    assert (by_region["south"].runs, by_region["south"].error) == (1, 1)
    assert by_region[""].label == "No region"
    assert by_region[""].mean_time_to_resolution_text == "2 days"


def test_by_rep_names_staff_and_groups_customers_and_unknown_starters():
    rita = UserFactory(
        username="rita", first_name="Rita", last_name="Reyes", role=User.Role.REPRESENTATIVE
    )
    sam = UserFactory(username="sam", role=User.Role.REPRESENTATIVE)
    ada = UserFactory(username="ada", first_name="Ada", role=User.Role.ADMINISTRATOR)
    customer = UserFactory(username="carol", role=User.Role.CUSTOMER)
    make_case([Status.FAILED, Status.PASSED], started_by=rita)
    make_case([Status.FAILED, Status.FAILED, Status.PASSED], started_by=rita)
    make_case([Status.PASSED], started_by=sam)
    make_case([Status.ERROR], started_by=ada)
    make_case([Status.FAILED, Status.PASSED], started_by=customer)
    make_case([Status.PASSED], started_by=None)

    by_rep = report_for().by_rep

    assert [(group.label, group.runs) for group in by_rep] == [
        ("Rita Reyes", 5),
        (SELF_SERVICE_LABEL, 3),
        ("Ada", 1),
        ("sam", 1),
    ]
    rita_row, self_service = by_rep[0], by_rep[1]
    assert rita_row.key == str(rita.pk)
    assert (rita_row.first_time_fix.numerator, rita_row.first_time_fix.denominator) == (1, 2)
    assert self_service.key == SELF_SERVICE_KEY
    assert (self_service.passed, self_service.failed, self_service.cases) == (2, 1, 2)
    assert (self_service.first_time_fix.numerator, self_service.first_time_fix.denominator) == (
        1,
        1,
    )


def test_a_case_two_reps_worked_counts_for_each_once():
    rita = UserFactory(username="rita", role=User.Role.REPRESENTATIVE)
    sam = UserFactory(username="sam", role=User.Role.REPRESENTATIVE)
    _, runs = make_case(
        [Status.FAILED, Status.FAILED, Status.PASSED],
        started_by=rita,
        resolved_after=datetime.timedelta(hours=6),
    )
    HanTestRun.objects.filter(pk=runs[2].pk).update(started_by=sam)

    by_rep = {group.label: group for group in report_for().by_rep}

    assert (by_rep["rita"].runs, by_rep["rita"].cases) == (2, 1)
    assert (by_rep["sam"].runs, by_rep["sam"].cases) == (1, 1)
    for group in by_rep.values():
        assert group.mean_time_to_resolution == datetime.timedelta(hours=6)


def test_most_common_findings_leave_out_healthy_and_name_the_usual_action():
    _, (weak_run,) = make_case([Status.FAILED])
    _, (other_run,) = make_case([Status.FAILED])
    FindingFactory.create_batch(2, run=weak_run, rule="weak_link", action="change_range")
    FindingFactory(run=other_run, rule="weak_link", action="change_range")
    FindingFactory(run=other_run, rule="insecure_join", action="change_security_settings")
    FindingFactory(run=other_run, rule="healthy", action="none")

    findings = report_for().findings

    assert [(item.rule, item.findings, item.runs) for item in findings] == [
        ("weak_link", 3, 2),
        ("insecure_join", 1, 1),
    ]
    assert findings[0].label == "Weak link"
    assert findings[0].action_label == "Move the device closer to the meter (change range)"


def test_most_common_findings_rank_by_runs_not_by_devices():
    # One premise with five weak devices is one case; three premises with a default-key join
    # are three.
    _, (crowded,) = make_case([Status.FAILED])
    FindingFactory.create_batch(5, run=crowded, rule="weak_link", action="change_range")
    for _ in range(3):
        _, (run,) = make_case([Status.FAILED])
        FindingFactory(run=run, rule="insecure_join", action="change_security_settings")

    findings = report_for().findings

    assert [(item.label, item.runs, item.findings) for item in findings] == [
        ("Insecure join", 3, 3),
        ("Weak link", 1, 5),
    ]


def test_most_common_findings_stop_at_ten():
    for index in range(12):
        for _ in range(index + 1):
            _, (run,) = make_case([Status.FAILED])
            FindingFactory(run=run, rule=f"rule_{index:02d}")

    findings = report_for().findings

    assert len(findings) == 10
    assert findings[0].rule == "rule_11"


def test_runs_repeated_by_the_callers_joins_are_counted_once():
    _, (run,) = make_case([Status.FAILED])
    FindingFactory.create_batch(3, run=run, rule="weak_link")

    report = report_for(HanTestRun.objects.filter(findings__rule="weak_link"))

    assert report.totals.runs == 1
    assert sum(day.total for day in report.days) == 1


def test_only_the_given_runs_count():
    make_case([Status.PASSED], region="north")
    make_case([Status.FAILED], region="south")

    report = report_for(HanTestRun.objects.filter(region="south").order_by("-created_at"))

    assert (report.totals.runs, report.totals.failed) == (1, 1)
    assert [group.key for group in report.by_region] == ["south"]


def _build(count):
    reps = [UserFactory(role=User.Role.REPRESENTATIVE) for _ in range(3)]
    for index in range(count):
        statuses = [Status.FAILED, Status.PASSED] if index % 2 else [Status.PASSED]
        _, runs = make_case(
            statuses,
            day=FIRST_DAY + datetime.timedelta(days=index % 7),
            started_by=reps[index % 3] if index % 4 else None,
            region=["north", "south", "east"][index % 3],
            resolved_after=datetime.timedelta(hours=index + 1),
        )
        FindingFactory(run=runs[0], rule=["weak_link", "beyond_reach"][index % 2])


def _queries_for_report():
    with CaptureQueriesContext(connection) as queries:
        report = report_for()
        dashboard_charts(report)
    return len(queries), report


def test_the_report_takes_the_same_few_queries_however_many_runs(django_assert_max_num_queries):
    _build(2)
    few, small = _queries_for_report()
    _build(20)
    many, large = _queries_for_report()

    assert (small.totals.runs, large.totals.runs) == (3, 33)
    assert few == many
    with django_assert_max_num_queries(10):
        report_for()


def test_the_report_on_no_runs_is_all_zeros():
    report = report_for()

    assert report.totals.runs == 0
    assert len(report.days) == 7
    assert report.findings == ()
    assert report.by_region == report.by_rep == ()
    assert "No runs in this range" in dashboard_charts(report)["runs_per_day"]


def test_dashboard_charts_draw_the_reports_figures():
    make_case([Status.FAILED, Status.PASSED], day=datetime.date(2025, 3, 4))
    _, (run,) = make_case([Status.FAILED], day=datetime.date(2025, 3, 4))
    FindingFactory(run=run, rule="insecure_join", action="change_security_settings")

    charts = dashboard_charts(report_for())

    runs_chart = ElementTree.fromstring(str(charts["runs_per_day"]))  # noqa: S314 - ours
    titles = [element.text for element in runs_chart.iter("{http://www.w3.org/2000/svg}title")]
    assert "Tue Mar 4, 2025: Problems found 2 of 3" in titles
    assert "Tue Mar 4, 2025: Passed 1 of 3" in titles
    findings_chart = ElementTree.fromstring(str(charts["findings"]))  # noqa: S314 - ours
    assert "Insecure join" in "".join(findings_chart.itertext())


@pytest.fixture
def history_filters_include(settings, tmp_path):
    """The filters include belongs to the history page; a stand-in keeps this test to itself."""
    (tmp_path / "portal").mkdir()
    (tmp_path / "portal" / "_history_filters.html").write_text(
        '<form class="filters">{{ form }}</form>'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]


def test_dashboard_page_shows_the_headline_figures_charts_and_tables(history_filters_include):
    rita = UserFactory(
        username="rita", first_name="Rita", last_name="<b>Reyes</b>", role="representative"
    )
    make_case(
        [Status.FAILED, Status.PASSED], started_by=rita, resolved_after=datetime.timedelta(hours=2)
    )
    report = report_for()

    html = render_to_string(
        "portal/dashboard.html",
        {
            "report": report,
            "charts": dashboard_charts(report),
            "filters_form": "FILTERS",
            "export_url": "/dashboard.csv?region=north",
            "history_url": "/history/",
        },
    )

    assert '<form class="filters">FILTERS</form>' in html
    assert 'href="/dashboard.csv?region=north"' in html
    assert "Download CSV" in html
    assert "100 %" in html  # first-time fix rate
    assert "2 h" in html  # mean time to resolution
    assert html.count('role="img"') == 2
    assert "Rita &lt;b&gt;Reyes&lt;/b&gt;" in html
    assert "<b>Reyes</b>" not in html
    assert "<summary>Data</summary>" in html


def test_dashboard_page_with_invalid_filters_shows_only_the_filters(history_filters_include):
    html = render_to_string(
        "portal/dashboard.html", {"report": None, "charts": {}, "filters_form": "FILTERS"}
    )

    assert '<form class="filters">FILTERS</form>' in html
    assert "please correct" in html
    assert "Runs per day" not in html
