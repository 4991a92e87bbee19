"""Customer HAN privacy: masked for staff without consent, and every staff view audited."""

import pytest

from portal.models import HanDataAccess, User
from tests.factories import CustomerFactory, HanDeviceFactory, PremiseFactory, UserFactory

pytestmark = pytest.mark.django_db

CUSTOMER_DEVICE = "00:17:88:01:02:03:04:05"


@pytest.fixture
def household():
    customer = CustomerFactory(name="Dana Reyes")
    premise = PremiseFactory(customer=customer)
    HanDeviceFactory(
        premises_gateway=premise.premises_gateway,
        eui64=CUSTOMER_DEVICE,
        network="customer",
        category="smart_plug",
        manufacturer="Philips",
        model="Hue Smart Plug",
    )
    owner = UserFactory(username="dana", role=User.Role.CUSTOMER, customer_accounts=[customer])
    return customer, premise, owner


def test_staff_see_customer_devices_masked_until_the_customer_consents(client, rep, household):
    customer, premise, owner = household
    client.force_login(rep)
    page = client.get(f"/premises/{premise.pk}/").content.decode()
    assert CUSTOMER_DEVICE not in page and "Hue Smart Plug" not in page
    assert "Philips" in page

    client.force_login(owner)
    mine = client.get("/my-home/").content.decode()
    assert CUSTOMER_DEVICE in mine and "Hue Smart Plug" in mine
    client.post(f"/customers/{customer.pk}/consent/", {"consent": "1"})
    customer.refresh_from_db()
    assert customer.customer_han_consent

    client.force_login(rep)
    assert CUSTOMER_DEVICE in client.get(f"/premises/{premise.pk}/").content.decode()
    assert CUSTOMER_DEVICE in client.get(f"/api/v1/premises/{premise.pk}/").content.decode()

    client.force_login(owner)
    client.post(f"/customers/{customer.pk}/consent/", {"consent": "0"})
    client.force_login(rep)
    assert CUSTOMER_DEVICE not in client.get(f"/premises/{premise.pk}/").content.decode()


def test_only_the_account_holder_gives_consent(client, rep, user_a, household):
    customer, _, _ = household
    client.force_login(rep)
    assert client.post(f"/customers/{customer.pk}/consent/", {"consent": "1"}).status_code == 403
    client.force_login(user_a)
    assert client.post(f"/customers/{customer.pk}/consent/", {"consent": "1"}).status_code == 404
    customer.refresh_from_db()
    assert not customer.customer_han_consent


def test_every_staff_view_of_han_data_is_audited_and_customers_views_are_not(
    client, rep, household, administrator
):
    customer, premise, owner = household
    client.force_login(rep)
    client.get(f"/customers/{customer.pk}/")
    client.get(f"/premises/{premise.pk}/")
    client.get(f"/api/v1/premises/{premise.pk}/")
    client.get(f"/api/v1/customers/{customer.pk}/")
    client.force_login(owner)
    client.get(f"/premises/{premise.pk}/")
    entries = list(HanDataAccess.objects.order_by("at").values_list("user__username", "what"))
    assert entries == [
        ("rita", "customer page"),
        ("rita", "premise page"),
        ("rita", "API: premise"),
        ("rita", "API: customer"),
    ]
    client.force_login(administrator)
    audit = client.get("/admin/portal/handataaccess/").content.decode()
    assert "premise page" in audit
    assert client.get("/admin/portal/handataaccess/add/").status_code == 403
