from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from han_gateway.models import HanDevice
from tests.factories import PremisesGatewayFactory
from trust_center import crypto, selectors, services
from trust_center.crypto import KEYS_VARIABLE
from trust_center.management.commands import rotate_encryption_key
from trust_center.models import DeviceRegistration, GatewayCredential, KeyAuditEvent

INSTALL_CODES = [
    "83FED3407A939723A5C639B26916D505C3B5",
    "11223344556677884AF7",
    "000102030405060708090A0B384F",
]


def _register_devices():
    premises_gateway = PremisesGatewayFactory()
    registrations = [
        services.device_registration_create(
            premises_gateway=premises_gateway,
            service_point_id="SP-0000001",
            eui64=f"00:0d:6f:00:00:00:00:0{index}",
            install_code=install_code,
            category=HanDevice.Category.PCT,
        )
        for index, install_code in enumerate(INSTALL_CODES)
    ]
    secret = services.gateway_credential_issue(premises_gateway=premises_gateway)
    return premises_gateway, registrations, secret


def _link_keys(registrations):
    return [
        selectors.device_registration_link_key(registration=registration)
        for registration in registrations
    ]


def _stored_ciphertexts():
    return sorted(
        [
            *DeviceRegistration.objects.values_list("install_code_ciphertext", flat=True),
            *DeviceRegistration.objects.values_list("link_key_ciphertext", flat=True),
            *GatewayCredential.objects.values_list("secret_ciphertext", flat=True),
        ]
    )


def _run(**options):
    output = StringIO()
    call_command("rotate_encryption_key", stdout=output, **options)
    return output.getvalue()


@pytest.mark.django_db
def test_after_rotation_old_rows_decrypt_with_only_the_new_key(monkeypatch, encryption_key):
    premises_gateway, registrations, secret = _register_devices()
    link_keys_before = _link_keys(registrations)

    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv(KEYS_VARIABLE, f"{new_key},{encryption_key}")
    output = _run(batch_size=2)

    assert "trust_center.DeviceRegistration.link_key_ciphertext: 3 re-encrypted" in output
    assert "trust_center.DeviceRegistration.install_code_ciphertext: 3 re-encrypted" in output
    assert "trust_center.GatewayCredential.secret_ciphertext: 1 re-encrypted" in output
    assert "Re-encrypted 7 stored secrets" in output

    monkeypatch.setenv(KEYS_VARIABLE, new_key)
    for registration in registrations:
        registration.refresh_from_db()
    assert _link_keys(registrations) == link_keys_before
    assert selectors.gateway_secret_get(premises_gateway=premises_gateway) == secret
    for ciphertext in _stored_ciphertexts():
        Fernet(new_key).decrypt(ciphertext.encode())


@pytest.mark.django_db
def test_rotation_is_idempotent(monkeypatch, encryption_key):
    _register_devices()
    monkeypatch.setenv(KEYS_VARIABLE, f"{Fernet.generate_key().decode()},{encryption_key}")
    _run()
    after_first_run = _stored_ciphertexts()

    output = _run()

    assert _stored_ciphertexts() == after_first_run
    assert "Re-encrypted 0 stored secrets" in output
    assert "3 already current" in output
    assert KeyAuditEvent.objects.filter(action="encryption_key_rotated").count() == 1


@pytest.mark.django_db
def test_rotation_output_and_audit_never_hold_a_secret(monkeypatch, encryption_key):
    _premises_gateway, registrations, secret = _register_devices()
    link_keys = _link_keys(registrations)
    monkeypatch.setenv(KEYS_VARIABLE, f"{Fernet.generate_key().decode()},{encryption_key}")

    output = _run()
    audit = KeyAuditEvent.objects.get(action="encryption_key_rotated")

    for text in (output, audit.detail):
        assert secret not in text
        for install_code, link_key in zip(INSTALL_CODES, link_keys, strict=True):
            assert install_code.lower() not in text.lower()
            assert link_key.hex() not in text.lower()
    assert "3 re-encrypted" in audit.detail


@pytest.mark.django_db
def test_rows_no_key_can_read_are_left_alone_and_reported(monkeypatch):
    _register_devices()
    before = _stored_ciphertexts()
    monkeypatch.setenv(KEYS_VARIABLE, Fernet.generate_key().decode())

    with pytest.raises(CommandError, match="7 stored secrets could not be decrypted"):
        _run()
    assert _stored_ciphertexts() == before


@pytest.mark.django_db
def test_a_secret_rotated_while_the_command_runs_is_not_overwritten(monkeypatch, encryption_key):
    premises_gateway, _registrations, _secret = _register_devices()
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv(KEYS_VARIABLE, f"{new_key},{encryption_key}")
    rotate_for_real = crypto.ciphertext_rotate
    newer_secret = {}

    def rotate_while_someone_rotates_the_credential(ciphertext):
        if ciphertext in GatewayCredential.objects.values_list("secret_ciphertext", flat=True):
            newer_secret["value"] = services.gateway_credential_rotate(
                premises_gateway=premises_gateway
            )
        return rotate_for_real(ciphertext)

    monkeypatch.setattr(
        rotate_encryption_key.crypto,
        "ciphertext_rotate",
        rotate_while_someone_rotates_the_credential,
    )
    output = _run()

    assert "1 changed while running" in output
    assert selectors.gateway_secret_get(premises_gateway=premises_gateway) == newer_secret["value"]


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(CommandError, match="at least 1"):
        _run(batch_size=0)


def test_every_encrypted_column_is_found():
    columns = {
        f"{model._meta.label}.{field_name}"
        for model, field_name in rotate_encryption_key.ciphertext_columns()
    }
    assert columns == {
        "trust_center.DeviceRegistration.install_code_ciphertext",
        "trust_center.DeviceRegistration.link_key_ciphertext",
        "trust_center.GatewayCredential.secret_ciphertext",
    }
