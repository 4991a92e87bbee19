"""Password guessing is slowed: per user name, per client address, on every sign-in form."""

from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import UserRateThrottle

from portal.runtime import sign_in_throttle
from portal.runtime.idle_sessions import wall_clock
from portal.runtime.sign_in_throttle import sign_in_lockout_clear
from tests.portal.settings_probe import settings_under

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
CALL_CENTRE = "203.0.113.7"
ELSEWHERE = "198.51.100.20"
USERNAMES = ["rita", "ann", "ada", "nobody", *(f"guess{n}" for n in range(10))]


@pytest.fixture(autouse=True)
def _no_failures_left_over():
    """The cache outlives a test (and is Redis with real services): forget only what we used."""

    def forget():
        for username in USERNAMES:
            sign_in_lockout_clear(username=username)
        for address in ("127.0.0.1", CALL_CENTRE, ELSEWHERE):
            sign_in_lockout_clear(address=address)

    forget()
    yield
    forget()


def _sign_in(client, username, password, address="127.0.0.1", path="/sign-in/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail(client, username, times, **kwargs):
    for _ in range(times):
        response = _sign_in(client, username, "wrong-password", **kwargs)
        assert response.status_code == 200, "refused before the limit"


def test_five_failures_lock_the_user_name_with_a_clear_message(client, rep):
    _fail(client, "rita", settings.PORTAL_SIGN_IN_FAILURE_LIMIT)

    response = _sign_in(client, "rita", PASSWORD)

    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-ins. Try again in 15 minutes." in page
    assert 'role="alert"' in page and 'name="password"' in page
    assert 800 < int(response["Retry-After"]) <= 900
    assert "_auth_user_id" not in client.session


def test_the_user_name_is_locked_from_every_address_in_any_case(client, rep):
    _fail(client, "rita", 2, address=CALL_CENTRE)
    _fail(client, "Rita", 2, address=ELSEWHERE)
    _fail(client, " RITA", 1, address="127.0.0.1")

    assert _sign_in(client, "rita", PASSWORD, address="192.0.2.1").status_code == 429


def test_the_lockout_ends_after_its_time(client, rep, monkeypatch):
    _fail(client, "rita", settings.PORTAL_SIGN_IN_FAILURE_LIMIT)
    later = wall_clock() + settings.PORTAL_SIGN_IN_LOCKOUT_S + 1
    monkeypatch.setattr(sign_in_throttle, "wall_clock", lambda: later)

    response = _sign_in(client, "rita", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(rep.pk)


def test_the_minutes_left_are_counted_down(client, rep, monkeypatch):
    _fail(client, "rita", settings.PORTAL_SIGN_IN_FAILURE_LIMIT)
    later = wall_clock() + settings.PORTAL_SIGN_IN_LOCKOUT_S - 50
    monkeypatch.setattr(sign_in_throttle, "wall_clock", lambda: later)

    page = _sign_in(client, "rita", PASSWORD).content.decode()

    assert "Try again in 1 minute." in page


def test_a_successful_sign_in_resets_the_count(client, rep):
    limit = settings.PORTAL_SIGN_IN_FAILURE_LIMIT
    _fail(client, "rita", limit - 1)
    assert _sign_in(client, "rita", PASSWORD).status_code == 302
    client.logout()

    _fail(client, "rita", limit - 1)

    assert _sign_in(client, "rita", PASSWORD).status_code == 302


def test_one_address_guessing_many_user_names_is_locked_out(client, rep, settings):
    settings.PORTAL_SIGN_IN_ADDRESS_FAILURE_LIMIT = 4
    for number in range(4):
        _fail(client, f"guess{number}", 1, address=CALL_CENTRE)

    assert _sign_in(client, "rita", PASSWORD, address=CALL_CENTRE).status_code == 429
    # Someone else, elsewhere, signs in as usual.
    assert _sign_in(client, "rita", PASSWORD, address=ELSEWHERE).status_code == 302


def test_an_address_tolerates_more_failures_than_a_user_name(client, rep):
    """A call centre signs in from one public address: a few typos must not lock it out."""
    assert settings.PORTAL_SIGN_IN_ADDRESS_FAILURE_LIMIT > 2 * settings.PORTAL_SIGN_IN_FAILURE_LIMIT
    for number in range(10):
        _fail(client, f"guess{number}", 1, address=CALL_CENTRE)

    assert _sign_in(client, "rita", PASSWORD, address=CALL_CENTRE).status_code == 302


def test_signing_in_does_not_reset_the_address_count(client, rep, settings):
    settings.PORTAL_SIGN_IN_ADDRESS_FAILURE_LIMIT = 3
    _fail(client, "guess1", 2, address=CALL_CENTRE)
    assert _sign_in(client, "rita", PASSWORD, address=CALL_CENTRE).status_code == 302
    client.logout()
    _fail(client, "guess2", 1, address=CALL_CENTRE)

    assert _sign_in(client, "rita", PASSWORD, address=CALL_CENTRE).status_code == 429


def test_the_admin_sign_in_shares_the_count(client, administrator):
    _fail(client, "ada", settings.PORTAL_SIGN_IN_FAILURE_LIMIT, path="/admin/login/")

    assert _sign_in(client, "ada", PASSWORD, path="/admin/login/").status_code == 429
    assert _sign_in(client, "ada", PASSWORD).status_code == 429


def test_a_signed_in_user_cannot_guess_through_the_admin_sign_in(client, user_a, administrator):
    client.force_login(user_a)
    _fail(client, "ada", settings.PORTAL_SIGN_IN_FAILURE_LIMIT, path="/admin/login/")

    assert _sign_in(client, "ada", PASSWORD, path="/admin/login/").status_code == 429


def test_limits_of_zero_turn_the_throttle_off(client, rep, settings):
    settings.PORTAL_SIGN_IN_FAILURE_LIMIT = 0
    settings.PORTAL_SIGN_IN_ADDRESS_FAILURE_LIMIT = 0
    _fail(client, "rita", 12)

    assert _sign_in(client, "rita", PASSWORD).status_code == 302


def test_a_lockout_is_logged_without_the_guessed_password(client, rep, caplog):
    _fail(client, "rita", settings.PORTAL_SIGN_IN_FAILURE_LIMIT)
    # Someone typed a password into the user name field: it must not reach the log.
    _fail(client, "nobody", settings.PORTAL_SIGN_IN_FAILURE_LIMIT)

    messages = [
        r.getMessage() for r in caplog.records if r.name == "portal.runtime.sign_in_throttle"
    ]
    assert any("user name 'rita'" in message for message in messages)
    assert any("a user name with no account" in message for message in messages)
    assert not any("nobody" in message or "wrong-password" in message for message in messages)


def test_sign_in_page_still_works_for_a_get_while_locked(client, rep):
    _fail(client, "rita", settings.PORTAL_SIGN_IN_FAILURE_LIMIT)

    assert client.get("/sign-in/").status_code == 200


# --- The API ---------------------------------------------------------------------------------


def test_the_api_is_throttled_per_user_with_retry_after(client, rep, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": None})
    throttle_key = f"throttle_user_{rep.pk}"
    cache.delete(throttle_key)
    client.force_login(rep)
    try:
        answers = [client.get("/api/v1/customers/") for _ in range(4)]
    finally:
        cache.delete(throttle_key)

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert "throttled" in answers[-1].json()["detail"]


def test_api_throttle_classes_are_on_by_default():
    rest = settings.REST_FRAMEWORK
    assert rest["DEFAULT_THROTTLE_CLASSES"] == [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ]
    assert rest["NUM_PROXIES"] == 0


# --- Settings --------------------------------------------------------------------------------

PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'cache': settings.CACHES['default']['BACKEND'], "
    "'location': settings.CACHES['default'].get('LOCATION', ''), "
    "'limit': settings.PORTAL_SIGN_IN_FAILURE_LIMIT, "
    "'address_limit': settings.PORTAL_SIGN_IN_ADDRESS_FAILURE_LIMIT, "
    "'lockout': settings.PORTAL_SIGN_IN_LOCKOUT_S, "
    "'rates': settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']}))"
)


def _settings_under(environment: dict[str, str], tmp_path) -> dict[str, Any]:
    return settings_under(PROBE, {"PORTAL_VAR_DIR": str(tmp_path), **environment})


def test_limits_and_rates_come_from_the_environment(tmp_path):
    chosen = _settings_under(
        {
            "PORTAL_SIGN_IN_FAILURE_LIMIT": "3",
            "PORTAL_SIGN_IN_ADDRESS_FAILURE_LIMIT": "30",
            "PORTAL_SIGN_IN_LOCKOUT_S": "600",
            "PORTAL_API_USER_RATE": "100/minute",
            "PORTAL_API_ANON_RATE": "10/minute",
        },
        tmp_path,
    )
    assert (chosen["limit"], chosen["address_limit"], chosen["lockout"]) == (3, 30, 600)
    assert chosen["rates"] == {"anon": "10/minute", "user": "100/minute"}


def test_the_embedded_default_counts_in_local_memory(tmp_path):
    chosen = _settings_under({}, tmp_path)
    assert chosen["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert (chosen["limit"], chosen["address_limit"], chosen["lockout"]) == (5, 50, 900)


def test_with_redis_every_web_process_shares_the_count(tmp_path):
    chosen = _settings_under({"REDIS_URL": "redis://cache.internal:6379/0"}, tmp_path)
    assert chosen["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert chosen["location"] == "redis://cache.internal:6379/0"


def test_people_can_still_sign_in_while_the_shared_cache_is_down(client, rep, monkeypatch):
    """Redis restarting must not lock everyone out: the throttle lets the attempt through."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    def unreachable(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    for name in ("get_many", "add", "incr", "set", "delete", "delete_many"):
        monkeypatch.setattr(sign_in_throttle.cache, name, unreachable)

    try:
        assert _sign_in(client, "rita", "wrong password").status_code == 200
        assert _sign_in(client, "rita", PASSWORD).status_code == 302
    finally:
        monkeypatch.undo()
