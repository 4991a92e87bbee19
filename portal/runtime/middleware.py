"""Middleware every request passes: sign-in required, the content security policy, no-store for
pages that show customer data, and the language of the pages."""

import logging
from collections.abc import Callable
from typing import Any

from csp.middleware import CSPMiddleware, PolicyParts
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from portal.runtime.languages import user_language

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


class CustomerLanguageMiddleware(LocaleMiddleware):
    """A signed-in customer's pages in the language kept on their account, whatever their
    browser says; staff in English; anyone else (the sign-in page) as Django's own
    ``LocaleMiddleware`` chooses: the language cookie, then ``Accept-Language``."""

    def process_request(self, request: HttpRequest) -> None:
        language = user_language(request.user)
        if language is None:
            super().process_request(request)
            return
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response = super().process_response(request, response)
        # The thread goes back to the default language: what runs on it next (a live stream's
        # database call, a worker thread of the embedded mode) does not inherit a customer's.
        translation.deactivate()
        return response
