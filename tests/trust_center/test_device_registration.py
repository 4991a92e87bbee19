from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from han_gateway.models import HanDevice
from tests.factories import HanDeviceFactory, PremisesGatewayFactory
from tests.trust_center.factories import (
    INSTALL_CODE,
    LINK_KEY_HEX,
    ApprovedDeviceFactory,
    DeviceRegistrationFactory,
    GatewayModelCapacityFactory,
)
from trust_center import selectors, services
from trust_center.models import DEFAULT_HAN_CAPACITY, DeviceRegistration, KeyAuditEvent
from trust_center.services import InvalidStatusTransition, RegistrationError

Status = DeviceRegistration.Status
EUI64 = "00:0d:6f:00:0a:90:69:e7"
QR_TEXT = f"Z:000D6F000A9069E7$I:{INSTALL_CODE}"
SECOND_INSTALL_CODE = "11223344556677884AF7"


def _register(premises_gateway, *, eui64=EUI64, install_code=INSTALL_CODE, **extra):
    arguments = {
        "premises_gateway": premises_gateway,
        "service_point_id": "SP-0000001",
        "eui64": eui64,
        "install_code": install_code,
        "category": HanDevice.Category.IN_HOME_DISPLAY,
    }
    arguments.update(extra)
    return services.device_registration_create(**arguments)


def _eui64(number):
    return f"00:0d:6f:00:00:00:00:{number:02x}"


@pytest.fixture
def premises_gateway(db):
    return PremisesGatewayFactory()


# --- Creating a registration ---------------------------------------------------------------


def test_registration_stores_the_derived_link_key_and_audits_it(premises_gateway, rep):
    registration = _register(premises_gateway, eui64="000D6F000A9069E7", registered_by=rep)

    assert registration.eui64 == EUI64
    assert registration.status == Status.REGISTERED
    assert registration.registered_by == rep
    assert registration.has_install_code
    link_key = selectors.device_registration_link_key(registration=registration)
    assert link_key == bytes.fromhex(LINK_KEY_HEX)
    actions = list(
        KeyAuditEvent.objects.filter(registration=registration)
        .order_by("id")
        .values_list("action", "actor", "eui64", "gateway_label")
    )
    assert actions == [
        ("registered", rep.pk, EUI64, premises_gateway.meter_number),
        ("key_derived", rep.pk, EUI64, premises_gateway.meter_number),
    ]


def test_registration_from_qr_text_alone_takes_the_eui64_from_the_code(premises_gateway):
    registration = _register(premises_gateway, eui64="", install_code=None, qr_text=QR_TEXT)

    assert registration.eui64 == EUI64
    assert selectors.device_registration_link_key(registration=registration).hex().upper() == (
        LINK_KEY_HEX
    )


def test_qr_text_and_typed_eui64_must_agree(premises_gateway):
    with pytest.raises(RegistrationError) as raised:
        _register(premises_gateway, eui64=_eui64(1), install_code=None, qr_text=QR_TEXT)
    assert raised.value.field == "eui64"
    assert "not the one in the QR code" in raised.value.message


def test_qr_text_and_typed_install_code_must_agree(premises_gateway):
    with pytest.raises(RegistrationError) as raised:
        _register(premises_gateway, install_code=SECOND_INSTALL_CODE, qr_text=QR_TEXT)
    assert raised.value.field == "install_code"


def test_matching_qr_text_and_typed_values_register(premises_gateway):
    registration = _register(premises_gateway, qr_text=QR_TEXT)
    assert registration.eui64 == EUI64


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"eui64": "00:0d:6f:00:0a:9O:69:e7"}, "eui64", "'O' looks like '0'"),
        ({"eui64": ""}, "eui64", "Enter the device's EUI-64"),
        ({"install_code": INSTALL_CODE[:-1] + "4"}, "install_code", "checksum"),
        ({"install_code": INSTALL_CODE[:-2]}, "install_code", "Is a pair missing?"),
        ({"install_code": ""}, "install_code", "Enter the install code"),
        ({"install_code": None, "qr_text": "not a qr code"}, "qr_text", "not in a format"),
        ({"category": "toaster"}, "category", "Choose the kind of device"),
        ({"service_point_id": "  "}, "service_point_id", "service point"),
    ],
)
def test_bad_input_is_reported_against_its_field(premises_gateway, changes, field, words):
    with pytest.raises(RegistrationError) as raised:
        _register(premises_gateway, **changes)
    assert raised.value.field == field
    assert words in raised.value.message
    assert not DeviceRegistration.objects.exists()
    assert not KeyAuditEvent.objects.exists()


def test_registration_links_the_device_already_seen_on_the_han(premises_gateway):
    seen = HanDeviceFactory(premises_gateway=premises_gateway, eui64=EUI64)
    assert _register(premises_gateway).han_device == seen


# --- One registration per device -----------------------------------------------------------


def test_a_live_registration_blocks_a_second_one(premises_gateway):
    _register(premises_gateway)
    with pytest.raises(RegistrationError) as raised:
        _register(premises_gateway, install_code=SECOND_INSTALL_CODE)
    assert raised.value.field == "eui64"
    assert "already registered" in raised.value.message


def test_a_failed_registration_is_replaced_by_a_new_one(premises_gateway):
    first = _register(premises_gateway)
    services.device_registration_mark(
        registration=first, status=Status.FAILED, reason="Device never joined."
    )

    second = _register(premises_gateway, install_code=SECOND_INSTALL_CODE)

    first.refresh_from_db()
    assert first.status == Status.REMOVED
    assert second.status == Status.REGISTERED
    assert selectors.device_registration_link_key(registration=second).hex().upper() == (
        "41618FC0C83B0E14A589954B16E31466"
    )


def test_a_removed_device_can_be_registered_again(premises_gateway):
    first = _register(premises_gateway)
    services.device_registration_remove(registration=first, by=None)
    assert _register(premises_gateway).pk != first.pk


def test_a_device_live_at_another_meter_cannot_be_registered_here(premises_gateway):
    _register(PremisesGatewayFactory())
    with pytest.raises(RegistrationError) as raised:
        _register(premises_gateway)
    assert raised.value.field == "eui64"
    assert "another meter" in raised.value.message


def test_the_database_allows_one_active_registration_per_gateway_and_device(premises_gateway):
    DeviceRegistrationFactory(premises_gateway=premises_gateway, eui64=EUI64, status="removed")
    DeviceRegistrationFactory(premises_gateway=premises_gateway, eui64=EUI64)
    with pytest.raises(IntegrityError):
        DeviceRegistrationFactory(premises_gateway=premises_gateway, eui64=EUI64)


# --- Capacity and the approved list --------------------------------------------------------


def test_the_gateway_models_capacity_is_enforced(premises_gateway):
    GatewayModelCapacityFactory(gateway_model=premises_gateway.model.upper(), max_devices=2)
    _register(premises_gateway, eui64=_eui64(1))
    _register(premises_gateway, eui64=_eui64(2), service_point_id="SP-0000002")

    with pytest.raises(RegistrationError) as raised:
        _register(premises_gateway, eui64=_eui64(3))
    assert raised.value.field is None
    assert "at most 2 HAN devices" in raised.value.message
    assert premises_gateway.meter_number in raised.value.message


def test_an_unlisted_gateway_model_gets_the_default_capacity(premises_gateway):
    for number in range(DEFAULT_HAN_CAPACITY):
        _register(premises_gateway, eui64=_eui64(number))
    with pytest.raises(RegistrationError, match=f"at most {DEFAULT_HAN_CAPACITY}"):
        _register(premises_gateway, eui64=_eui64(99))


def test_failed_and_removed_registrations_free_their_place(premises_gateway):
    GatewayModelCapacityFactory(gateway_model=premises_gateway.model, max_devices=1)
    first = _register(premises_gateway, eui64=_eui64(1))
    services.device_registration_mark(registration=first, status=Status.FAILED, reason="")
    second = _register(premises_gateway, eui64=_eui64(2))
    services.device_registration_remove(registration=second, by=None)

    assert _register(premises_gateway, eui64=_eui64(3)).status == Status.REGISTERED


def test_a_manufacturer_specific_capacity_wins_over_the_generic_one(premises_gateway):
    GatewayModelCapacityFactory(gateway_model=premises_gateway.model, max_devices=10)
    GatewayModelCapacityFactory(
        gateway_model=premises_gateway.model,
        manufacturer=premises_gateway.manufacturer.lower(),
        max_devices=7,
    )
    GatewayModelCapacityFactory(
        gateway_model=premises_gateway.model, manufacturer="Itron", max_devices=3
    )
    assert selectors.gateway_han_capacity(premises_gateway=premises_gateway) == 7


def test_without_an_approved_list_any_device_registers(premises_gateway):
    registration = _register(premises_gateway, manufacturer="Anyone", model="Anything")
    assert (registration.manufacturer, registration.model) == ("Anyone", "Anything")


def test_with_an_approved_list_only_listed_devices_register(premises_gateway):
    ApprovedDeviceFactory(manufacturer="Rainforest Automation", model="EMU-2")

    with pytest.raises(RegistrationError) as raised:
        _register(premises_gateway, manufacturer="Acme", model="Display 1")
    assert raised.value.field == "model"
    assert "not on the utility's approved device list" in raised.value.message

    with pytest.raises(RegistrationError) as raised:
        _register(premises_gateway)
    assert raised.value.field == "manufacturer"

    registration = _register(premises_gateway, manufacturer="rainforest automation", model="emu-2")
    assert (registration.manufacturer, registration.model) == ("Rainforest Automation", "EMU-2")


# --- Lifecycle -----------------------------------------------------------------------------


def test_a_device_goes_from_registered_to_verified(premises_gateway, rep):
    registration = _register(premises_gateway)
    before = timezone.now()

    services.device_registration_mark(
        registration=registration, status=Status.JOIN_WINDOW_OPEN, reason="Rep opened it.", by=rep
    )
    assert registration.status == Status.JOIN_WINDOW_OPEN
    assert registration.join_window_expires_at is not None
    assert (
        before + timedelta(hours=23)
        < registration.join_window_expires_at
        < timezone.now() + timedelta(hours=25)
    )
    services.device_registration_mark(
        registration=registration, status=Status.JOINED, reason="Seen on the HAN."
    )
    services.device_registration_mark(
        registration=registration, status=Status.VERIFIED, reason="Answered a price message."
    )

    registration.refresh_from_db()
    assert registration.status == Status.VERIFIED
    assert registration.status_reason == "Answered a price message."
    opened = KeyAuditEvent.objects.get(registration=registration, action="join_window_opened")
    assert opened.actor == rep
    assert "Registered → Join window open" in opened.detail
    assert KeyAuditEvent.objects.filter(action="status_changed").count() == 2


def test_a_chosen_join_window_end_is_kept(premises_gateway):
    registration = _register(premises_gateway)
    closes = timezone.now() + timedelta(days=3)
    services.device_registration_mark(
        registration=registration,
        status=Status.JOIN_WINDOW_OPEN,
        reason="",
        join_window_expires_at=closes,
    )
    registration.refresh_from_db()
    assert registration.join_window_expires_at == closes


def test_a_join_window_in_the_past_is_refused(premises_gateway):
    registration = _register(premises_gateway)
    with pytest.raises(InvalidStatusTransition, match="future"):
        services.device_registration_mark(
            registration=registration,
            status=Status.JOIN_WINDOW_OPEN,
            reason="",
            join_window_expires_at=timezone.now() - timedelta(minutes=1),
        )


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], Status.VERIFIED),
        ([], Status.JOINED),
        ([], Status.EXPIRED),
        ([Status.JOIN_WINDOW_OPEN], Status.VERIFIED),
        ([Status.REMOVED], Status.JOIN_WINDOW_OPEN),
        ([Status.DECOMMISSIONED], Status.REGISTERED),
        ([Status.FAILED], Status.JOINED),
        ([], "bogus"),
    ],
)
def test_transitions_the_lifecycle_does_not_allow_are_refused(premises_gateway, path, refused):
    registration = _register(premises_gateway)
    for status in path:
        services.device_registration_mark(registration=registration, status=status, reason="")
    with pytest.raises(InvalidStatusTransition):
        services.device_registration_mark(registration=registration, status=refused, reason="")
    registration.refresh_from_db()
    assert registration.status == (path[-1] if path else Status.REGISTERED)


def test_a_stale_copy_cannot_revive_a_removed_registration(premises_gateway):
    registration = _register(premises_gateway)
    stale_copy = DeviceRegistration.objects.get(pk=registration.pk)
    services.device_registration_remove(registration=registration, by=None)

    with pytest.raises(InvalidStatusTransition, match="removed"):
        services.device_registration_mark(
            registration=stale_copy, status=Status.JOIN_WINDOW_OPEN, reason=""
        )


def test_removing_twice_changes_nothing(premises_gateway, rep):
    registration = _register(premises_gateway)
    services.device_registration_remove(registration=registration, by=rep, reason="Moved out.")
    services.device_registration_remove(registration=registration, by=rep)

    registration.refresh_from_db()
    assert registration.status == Status.REMOVED
    assert registration.status_reason == "Moved out."
    assert KeyAuditEvent.objects.filter(action="removed").count() == 1


def test_a_removed_registration_no_longer_hands_out_its_key(premises_gateway):
    registration = _register(premises_gateway)
    services.device_registration_remove(registration=registration, by=None)
    with pytest.raises(ValueError, match="no longer handed out"):
        selectors.device_registration_link_key(registration=registration)


def test_meter_exchange_decommissions_every_live_registration_at_the_gateway(premises_gateway, rep):
    live = [_register(premises_gateway, eui64=_eui64(number)) for number in range(3)]
    services.device_registration_remove(registration=live[0], by=rep)
    other_gateway_registration = _register(PremisesGatewayFactory(), eui64=_eui64(9))

    ended = services.device_registrations_decommission_for_gateway(
        premises_gateway=premises_gateway, by=rep, reason="Meter exchanged."
    )

    assert ended == 2
    statuses = dict(
        DeviceRegistration.objects.filter(premises_gateway=premises_gateway).values_list(
            "eui64", "status"
        )
    )
    assert statuses == {
        _eui64(0): Status.REMOVED,
        _eui64(1): Status.DECOMMISSIONED,
        _eui64(2): Status.DECOMMISSIONED,
    }
    other_gateway_registration.refresh_from_db()
    assert other_gateway_registration.status == Status.REGISTERED
    events = KeyAuditEvent.objects.filter(action="decommissioned")
    assert events.count() == 2
    assert all(event.actor == rep and "Meter exchanged." in event.detail for event in events)


def test_lapsed_join_windows_expire_and_open_ones_stay(premises_gateway):
    lapsed = _register(premises_gateway, eui64=_eui64(1))
    still_open = _register(premises_gateway, eui64=_eui64(2))
    now = timezone.now()
    for registration, closes in (
        (lapsed, now + timedelta(hours=1)),
        (still_open, now + timedelta(days=2)),
    ):
        services.device_registration_mark(
            registration=registration,
            status=Status.JOIN_WINDOW_OPEN,
            reason="",
            join_window_expires_at=closes,
        )

    expired = services.device_registrations_expire_join_windows(now=now + timedelta(hours=2))

    assert expired == 1
    lapsed.refresh_from_db()
    still_open.refresh_from_db()
    assert lapsed.status == Status.EXPIRED
    assert "closed before the device joined" in lapsed.status_reason
    assert still_open.status == Status.JOIN_WINDOW_OPEN


# --- Selectors -----------------------------------------------------------------------------


def test_a_premise_sees_only_its_own_live_registrations(premises_gateway):
    mine = _register(premises_gateway, eui64=_eui64(1), service_point_id="SP-MINE")
    removed = _register(premises_gateway, eui64=_eui64(2), service_point_id="SP-MINE")
    services.device_registration_remove(registration=removed, by=None)
    _register(premises_gateway, eui64=_eui64(3), service_point_id="SP-NEIGHBOUR")

    found = selectors.device_registrations_for_premise(
        premises_gateway_id=premises_gateway.pk, service_point_id="SP-MINE"
    )
    assert list(found) == [mine]
    with_ended = selectors.device_registrations_for_premise(
        premises_gateway_id=premises_gateway.pk, service_point_id="SP-MINE", include_ended=True
    )
    assert list(with_ended) == [mine, removed]


# --- The audit trail -----------------------------------------------------------------------


def test_audit_events_cannot_be_changed_or_deleted(premises_gateway):
    _register(premises_gateway)
    event = KeyAuditEvent.objects.first()
    assert event is not None
    event.detail = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert KeyAuditEvent.objects.filter(detail="rewritten").count() == 0
