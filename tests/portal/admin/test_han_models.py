"""The Django admin follows the portal's privacy rule for customer-owned devices, and audits."""

import pytest

from han_gateway.models import HanDevice
from portal.models import HanDataAccess
from tests.factories import HanDeviceFactory

pytestmark = pytest.mark.django_db

PLUG = "28:2c:02:bf:ff:e6:0a:12"
PLUG_MODEL = "Smart Plug Mini Z3"


@pytest.fixture
def customers_plug(premise_a):
    return HanDeviceFactory(
        premises_gateway=premise_a.premises_gateway,
        eui64=PLUG,
        network=HanDevice.Network.CUSTOMER,
        category=HanDevice.Category.SMART_PLUG,
        manufacturer="Acme Home",
        model=PLUG_MODEL,
        firmware_version="9.9.9",
    )


@pytest.fixture
def utility_display(premise_a):
    return HanDeviceFactory(premises_gateway=premise_a.premises_gateway)


def _hidden(text: str) -> bool:
    return PLUG not in text and PLUG.replace(":", "") not in text and PLUG_MODEL not in text


def test_admin_lists_a_customer_owned_device_masked_without_consent(
    client, administrator, customers_plug, utility_display
):
    client.force_login(administrator)
    page = client.get("/admin/han_gateway/handevice/").content.decode()
    assert "••:••:••:••:••:••:0a:12" in page
    assert "Acme Home" in page  # category and vendor, as on every staff page
    assert _hidden(page)
    assert utility_display.eui64 in page  # the utility's own devices in full


def test_admin_change_page_and_history_of_a_masked_device_reveal_nothing(
    client, administrator, customers_plug
):
    client.force_login(administrator)
    base = f"/admin/han_gateway/handevice/{customers_plug.pk}"
    for url in (f"{base}/change/", f"{base}/history/", f"{base}/delete/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _hidden(response.content.decode()), url
    # Read-only: a masked device cannot be edited into view.
    client.post(f"{base}/change/", {"eui64": PLUG, "network": "customer", "model": "x"})
    customers_plug.refresh_from_db()
    assert customers_plug.model == PLUG_MODEL


def test_admin_search_does_not_find_a_masked_device_by_what_it_hides(
    client, administrator, customers_plug
):
    client.force_login(administrator)
    for term in (PLUG, "0a:12", "bf:ff"):
        page = client.get("/admin/han_gateway/handevice/", {"q": term}).content.decode()
        assert "0 HAN devices" in page or "0 results" in page, term


def test_with_consent_the_admin_shows_the_device_in_full(
    client, administrator, customers_plug, customer_a
):
    customer_a.customer_han_consent = True
    customer_a.save()
    client.force_login(administrator)
    page = client.get("/admin/han_gateway/handevice/").content.decode()
    assert PLUG in page and PLUG_MODEL in page
    assert PLUG in client.get("/admin/han_gateway/handevice/", {"q": PLUG}).content.decode()


def test_admin_views_of_han_devices_are_audited(client, administrator, customers_plug, customer_a):
    client.force_login(administrator)
    client.get("/admin/han_gateway/handevice/")
    client.get(f"/admin/han_gateway/handevice/{customers_plug.pk}/change/")
    rows = list(HanDataAccess.objects.filter(user=administrator).values("customer_id", "what"))
    assert {"customer_id": customer_a.pk, "what": "HAN devices in the Django admin"} in rows
    assert {"customer_id": customer_a.pk, "what": "a HAN device in the Django admin"} in rows
    assert all(
        not shown for shown in HanDataAccess.objects.values_list("customer_han_shown", flat=True)
    )


def test_str_of_a_customer_owned_device_masks_it(customers_plug):
    assert PLUG not in str(customers_plug)
