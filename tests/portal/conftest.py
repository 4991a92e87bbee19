"""The actors and the world of the route-by-route tests: the access matrix, CSRF and caching.

Every object in the world belongs to customer A: a finished run at premise A with a finding, and
a Trust Center registration at premise A's meter. The integration actor is a CRM's API client,
holding a representative's API token.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from django.utils.crypto import get_random_string

from portal.models import Escalation, User
from tests.factories import (
    FindingFactory,
    HanTestRunFactory,
    ObservedDeviceFactory,
    UserFactory,
    WorkOrderFactory,
    api_token_for,
)
from tests.portal.commissioning.pool_pump import pool_pump_registered_at

ANONYMOUS = "anonymous"
CUSTOMER_A = "customer_a"
CUSTOMER_B = "customer_b"
INSTALLER_A = "installer_a"  # a field technician with an open work order at premise A
INSTALLER_B = "installer_b"  # one whose work order is at premise B
REP = "rep"
ADMIN = "admin"
TOKEN = "token"
ACTORS = (ANONYMOUS, CUSTOMER_A, CUSTOMER_B, INSTALLER_A, INSTALLER_B, REP, ADMIN, TOKEN)


@dataclass
class World:
    """Customer A's objects, the actors, and the integration's token."""

    ids: dict[str, int]
    users: dict[str, User]
    api_token: str


@pytest.fixture
def cache_of_its_own(settings: Any) -> None:
    """A fresh local cache: sign-in lockouts and throttles counted by other tests stay out."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"access-matrix-{get_random_string(12)}",
        }
    }


@pytest.fixture
def world(premise_a, premise_b, user_a, user_b, rep, administrator) -> World:
    run = HanTestRunFactory(premise=premise_a)
    finding = FindingFactory(run=run)
    ObservedDeviceFactory(run=run)  # one the rep may ask to leave
    registration = pool_pump_registered_at(premise_a, by=rep)
    integration = UserFactory(username="crm-integration", role=User.Role.REPRESENTATIVE)
    work_order = WorkOrderFactory(from_run=run, installer__username="ivan")
    WorkOrderFactory(from_run__premise=premise_b, installer__username="iris")
    return World(
        ids={
            "customer_id": premise_a.customer_id,
            "premise_id": premise_a.pk,
            "run_id": run.pk,
            "finding_id": finding.pk,
            "registration_id": registration.pk,
            "case_id": run.case_id,
            "work_order_id": work_order.pk,
            "escalation_id": Escalation.objects.create(
                case=run.case, kind="ami_investigation", reason="No answer from the HAN"
            ).pk,
        },
        users={
            CUSTOMER_A: user_a,
            CUSTOMER_B: user_b,
            INSTALLER_A: work_order.installer,
            INSTALLER_B: User.objects.get(username="iris"),
            REP: rep,
            ADMIN: administrator,
        },
        api_token=api_token_for(integration),
    )
