"""Sign-in is required everywhere but the sign-in page (and the load balancers' health check)."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

PUBLIC_PATHS = {"/sign-in/", "/health/", "/admin/login/"}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _concrete(route: str) -> str:
    """Fill path converters with a value so the route can be requested."""
    import re

    path = re.sub(r"<int:[^>]+>", "1", route)
    path = re.sub(r"<(?:str|slug|path):?[^>]*>", "x", path)
    path = re.sub(r"<[^>]+>", "1", path)
    path = path.replace("^", "").replace("$", "").replace("\\Z", "")
    return "/" + path


def _all_paths():
    paths = sorted({_concrete(route) for route in _walk(get_resolver().url_patterns)})
    # Regex admin routes that cannot be requested literally.
    return [p for p in paths if "(" not in p and "?" not in p]


@pytest.mark.parametrize("path", _all_paths())
def test_anonymous_visitor_is_sent_to_sign_in_or_refused(client, path):
    response = client.get(path)
    if path in PUBLIC_PATHS:
        assert response.status_code in {200, 503}
        return
    if path.startswith("/api/"):
        assert response.status_code in {401, 403}
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(("/sign-in/", "/admin/login/"))


def test_rep_signs_in_and_lands_on_customer_search(client, rep):
    response = client.post("/sign-in/", {"username": "rita", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get(response["Location"], follow=True).redirect_chain[-1][0] == "/customers/"


def test_customer_signs_in_and_lands_on_my_home(client, user_a):
    response = client.post("/sign-in/", {"username": "ann", "password": "correct-horse-battery"})
    assert client.get(response["Location"], follow=True).redirect_chain[-1][0] == "/my-home/"


def test_wrong_password_is_refused_with_a_message(client, rep):
    response = client.post("/sign-in/", {"username": "rita", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_out_ends_the_session(client, rep):
    client.force_login(rep)
    assert client.post("/sign-out/").status_code == 302
    assert client.get("/customers/").status_code == 302
