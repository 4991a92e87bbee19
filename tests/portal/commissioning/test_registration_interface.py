"""A device registered for the meter's second HAN interface: the form asks which interface when
the meter has two, the join window opens there, and the next run finds it there, verified."""

import pytest

from portal.models import Premise, User
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.start import han_test_start
from tests.portal.commissioning.pool_pump import EUI64, registration_form
from tests.portal.test_runs.runs import library_document
from trust_center.models import DeviceRegistration

pytestmark = pytest.mark.django_db


@pytest.fixture
def lakeshore(client, demo_world, eager_tasks, scenario_switch):
    """Alice Moreno's pole-top gateway (han0 and han1), signed in; the pool pump switch waits
    for a join window on han1."""
    second = library_document("two_interfaces_second")
    pending = next(
        device
        for device in library_document("registered_device_missing")["devices"]
        if device["eui64"] == EUI64
    )
    second["devices"].append(pending)
    scenario_switch("MTR-100009", second, interface="han1")
    client.force_login(User.objects.get(username="alice"))
    return Premise.objects.get(premises_gateway__meter_number="MTR-100009")


def test_the_form_asks_for_the_interface_only_where_the_meter_has_two(client, lakeshore):
    page = client.get(f"/premises/{lakeshore.pk}/devices/register/").content.decode()
    assert '<select name="interface"' in page
    assert '<option value="han0"' in page and '<option value="han1"' in page
    single = Premise.objects.get(premises_gateway__meter_number="MTR-100001")
    page = client.get(f"/premises/{single.pk}/devices/register/").content.decode()
    assert 'name="interface"' not in page


def test_a_device_registered_for_han1_joins_there_and_is_verified(
    client, lakeshore, join_log, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/premises/{lakeshore.pk}/devices/register/",
            registration_form(interface="han1"),
            follow=True,
        )
    assert "Device registered" in response.content.decode()
    registration = DeviceRegistration.objects.get()
    assert (registration.interface, registration.status) == ("han1", "join_window_open")

    join_log("MTR-100009", EUI64, "joined", interface="han1")
    run = han_test_start(premise=lakeshore, user=User.objects.get(username="alice"))
    han_test_run_execute(run.pk)
    registration.refresh_from_db()
    assert run.devices.get(eui64=EUI64).interface == "han1"
    assert registration.status == DeviceRegistration.Status.VERIFIED
    assert "joined_elsewhere" not in set(run.findings.values_list("rule", flat=True))


def test_an_interface_the_meter_does_not_have_is_refused_naming_the_field(client, lakeshore):
    response = client.post(
        f"/premises/{lakeshore.pk}/devices/register/", registration_form(interface="han7")
    )
    assert response.status_code == 400
    assert "Choose one of the meter&#x27;s HAN interfaces." in response.content.decode()
    api = client.post(
        f"/api/v1/premises/{lakeshore.pk}/registrations/", registration_form(interface="han7")
    )
    assert api.status_code == 400
    assert api.json()["interface"] == [
        "This meter has no HAN interface han7: choose one of han0, han1."
    ]
    assert not DeviceRegistration.objects.exists()
