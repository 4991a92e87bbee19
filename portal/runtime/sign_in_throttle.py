"""Sign-in throttling: a lockout per user name and per address after repeated failures."""

import hashlib
import logging
import math
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import Resolver404, resolve
from redis.exceptions import RedisError

from portal.runtime.idle_sessions import wall_clock

logger = logging.getLogger(__name__)

# Counted in the cache (shared through Redis when there are several web processes). Keys hold a
# hash, never the user name or address itself.
SIGN_IN_URL_NAMES = {"login", "admin:login"}


# What the Redis cache raises while Redis is unreachable (the local-memory cache never does).
CACHE_ERRORS = (RedisError, OSError)


def _cache_key(kind: str, what: str, value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"sign-in:{what}:{kind}:{digest}"


def _subjects(*, username: str, address: str) -> list[tuple[str, str, int]]:
    """(kind, value, failure limit) for each thing a failure counts against."""
    subjects = []
    name = username.strip().casefold()
    if name and settings.PORTAL_SIGN_IN_FAILURE_LIMIT > 0:
        subjects.append(("user", name, settings.PORTAL_SIGN_IN_FAILURE_LIMIT))
    if address and settings.PORTAL_SIGN_IN_ADDRESS_FAILURE_LIMIT > 0:
        subjects.append(("address", address, settings.PORTAL_SIGN_IN_ADDRESS_FAILURE_LIMIT))
    return subjects


def sign_in_lockout_remaining_s(*, username: str, address: str) -> float:
    """Seconds until this user name and address may try again; 0 when they may now."""
    keys = [
        _cache_key(kind, "locked", value)
        for kind, value, _ in _subjects(username=username, address=address)
    ]
    until = max(cache.get_many(keys).values(), default=0.0)
    return max(0.0, float(until) - wall_clock())


def sign_in_failure_record(*, username: str, address: str) -> None:
    lockout_s = settings.PORTAL_SIGN_IN_LOCKOUT_S
    for kind, value, limit in _subjects(username=username, address=address):
        key = _cache_key(kind, "failures", value)
        # add + incr is atomic in both the local-memory and the Redis cache.
        cache.add(key, 0, timeout=lockout_s)
        try:
            failures = cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, timeout=lockout_s)
            failures = 1
        if failures >= limit:
            cache.set(_cache_key(kind, "locked", value), wall_clock() + lockout_s, lockout_s)
            cache.delete(key)
            logger.warning(
                "Sign-in locked for %d s after %d failures for %s",
                lockout_s,
                failures,
                _described(kind, value, username),
            )


def _described(kind: str, value: str, username: str) -> str:
    if kind == "address":
        return f"client address {value}"
    # People type their password into the user name field: only a real account is named.
    if get_user_model()._default_manager.filter(username=username.strip()).exists():
        return f"user name {username.strip()!r}"
    return "a user name with no account"


def sign_in_lockout_clear(*, username: str = "", address: str = "") -> None:
    """Forget the failures and any lockout of a user name and/or a client address.

    From a shell, this unlocks someone at once: ``sign_in_lockout_clear(username="rita")``.
    """
    keys = []
    name = username.strip().casefold()
    if name:
        keys += [_cache_key("user", "failures", name), _cache_key("user", "locked", name)]
    if address:
        keys += [
            _cache_key("address", "failures", address),
            _cache_key("address", "locked", address),
        ]
    cache.delete_many(keys)


def sign_in_locked_message(wait_s: float) -> str:
    minutes = max(1, math.ceil(wait_s / 60))
    return f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


class SignInThrottleMiddleware:
    """Slows password guessing on every sign-in form: the portal's and the admin's.

    A POST to a sign-in page from a locked-out user name or address is refused with 429
    before the password is checked; otherwise the outcome of the view is counted. A sign-in
    has succeeded when the view logged a user in (``login()`` replaces ``request.user``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method != "POST" or not _is_sign_in(request):
            return self.get_response(request)
        username = request.POST.get("username", "")
        address = request.META.get("REMOTE_ADDR", "")
        try:
            wait_s = sign_in_lockout_remaining_s(username=username, address=address)
        except CACHE_ERRORS:
            # The shared cache is down (Redis restarting): people must still be able to sign
            # in; the count resumes when it is back.
            logger.warning("Sign-in throttle unavailable: the cache did not answer")
            return self.get_response(request)
        if wait_s > 0:
            return _locked_out(request, username=username, wait_s=wait_s)
        user_before = request.user
        response = self.get_response(request)
        try:
            if request.user is not user_before and request.user.is_authenticated:
                # The user name's count only: an attacker with an account of their own must
                # not be able to reset the count of the address they guess other accounts from.
                sign_in_lockout_clear(username=request.user.get_username())
            elif response.status_code == 200 and username and request.POST.get("password"):
                sign_in_failure_record(username=username, address=address)
        except CACHE_ERRORS:
            logger.warning("Sign-in throttle unavailable: the cache did not answer")
        return response


def _is_sign_in(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.view_name in SIGN_IN_URL_NAMES


def _locked_out(request: HttpRequest, *, username: str, wait_s: float) -> HttpResponse:
    response = render(
        request,
        "registration/login.html",
        {
            "form": AuthenticationForm(request, initial={"username": username[:150]}),
            "next": request.POST.get("next", ""),
            "locked_out": sign_in_locked_message(wait_s),
        },
        status=429,
    )
    response["Retry-After"] = str(math.ceil(wait_s))
    return response
