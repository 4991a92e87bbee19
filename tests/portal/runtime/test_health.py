import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_health_reports_database_live_events_and_a_working_worker(client, celery_worker):
    response = client.get("/health/", {"worker": "1"})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "live_events": "ok", "worker": "ok"},
    }


def test_health_without_a_worker_check_answers_fast_and_reveals_nothing_secret(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "live_events"}
