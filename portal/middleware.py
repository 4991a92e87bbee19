import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import Resolver404, resolve
from redis.exceptions import RedisError

from portal import selectors
from portal.models import User

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


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every answer that may carry customer data.

    That is every answer to a user signed in before or after the view (signing out or in), and
    every API answer (a token's user is known only inside DRF). Nothing a browser, a proxy or a
    shared computer's cache keeps can then show one person's data to the next. Static files
    are served before this runs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        signed_in = request.user.is_authenticated
        response = self.get_response(request)
        if signed_in or request.user.is_authenticated or request.path_info.startswith("/api/"):
            response["Cache-Control"] = "no-store"
        return response


def _now() -> float:
    return time.time()


# --- Idle sessions ----------------------------------------------------------------------------
LAST_ACTIVITY_SESSION_KEY = "portal_last_activity"
# Saving the session on every request would be a database write per page; within a limit of
# half an hour or more, a minute's uncertainty is nothing.
ACTIVITY_RESOLUTION_S = 60.0


def session_idle_limit_s(user: AbstractBaseUser | AnonymousUser) -> int:
    if isinstance(user, User) and selectors.user_works_for_utility(user):
        return int(settings.PORTAL_STAFF_SESSION_IDLE_S)
    return int(settings.PORTAL_CUSTOMER_SESSION_IDLE_S)


def session_idle_expired(*, session: SessionBase, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether the signed-in user's session has been idle longer than their role allows.

    A session with no activity recorded yet (signed in before the limit existed) is not.
    """
    last_activity = session.get(LAST_ACTIVITY_SESSION_KEY)
    if last_activity is None:
        return False
    return _now() - float(last_activity) > session_idle_limit_s(user)


def idle_sign_out_message(limit_s: int) -> str:
    minutes = max(1, round(limit_s / 60))
    if minutes >= 120 and minutes % 60 == 0:
        length = f"{minutes // 60} hours"
    else:
        length = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"You were signed out after {length} without activity."


def _is_script_read(request: HttpRequest) -> bool:
    """A page's script reading something (fetch or XHR), not a person opening or sending it."""
    return request.method in {"GET", "HEAD"} and request.headers.get("Sec-Fetch-Dest") == "empty"


class IdleSessionExpiryMiddleware:
    """Signs out a session left idle: staff after ``PORTAL_STAFF_SESSION_IDLE_S``, customers
    after ``PORTAL_CUSTOMER_SESSION_IDLE_S``; the session's cookie and row end then too.

    A page is sent to the sign-in page, which says why; an API call or a script's read gets a
    401. What a page's script reads by itself (the run page redrawing its picture) is not
    activity, so an open tab does not keep a session alive; its WebSocket does not count either.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and session_idle_expired(session=request.session, user=user):
            return self._signed_out(request, idle_sign_out_message(session_idle_limit_s(user)))
        response = self.get_response(request)
        # After the view: the user it signed in, or none if it signed them out.
        if request.user.is_authenticated:
            self._activity_record(request)
        return response

    def _activity_record(self, request: HttpRequest) -> None:
        session = request.session
        last_activity = session.get(LAST_ACTIVITY_SESSION_KEY)
        if last_activity is not None and _is_script_read(request):
            return
        limit_s = session_idle_limit_s(request.user)
        now = _now()
        resolution_s = min(ACTIVITY_RESOLUTION_S, limit_s / 10)
        if last_activity is not None and now - float(last_activity) < resolution_s:
            return
        session[LAST_ACTIVITY_SESSION_KEY] = now
        # The cookie and the stored session end when the idle limit would: a browser left
        # open holds nothing that still works.
        session.set_expiry(limit_s)

    def _signed_out(self, request: HttpRequest, message: str) -> HttpResponseBase:
        logger.info("Signed out user %s after an idle session", request.user.pk)
        logout(request)
        if request.path_info.startswith("/api/") or _is_script_read(request):
            return JsonResponse(
                {"detail": message}, status=401, headers={"WWW-Authenticate": "Token"}
            )
        messages.info(request, message)
        sign_in = resolve_url(settings.LOGIN_URL)
        # Back to the page after signing in again; a form's target is no page to go back to.
        if request.method == "GET" and request.path_info != sign_in:
            return redirect_to_login(request.get_full_path())
        return redirect(sign_in)


# --- Sign-in throttling -----------------------------------------------------------------------
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
