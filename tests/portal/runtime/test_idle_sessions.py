"""Idle sessions end, staff ones sooner; activity keeps one going, a page's own script does not."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from portal.models import HanTestRun
from tests.factories import HanTestRunFactory

STAFF_IDLE_S = 600
CUSTOMER_IDLE_S = 3600
STARTED_AT = 1_900_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = STARTED_AT

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch, settings):
    settings.PORTAL_STAFF_SESSION_IDLE_S = STAFF_IDLE_S
    settings.PORTAL_CUSTOMER_SESSION_IDLE_S = CUSTOMER_IDLE_S
    clock = Clock()
    monkeypatch.setattr("portal.runtime.idle_sessions.wall_clock", lambda: clock.now)
    return clock


def _signed_out_to_sign_in(response, *, next_page=None):
    assert response.status_code == 302
    expected = "/sign-in/" + (f"?next={next_page}" if next_page else "")
    assert response["Location"] == expected


@pytest.mark.django_db
def test_staff_are_signed_out_after_the_staff_idle_time(client, rep, clock):
    client.force_login(rep)
    assert client.get("/customers/").status_code == 200

    clock.advance(STAFF_IDLE_S - 1)
    assert client.get("/customers/").status_code == 200
    clock.advance(STAFF_IDLE_S + 1)
    response = client.get("/customers/?q=alder")

    _signed_out_to_sign_in(response, next_page="/customers/%3Fq%3Dalder")
    sign_in = client.get(response["Location"])
    assert "You were signed out after 10 minutes without activity." in sign_in.content.decode()
    assert "_auth_user_id" not in client.session
    _signed_out_to_sign_in(client.get("/customers/"), next_page="/customers/")


@pytest.mark.django_db
def test_a_customer_outlasts_the_staff_limit_but_not_their_own(client, user_a, clock):
    client.force_login(user_a)
    assert client.get("/my-home/").status_code == 200

    clock.advance(STAFF_IDLE_S + 1)
    assert client.get("/my-home/").status_code == 200
    clock.advance(CUSTOMER_IDLE_S + 1)
    response = client.get("/my-home/")

    _signed_out_to_sign_in(response, next_page="/my-home/")
    assert "after 60 minutes without activity" in client.get("/sign-in/").content.decode()


@pytest.mark.django_db
def test_activity_resets_the_timer(client, rep, clock):
    client.force_login(rep)
    for _ in range(4):
        assert client.get("/customers/").status_code == 200
        clock.advance(STAFF_IDLE_S - 60)
    assert client.get("/customers/").status_code == 200

    clock.advance(STAFF_IDLE_S + 1)
    _signed_out_to_sign_in(client.get("/customers/"), next_page="/customers/")


@pytest.mark.django_db
def test_a_form_sent_after_the_idle_time_does_nothing_and_goes_to_sign_in(
    client, rep, premise_a, clock, no_enqueue
):
    client.force_login(rep)
    assert client.get(f"/premises/{premise_a.pk}/").status_code == 200
    clock.advance(STAFF_IDLE_S + 1)

    response = client.post(f"/premises/{premise_a.pk}/test/")

    _signed_out_to_sign_in(response)
    assert not HanTestRun.objects.exists()


@pytest.mark.django_db
def test_an_api_call_with_an_idle_session_is_answered_401(client, rep, clock):
    client.force_login(rep)
    assert client.get("/api/v1/customers/?search=alder").status_code == 200
    clock.advance(STAFF_IDLE_S + 1)

    response = client.get("/api/v1/customers/?search=alder")

    assert response.status_code == 401
    assert response.json() == {"detail": "You were signed out after 10 minutes without activity."}
    assert client.get("/api/v1/customers/").status_code == 401


@pytest.mark.django_db
def test_the_run_pages_own_reads_do_not_keep_a_session_alive(client, user_a, premise_a, clock):
    run = HanTestRunFactory(premise=premise_a)
    client.force_login(user_a)
    assert client.get(f"/runs/{run.pk}/").status_code == 200

    script = {"HTTP_SEC_FETCH_DEST": "empty", "HTTP_SEC_FETCH_MODE": "cors"}
    for _ in range(3):
        clock.advance(CUSTOMER_IDLE_S / 3)
        assert client.get(f"/runs/{run.pk}/picture/", **script).status_code == 200
    clock.advance(2)

    # A script is not sent to the sign-in page, whose HTML it would put in the run page.
    picture = client.get(f"/runs/{run.pk}/picture/", **script)
    assert picture.status_code == 401
    _signed_out_to_sign_in(client.get(f"/runs/{run.pk}/"), next_page=f"/runs/{run.pk}/")


@pytest.mark.django_db
@pytest.mark.parametrize(("user", "idle_s"), [("rep", STAFF_IDLE_S), ("user_a", CUSTOMER_IDLE_S)])
def test_the_session_cookie_ends_with_the_idle_time(client, request, clock, user, idle_s):
    client.force_login(request.getfixturevalue(user))

    response = client.get("/")

    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == idle_s
    assert client.session.get_expiry_age() == idle_s


def _session_cookie_header(user):
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 302  # activity recorded
    sessionid = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [
        (b"origin", b"http://127.0.0.1"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={sessionid}".encode()),
    ]


async def _watch(run_id, headers):
    from portal.asgi import application

    communicator = WebsocketCommunicator(application, f"/ws/runs/{run_id}/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    if connected:
        snapshot = await communicator.receive_json_from(timeout=5)
        assert snapshot["kind"] == "snapshot"
    await communicator.disconnect()
    return connected, code


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_idle_session_cannot_open_the_live_run_and_watching_is_not_activity(
    rep, premise_a, clock
):
    run = await database_sync_to_async(HanTestRunFactory)(premise=premise_a)
    headers = await database_sync_to_async(_session_cookie_header)(rep)

    clock.advance(STAFF_IDLE_S - 1)
    assert await _watch(run.pk, headers) == (True, None)
    clock.advance(2)

    assert await _watch(run.pk, headers) == (False, 4403)
