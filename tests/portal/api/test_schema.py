"""The API's OpenAPI 3 schema, its interactive docs, and token access for integrations."""

import json
from typing import Any

import jsonschema_rs
import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from portal.drawing.link_quality import link_quality_label
from portal.models import Finding, Premise, User
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


def _generated_schema() -> dict[str, Any]:
    """The document /api/schema/ serves, as plain JSON."""
    from drf_spectacular.generators import SchemaGenerator

    document: dict[str, Any] = json.loads(
        json.dumps(SchemaGenerator().get_schema(request=None, public=True))
    )
    return document


def _free_form(
    schema: dict[str, Any], components: dict[str, Any], where: str, seen: set[str]
) -> list[str]:
    """Where ``schema`` lets a value take any shape: an object with no properties and any other
    key (what drf-spectacular makes of ``OpenApiTypes.OBJECT``), or no type at all."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        if name in seen:
            return []
        seen.add(name)
        return _free_form(components[name], components, name, seen)
    found: list[str] = []
    combined = [sub for key in ("allOf", "oneOf", "anyOf") for sub in schema.get(key, [])]
    if not combined and "type" not in schema and "enum" not in schema:
        found.append(where)
    if (
        schema.get("type") == "object"
        and not schema.get("properties")
        and schema.get("additionalProperties", True) in (True, {})
    ):
        found.append(where)
    for name, sub in schema.get("properties", {}).items():
        found += _free_form(sub, components, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict) and schema[key]:
            found += _free_form(schema[key], components, f"{where}.{key}", seen)
    for sub in combined:
        found += _free_form(sub, components, where, seen)
    return found


def test_every_answer_of_every_operation_has_a_described_shape():
    schema = _generated_schema()
    components = schema["components"]["schemas"]
    free_form = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, answer in operation["responses"].items():
                where = f"{method.upper()} {path} {code}"
                content = answer.get("content", {}).get("application/json")
                if content is None:
                    free_form.append(f"{where}: no JSON body documented")
                    continue
                free_form += _free_form(content["schema"], components, where, set())
    assert free_form == []


def test_the_documented_link_quality_words_are_the_ones_given():
    words = _generated_schema()["components"]["schemas"]["LinkQualityLabelEnum"]["enum"]
    given = {link_quality_label(value) for value in (None, *range(256))}
    assert set(words) == given


def _as_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema, stricter: an object has only the keys it lists.

    Strict so that a key the API sends and the schema does not describe fails too.
    """
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: _as_json_schema(value)
        for key, value in node.items()
        if key not in ("nullable", "properties")
    }
    if "properties" in node:
        converted["properties"] = {
            name: _as_json_schema(field) for name, field in node["properties"].items()
        }
        converted.setdefault("additionalProperties", False)
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


class _CheckedApi:
    """Calls the API as the client's user; each answer must be one the schema documents."""

    def __init__(self, client: Client) -> None:
        schema = _generated_schema()
        self.client = client
        self.paths = schema["paths"]
        self.components = {
            "schemas": {
                name: _as_json_schema(component)
                for name, component in schema["components"]["schemas"].items()
            }
        }

    def __call__(
        self, method: str, template: str, expect: int, body: Any = None, **ids: Any
    ) -> Any:
        path = template.format(**ids)
        if method == "get":
            response = self.client.get(path, body or {})
        else:
            content = "" if body is None else json.dumps(body)
            response = self.client.generic(
                method.upper(), path, content, content_type="application/json"
            )
        assert response.status_code == expect, response.content
        answer = self.paths[template][method]["responses"][str(expect)]
        schema = answer["content"]["application/json"]["schema"]
        # With formats: a date-time without its UTC offset fails, as RFC 3339 says.
        validator = jsonschema_rs.Draft202012Validator(
            {**_as_json_schema(schema), "components": self.components}, validate_formats=True
        )
        body = response.json()
        errors = [
            f"{error.instance_path}: {error.message}" for error in validator.iter_errors(body)
        ]
        assert errors == [], f"{method.upper()} {path} {expect}"
        return body


CUSTOMER = "/api/v1/customers/{customer_id}/"
PREMISE = "/api/v1/premises/{premise_id}/"
START = "/api/v1/premises/{premise_id}/runs/"
RUN = "/api/v1/runs/{run_id}/"
ACTIONS = "/api/v1/runs/{run_id}/actions/"
CANCEL = "/api/v1/runs/{run_id}/cancel/"
RETEST = "/api/v1/runs/{run_id}/retest/"
REVIEW = "/api/v1/runs/{run_id}/findings/{finding_id}/review/"


def test_the_answers_of_a_whole_han_test_match_the_schema(
    client, demo_world, no_enqueue, scenario_switch
):
    """A rep tests, records an action and retests after a fix; the customer looks, retests and
    cancels; an administrator reviews. Every answer, error or not, is checked."""
    from portal.test_runs.execute import han_test_run_execute

    premise = Premise.objects.get(premises_gateway__meter_number="MTR-100002")
    ids = {"premise_id": premise.pk, "customer_id": premise.customer_id}
    api = _CheckedApi(client)

    client.force_login(User.objects.get(username="rep"))
    api("get", "/api/v1/customers/", 200, {"search": "Okafor"})
    customer = api("get", CUSTOMER, 200, **ids)
    assert any(device["masked"] for device in customer["premises"][0]["devices"])
    api("get", "/api/v1/premises/", 400, {"customer": "Okafor"})
    api("get", PREMISE, 200, **ids)
    api("post", START, 400, {"problem": "x" * 201}, **ids)
    api("post", START, 400, ["not", "an", "object"], **ids)
    first = {"run_id": api("post", START, 201, {"problem": "No prices"}, **ids)["run"]["id"]}
    api("post", START, 409, **ids)
    han_test_run_execute(first["run_id"])
    run = api("get", RUN, 200, **first)
    assert run["findings"] and any(device.get("masked") for device in run["devices"])
    api("post", ACTIONS, 400, {"action": "wish_harder"}, **first)
    api("post", ACTIONS, 201, {"action": "change_range"}, **first)
    api("post", CANCEL, 409, **first)
    scenario_switch("MTR-100002", "weak_link_fixed")
    second = {"run_id": api("post", RETEST, 201, **first)["run"]["id"]}
    han_test_run_execute(second["run_id"])
    assert api("get", RUN, 200, **second)["comparison"]["findings_resolved"]
    finding = Finding.objects.filter(run_id=first["run_id"]).first()
    review = {"run_id": first["run_id"], "finding_id": finding.pk}
    api("put", REVIEW, 403, {"verdict": "right"}, **review)

    client.force_login(User.objects.get(username="bernard"))
    api("get", CUSTOMER, 200, **ids)
    api("get", "/api/v1/premises/", 200)
    api("get", PREMISE, 200, **ids)
    customer_sees = api("get", RUN, 200, **second)
    assert customer_sees["comparison"]
    assert not any("interface" in device for device in customer_sees["devices"])
    api("post", ACTIONS, 400, {"action": "escalate_to_ami_network"}, **second)
    api("post", ACTIONS, 201, {"action": "other", "note": "Nothing: it works now"}, **second)
    third = {"run_id": api("post", RETEST, 201, **second)["run"]["id"]}
    api("post", RETEST, 409, **second)
    api("post", CANCEL, 200, **third)
    api("get", "/api/v1/premises/{premise_id}/cases/", 200, **ids)
    api("get", RUN, 404, run_id=0)

    client.force_login(User.objects.get(username="admin"))
    api("put", REVIEW, 400, {"verdict": "wrong"}, **review)
    api("put", REVIEW, 200, {"verdict": "wrong", "comment": "The IHD was unplugged"}, **review)
    api("get", "/api/v1/runs/", 400, {"review": "judged"})
    history = api("get", "/api/v1/runs/", 200, {"review": "wrong"})
    assert [run["id"] for run in history["results"]] == [first["run_id"]]
