"""An ended registration (removed, decommissioned, replaced) keeps its row and audit, no keys."""

import os
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from han_gateway.models import HanDevice
from tests.factories import PremisesGatewayFactory
from tests.trust_center.factories import INSTALL_CODE
from trust_center import selectors, services
from trust_center.crypto import KEYS_VARIABLE
from trust_center.models import DeviceRegistration, KeyAuditEvent

pytestmark = pytest.mark.django_db

Status = DeviceRegistration.Status
Action = KeyAuditEvent.Action
SECOND_INSTALL_CODE = "11223344556677884AF7"
SECOND_LINK_KEY_HEX = "41618FC0C83B0E14A589954B16E31466"


def _register(premises_gateway, number, *, install_code=INSTALL_CODE, by=None):
    return services.device_registration_create(
        premises_gateway=premises_gateway,
        service_point_id="SP-0000001",
        eui64=f"00:0d:6f:00:00:00:00:{number:02x}",
        install_code=install_code,
        category=HanDevice.Category.PCT,
        registered_by=by,
    )


def _stored_keys(registration):
    return tuple(
        DeviceRegistration.objects.filter(pk=registration.pk).values_list(
            "install_code_ciphertext", "link_key_ciphertext"
        )[0]
    )


def _actions(registration):
    return set(
        KeyAuditEvent.objects.filter(registration=registration).values_list("action", flat=True)
    )


def test_removing_a_registration_deletes_its_install_code_and_link_key(rep):
    registration = _register(PremisesGatewayFactory(), 1, by=rep)
    assert all(_stored_keys(registration))

    returned = services.device_registration_remove(registration=registration, by=rep)

    assert _stored_keys(registration) == ("", "")
    assert (returned.install_code_ciphertext, returned.link_key_ciphertext) == ("", "")
    registration.refresh_from_db()
    assert registration.status == Status.REMOVED
    assert _actions(registration) == {Action.REGISTERED, Action.KEY_DERIVED, Action.REMOVED}
    removed = KeyAuditEvent.objects.get(registration=registration, action=Action.REMOVED)
    assert "install code and link key were deleted" in removed.detail
    assert removed.actor == rep


def test_a_meter_exchange_deletes_the_keys_of_every_registration_at_that_meter_only(rep):
    exchanged = PremisesGatewayFactory()
    elsewhere = PremisesGatewayFactory()
    at_exchanged = [_register(exchanged, number) for number in (1, 2)]
    at_exchanged[1] = services.device_registration_mark(
        registration=at_exchanged[1], status=Status.FAILED, reason="Never joined."
    )
    kept = _register(elsewhere, 3)

    ended = services.device_registrations_decommission_for_gateway(
        premises_gateway=exchanged, by=rep, reason="Meter exchanged."
    )

    assert ended == 2
    for registration in at_exchanged:
        assert _stored_keys(registration) == ("", "")
        registration.refresh_from_db()
        assert registration.status == Status.DECOMMISSIONED
        assert {Action.REGISTERED, Action.KEY_DERIVED, Action.DECOMMISSIONED} <= _actions(
            registration
        )
    assert all(_stored_keys(kept))
    assert selectors.device_registration_link_key(registration=kept)


def test_marking_a_registration_removed_deletes_its_keys_and_updates_the_callers_copy():
    registration = _register(PremisesGatewayFactory(), 1)

    services.device_registration_mark(
        registration=registration, status=Status.REMOVED, reason="Left the program."
    )

    assert _stored_keys(registration) == ("", "")
    assert (registration.install_code_ciphertext, registration.link_key_ciphertext) == ("", "")
    assert not registration.has_install_code


def test_a_replaced_registration_loses_its_keys_and_the_new_one_has_its_own():
    premises_gateway = PremisesGatewayFactory()
    first = _register(premises_gateway, 1)
    services.device_registration_mark(
        registration=first, status=Status.FAILED, reason="Mistyped install code."
    )

    second = _register(premises_gateway, 1, install_code=SECOND_INSTALL_CODE)

    first.refresh_from_db()
    assert first.status == Status.REMOVED
    assert _stored_keys(first) == ("", "")
    assert selectors.device_registration_link_key(registration=second).hex().upper() == (
        SECOND_LINK_KEY_HEX
    )


def test_a_removed_device_registered_again_gets_a_working_key():
    premises_gateway = PremisesGatewayFactory()
    first = _register(premises_gateway, 1)
    services.device_registration_remove(registration=first, by=None)

    again = _register(premises_gateway, 1, install_code=SECOND_INSTALL_CODE)

    assert again.pk != first.pk
    assert selectors.device_registration_link_key(registration=again).hex().upper() == (
        SECOND_LINK_KEY_HEX
    )
    with pytest.raises(ValueError, match="no longer handed out"):
        selectors.device_registration_link_key(registration=first)


def test_rotating_the_encryption_key_passes_over_ended_registrations(monkeypatch):
    premises_gateway = PremisesGatewayFactory()
    live = _register(premises_gateway, 1)
    removed = _register(premises_gateway, 2)
    services.device_registration_remove(registration=removed, by=None)
    link_key = selectors.device_registration_link_key(registration=live)

    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv(KEYS_VARIABLE, f"{new_key},{os.environ[KEYS_VARIABLE]}")
    output = StringIO()
    call_command("rotate_encryption_key", stdout=output)

    assert "DeviceRegistration.link_key_ciphertext: 1 re-encrypted" in output.getvalue()
    assert "1 empty" in output.getvalue()
    live.refresh_from_db()
    assert selectors.device_registration_link_key(registration=live) == link_key
    assert _stored_keys(removed) == ("", "")
