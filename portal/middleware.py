import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import Resolver404, resolve
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class SignInRequiredMiddleware(LoginRequiredMiddleware):
    """Every page needs a signed-in user unless its view is marked ``login_not_required``.

    The API is left to DRF, which answers an anonymous client with 401/403 rather than
    redirecting it to a sign-in page it cannot use.
    """

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's header, plus the run page's WebSocket to this same host.

    CSP Level 3 lets ``'self'`` match ws: and wss: on the page's own host, but not every
    browser in use does; naming the host is exact without allowing sockets to anywhere.
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        try:
            host = request.get_host()
        except DisallowedHost:
            return parts
        socket = f"{'wss' if request.is_secure() else 'ws'}://{host}"
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), socket]
        parts.update = update
        return parts


# --- Sign-in throttling -----------------------------------------------------------------------
# Counted in the cache (shared through Redis when there are several web processes). Keys hold a
# hash, never the user name or address itself.
SIGN_IN_URL_NAMES = {"login", "admin:login"}
# What the Redis cache raises while Redis is unreachable (the local-memory cache never does).
CACHE_ERRORS = (RedisError, OSError)


def _now() -> float:
    return time.time()


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
    return max(0.0, float(until) - _now())


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
            cache.set(_cache_key(kind, "locked", value), _now() + lockout_s, lockout_s)
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
