"""Install codes, link keys and gateway secrets appear nowhere but encrypted in their columns."""

import logging
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from han_gateway.models import HanDevice
from tests.factories import PremisesGatewayFactory
from tests.trust_center.factories import INSTALL_CODE, LINK_KEY_HEX
from trust_center import selectors, services
from trust_center.install_codes import parse_install_code
from trust_center.models import DeviceRegistration, GatewayCredential, KeyAuditEvent
from trust_center.services import RegistrationError

pytestmark = pytest.mark.django_db

QR_INSTALL_CODE = "11223344556677884AF7"
QR_LINK_KEY_HEX = "41618FC0C83B0E14A589954B16E31466"


def _spellings(hex_text):
    """The ways a secret could show up: as typed, lower case, and colon-separated like zigpy."""
    lower = hex_text.lower()
    pairs = [lower[index : index + 2] for index in range(0, len(lower), 2)]
    return {hex_text.upper(), lower, ":".join(pairs), ":".join(pairs).upper()}


@pytest.fixture
def secrets_in_use(rep, caplog):
    caplog.set_level(logging.DEBUG)
    premises_gateway = PremisesGatewayFactory()
    typed = services.device_registration_create(
        premises_gateway=premises_gateway,
        service_point_id="SP-LEAK-01",
        eui64="00:0d:6f:00:0a:90:69:e7",
        install_code=INSTALL_CODE,
        category=HanDevice.Category.PCT,
        registered_by=rep,
    )
    scanned = services.device_registration_create(
        premises_gateway=premises_gateway,
        service_point_id="SP-LEAK-01",
        eui64="",
        qr_text=f"Z:000D6F0000000042$I:{QR_INSTALL_CODE}",
        category=HanDevice.Category.IN_HOME_DISPLAY,
        registered_by=rep,
    )
    services.device_registration_mark(
        registration=typed, status="join_window_open", reason="Opened by the rep.", by=rep
    )
    secret = services.gateway_credential_issue(premises_gateway=premises_gateway, by=rep)
    rotated_secret = services.gateway_credential_rotate(premises_gateway=premises_gateway, by=rep)
    forbidden = {
        secret,
        rotated_secret,
        *_spellings(INSTALL_CODE),
        *_spellings(LINK_KEY_HEX),
        *_spellings(QR_INSTALL_CODE),
        *_spellings(QR_LINK_KEY_HEX),
    }
    return {
        "premises_gateway": premises_gateway,
        "registrations": [typed, scanned],
        "secret": rotated_secret,
        "forbidden": forbidden,
    }


def _all_logs(caplog):
    # The fixture's records (set-up phase) as well as the test's own.
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    return "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}" for record in records
    )


def _assert_clean(text, forbidden):
    leaked = sorted(value for value in forbidden if value in text)
    assert leaked == [], f"secret material found: {len(leaked)} spellings"


def _admin_pages(secrets_in_use):
    registration = secrets_in_use["registrations"][0]
    credential = GatewayCredential.objects.get()
    event = KeyAuditEvent.objects.filter(registration=registration).first()
    return [
        reverse("admin:trust_center_deviceregistration_changelist"),
        reverse("admin:trust_center_deviceregistration_changelist") + "?q=00:0d:6f",
        reverse("admin:trust_center_deviceregistration_change", args=[registration.pk]),
        reverse(
            "admin:trust_center_deviceregistration_change",
            args=[secrets_in_use["registrations"][1].pk],
        ),
        reverse("admin:trust_center_gatewaycredential_changelist"),
        reverse("admin:trust_center_gatewaycredential_change", args=[credential.pk]),
        reverse("admin:trust_center_keyauditevent_changelist"),
        reverse("admin:trust_center_keyauditevent_change", args=[event.pk]),
    ]


def test_admin_pages_show_that_secrets_are_stored_but_not_the_secrets(
    client, administrator, secrets_in_use, caplog
):
    client.force_login(administrator)
    stored_ciphertexts = [
        *DeviceRegistration.objects.values_list("install_code_ciphertext", flat=True),
        *DeviceRegistration.objects.values_list("link_key_ciphertext", flat=True),
        *GatewayCredential.objects.values_list("secret_ciphertext", flat=True),
    ]

    for url in _admin_pages(secrets_in_use):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        _assert_clean(page, secrets_in_use["forbidden"])
        for ciphertext in stored_ciphertexts:
            assert ciphertext not in page
        if "deviceregistration" in url or "gatewaycredential" in url:
            assert "stored" in page

    _assert_clean(_all_logs(caplog), secrets_in_use["forbidden"])


def test_repr_and_str_of_every_object_hide_the_secrets(secrets_in_use):
    objects = [
        *DeviceRegistration.objects.all(),
        *GatewayCredential.objects.all(),
        *KeyAuditEvent.objects.all(),
        parse_install_code(INSTALL_CODE),
    ]
    for thing in objects:
        _assert_clean(repr(thing), secrets_in_use["forbidden"])
        _assert_clean(str(thing), secrets_in_use["forbidden"])


def test_audit_details_never_hold_the_secrets(secrets_in_use):
    events = KeyAuditEvent.objects.all()
    assert {event.action for event in events} >= {
        "registered",
        "key_derived",
        "join_window_opened",
        "credential_issued",
        "credential_rotated",
    }
    for event in events:
        _assert_clean(event.detail, secrets_in_use["forbidden"])


def test_logs_never_hold_the_secrets(secrets_in_use, caplog):
    selectors.device_registration_link_key(registration=secrets_in_use["registrations"][0])
    selectors.gateway_secret_get(premises_gateway=secrets_in_use["premises_gateway"])
    with pytest.raises(RegistrationError) as raised:
        services.device_registration_create(
            premises_gateway=secrets_in_use["premises_gateway"],
            service_point_id="SP-LEAK-01",
            eui64="00:0d:6f:00:0a:90:69:e8",
            install_code=INSTALL_CODE[:-1] + "4",
            category=HanDevice.Category.PCT,
        )

    logs = _all_logs(caplog)
    assert "Registered HAN device" in logs  # the logging is there, only without secrets
    _assert_clean(logs, secrets_in_use["forbidden"])
    _assert_clean(str(raised.value), {INSTALL_CODE[:-1] + "4", (INSTALL_CODE[:-1] + "4").lower()})


def test_the_database_columns_hold_only_ciphertext(secrets_in_use, encryption_key):
    forbidden = secrets_in_use["forbidden"]
    table = DeviceRegistration._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT install_code_ciphertext, link_key_ciphertext FROM {table}")  # noqa: S608
        registration_rows = cursor.fetchall()
        cursor.execute(
            f"SELECT secret_ciphertext FROM {GatewayCredential._meta.db_table}"  # noqa: S608
        )
        credential_rows = cursor.fetchall()

    assert len(registration_rows) == 2
    stored = [value for row in registration_rows + credential_rows for value in row]
    for value in stored:
        _assert_clean(value, forbidden)
        assert value.startswith("gAAAAA")
    # And they are the secrets, encrypted with the configured key.
    decrypted = {Fernet(encryption_key).decrypt(value.encode()).decode() for value in stored}
    assert {INSTALL_CODE.lower(), LINK_KEY_HEX.lower(), secrets_in_use["secret"]} <= decrypted


def test_a_fixture_dump_holds_only_ciphertext(secrets_in_use):
    output = StringIO()
    call_command("dumpdata", "trust_center", stdout=output)
    assert "link_key_ciphertext" in output.getvalue()
    _assert_clean(output.getvalue(), secrets_in_use["forbidden"])


def test_the_admin_cannot_add_or_edit_registrations_or_credentials(
    client, administrator, secrets_in_use
):
    client.force_login(administrator)
    registration = secrets_in_use["registrations"][0]
    assert client.get(reverse("admin:trust_center_deviceregistration_add")).status_code == 403
    assert client.get(reverse("admin:trust_center_gatewaycredential_add")).status_code == 403
    response = client.post(
        reverse("admin:trust_center_deviceregistration_change", args=[registration.pk]),
        {"status": "verified"},
    )
    assert response.status_code == 403
    registration.refresh_from_db()
    assert registration.status == "join_window_open"


def test_the_admin_removes_registrations_through_the_service(client, administrator, secrets_in_use):
    client.force_login(administrator)
    typed, scanned = secrets_in_use["registrations"]

    response = client.post(
        reverse("admin:trust_center_deviceregistration_changelist"),
        {"action": "remove_registrations", "_selected_action": [typed.pk]},
    )

    assert response.status_code == 302
    typed.refresh_from_db()
    scanned.refresh_from_db()
    assert typed.status == "removed"
    assert scanned.status == "registered"
    removal = KeyAuditEvent.objects.get(action="removed")
    assert removal.actor == administrator
    assert "Removed in the admin." in removal.detail
