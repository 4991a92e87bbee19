"""The API's OpenAPI 3 schema, its interactive docs, and token access for integrations."""

import pytest
import yaml
from django.core.management import call_command

from tests.factories import api_token_for

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/customers/",
        "/api/v1/premises/{premise_id}/runs/",
        "/api/v1/runs/{run_id}/actions/",
        "/api/v1/premises/{premise_id}/registrations/",
    ):
        assert path in schema["paths"]
    # Integrations' token header, under the name it had before tokens were hashed.
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    customers = schema["paths"]["/api/v1/customers/"]["get"]
    assert {"tokenAuth": []} in customers["security"]


def test_schema_and_docs_need_a_signed_in_user_and_load_nothing_from_a_cdn(client, rep):
    assert client.get("/api/schema/").status_code in {401, 403}
    client.force_login(rep)
    assert b"openapi: 3" in client.get("/api/schema/").content
    docs = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    assert "cdn" not in docs.lower()


def test_integration_token_has_the_same_access_as_its_user(
    client, rep, user_a, premise_a, premise_b
):
    response = client.get(
        "/api/v1/customers/",
        {"search": premise_b.customer.name},
        HTTP_AUTHORIZATION=f"Token {api_token_for(rep)}",
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["id"] == premise_b.customer_id

    headers = {"HTTP_AUTHORIZATION": f"Token {api_token_for(user_a)}"}
    assert client.get(f"/api/v1/premises/{premise_a.pk}/", **headers).status_code == 200
    assert client.get(f"/api/v1/premises/{premise_b.pk}/", **headers).status_code == 404
    assert client.get("/api/v1/customers/", {"search": "x"}, **headers).status_code == 403

    bad = client.get("/api/v1/premises/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert bad.status_code == 401
