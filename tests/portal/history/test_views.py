import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.history import export, queries
from portal.history.pagination import Cursor, InvalidCursor
from portal.history.queries import history_page
from portal.history.reviews import diagnosis_review_record
from portal.models import HanTestCase, HanTestRun, User
from tests.factories import (
    FindingFactory,
    HanTestRunFactory,
    ObservedDeviceFactory,
    PremiseFactory,
    PremisesGatewayFactory,
    RecordedActionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _run_at(when: dt.datetime, **kwargs) -> HanTestRun:
    run = HanTestRunFactory(**kwargs)
    HanTestRun.objects.filter(pk=run.pk).update(created_at=when)
    run.refresh_from_db()
    return run


def _runs_a_minute_apart(count: int) -> list[HanTestRun]:
    """``count`` runs at one premise, newest first: the first now, each next a minute older."""
    premise = PremiseFactory()
    now = timezone.now()
    return [_run_at(now - dt.timedelta(minutes=i), premise=premise) for i in range(count)]


def _ids(response) -> list[int]:
    return [run.pk for run in response.context["page"].rows]


@pytest.fixture
def runs_world(rep):
    """Runs that differ in exactly one filtered property each."""
    now = timezone.now()
    north = PremisesGatewayFactory(region="north", model="E350")
    south = PremisesGatewayFactory(region="south", model="I-210+c")
    other_rep = UserFactory(username="olga", role=User.Role.REPRESENTATIVE)
    world = {
        "weak": _run_at(now - dt.timedelta(days=1), premise=PremiseFactory(premises_gateway=north)),
        "insecure": _run_at(
            now - dt.timedelta(days=2), premise=PremiseFactory(premises_gateway=south)
        ),
        "passed": _run_at(
            now - dt.timedelta(days=40),
            premise=PremiseFactory(premises_gateway=north),
            status=HanTestRun.Status.PASSED,
            started_by=other_rep,
        ),
    }
    FindingFactory(run=world["weak"], rule="weak_link", action="change_range")
    FindingFactory(
        run=world["insecure"],
        rule="insecure_join",
        action="change_security_settings",
        severity="critical",
        title="Joined with the default key",
    )
    FindingFactory(run=world["passed"], rule="healthy", action="none", severity="pass")
    RecordedActionFactory(run=world["weak"], action="install_additional_device")
    ObservedDeviceFactory(run=world["insecure"], model="EMU-2")
    ObservedDeviceFactory(run=world["weak"], model="SmartSi")
    HanTestRun.objects.filter(pk__in=[world["weak"].pk, world["insecure"].pk]).update(
        started_by=rep
    )
    HanTestCase.objects.filter(pk=world["passed"].case_id).update(
        status=HanTestCase.Status.RESOLVED, resolved_at=now
    )
    return world


def test_rep_sees_every_run_newest_first(client, rep, runs_world):
    client.force_login(rep)
    response = client.get(reverse("history"))
    assert response.status_code == 200
    assert _ids(response) == [runs_world[k].pk for k in ("weak", "insecure", "passed")]
    assert "Download CSV" not in response.text  # the export is for administrators


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"finding": "insecure_join"}, ["insecure"]),
        ({"recommended": "change_range"}, ["weak"]),
        ({"taken": "install_additional_device"}, ["weak"]),
        ({"outcome": "passed"}, ["passed"]),
        ({"case_status": "resolved"}, ["passed"]),
        ({"rep": "olga"}, ["passed"]),
        ({"region": "south"}, ["insecure"]),
        ({"gateway_model": "E350"}, ["weak", "passed"]),
        ({"device_model": "EMU-2"}, ["insecure"]),
        ({"region": "north", "outcome": "failed"}, ["weak"]),
        ({"sort": "oldest"}, ["passed", "insecure", "weak"]),
    ],
)
def test_each_filter_narrows_the_history(client, administrator, runs_world, params, expected):
    client.force_login(administrator)
    response = client.get(reverse("history"), params)
    assert response.status_code == 200
    assert _ids(response) == [runs_world[name].pk for name in expected]


def test_date_range_is_inclusive_of_whole_days(client, administrator, runs_world):
    client.force_login(administrator)
    today = timezone.localdate()
    response = client.get(
        reverse("history"),
        {"date_from": (today - dt.timedelta(days=2)).isoformat(), "date_to": today.isoformat()},
    )
    assert _ids(response) == [runs_world["weak"].pk, runs_world["insecure"].pk]


def test_review_filter_finds_unreviewed_and_judged_runs(client, administrator, runs_world):
    finding = runs_world["weak"].findings.get()
    diagnosis_review_record(
        finding=finding, user=administrator, verdict="wrong", comment="It was interference"
    )
    client.force_login(administrator)
    assert _ids(client.get(reverse("history"), {"review": "wrong"})) == [runs_world["weak"].pk]
    assert runs_world["weak"].pk not in _ids(
        client.get(reverse("history"), {"review": "unreviewed"})
    )


@pytest.mark.parametrize(
    "params",
    [
        {"outcome": "exploded"},
        {"date_from": "yesterday"},
        {"per_page": "1000000"},
        {"finding": "<script>"},
        {"region": "x" * 500},
    ],
)
def test_bad_filters_get_a_clear_error_not_a_crash(client, administrator, runs_world, params):
    client.force_login(administrator)
    response = client.get(reverse("history"), params)
    assert response.status_code == 400
    assert "Some filters are not valid" in response.text
    assert response.context["page"].rows == []


def test_customer_cannot_see_the_history(client, user_a, runs_world):
    client.force_login(user_a)
    assert client.get(reverse("history")).status_code == 403
    assert client.get(reverse("history_export")).status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("history"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def _walk(client, params):
    """Follow the Older links to the end; return the run ids in the order shown."""
    seen, url = [], reverse("history")
    query = dict(params)
    for _ in range(50):
        response = client.get(url, query)
        assert response.status_code == 200
        seen.extend(_ids(response))
        cursor = response.context["page"].next_cursor
        if cursor is None:
            return seen, response
        query = {**params, "cursor": cursor}
    raise AssertionError("paging did not end")


def test_pages_walk_every_run_once_even_when_timestamps_tie(client, administrator):
    moment = timezone.now()
    premise = PremiseFactory()
    runs = [_run_at(moment, premise=premise) for _ in range(30)]
    runs += [_run_at(moment - dt.timedelta(minutes=i), premise=premise) for i in range(1, 31)]
    client.force_login(administrator)
    seen, _ = _walk(client, {"per_page": "25"})
    expected = sorted(runs, key=lambda run: (run.created_at, run.pk), reverse=True)
    assert seen == [run.pk for run in expected]
    assert len(set(seen)) == 60


def test_newer_link_comes_back_to_the_same_page(client, administrator):
    _runs_a_minute_apart(60)
    client.force_login(administrator)
    first = client.get(reverse("history"), {"per_page": "25"})
    assert first.context["page"].previous_cursor is None
    second = client.get(
        reverse("history"), {"per_page": "25", "cursor": first.context["page"].next_cursor}
    )
    back = client.get(
        reverse("history"), {"per_page": "25", "cursor": second.context["page"].previous_cursor}
    )
    assert _ids(back) == _ids(first)
    assert 'rel="next"' in back.text


def test_a_tampered_page_link_shows_the_first_page(client, administrator, runs_world):
    client.force_login(administrator)
    response = client.get(reverse("history"), {"cursor": "not-a-cursor!!"})
    assert response.status_code == 200
    assert _ids(response)[0] == runs_world["weak"].pk
    assert "page link was not valid" in response.text


def test_query_count_does_not_grow_with_page_size(client, administrator):
    for run in _runs_a_minute_apart(60):
        FindingFactory(run=run)
        RecordedActionFactory(run=run)
    client.force_login(administrator)
    # Once-off work out of the count: the session's first activity, the cached suggestions.
    client.get(reverse("history"))
    counts = {}
    for size in ("25", "50"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("history"), {"per_page": size, "finding": "weak_link"})
        assert len(response.context["page"].rows) == int(size)
        counts[size] = len(queries)
    assert counts["25"] == counts["50"]


def test_export_streams_every_matching_run_as_csv(client, administrator, monkeypatch):
    monkeypatch.setattr(export, "EXPORT_CHUNK", 7)
    runs = _runs_a_minute_apart(20)
    for i, run in enumerate(runs):
        FindingFactory(run=run, rule="weak_link" if i % 2 else "insecure_join")
    RecordedActionFactory(run=runs[1], action="other", note="=HYPERLINK(evil)")
    client.force_login(administrator)
    response = client.get(reverse("history_export"), {"finding": "weak_link"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [int(row["run_id"]) for row in rows] == [run.pk for run in runs[1::2]]
    assert rows[0]["findings"] == "weak_link"
    assert rows[0]["actions_taken"] == "other"
    assert rows[0]["meter_number"] == runs[0].premise.premises_gateway.meter_number


def test_export_keeps_spreadsheet_formulas_as_text(client, administrator):
    gateway = PremisesGatewayFactory(model="=cmd|' /C calc'!A0")
    _run_at(timezone.now(), premise=PremiseFactory(premises_gateway=gateway))
    client.force_login(administrator)
    response = client.get(reverse("history_export"))
    body = b"".join(response).decode()
    (row,) = csv.DictReader(io.StringIO(body))
    assert row["meter_model"].startswith("'=")


def test_export_is_for_administrators_only(client, rep, runs_world):
    client.force_login(rep)
    assert client.get(reverse("history_export")).status_code == 403


def test_export_with_bad_filters_goes_back_to_the_history(client, administrator):
    client.force_login(administrator)
    response = client.get(reverse("history_export"), {"outcome": "nope"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("history"))


def test_keyset_page_walks_backwards_from_the_end(runs_world):
    runs = HanTestRun.objects.all()
    first = history_page(runs, cursor=None, page_size=2)
    last = history_page(runs, cursor=Cursor.decode(first.next_cursor), page_size=2)
    assert [run.pk for run in last.rows] == [runs_world["passed"].pk]
    assert last.next_cursor is None
    back = history_page(runs, cursor=Cursor.decode(last.previous_cursor), page_size=2)
    assert [run.pk for run in back.rows] == [run.pk for run in first.rows]


@pytest.mark.parametrize("token", ["", "YQ", "YXxub3R8YQ", "Ynwy MDI2", "💥"])
def test_cursor_decoding_rejects_garbage(token):
    with pytest.raises(InvalidCursor):
        Cursor.decode(token)


def test_api_lists_runs_with_the_same_filters(client, administrator, runs_world):
    client.force_login(administrator)
    response = client.get(reverse("api:run_history"), {"finding": "insecure_join"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["id"] for item in results] == [runs_world["insecure"].pk]
    assert results[0]["findings"][0]["rule"] == "insecure_join"
    assert results[0]["region"] == "south"


def test_api_history_pages_with_cursors(client, administrator):
    _runs_a_minute_apart(27)
    client.force_login(administrator)
    page = client.get(reverse("api:run_history"), {"per_page": 25}).json()
    assert len(page["results"]) == 25
    assert "count" not in page  # no COUNT over the whole table
    rest = client.get(page["next"]).json()
    assert len(rest["results"]) == 2


def test_api_history_rejects_bad_filters(client, administrator):
    client.force_login(administrator)
    response = client.get(reverse("api:run_history"), {"outcome": "exploded"})
    assert response.status_code == 400
    assert "outcome" in response.json()


def test_api_shows_a_customer_only_their_own_runs(client, user_a, premise_a, runs_world):
    own = _run_at(timezone.now(), premise=premise_a)
    client.force_login(user_a)
    response = client.get(reverse("api:run_history"))
    assert [item["id"] for item in response.json()["results"]] == [own.pk]


def test_api_shows_reviews_to_administrators_only(client, rep, administrator, runs_world):
    finding = runs_world["weak"].findings.get()
    diagnosis_review_record(finding=finding, user=administrator, verdict="right")
    for user, expected in ((administrator, "right"), (rep, None)):
        client.force_login(user)
        results = client.get(reverse("api:run_history"), {"finding": "weak_link"}).json()
        review = results["results"][0]["findings"][0]["review"]
        assert (review or {}).get("verdict") == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statement_timeout is PostgreSQL's")
def test_a_page_the_database_cannot_find_in_time_asks_for_a_date_range(
    client, administrator, runs_world, settings, monkeypatch
):
    settings.HAN_HISTORY_QUERY_TIMEOUT_MS = 50
    real_history_page = history_page

    def slow_history_page(*args, **kwargs):
        with connection.cursor() as database:
            database.execute("SELECT pg_sleep(1)")
        return real_history_page(*args, **kwargs)

    monkeypatch.setattr(queries, "history_page", slow_history_page)
    client.force_login(administrator)
    response = client.get(reverse("history"), {"finding": "weak_link"})
    assert response.status_code == 200
    assert "add a date range" in response.text
    assert response.context["page"].rows == []
    monkeypatch.undo()
    assert _ids(client.get(reverse("history"), {"finding": "weak_link"})) == [runs_world["weak"].pk]


def test_history_rows_escape_what_people_and_gateways_typed(client, administrator):
    premise = PremiseFactory(customer__name="<script>alert(1)</script>")
    run = _run_at(timezone.now(), premise=premise, gateway_model="<b>E350</b>")
    FindingFactory(run=run, title="<img src=x onerror=alert(2)>")
    client.force_login(administrator)
    page = client.get(reverse("history")).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img src=x" not in page and "<b>E350" not in page
    assert f'href="/runs/{run.pk}/"' in page
    assert f'href="/customers/{premise.customer_id}/"' in page


@pytest.mark.parametrize(("asked", "shown"), [({}, 50), ({"per_page": "25"}, 25)])
def test_the_per_page_choice_shown_is_the_number_of_rows_on_the_page(
    client, administrator, asked, shown
):
    _runs_a_minute_apart(60)
    client.force_login(administrator)
    response = client.get(reverse("history"), asked)
    assert len(_ids(response)) == shown
    chosen = re.search(r'<option value="(\d+)" selected>', response.text)
    assert chosen is not None and chosen.group(1) == str(shown)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statement_timeout is PostgreSQL's")
def test_the_history_time_limit_ends_with_the_history_page(client, administrator, runs_world):
    """A history page read inside a longer transaction leaves its time limit behind it.

    The admin pages and any later query in the same transaction keep the server's own limit.
    """

    def current_limit():
        with connection.cursor() as database:
            database.execute("SHOW statement_timeout")
            return database.fetchone()[0]

    before = current_limit()
    client.force_login(administrator)
    assert client.get(reverse("history"), {"finding": "weak_link"}).status_code == 200
    assert current_limit() == before
    with queries.history_time_limit():
        assert current_limit() != before
    assert current_limit() == before
