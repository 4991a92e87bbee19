"""Idle sessions end: a user who has done nothing for their role's limit is signed out."""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, resolve_url

from portal.access.roles import user_works_for_utility
from portal.models import User

logger = logging.getLogger(__name__)


def wall_clock() -> float:
    return time.time()


LAST_ACTIVITY_SESSION_KEY = "portal_last_activity"


# Saving the session on every request would be a database write per page; within a limit of
# half an hour or more, a minute's uncertainty is nothing.
ACTIVITY_RESOLUTION_S = 60.0


def session_idle_limit_s(user: AbstractBaseUser | AnonymousUser) -> int:
    if isinstance(user, User) and user_works_for_utility(user):
        return int(settings.PORTAL_STAFF_SESSION_IDLE_S)
    return int(settings.PORTAL_CUSTOMER_SESSION_IDLE_S)


def session_idle_expired(*, session: SessionBase, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether the signed-in user's session has been idle longer than their role allows.

    A session with no activity recorded yet (signed in before the limit existed) is not.
    """
    last_activity = session.get(LAST_ACTIVITY_SESSION_KEY)
    if last_activity is None:
        return False
    return wall_clock() - float(last_activity) > session_idle_limit_s(user)


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
        now = wall_clock()
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
