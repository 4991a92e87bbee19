"""Removing a device or exchanging the meter, from the pages or the API, deletes the stored keys."""

import pytest

from tests.factories import PremiseFactory
from trust_center.models import DeviceRegistration, KeyAuditEvent
from trust_center.services import device_registration_create

pytestmark = pytest.mark.django_db

Status = DeviceRegistration.Status
INSTALL_CODE = "83FED3407A939723A5C639B26916D505C3B5"


def _registered(premise, number):
    return device_registration_create(
        premises_gateway=premise.premises_gateway,
        service_point_id=premise.service_point_id,
        eui64=f"00:0d:6f:00:00:00:00:{number:02x}",
        install_code=INSTALL_CODE,
        category="pct",
    )


def _ended_without_keys(registration, status):
    registration.refresh_from_db()
    assert registration.status == status
    assert registration.install_code_ciphertext == ""
    assert registration.link_key_ciphertext == ""
    actions = set(registration.audit_events.values_list("action", flat=True))
    assert {KeyAuditEvent.Action.REGISTERED, KeyAuditEvent.Action.KEY_DERIVED} <= actions
    return actions


def test_removing_a_device_on_the_premise_page_deletes_its_keys(client, user_a, premise_a):
    registration = _registered(premise_a, 1)
    client.force_login(user_a)

    response = client.post(f"/registrations/{registration.pk}/remove/")

    assert response.status_code == 302
    assert KeyAuditEvent.Action.REMOVED in _ended_without_keys(registration, Status.REMOVED)


def test_removing_a_device_through_the_api_deletes_its_keys(client, rep, premise_a):
    registration = _registered(premise_a, 1)
    client.force_login(rep)

    response = client.delete(f"/api/v1/registrations/{registration.pk}/")

    assert response.json()["status"] == "removed"
    assert KeyAuditEvent.Action.REMOVED in _ended_without_keys(registration, Status.REMOVED)


def test_a_meter_exchange_deletes_the_keys_of_the_meters_registrations(client, rep, premise_a):
    at_this_meter = [_registered(premise_a, number) for number in (1, 2)]
    other_meter = _registered(PremiseFactory(), 3)
    client.force_login(rep)

    response = client.post(f"/premises/{premise_a.pk}/meter-exchange/")

    assert response.status_code == 302
    for registration in at_this_meter:
        actions = _ended_without_keys(registration, Status.DECOMMISSIONED)
        assert KeyAuditEvent.Action.DECOMMISSIONED in actions
    other_meter.refresh_from_db()
    assert other_meter.install_code_ciphertext and other_meter.link_key_ciphertext
