"""Starting HAN tests is limited per premise and per user, counted from the runs themselves."""

import datetime as dt

import pytest
from django.utils import timezone

from portal.models import HanTestRun, User
from portal.test_runs.start import StartLimitReached, han_test_retest, han_test_start
from tests.factories import HanTestRunFactory, PremiseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _runs_stay_queued(no_enqueue):
    """No worker: these tests are about starting runs, not running them."""


def _runs_at(premise, ages_minutes, *, user=None):
    """Finished runs of ``premise`` created the given numbers of minutes ago."""
    now = timezone.now()
    runs = []
    for age in ages_minutes:
        run = HanTestRunFactory(premise=premise, started_by=user)
        HanTestRun.objects.filter(pk=run.pk).update(created_at=now - dt.timedelta(minutes=age))
        runs.append(run)
    return runs


def _clock(moment):
    return timezone.localtime(moment).strftime("%H:%M")


def test_a_premise_tested_six_times_in_the_hour_is_refused_until_the_oldest_leaves_it(
    rep, premise_a, settings
):
    assert settings.HAN_START_LIMIT_PER_PREMISE_PER_HOUR == 6
    _runs_at(premise_a, [5, 10, 20, 30, 40])
    oldest = _runs_at(premise_a, [50])[0]
    oldest.refresh_from_db()

    with pytest.raises(StartLimitReached) as refused:
        han_test_start(premise=premise_a, user=rep)

    # "after 14:05" must be true at 14:05: the minute is rounded up.
    free_at = oldest.created_at + dt.timedelta(hours=1)
    free_at = free_at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    assert str(refused.value) == (
        f"This premise has been tested 6 times in the last hour; try again after {_clock(free_at)}."
    )
    assert 9 * 60 < refused.value.retry_after_s <= 11 * 60
    assert HanTestRun.objects.filter(premise=premise_a).count() == 6


def test_runs_older_than_an_hour_do_not_count(rep, premise_a):
    _runs_at(premise_a, [5, 10, 20, 30, 40, 61, 90])

    run = han_test_start(premise=premise_a, user=rep)

    assert run.status == HanTestRun.Status.QUEUED


def test_the_premise_limit_counts_every_users_runs(rep, user_a, premise_a):
    _runs_at(premise_a, [5, 10, 20], user=rep)
    _runs_at(premise_a, [25, 30, 35], user=user_a)

    with pytest.raises(StartLimitReached):
        han_test_start(premise=premise_a, user=user_a)


def test_a_customer_may_start_fewer_tests_an_hour_than_a_rep(rep, settings):
    settings.HAN_START_LIMIT_PER_PREMISE_PER_HOUR = 0
    settings.HAN_START_LIMIT_PER_USER_PER_HOUR = 2
    settings.HAN_START_LIMIT_PER_STAFF_PER_HOUR = 3
    customer_premises = [PremiseFactory() for _ in range(3)]
    customer = UserFactory(
        role=User.Role.CUSTOMER, customer_accounts=[p.customer for p in customer_premises]
    )
    for premise in customer_premises[:2]:
        _runs_at(premise, [10], user=customer)
        _runs_at(premise, [12], user=rep)

    with pytest.raises(StartLimitReached) as refused:
        han_test_start(premise=customer_premises[2], user=customer)
    assert str(refused.value).startswith("You have started 2 HAN tests in the last hour;")

    han_test_start(premise=customer_premises[2], user=rep)
    with pytest.raises(StartLimitReached, match="You have started 3 HAN tests"):
        han_test_start(premise=PremiseFactory(), user=rep)


def test_default_limits_give_staff_more_than_customers(settings):
    assert settings.HAN_START_LIMIT_PER_USER_PER_HOUR == 20
    assert settings.HAN_START_LIMIT_PER_STAFF_PER_HOUR == 120


def test_a_limit_of_zero_turns_it_off(rep, premise_a, settings):
    settings.HAN_START_LIMIT_PER_PREMISE_PER_HOUR = 0
    settings.HAN_START_LIMIT_PER_STAFF_PER_HOUR = 0
    _runs_at(premise_a, range(1, 40), user=rep)

    assert han_test_start(premise=premise_a, user=rep).status == HanTestRun.Status.QUEUED


def test_retest_obeys_the_limit(rep, premise_a):
    last = _runs_at(premise_a, [5, 10, 20, 30, 40, 50])[0]

    with pytest.raises(StartLimitReached):
        han_test_retest(run=last, user=rep)


def test_a_running_test_is_still_reported_as_running_rather_than_limited(client, rep, premise_a):
    _runs_at(premise_a, [10, 20, 30, 40, 50])
    running = han_test_start(premise=premise_a, user=rep)
    client.force_login(rep)

    response = client.post(f"/premises/{premise_a.pk}/test/")

    assert response.status_code == 409
    assert f"/runs/{running.pk}/" in response.content.decode()


# --- Pages and API ---------------------------------------------------------------------------


def test_the_page_answers_429_with_the_reason_and_a_way_back(client, rep, premise_a):
    _runs_at(premise_a, [5, 10, 20, 30, 40, 50])
    client.force_login(rep)

    response = client.post(f"/premises/{premise_a.pk}/test/", {"problem": "IHD is blank"})

    assert response.status_code == 429
    page = response.content.decode()
    assert "This premise has been tested 6 times in the last hour; try again after" in page
    assert 'role="alert"' in page
    assert f'href="/premises/{premise_a.pk}/"' in page
    assert int(response["Retry-After"]) > 0


def test_the_retest_button_answers_429_too(client, user_a, premise_a):
    last = _runs_at(premise_a, [5, 10, 20, 30, 40, 50], user=user_a)[0]
    client.force_login(user_a)

    response = client.post(f"/runs/{last.pk}/retest/")

    assert response.status_code == 429
    assert "tested 6 times in the last hour" in response.content.decode()


def test_the_api_answers_429_with_detail_and_retry_after(client, rep, premise_a):
    last = _runs_at(premise_a, [5, 10, 20, 30, 40, 50])[0]
    client.force_login(rep)

    started = client.post(f"/api/v1/premises/{premise_a.pk}/runs/", {"problem": "no prices"})
    retested = client.post(f"/api/v1/runs/{last.pk}/retest/")

    for response in (started, retested):
        assert response.status_code == 429
        assert response.json()["detail"].startswith(
            "This premise has been tested 6 times in the last hour; try again after "
        )
        assert 0 < int(response["Retry-After"]) <= 3600
    assert HanTestRun.objects.filter(premise=premise_a).count() == 6
