# ruff: noqa: E501 - the matrix is a table, one row a line, wider than the code around it
"""Who gets what from every page, API endpoint and WebSocket route: one table, walked cell by cell.

Every object in a URL belongs to customer A (premise A, a finished run there, a finding of that
run, a Trust Center registration at premise A's meter), so customer B must be turned away where
customer A is let in. The integration actor is a CRM's API client: a representative's API token
sent as ``Authorization: Token <key>``, no cookies. Pages ignore the token, so it meets them as an
anonymous visitor would, except that its form POSTs carry no CSRF token and are refused first.

A new route, or a new unsafe method on a class-based view, fails
``test_the_table_lists_every_route_the_project_has`` until the table has a row for it.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django.utils.crypto import get_random_string

from portal.models import (
    Customer,
    CustomerMessage,
    DiagnosisReview,
    Escalation,
    HanTestCase,
    HanTestRun,
    RecordedAction,
    WorkOrder,
)
from portal.routing import websocket_urlpatterns
from tests.portal.conftest import ACTORS, INSTALLER_A, TOKEN, World
from trust_center.models import DeviceRegistration

pytestmark = pytest.mark.usefixtures("cache_of_its_own")


@dataclass(frozen=True)
class To:
    """A 302 to the page with this URL name."""

    url_name: str


SIGN_IN = To("login")
ADMIN_SIGN_IN = To("admin:login")
HOME = To("home")
MY_HOME = To("my_home")
SEARCH = To("customer_search")
INSTALLERS = To("work_order_list")
WORK_ORDER = To("work_order_detail")
PREMISE = To("premise_detail")
RUN = To("run_detail")
CSRF = "403 CSRF"  # refused by the CSRF check, before any view or sign-in check runs
ACCEPTED = "accepted"  # WebSocket accepted, snapshot sent
CLOSED = "closed 4403"  # WebSocket closed before accepting, with code 4403

Answer = int | To | str

# fmt: off
MATRIX: list[tuple[str, str, Answer, Answer, Answer, Answer, Answer, Answer, Answer, Answer]] = [
    # route                                               method    anonymous  customer A  customer B  installer A  installer B  rep      admin    token
    # --- pages: signed-in users only (SignInRequiredMiddleware), staff/admin checks in views
    ("",                                                  "GET",    SIGN_IN,   MY_HOME,    MY_HOME,    INSTALLERS,  INSTALLERS,  SEARCH,  SEARCH,  SIGN_IN),
    ("sign-in/",                                          "GET",    200,       HOME,       HOME,       HOME,        HOME,        HOME,    HOME,    200),
    ("sign-in/",                                          "POST",   200,       HOME,       HOME,       HOME,        HOME,        HOME,    HOME,    CSRF),
    # Django's form views take PUT as POST; no HTML form sends it, but the CSRF check holds.
    ("sign-in/",                                          "PUT",    200,       HOME,       HOME,       HOME,        HOME,        HOME,    HOME,    CSRF),
    ("sign-out/",                                         "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("sign-out/",                                         "POST",   SIGN_IN,   SIGN_IN,    SIGN_IN,    SIGN_IN,     SIGN_IN,     SIGN_IN, SIGN_IN, CSRF),
    ("customers/",                                        "GET",    SIGN_IN,   403,        403,        403,         403,         200,     200,     SIGN_IN),
    ("customers/<int:customer_id>/",                      "GET",    SIGN_IN,   403,        403,        403,         403,         200,     200,     SIGN_IN),
    ("customers/<int:customer_id>/consent/",              "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("customers/<int:customer_id>/consent/",              "POST",   SIGN_IN,   MY_HOME,    404,        404,         404,         403,     403,     CSRF),
    ("my-home/",                                          "GET",    SIGN_IN,   200,        200,        INSTALLERS,  INSTALLERS,  SEARCH,  SEARCH,  SIGN_IN),
    # The customer's language choice, kept on their own account.
    ("my-home/",                                          "POST",   SIGN_IN,   MY_HOME,    MY_HOME,    403,         403,         403,     403,     CSRF),
    ("premises/<int:premise_id>/",                        "GET",    SIGN_IN,   200,        404,        200,         404,         200,     200,     SIGN_IN),
    ("premises/<int:premise_id>/test/",                   "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("premises/<int:premise_id>/test/",                   "POST",   SIGN_IN,   RUN,        404,        RUN,         404,         RUN,     RUN,     CSRF),
    ("premises/<int:premise_id>/devices/register/",       "GET",    SIGN_IN,   200,        404,        200,         404,         200,     200,     SIGN_IN),
    ("premises/<int:premise_id>/devices/register/",       "POST",   SIGN_IN,   400,        404,        400,         404,         400,     400,     CSRF),
    ("registrations/<int:registration_id>/join-window/",  "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("registrations/<int:registration_id>/join-window/",  "POST",   SIGN_IN,   PREMISE,    404,        PREMISE,     404,         PREMISE, PREMISE, CSRF),
    ("registrations/<int:registration_id>/remove/",       "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("registrations/<int:registration_id>/remove/",       "POST",   SIGN_IN,   PREMISE,    404,        PREMISE,     404,         PREMISE, PREMISE, CSRF),
    ("premises/<int:premise_id>/meter-exchange/",         "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("premises/<int:premise_id>/meter-exchange/",         "POST",   SIGN_IN,   403,        403,        403,         403,         PREMISE, PREMISE, CSRF),
    ("runs/<int:run_id>/",                                "GET",    SIGN_IN,   200,        404,        200,         404,         200,     200,     SIGN_IN),
    ("runs/<int:run_id>/cancel/",                         "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("runs/<int:run_id>/cancel/",                         "POST",   SIGN_IN,   RUN,        404,        RUN,         404,         RUN,     RUN,     CSRF),
    ("runs/<int:run_id>/actions/",                        "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("runs/<int:run_id>/actions/",                        "POST",   SIGN_IN,   RUN,        404,        RUN,         404,         RUN,     RUN,     CSRF),
    ("runs/<int:run_id>/retest/",                         "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("runs/<int:run_id>/retest/",                         "POST",   SIGN_IN,   RUN,        404,        RUN,         404,         RUN,     RUN,     CSRF),
    ("runs/<int:run_id>/findings/<int:finding_id>/review/", "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("runs/<int:run_id>/findings/<int:finding_id>/review/", "POST",   SIGN_IN,   403,        403,        403,         403,         403,     RUN,     CSRF),
    ("runs/<int:run_id>/picture/",                        "GET",    SIGN_IN,   200,        404,        200,         404,         200,     200,     SIGN_IN),
    ("runs/<int:run_id>/instructions/",                   "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("runs/<int:run_id>/instructions/",                   "POST",   SIGN_IN,   RUN,        404,        403,         403,         RUN,     RUN,     CSRF),
    ("runs/<int:run_id>/leave/",                          "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("runs/<int:run_id>/leave/",                          "POST",   SIGN_IN,   403,        403,        403,         403,         RUN,     RUN,     CSRF),
    ("cases/<int:case_id>/notes/",                        "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("cases/<int:case_id>/notes/",                        "POST",   SIGN_IN,   403,        403,        403,         403,         RUN,     RUN,     CSRF),
    ("cases/<int:case_id>/close/",                        "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("cases/<int:case_id>/close/",                        "POST",   SIGN_IN,   403,        403,        403,         403,         RUN,     RUN,     CSRF),
    ("cases/<int:case_id>/escalations/",                  "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("cases/<int:case_id>/escalations/",                  "POST",   SIGN_IN,   403,        403,        403,         403,         RUN,     RUN,     CSRF),
    ("cases/<int:case_id>/work-orders/",                  "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("cases/<int:case_id>/work-orders/",                  "POST",   SIGN_IN,   403,        403,        403,         403,         RUN,     RUN,     CSRF),
    ("work-orders/",                                      "GET",    SIGN_IN,   403,        403,        200,         200,         403,     403,     SIGN_IN),
    ("work-orders/<int:work_order_id>/",                  "GET",    SIGN_IN,   404,        404,        200,         404,         200,     200,     SIGN_IN),
    ("work-orders/<int:work_order_id>/done/",             "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("work-orders/<int:work_order_id>/done/",             "POST",   SIGN_IN,   404,        404,        WORK_ORDER,  404,         WORK_ORDER, WORK_ORDER, CSRF),
    ("escalations/<int:escalation_id>/",                  "GET",    SIGN_IN,   405,        405,        405,         405,         405,     405,     SIGN_IN),
    ("escalations/<int:escalation_id>/",                  "POST",   SIGN_IN,   403,        403,        403,         403,         RUN,     RUN,     CSRF),
    ("history/",                                          "GET",    SIGN_IN,   403,        403,        403,         403,         200,     200,     SIGN_IN),
    ("history/export.csv",                                "GET",    SIGN_IN,   403,        403,        403,         403,         403,     200,     SIGN_IN),
    ("dashboard/",                                        "GET",    SIGN_IN,   403,        403,        403,         403,         403,     200,     SIGN_IN),
    ("reviews/",                                          "GET",    SIGN_IN,   403,        403,        403,         403,         403,     200,     SIGN_IN),
    ("audit-log/",                                        "GET",    SIGN_IN,   403,        403,        403,         403,         403,     200,     SIGN_IN),
    ("health/",                                           "GET",    200,       200,        200,        200,         200,         200,     200,     200),
    # The Django admin: its own sub-pages are the admin's business; only superusers get in.
    ("admin/",                                            "GET",    ADMIN_SIGN_IN,ADMIN_SIGN_IN,ADMIN_SIGN_IN,ADMIN_SIGN_IN,ADMIN_SIGN_IN,ADMIN_SIGN_IN,200,     ADMIN_SIGN_IN),
    # --- API: DRF, 401 without credentials (the token scheme is listed first), CSRF-exempt for tokens
    ("api/schema/",                                       "GET",    401,       200,        200,        200,         200,         200,     200,     200),
    ("api/docs/",                                         "GET",    401,       200,        200,        200,         200,         200,     200,     200),
    ("api/v1/customers/",                                 "GET",    401,       403,        403,        403,         403,         200,     200,     200),
    ("api/v1/customers/<int:customer_id>/",               "GET",    401,       200,        404,        404,         404,         200,     200,     200),
    ("api/v1/premises/",                                  "GET",    401,       200,        200,        200,         200,         200,     200,     200),
    ("api/v1/premises/<int:premise_id>/",                 "GET",    401,       200,        404,        200,         404,         200,     200,     200),
    ("api/v1/premises/<int:premise_id>/runs/",            "GET",    401,       405,        405,        405,         405,         405,     405,     405),
    ("api/v1/premises/<int:premise_id>/runs/",            "POST",   401,       201,        404,        201,         404,         201,     201,     201),
    ("api/v1/premises/<int:premise_id>/cases/",           "GET",    401,       200,        404,        200,         404,         200,     200,     200),
    ("api/v1/premises/<int:premise_id>/registrations/",   "GET",    401,       200,        404,        200,         404,         200,     200,     200),
    ("api/v1/premises/<int:premise_id>/registrations/",   "POST",   401,       400,        404,        400,         404,         400,     400,     400),
    ("api/v1/registrations/<int:registration_id>/",       "GET",    401,       200,        404,        200,         404,         200,     200,     200),
    ("api/v1/registrations/<int:registration_id>/",       "DELETE", 401,       200,        404,        200,         404,         200,     200,     200),
    ("api/v1/runs/",                                      "GET",    401,       200,        200,        200,         200,         200,     200,     200),
    ("api/v1/runs/<int:run_id>/",                         "GET",    401,       200,        404,        200,         404,         200,     200,     200),
    ("api/v1/runs/<int:run_id>/findings/<int:finding_id>/review/", "GET",    401,       405,        405,        405,         405,         405,     405,     405),
    ("api/v1/runs/<int:run_id>/findings/<int:finding_id>/review/", "PUT",    401,       403,        403,        403,         403,         403,     200,     403),
    ("api/v1/runs/<int:run_id>/actions/",                 "GET",    401,       405,        405,        405,         405,         405,     405,     405),
    ("api/v1/runs/<int:run_id>/actions/",                 "POST",   401,       201,        404,        201,         404,         201,     201,     201),
    ("api/v1/runs/<int:run_id>/cancel/",                  "GET",    401,       405,        405,        405,         405,         405,     405,     405),
    ("api/v1/runs/<int:run_id>/cancel/",                  "POST",   401,       409,        404,        409,         404,         409,     409,     409),
    ("api/v1/runs/<int:run_id>/retest/",                  "GET",    401,       405,        405,        405,         405,         405,     405,     405),
    ("api/v1/runs/<int:run_id>/retest/",                  "POST",   401,       201,        404,        201,         404,         201,     201,     201),
    # --- WebSocket: session cookie only (AuthMiddlewareStack); the token is not looked at
    ("ws/runs/<int:run_id>/",                             "WS",     CLOSED,    ACCEPTED,   CLOSED,     ACCEPTED,    CLOSED,      ACCEPTED,ACCEPTED,CLOSED),
]
# fmt: on

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class Row(NamedTuple):
    route: str
    method: str
    answers: dict[str, Answer]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def is_websocket(self) -> bool:
        return self.method == "WS"

    @property
    def is_form_post(self) -> bool:
        """An HTML form's POST: a page route, not the API."""
        return self.method == "POST" and not self.is_api

    def path(self, ids: dict[str, int]) -> str:
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda match: str(ids[match[1]]), self.route)


ROWS = [
    Row(route, method, dict(zip(ACTORS, answers, strict=True)))
    for route, method, *answers in MATRIX
]


def allowed(answer: Answer) -> bool:
    """The actor got to do what the route does (as opposed to being turned away)."""
    if isinstance(answer, To):
        return answer not in {SIGN_IN, ADMIN_SIGN_IN}
    return isinstance(answer, int) and 200 <= answer < 400


# What the unsafe requests send. Writes are kept to what a test can see: a form that fails
# validation writes nothing at all.
INVALID_REGISTRATION = {
    "eui64": "not-an-eui64",
    "install_code": "0000",
    "category": "load_control_switch",
}
Payload = dict[str, str] | Callable[["World"], dict[str, str]]  # a callable: from the world
PAYLOADS: dict[tuple[str, str], Payload] = {
    ("sign-in/", "POST"): {"username": "nobody", "password": "not-the-password"},
    ("sign-in/", "PUT"): {"username": "nobody", "password": "not-the-password"},
    ("customers/<int:customer_id>/consent/", "POST"): {"consent": "1"},
    ("my-home/", "POST"): {"language": "es"},
    ("premises/<int:premise_id>/test/", "POST"): {"problem": "Thermostat stopped answering"},
    ("premises/<int:premise_id>/devices/register/", "POST"): INVALID_REGISTRATION,
    ("runs/<int:run_id>/actions/", "POST"): {"action": "change_range", "note": ""},
    ("runs/<int:run_id>/findings/<int:finding_id>/review/", "POST"): {"verdict": "right"},
    # No such device: refused by the service, nothing sent to a gateway.
    ("runs/<int:run_id>/leave/", "POST"): {"device": "0"},
    ("cases/<int:case_id>/notes/", "POST"): {"text": "Customer asked for a call back"},
    ("cases/<int:case_id>/close/", "POST"): {"reason": "Customer returned the device"},
    ("cases/<int:case_id>/escalations/", "POST"): {"kind": "channel_change", "reason": "Wi-Fi"},
    ("escalations/<int:escalation_id>/", "POST"): {"status": "in_progress"},
    ("cases/<int:case_id>/work-orders/", "POST"): lambda world: {
        "installer": str(world.users[INSTALLER_A].pk),
        "scheduled_for": timezone.localdate().isoformat(),
        "window": "morning",
        "instructions": "Fit a range extender in the hall",
    },
    ("work-orders/<int:work_order_id>/done/", "POST"): {"outcome": "Fitted a range extender"},
    ("api/v1/premises/<int:premise_id>/runs/", "POST"): {"problem": "Thermostat offline"},
    ("api/v1/premises/<int:premise_id>/registrations/", "POST"): INVALID_REGISTRATION,
    ("api/v1/runs/<int:run_id>/findings/<int:finding_id>/review/", "PUT"): {"verdict": "right"},
    ("api/v1/runs/<int:run_id>/actions/", "POST"): {"action": "change_range"},
}


def _premise_runs(world: World) -> int:
    return HanTestRun.objects.filter(premise_id=world.ids["premise_id"]).count()


def _registration_status(world: World) -> str:
    return DeviceRegistration.objects.get(pk=world.ids["registration_id"]).status


def _registrations(world: World) -> int:
    return DeviceRegistration.objects.count()


def _consent(world: World) -> bool:
    return Customer.objects.get(pk=world.ids["customer_id"]).customer_han_consent


def _actions(world: World) -> int:
    return RecordedAction.objects.filter(run_id=world.ids["run_id"]).count()


def _messages_sent(world: World) -> int:
    return CustomerMessage.objects.filter(run_id=world.ids["run_id"]).count()


def _case_work(world: World) -> tuple[Any, ...]:
    case = HanTestCase.objects.get(pk=world.ids["case_id"])
    return (
        case.notes.count(),
        case.status,
        case.escalations.count(),
        Escalation.objects.get(pk=world.ids["escalation_id"]).status,
    )


def _work_orders(world: World) -> tuple[Any, ...]:
    orders = WorkOrder.objects.filter(case_id=world.ids["case_id"])
    return (orders.count(), orders.get(pk=world.ids["work_order_id"]).status)


def _languages(world: World) -> list[str]:
    return list(Customer.objects.order_by("pk").values_list("language", flat=True))


def _reviewed(world: World) -> bool:
    return DiagnosisReview.objects.filter(finding_id=world.ids["finding_id"]).exists()


# What each write changes: it must change for an actor let in, and stay put for the others.
EFFECTS: dict[tuple[str, str], Callable[[World], Any]] = {
    ("cases/<int:case_id>/notes/", "POST"): _case_work,
    ("runs/<int:run_id>/instructions/", "POST"): _messages_sent,
    ("cases/<int:case_id>/close/", "POST"): _case_work,
    ("cases/<int:case_id>/escalations/", "POST"): _case_work,
    ("escalations/<int:escalation_id>/", "POST"): _case_work,
    ("cases/<int:case_id>/work-orders/", "POST"): _work_orders,
    ("work-orders/<int:work_order_id>/done/", "POST"): _work_orders,
    ("customers/<int:customer_id>/consent/", "POST"): _consent,
    ("my-home/", "POST"): _languages,
    ("premises/<int:premise_id>/test/", "POST"): _premise_runs,
    ("premises/<int:premise_id>/devices/register/", "POST"): _registrations,
    ("registrations/<int:registration_id>/remove/", "POST"): _registration_status,
    ("premises/<int:premise_id>/meter-exchange/", "POST"): _registration_status,
    ("runs/<int:run_id>/actions/", "POST"): _actions,
    ("runs/<int:run_id>/retest/", "POST"): _premise_runs,
    ("runs/<int:run_id>/findings/<int:finding_id>/review/", "POST"): _reviewed,
    ("api/v1/premises/<int:premise_id>/runs/", "POST"): _premise_runs,
    ("api/v1/premises/<int:premise_id>/registrations/", "POST"): _registrations,
    ("api/v1/registrations/<int:registration_id>/", "DELETE"): _registration_status,
    ("api/v1/runs/<int:run_id>/findings/<int:finding_id>/review/", "PUT"): _reviewed,
    ("api/v1/runs/<int:run_id>/actions/", "POST"): _actions,
    ("api/v1/runs/<int:run_id>/retest/", "POST"): _premise_runs,
}


def client_for(actor: str, world: World) -> Client:
    """A client that checks CSRF as a browser's requests are checked."""
    client = Client(enforce_csrf_checks=True)
    if actor in world.users:
        client.force_login(world.users[actor])
    return client


def request_for(row: Row, actor: str, world: World, *, with_csrf: bool = True) -> Any:
    """Send the row's request as the actor: browsers with their CSRF token, the token bare."""
    client = client_for(actor, world)
    headers: dict[str, Any] = {}
    if actor == TOKEN:
        headers["HTTP_AUTHORIZATION"] = f"Token {world.api_token}"
    elif with_csrf and row.method in UNSAFE_METHODS:
        secret = get_random_string(32)
        client.cookies[settings.CSRF_COOKIE_NAME] = secret
        headers["HTTP_X_CSRFTOKEN"] = secret
    path = row.path(world.ids)
    payload = PAYLOADS.get((row.route, row.method), {})
    data = payload(world) if callable(payload) else payload
    if row.method == "GET":
        return client.get(path, **headers)
    if row.is_api:
        return client.generic(
            row.method,
            path,
            data=json.dumps(data),
            content_type="application/json",
            **headers,
        )
    if row.method == "POST":
        return client.post(path, data, **headers)
    return client.generic(
        row.method, path, urlencode(data), "application/x-www-form-urlencoded", **headers
    )


def assert_answer(response: Any, expected: Answer, *, cell: str) -> None:
    got = f"{cell}: got {response.status_code} {response.get('Location', '')}"
    if isinstance(expected, To):
        assert response.status_code == 302, got
        target = resolve(urlsplit(response["Location"]).path).view_name
        assert target == expected.url_name, f"{got} (a redirect to {target})"
    elif expected == CSRF:
        assert response.status_code == 403, got
        assert b"CSRF verification failed" in response.content, got
    else:
        assert response.status_code == expected, got


def _cell_id(row: Row, actor: str) -> str:
    return f"{row.method} /{row.route} as {actor}"


HTTP_CELLS = [
    pytest.param(row, actor, id=_cell_id(row, actor))
    for row in ROWS
    if not row.is_websocket
    for actor in ACTORS
]
WEBSOCKET_CELLS = [
    pytest.param(row, actor, id=_cell_id(row, actor))
    for row in ROWS
    if row.is_websocket
    for actor in ACTORS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "actor"), HTTP_CELLS)
def test_http_cell(row: Row, actor: str, world: World, no_enqueue: None) -> None:
    expected = row.answers[actor]
    effect = EFFECTS.get((row.route, row.method))
    before = effect(world) if effect else None

    response = request_for(row, actor, world)

    assert_answer(response, expected, cell=_cell_id(row, actor))
    if effect is not None:
        after = effect(world)
        if allowed(expected):
            assert after != before, f"{_cell_id(row, actor)} was let in but changed nothing"
        else:
            assert after == before, f"{_cell_id(row, actor)} was turned away but changed {before!r}"


def _websocket_headers(actor: str, world: World) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://127.0.0.1")]
    if actor == TOKEN:
        headers.append((b"authorization", f"Token {world.api_token}".encode()))
    elif actor in world.users:
        client = client_for(actor, world)
        sessionid = client.cookies[settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={sessionid}".encode()))
    return headers


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize(("row", "actor"), WEBSOCKET_CELLS)
async def test_websocket_cell(row: Row, actor: str, world: World) -> None:
    from portal.asgi import application

    headers = await database_sync_to_async(_websocket_headers)(actor, world)
    communicator = WebsocketCommunicator(application, row.path(world.ids), headers=headers)
    connected, code = await communicator.connect(timeout=5)
    try:
        if row.answers[actor] == ACCEPTED:
            assert connected, f"{_cell_id(row, actor)}: refused with {code}"
            snapshot = await communicator.receive_json_from(timeout=5)
            assert snapshot["kind"] == "snapshot"
            assert snapshot["run"]["id"] == world.ids["run_id"]
        else:
            assert (connected, code) == (False, 4403), _cell_id(row, actor)
    finally:
        await communicator.disconnect()


# --- Completeness: the table and the project's routes must name the same routes.


def _http_routes(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> dict[str, URLPattern | URLResolver]:
    """Every route, as the concatenated pattern strings; the Django admin as ``admin/`` alone."""
    routes: dict[str, URLPattern | URLResolver] = {}
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(settings.STATIC_URL.lstrip("/")):
            continue
        if isinstance(pattern, URLResolver) and pattern.app_name != "admin":
            routes.update(_http_routes(pattern.url_patterns, route))
        else:
            routes[route] = pattern
    return routes


def _unsafe_methods_of(pattern: URLPattern | URLResolver) -> set[str]:
    """The unsafe methods a class-based view implements (function views cannot say)."""
    view_class = getattr(getattr(pattern, "callback", None), "view_class", None)
    if view_class is None:
        return set()
    return {
        method
        for method in UNSAFE_METHODS
        if method.lower() in view_class.http_method_names and hasattr(view_class, method.lower())
    }


def test_the_table_lists_every_route_the_project_has() -> None:
    http_routes = _http_routes(get_resolver().url_patterns)
    websocket_routes = {str(pattern.pattern) for pattern in websocket_urlpatterns}
    project = set(http_routes) | websocket_routes
    table = {row.route for row in ROWS}

    assert not project - table, f"routes missing from MATRIX: {sorted(project - table)}"
    assert not table - project, (
        f"MATRIX lists routes that no longer exist: {sorted(table - project)}"
    )
    for route in table:
        methods = {row.method for row in ROWS if row.route == route}
        assert methods & {"GET", "WS"}, f"MATRIX has no GET row for /{route}"
    for route, pattern in http_routes.items():
        methods = {row.method for row in ROWS if row.route == route}
        missing = _unsafe_methods_of(pattern) - methods
        assert not missing, f"/{route} answers {sorted(missing)}, which MATRIX does not list"


def test_the_table_has_one_row_per_route_and_method() -> None:
    keys = [(row.route, row.method) for row in ROWS]
    assert len(keys) == len(set(keys))
    assert not set(PAYLOADS) - set(keys)
    assert not set(EFFECTS) - set(keys)
