"""Every state-changing request from a browser needs its CSRF token; an API token needs none.

The form routes are the access matrix's page POST rows, so a new form cannot be left out: its
test fails until ``FORM_PAGES`` names the page that shows the form.
"""

import json
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.test import Client

from tests.portal.conftest import ADMIN, ANONYMOUS, CUSTOMER_A, INSTALLER_A, REP, TOKEN, World
from tests.portal.test_access_matrix import (
    CSRF,
    EFFECTS,
    PAYLOADS,
    ROWS,
    Row,
    allowed,
    assert_answer,
    client_for,
    request_for,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cache_of_its_own")]

# Form route -> (the page that shows the form, who sees it there).
FORM_PAGES: dict[str, tuple[str, str]] = {
    # The sign-in form is only ever shown to a visitor who is not signed in.
    "sign-in/": ("sign-in/", ANONYMOUS),
    "sign-out/": ("my-home/", CUSTOMER_A),
    "customers/<int:customer_id>/consent/": ("my-home/", CUSTOMER_A),
    "my-home/": ("my-home/", CUSTOMER_A),
    "premises/<int:premise_id>/test/": ("premises/<int:premise_id>/", CUSTOMER_A),
    "premises/<int:premise_id>/devices/register/": (
        "premises/<int:premise_id>/devices/register/",
        CUSTOMER_A,
    ),
    "registrations/<int:registration_id>/join-window/": ("premises/<int:premise_id>/", CUSTOMER_A),
    "registrations/<int:registration_id>/remove/": ("premises/<int:premise_id>/", CUSTOMER_A),
    "premises/<int:premise_id>/meter-exchange/": ("premises/<int:premise_id>/", REP),
    "runs/<int:run_id>/cancel/": ("runs/<int:run_id>/", CUSTOMER_A),
    "runs/<int:run_id>/actions/": ("runs/<int:run_id>/", CUSTOMER_A),
    "runs/<int:run_id>/retest/": ("runs/<int:run_id>/", CUSTOMER_A),
    "runs/<int:run_id>/findings/<int:finding_id>/review/": ("runs/<int:run_id>/", ADMIN),
    "runs/<int:run_id>/instructions/": ("runs/<int:run_id>/", REP),
    "runs/<int:run_id>/leave/": ("runs/<int:run_id>/", REP),
    "cases/<int:case_id>/notes/": ("runs/<int:run_id>/", REP),
    "cases/<int:case_id>/close/": ("runs/<int:run_id>/", REP),
    "cases/<int:case_id>/escalations/": ("runs/<int:run_id>/", REP),
    "escalations/<int:escalation_id>/": ("runs/<int:run_id>/", REP),
    "cases/<int:case_id>/work-orders/": ("runs/<int:run_id>/", REP),
    "work-orders/<int:work_order_id>/done/": ("work-orders/<int:work_order_id>/", INSTALLER_A),
}

FORM_ROWS = [row for row in ROWS if row.is_form_post]
API_UNSAFE_ROWS = [row for row in ROWS if row.is_api and row.method not in {"GET", "WS"}]


class _Forms(HTMLParser):
    """The page's POST forms: action -> their hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and attributes.get("method", "").lower() == "post":
            self._current = self.forms.setdefault(attributes.get("action", ""), {})
        elif tag == "input" and self._current is not None and attributes.get("type") == "hidden":
            self._current[attributes.get("name", "")] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _form_on_page(client: Client, page: str, action: str) -> dict[str, str]:
    """The hidden fields, CSRF token included, of the form on ``page`` posting to ``action``."""
    response = client.get(page)
    assert response.status_code == 200, f"{page} answered {response.status_code}"
    parser = _Forms()
    parser.feed(response.content.decode())
    # A form without an action posts to the page itself.
    key = "" if action == page and action not in parser.forms else action
    assert key in parser.forms, f"{page} shows no form posting to {action}: {sorted(parser.forms)}"
    return parser.forms[key]


def _path(route: str, world: World) -> str:
    return Row(route, "GET", {}).path(world.ids)


def test_every_form_route_names_the_page_that_shows_it() -> None:
    form_routes = {row.route for row in FORM_ROWS}
    assert form_routes, "the matrix lists no form routes"
    assert set(FORM_PAGES) == form_routes, (
        f"add to FORM_PAGES: {sorted(form_routes - set(FORM_PAGES))}; "
        f"no longer form routes: {sorted(set(FORM_PAGES) - form_routes)}"
    )


@pytest.mark.parametrize("row", FORM_ROWS, ids=lambda row: f"POST /{row.route}")
def test_form_post_needs_the_csrf_token_from_its_page(
    row: Row, world: World, no_enqueue: None
) -> None:
    if row.route not in FORM_PAGES:
        pytest.fail(f"FORM_PAGES does not say which page shows the form posting to /{row.route}")
    page_route, actor = FORM_PAGES[row.route]
    expected = row.answers[actor]
    assert expected not in {403, CSRF}, f"{actor} is refused /{row.route}; pick one let in"
    client = client_for(actor, world)
    action = _path(row.route, world)
    hidden = _form_on_page(client, _path(page_route, world), action)
    assert hidden.get("csrfmiddlewaretoken"), f"the form posting to {action} carries no token"
    payload = PAYLOADS.get((row.route, row.method), {})
    payload = payload(world) if callable(payload) else payload
    effect = EFFECTS.get((row.route, row.method))
    before = effect(world) if effect else None

    refused = client.post(action, payload)

    assert_answer(refused, CSRF, cell=f"POST {action} without its token as {actor}")
    if effect is not None:
        assert effect(world) == before, "a POST refused for its missing token changed something"

    accepted = client.post(action, {**hidden, **payload})

    assert accepted.status_code != 403
    assert_answer(accepted, expected, cell=f"POST {action} with its token as {actor}")
    if effect is not None and allowed(expected):
        assert effect(world) != before


def _session_actor(row: Row) -> str:
    """The first signed-in actor the matrix lets past authentication and permissions."""
    return next(actor for actor in (CUSTOMER_A, REP, ADMIN) if row.answers[actor] not in {401, 403})


@pytest.mark.parametrize("row", API_UNSAFE_ROWS, ids=lambda row: f"{row.method} /{row.route}")
def test_api_with_a_session_needs_the_csrf_token(row: Row, world: World, no_enqueue: None) -> None:
    actor = _session_actor(row)
    client = client_for(actor, world)
    # The portal's pages set the cookie; their scripts send it back as X-CSRFToken.
    assert client.get(_path("premises/<int:premise_id>/", world)).status_code == 200
    cookie = client.cookies[settings.CSRF_COOKIE_NAME].value
    path = row.path(world.ids)
    payload = PAYLOADS.get((row.route, row.method), {})
    effect = EFFECTS.get((row.route, row.method))
    before = effect(world) if effect else None

    refused = client.generic(row.method, path, json.dumps(payload), "application/json")

    assert refused.status_code == 403, refused.content
    assert refused.json()["detail"].startswith("CSRF Failed")
    if effect is not None:
        assert effect(world) == before

    accepted = client.generic(
        row.method, path, json.dumps(payload), "application/json", HTTP_X_CSRFTOKEN=cookie
    )

    assert_answer(accepted, row.answers[actor], cell=f"{row.method} {path} as {actor}")
    if effect is not None and allowed(row.answers[actor]):
        assert effect(world) != before


@pytest.mark.parametrize("row", API_UNSAFE_ROWS, ids=lambda row: f"{row.method} /{row.route}")
def test_api_with_a_token_needs_no_csrf_token(row: Row, world: World, no_enqueue: None) -> None:
    response = request_for(row, TOKEN, world, with_csrf=False)

    assert_answer(response, row.answers[TOKEN], cell=f"{row.method} /{row.route} as {TOKEN}")
    assert b"CSRF" not in response.content
