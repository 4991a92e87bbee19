"""The approved-device list in the admin: the approved image is typed as the maker writes it."""

import pytest

from tests.trust_center.factories import ApprovedDeviceFactory
from trust_center.models import ApprovedDevice

pytestmark = pytest.mark.django_db

ADD = "/admin/trust_center/approveddevice/add/"


def _form(**changes):
    form = {
        "manufacturer": "Eaton",
        "model": "Yukon LCR-6601S",
        "category": "load_control_switch",
        "minimum_ota_version": "1.8.0",
        "ota_version_scheme": "bytes",
        "minimum_firmware": "LCR6601S-1.8.0",
        "notes": "",
    }
    return {**form, **changes}


def test_an_administrator_types_the_approved_image_as_the_maker_writes_it(client, administrator):
    client.force_login(administrator)
    response = client.post(ADD, _form())
    assert response.status_code == 302
    approved = ApprovedDevice.objects.get()
    assert approved.minimum_ota_file_version == 0x01080000
    listing = client.get("/admin/trust_center/approveddevice/").content.decode()
    assert "1.8.0 (0x01080000)" in listing


def test_the_number_itself_and_other_schemes_are_accepted(client, administrator):
    client.force_login(administrator)
    client.post(ADD, _form(minimum_ota_version="82", ota_version_scheme="number"))
    assert ApprovedDevice.objects.get().minimum_ota_file_version == 82


def test_a_version_that_is_not_one_is_refused_and_nothing_is_saved(client, administrator):
    client.force_login(administrator)
    response = client.post(ADD, _form(minimum_ota_version="LCR6601S-1.8.0"))
    assert response.status_code == 200
    assert "is not an OTA file version" in response.content.decode()
    assert not ApprovedDevice.objects.exists()


def test_editing_shows_the_approved_image_in_the_makers_words(client, administrator):
    approved = ApprovedDeviceFactory(minimum_ota_file_version=0x02010000)
    client.force_login(administrator)
    page = client.get(f"/admin/trust_center/approveddevice/{approved.pk}/change/").content.decode()
    assert 'value="2.1.0"' in page
    response = client.post(
        f"/admin/trust_center/approveddevice/{approved.pk}/change/",
        _form(manufacturer=approved.manufacturer, model=approved.model, minimum_ota_version=""),
    )
    assert response.status_code == 302
    approved.refresh_from_db()
    assert approved.minimum_ota_file_version is None
