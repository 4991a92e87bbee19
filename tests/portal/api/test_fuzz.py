"""Schemathesis against the API's own OpenAPI schema, as an administrator and as a customer.

Every operation gets generated requests (valid and invalid); each answer must not be a 5xx,
must use a status code the schema documents, and must match the documented body. Path ids
are sometimes swapped for rows that exist, so the happy paths are exercised too; those rows
hold every kind of value the answers carry (a masked device, a comparison with an earlier run,
a premise without a gateway), so that the body is checked with them. Started runs stay
queued (``no_enqueue``): nothing reaches a gateway.
"""

import json
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.throttling import UserRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from han_gateway.install_code_crc import install_code_with_crc
from han_gateway.models import HanDevice
from portal.diagnosis.rules import Action
from portal.models import DiagnosisReview, HanTestRun, ObservedInterface, RunStep
from tests.factories import (
    FindingFactory,
    HanDeviceFactory,
    HanTestRunFactory,
    NetworkInterfaceFactory,
    ObservedDeviceFactory,
    PremiseFactory,
    RecordedActionFactory,
    api_token_for,
)
from tests.trust_center.factories import DeviceRegistrationFactory

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Small and fixed: 16 operations x 2 roles must stay well under a minute on 2 cores.
MAX_EXAMPLES = 20
FUZZ_CONFIG = {
    "seed": 20240501,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
}


def _registration_bodies() -> st.SearchStrategy[dict[str, str]]:
    """Registrations that pass every check, so the 201 answer is exercised too."""
    return st.builds(
        lambda eui64, code, category: {
            "eui64": eui64.hex(":"),
            "install_code": install_code_with_crc(code).hex(),
            "category": category,
        },
        st.binary(min_size=8, max_size=8),
        st.binary(min_size=16, max_size=16),
        st.sampled_from(HanDevice.Category.values),
    )


# Bodies the generated ones rarely hit by chance: a valid registration, action or verdict.
VALID_BODIES = {
    ("POST", "/api/v1/premises/{premise_id}/registrations/"): _registration_bodies(),
    ("POST", "/api/v1/runs/{run_id}/actions/"): st.fixed_dictionaries(
        {"action": st.sampled_from([*Action, "other"])}, optional={"note": st.text(max_size=50)}
    ),
    ("PUT", "/api/v1/runs/{run_id}/findings/{finding_id}/review/"): st.fixed_dictionaries(
        {"verdict": st.sampled_from(DiagnosisReview.Verdict.values)},
        optional={"comment": st.text(max_size=50)},
    ),
}


def _han_on_record(premise):
    """The premise's gateway with two interfaces (one never enumerated) and two devices on
    record: a utility device and a customer-owned one."""
    gateway = premise.premises_gateway
    NetworkInterfaceFactory(premises_gateway=gateway)
    NetworkInterfaceFactory(
        premises_gateway=gateway, identifier="han1", channel=None, pan_id=None, security_level=None
    )
    HanDeviceFactory(premises_gateway=gateway)
    HanDeviceFactory(
        premises_gateway=gateway, network=HanDevice.Network.CUSTOMER, category="smart_plug"
    )


def _run_seen_twice(premise):
    """A case's second run, with steps, interfaces and devices, and what changed since the first.

    The customer does not consent, so staff see its customer-owned device masked.
    """
    first = HanTestRunFactory(premise=premise, number=1)
    second = HanTestRunFactory(premise=premise, case=first.case, number=2)
    FindingFactory(
        run=first,
        rule="insecure_join",
        severity="critical",
        action="change_security_settings",
        eui64="00:0d:6f:00:00:01:00:01",
    )
    for run, link_quality in ((first, 200), (second, 90)):
        ObservedDeviceFactory(run=run, eui64="00:0d:6f:00:00:01:00:01", link_quality=link_quality)
    ObservedDeviceFactory(run=first, eui64="00:0d:6f:00:00:01:00:02")
    ObservedDeviceFactory(
        run=second,
        eui64="00:0d:6f:00:00:01:00:03",
        network=HanDevice.Network.CUSTOMER,
        category="smart_plug",
        network_address=0x1A2B,
        rssi=-61,
        join_method="install_code",
        operational_check="acknowledged",
    )
    ObservedDeviceFactory(
        run=second,
        eui64="00:0d:6f:00:00:01:00:04",
        category="",
        link_quality=None,
        reachable=False,
        operational_check="not_acknowledged",
    )
    ObservedInterface.objects.create(
        run=second, identifier="han0", channel=15, pan_id=0x1A2B, device_count=3, security_level=5
    )
    ObservedInterface.objects.create(run=second, identifier="han1")
    RunStep.objects.create(run=second, key="scan:han0", title="Scan han0", status="done")
    RunStep.objects.create(run=second, key="operational", title="Test messages", status="failed")
    return second


@pytest.fixture
def api_world(no_enqueue, customer_a, premise_a, premise_b):
    """Rows for the ids in the paths: the customer's own and someone else's."""
    _han_on_record(premise_a)
    own_run = _run_seen_twice(premise_a)
    own_finding = FindingFactory(run=own_run, eui64="00:0d:6f:00:00:01:00:01")
    RecordedActionFactory(run=own_run)
    RecordedActionFactory(run=own_run, action="other", note="Replaced the batteries")
    no_gateway = PremiseFactory(customer=customer_a, premises_gateway=None)
    queued = HanTestRunFactory(
        premise=PremiseFactory(customer=customer_a),
        status=HanTestRun.Status.QUEUED,
        finished_at=None,
    )
    other_run = HanTestRunFactory(premise=premise_b)
    other_finding = FindingFactory(
        run=other_run, rule="insecure_join", action="change_security_settings"
    )
    registrations = [
        DeviceRegistrationFactory(
            premises_gateway=premise.premises_gateway, service_point_id=premise.service_point_id
        )
        for premise in (premise_a, premise_b)
    ]
    return {
        "customer_id": [premise_a.customer_id, premise_b.customer_id],
        "premise_id": [premise_a.pk, premise_b.pk, queued.premise_id, no_gateway.pk],
        "run_id": [own_run.pk, queued.pk, other_run.pk],
        "finding_id": [own_finding.pk, other_finding.pk],
        "registration_id": [registration.pk for registration in registrations],
    }


@pytest.fixture(params=["administrator", "customer"])
def caller_headers(request, api_world, administrator, user_a):
    user = administrator if request.param == "administrator" else user_a
    # Ids repeat from test to test, and so would the user's throttle history: each test
    # starts with none, so that only throttling it caused itself could answer 429.
    cache.delete(UserRateThrottle.cache_format % {"scope": "user", "ident": user.pk})
    return {"Authorization": f"Token {api_token_for(user)}"}


def _served_schema() -> dict[str, Any]:
    """The document /api/schema/ serves, generated the same way without a signed-in request."""
    from drf_spectacular.generators import SchemaGenerator

    document: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return document


# Built at collection so that each operation is its own test item (schemathesis' lazy
# `from_fixture` loader does not run under pytest 9.2).
schema = schemathesis.openapi.from_dict(
    _served_schema(), config=SchemathesisConfig.from_dict(FUZZ_CONFIG)
)


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler inside the test's transaction.

    The handler closes "old" connections around each request; inside the test transaction
    that would poison it, so the signal is detached as Django's own test client does.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_within_its_schema(case, data, caller_headers, api_world, wsgi_app):
    for name, value in list((case.path_parameters or {}).items()):
        if name in api_world and isinstance(value, int) and data.draw(st.booleans()):
            case.path_parameters[name] = data.draw(st.sampled_from(api_world[name]))
    valid_bodies = VALID_BODIES.get((case.method.upper(), case.operation.path))
    if valid_bodies is not None and data.draw(st.booleans()):
        case.body = data.draw(valid_bodies)
    case.call_and_validate(headers=caller_headers, checks=CHECKS, app=wsgi_app)


def test_the_fuzzed_schema_is_the_one_the_api_serves(client, administrator):
    client.force_login(administrator)
    served = client.get("/api/schema/?format=json").json()
    assert served == json.loads(json.dumps(_served_schema()))
