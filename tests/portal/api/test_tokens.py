"""Integrations' API tokens: issued in the admin and shown once, stored only as a digest,
refused once expired or revoked; DRF's clear tokens from before keep working, hashed."""

import logging
import re
from datetime import timedelta

import pytest
from django.apps import apps as installed_apps
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken, get_token_model

from portal.models import ApiToken
from tests.factories import api_token_for

pytestmark = pytest.mark.django_db

ISSUED_TOKEN = re.compile(r'<code id="api-token">([^<]+)</code>')
PREMISES = "/api/v1/premises/"


def _issue_in_the_admin(client, user, *, name="CRM production", valid_for_days=30):
    response = client.post(
        reverse("admin:portal_apitoken_add"),
        {"user": user.pk, "name": name, "valid_for_days": valid_for_days},
    )
    assert response.status_code == 200
    page = response.content.decode()
    match = ISSUED_TOKEN.search(page)
    assert match, page
    return match.group(1), page


def _tables_holding(text):
    """Every table with a row in which some column contains the text."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            if any(text in str(value) for row in cursor.fetchall() for value in row):
                found.append(table)
    return found


def _premise_ids(client, token):
    response = client.get(PREMISES, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200, response.content
    return [premise["id"] for premise in response.json()["results"]]


def test_an_issued_token_is_shown_once_and_then_nowhere(
    client, administrator, user_a, premise_a, premise_b, caplog
):
    caplog.set_level(logging.DEBUG)
    client.force_login(administrator)
    add_page = client.get(reverse("admin:portal_apitoken_add")).content.decode()
    assert 'name="valid_for_days" value="90"' in add_page

    token, issued_page = _issue_in_the_admin(client, user_a)

    assert token.startswith("han_")
    assert issued_page.count(token) == 1
    api_token = ApiToken.objects.get()
    assert (api_token.name, api_token.user, api_token.created_by) == (
        "CRM production",
        user_a,
        administrator,
    )
    assert api_token.digest == hash_token(token)
    assert timezone.now() + timedelta(days=29) < api_token.expiry < timezone.now() + timedelta(30)

    pages = {
        "list": reverse("admin:portal_apitoken_changelist"),
        "search by name": reverse("admin:portal_apitoken_changelist") + "?q=CRM",
        "change": reverse("admin:portal_apitoken_change", args=[api_token.pk]),
        "history": reverse("admin:portal_apitoken_history", args=[api_token.pk]),
        "delete": reverse("admin:portal_apitoken_delete", args=[api_token.pk]),
        "admin index": reverse("admin:index"),
    }
    for label, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, label
        page = response.content.decode()
        assert token not in page, label
        assert token[:15] not in page, label
        assert api_token.digest not in page, label
    assert "CRM production" in client.get(pages["search by name"]).content.decode()
    # Nothing of the token is searchable: the search box is no oracle for guessing one.
    by_prefix = client.get(pages["list"], {"q": token[:15]})
    assert by_prefix.context["cl"].result_count == 0

    entry = LogEntry.objects.get()
    assert entry.object_repr == str(api_token) == "CRM production (ann)"
    for text in (token, token[:15], api_token.digest):
        assert text not in f"{entry.object_id} {entry.object_repr} {entry.change_message}"
        assert text not in str(api_token)
        assert text not in caplog.text

    assert _tables_holding(token) == []
    assert _tables_holding(api_token.digest) == ["portal_apitoken"]

    client.logout()
    assert _premise_ids(client, token) == [premise_a.pk]
    api_token.refresh_from_db()
    assert api_token.last_used_at is not None


def test_the_admin_refuses_a_token_without_a_name_or_valid_too_long(client, administrator, rep):
    client.force_login(administrator)
    add = reverse("admin:portal_apitoken_add")

    no_name = client.post(add, {"user": rep.pk, "name": "", "valid_for_days": 30})
    too_long = client.post(add, {"user": rep.pk, "name": "CRM", "valid_for_days": 366})

    assert "This field is required." in no_name.content.decode()
    assert "less than or equal to 365" in too_long.content.decode()
    assert not ApiToken.objects.exists()


def test_the_change_page_renames_a_token_and_changes_nothing_else(
    client, administrator, rep, user_a
):
    api_token_for(rep, name="CRM")
    api_token = ApiToken.objects.get()
    client.force_login(administrator)

    response = client.post(
        reverse("admin:portal_apitoken_change", args=[api_token.pk]),
        {"name": "CRM production", "user": user_a.pk},
    )

    assert response.status_code == 302
    renamed = ApiToken.objects.get()
    assert (renamed.name, renamed.user, renamed.expiry) == ("CRM production", rep, api_token.expiry)


def test_an_expired_token_gets_401(client, rep):
    token = api_token_for(rep)
    ApiToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))

    response = client.get(PREMISES, HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_revoked_token_gets_401_and_the_admin_shows_who_revoked_it(client, administrator, rep):
    token = api_token_for(rep, name="CIS nightly")
    api_token = ApiToken.objects.get()
    assert client.get(PREMISES, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    client.force_login(administrator)

    response = client.post(
        reverse("admin:portal_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [api_token.pk]},
        follow=True,
    )

    assert "Revoked 1: CIS nightly (rita)." in response.content.decode()
    assert "revoked" in client.get(reverse("admin:portal_apitoken_changelist")).content.decode()
    entry = LogEntry.objects.get(action_flag=CHANGE)
    assert (entry.user, entry.object_id, entry.get_change_message()) == (
        administrator,
        str(api_token.pk),
        "Revoked.",
    )
    client.logout()
    assert client.get(PREMISES, HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


def test_a_token_deleted_in_the_admin_gets_401(client, administrator, rep):
    token = api_token_for(rep)
    client.force_login(administrator)
    client.post(
        reverse("admin:portal_apitoken_delete", args=[ApiToken.objects.get().pk]), {"post": "yes"}
    )
    client.logout()

    assert not ApiToken.objects.exists()
    assert client.get(PREMISES, HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


@pytest.mark.parametrize(
    "header", ["Token han_\xff\xfe", "Token not-a-real-token", "Token", "Token a b"]
)
def test_a_malformed_or_unknown_token_gets_401(client, header):
    assert client.get(PREMISES, HTTP_AUTHORIZATION=header).status_code == 401


def test_only_the_portal_token_model_is_in_use_and_in_the_admin():
    assert get_token_model() is ApiToken
    assert ApiToken in admin.site._registry
    assert AuthToken not in admin.site._registry
    assert not installed_apps.is_installed("rest_framework.authtoken")
