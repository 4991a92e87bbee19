"""With DJANGO_DEBUG=0 the real settings module turns on HTTPS, HSTS and every security header.

The production branch is read in a fresh process, as a deployment reads it; the test process
itself runs the development settings, where the Content-Security-Policy applies too.
"""

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from portal.urls import SWAGGER_UI_INLINE_STYLE
from tests.factories import HanTestRunFactory

ONE_YEAR_S = 365 * 24 * 3600
EXPECTED_POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "frame-ancestors": {"'none'"},
    "base-uri": {"'self'"},
    "form-action": {"'self'"},
}


def _production_environment(tmp_path, **extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "HAN_ENCRYPTION", "PORTAL_VAR"))
    }
    env.update(
        {
            "DJANGO_DEBUG": "0",
            # 50+ characters, as check --deploy wants.
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "portal.example",
            "HAN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "PORTAL_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            **extra,
        }
    )
    return env


def _run(args, env):
    return subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, *args],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _policy(header):
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = set(values)
    return directives


@pytest.mark.parametrize(
    "extra",
    [
        {},
        # Behind a TLS proxy that redirects to HTTPS itself and says so in X-Forwarded-Proto.
        {
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_PROXY_SSL_HEADER": "1",
            "DJANGO_SECURE_HSTS_PRELOAD": "0",
        },
    ],
    ids=["direct", "behind-a-tls-proxy"],
)
def test_check_deploy_is_clean_with_production_settings(tmp_path, extra):
    result = _run(["manage.py", "check", "--deploy"], _production_environment(tmp_path, **extra))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output and "ERRORS" not in output, output
    assert "System check identified no issues" in output


PROBE = r"""
import json, django
django.setup()
from django.conf import settings
from django.test import Client

client = Client(raise_request_exception=False)
secure = client.get("/sign-in/", secure=True, HTTP_HOST="portal.example")
plain = client.get("/sign-in/", HTTP_HOST="portal.example")
proxied = client.get("/sign-in/", HTTP_HOST="portal.example", HTTP_X_FORWARDED_PROTO="https")
health = client.get("/health/", HTTP_HOST="portal.example")
api = client.get("/api/v1/customers/", secure=True, HTTP_HOST="portal.example",
                 HTTP_ACCEPT="text/html")
print(json.dumps({
    "secure": {"status": secure.status_code, "headers": dict(secure.headers),
               "csrf_cookie_secure": bool(secure.cookies["csrftoken"]["secure"])},
    "plain": {"status": plain.status_code, "location": plain.get("Location", "")},
    "proxied": {"status": proxied.status_code, "headers": dict(proxied.headers)},
    "health": {"status": health.status_code, "location": health.get("Location", "")},
    "api": {"status": api.status_code, "type": api.get("Content-Type", "")},
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
}))
"""


def _probe(tmp_path, **extra):
    result = _run(["-c", PROBE], _production_environment(tmp_path, **extra))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """What a deployment with only the three required variables answers."""
    return _probe(tmp_path_factory.mktemp("production"))


def test_production_responses_carry_every_security_header(production):
    seen = production

    headers = seen["secure"]["headers"]
    assert seen["secure"]["status"] == 200
    hsts = headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= ONE_YEAR_S
    assert "includeSubDomains" in hsts and "preload" in hsts
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = _policy(headers["Content-Security-Policy"])
    for directive, values in EXPECTED_POLICY.items():
        assert policy[directive] == values, directive
    assert policy["connect-src"] == {"'self'", "wss://portal.example"}
    assert seen["secure"]["csrf_cookie_secure"]
    assert seen["session_cookie_secure"] and seen["csrf_cookie_secure"]


def test_production_sends_plain_http_to_https_but_not_the_health_check(production):
    seen = production

    assert seen["plain"]["status"] == 301
    assert seen["plain"]["location"] == "https://portal.example/sign-in/"
    # Load balancers probe over plain HTTP.
    assert seen["health"]["location"] == ""


def test_the_proxy_header_is_believed_only_when_switched_on(tmp_path):
    not_believed = _probe(tmp_path, DJANGO_SECURE_SSL_REDIRECT="0")
    believed = _probe(tmp_path, DJANGO_SECURE_SSL_REDIRECT="0", DJANGO_SECURE_PROXY_SSL_HEADER="1")

    assert not_believed["proxied"]["status"] == 200
    assert "Strict-Transport-Security" not in not_believed["proxied"]["headers"]
    assert "Strict-Transport-Security" in believed["proxied"]["headers"]
    # Behind the proxy the portal itself does not redirect: the proxy does.
    assert believed["plain"]["status"] == 200


def test_production_api_answers_json_only(production):
    assert production["api"]["type"].startswith("application/json")


# --- The policy, in development too ----------------------------------------------------------


@pytest.mark.django_db
def test_every_response_carries_the_policy_with_the_websocket_host(client, rep):
    client.force_login(rep)
    for path in ["/sign-in/", "/customers/", "/static/css/portal.css", "/no-such-page/"]:
        response = client.get(path)
        policy = _policy(response["Content-Security-Policy"])
        for directive, values in EXPECTED_POLICY.items():
            assert policy[directive] == values, (path, directive)
        assert policy["connect-src"] == {"'self'", "ws://testserver"}, path


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+=", re.I)


@pytest.mark.django_db
def test_pages_have_no_inline_script_style_or_handler_the_policy_would_block(
    client, administrator, premise_a
):
    """Data for scripts travels in json_script blocks; code and styles in static files."""
    run = HanTestRunFactory(premise=premise_a)
    client.force_login(administrator)
    paths = [
        "/customers/",
        f"/customers/{premise_a.customer_id}/",
        f"/premises/{premise_a.pk}/",
        f"/premises/{premise_a.pk}/devices/register/",
        f"/runs/{run.pk}/",
        f"/runs/{run.pk}/picture/",
        "/history/",
        "/dashboard/",
        "/reviews/",
        "/audit-log/",
        "/audit-log/?kind=keys",
    ]
    pages = {path: client.get(path) for path in paths}
    client.logout()
    pages["/sign-in/"] = client.get("/sign-in/")
    for path, response in pages.items():
        assert response.status_code == 200, path
        page = response.content.decode()
        assert not INLINE_SCRIPT.findall(page), path
        assert not INLINE_STYLE.findall(page), path
        assert not INLINE_HANDLER.findall(page), path


@pytest.mark.django_db
def test_swagger_ui_runs_no_inline_script_and_only_the_one_allowed_style(client, rep):
    client.force_login(rep)
    response = client.get("/api/docs/")
    page = response.content.decode()

    assert response.status_code == 200
    assert not INLINE_SCRIPT.findall(page)
    policy = _policy(response["Content-Security-Policy"])
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert styles, "drf-spectacular's page changed: review SWAGGER_UI_INLINE_STYLE"
    for style in styles:
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" == SWAGGER_UI_INLINE_STYLE
        assert SWAGGER_UI_INLINE_STYLE in policy["style-src"]
    script = re.search(r'<script src="([^"]*script=[^"]*)"', page)
    assert script is not None
    assert client.get(script.group(1).replace("&amp;", "&")).status_code == 200
