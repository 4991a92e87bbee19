"""Registering a Utility HAN device at a premise and commissioning it through the meter."""

import logging

import pytest

from portal.models import Premise, User
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.start import han_test_start
from tests.portal.commissioning.pool_pump import EUI64, registration_form
from tests.trust_center.factories import INSTALL_CODE, LINK_KEY_HEX
from trust_center.models import DeviceRegistration

pytestmark = pytest.mark.django_db

WRONG_CRC = "83FED3407A939723A5C639B26916D505C3B6"


@pytest.fixture
def chen(client, demo_world, eager_tasks, scenario_switch):
    """Chen Wei, signed in; the simulated meter's HAN is put back as it was afterwards."""
    scenario_switch("MTR-100003", "registered_device_missing")
    client.force_login(User.objects.get(username="chen"))
    return Premise.objects.get(premises_gateway__meter_number="MTR-100003")


def test_wrong_checksum_says_which_check_failed_and_keeps_nothing(client, chen):
    response = client.post(
        f"/premises/{chen.pk}/devices/register/", registration_form(install_code=WRONG_CRC)
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "checksum" in page.lower()
    assert WRONG_CRC not in page and WRONG_CRC.lower() not in page
    assert not DeviceRegistration.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"eui64": "00:0d:6f:00:05:3c:51"}, "is a pair missing?"),
        ({"eui64": "00:0d:6f:00:05:3c:5l:08"}, "looks like"),
        ({"install_code": "83FED3407A939723A5C639B26916D505C3"}, "digits"),
        ({"install_code": "83FED3407A939723A5C639B26916D5O5C3B5"}, "looks like"),
        ({"install_code": "", "qr_text": ""}, "Enter the install code"),
    ],
)
def test_typos_are_explained(client, chen, changes, field_message):
    response = client.post(f"/premises/{chen.pk}/devices/register/", registration_form(**changes))
    assert response.status_code == 400
    assert field_message in response.content.decode()


def test_registered_device_joins_through_the_meter_and_is_verified_by_the_next_run(
    client, chen, join_log, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/premises/{chen.pk}/devices/register/", registration_form(), follow=True
        )
    page = response.content.decode()
    assert "Device registered" in page
    registration = DeviceRegistration.objects.get()
    assert registration.status == DeviceRegistration.Status.JOIN_WINDOW_OPEN
    assert "Join window open" in client.get(f"/premises/{chen.pk}/").content.decode()

    join_log("MTR-100003", EUI64, "joined")  # the rep retests once the device has joined
    run = han_test_start(premise=chen, user=User.objects.get(username="chen"))
    han_test_run_execute(run.pk)
    run.refresh_from_db()
    registration.refresh_from_db()
    assert run.devices.filter(eui64=EUI64, join_method="install_code").exists()
    assert registration.status == DeviceRegistration.Status.VERIFIED
    assert run.status == "passed"

    seen = [
        page,
        client.get(f"/premises/{chen.pk}/").content.decode(),
        client.get(f"/runs/{run.pk}/").content.decode(),
        client.get(f"/api/v1/premises/{chen.pk}/registrations/").content.decode(),
        client.get(f"/api/v1/runs/{run.pk}/").content.decode(),
        caplog.text,
    ]
    for secret in (INSTALL_CODE, LINK_KEY_HEX):
        for text in seen:
            assert secret.lower() not in text.lower()


def test_api_registers_reports_status_and_removes(client, chen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            f"/api/v1/premises/{chen.pk}/registrations/",
            registration_form(),
        )
    assert created.status_code == 201, created.content
    body = created.json()
    assert "install_code" not in body and INSTALL_CODE not in created.content.decode()
    detail = client.get(f"/api/v1/registrations/{body['id']}/").json()
    assert detail["status"] == "join_window_open"
    removed = client.delete(f"/api/v1/registrations/{body['id']}/")
    assert removed.json()["status"] == "removed"

    bad = client.post(
        f"/api/v1/premises/{chen.pk}/registrations/",
        registration_form(install_code=WRONG_CRC),
    )
    assert bad.status_code == 400
    assert "install_code" in bad.json()


def test_another_customer_cannot_see_or_remove_the_registration(
    client, chen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/premises/{chen.pk}/devices/register/", registration_form())
    registration = DeviceRegistration.objects.get()
    client.force_login(User.objects.get(username="alice"))
    assert client.get(f"/api/v1/registrations/{registration.pk}/").status_code == 404
    assert client.post(f"/registrations/{registration.pk}/remove/").status_code == 404
    assert client.get(f"/premises/{chen.pk}/devices/register/").status_code == 404
    registration.refresh_from_db()
    assert registration.status == DeviceRegistration.Status.JOIN_WINDOW_OPEN


def test_unreachable_meter_fails_the_registration_with_the_reason(
    client, chen, django_capture_on_commit_callbacks
):
    from han_gateway.models import PremisesGateway
    from tests.commands import free_port

    PremisesGateway.objects.filter(pk=chen.premises_gateway_id).update(
        service_url=f"http://127.0.0.1:{free_port()}"
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/premises/{chen.pk}/devices/register/", registration_form())
    registration = DeviceRegistration.objects.get()
    assert registration.status == DeviceRegistration.Status.FAILED
    assert "could not open a join window" in registration.status_reason


def test_join_window_that_expires_is_diagnosed(
    client, chen, django_capture_on_commit_callbacks, scenario_switch
):
    from datetime import timedelta

    from django.utils import timezone

    from portal.commissioning.services import join_windows_expire

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/premises/{chen.pk}/devices/register/", registration_form())
    DeviceRegistration.objects.update(join_window_expires_at=timezone.now() - timedelta(seconds=1))
    # The device never powered up: the meter's HAN is as before the window opened.
    scenario_switch("MTR-100003", "registered_device_missing")
    assert join_windows_expire() == 1
    run = han_test_start(premise=chen, user=User.objects.get(username="chen"))
    han_test_run_execute(run.pk)
    rules = set(run.findings.values_list("rule", flat=True))
    assert "join_window_expired" in rules
    assert "registered_device_missing" not in rules


def test_meter_exchange_decommissions_the_registrations(
    client, chen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/premises/{chen.pk}/devices/register/", registration_form())
    assert client.post(f"/premises/{chen.pk}/meter-exchange/").status_code == 403
    client.force_login(User.objects.get(username="rep"))
    response = client.post(f"/premises/{chen.pk}/meter-exchange/", follow=True)
    assert "1 registration decommissioned" in response.content.decode()
    assert DeviceRegistration.objects.get().status == DeviceRegistration.Status.DECOMMISSIONED


def test_a_join_window_opens_on_the_interface_the_device_is_on_record_for(demo_world, monkeypatch):
    from han_gateway.models import HanDevice, NetworkInterface
    from portal.commissioning import services
    from trust_center import services as trust_services

    dual = Premise.objects.get(premises_gateway__meter_number="MTR-100009")
    HanDevice.objects.create(
        premises_gateway=dual.premises_gateway,
        network_interface=NetworkInterface.objects.get(
            premises_gateway=dual.premises_gateway, identifier="han1"
        ),
        eui64=EUI64,
        category="load_control_switch",
    )
    registration = trust_services.device_registration_create(
        premises_gateway=dual.premises_gateway,
        service_point_id=dual.service_point_id,
        **registration_form(),
        registered_by=User.objects.get(username="rep"),
    )
    opened_on = []
    real_client_for = services.gateway_client_for

    def recording_client_for(gateway):
        client = real_client_for(gateway)
        real_open = client.open_join_window

        def open_join_window(interface_id, **window):
            opened_on.append(interface_id)
            return real_open(interface_id, **window)

        client.open_join_window = open_join_window
        return client

    monkeypatch.setattr(services, "gateway_client_for", recording_client_for)
    services.join_window_open(registration.pk)
    registration.refresh_from_db()
    assert opened_on == ["han1"]  # not the meter's first interface
    assert registration.status == DeviceRegistration.Status.JOIN_WINDOW_OPEN
