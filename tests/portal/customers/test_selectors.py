import pytest

from tests.factories import CustomerFactory, PremiseFactory, PremisesGatewayFactory

pytestmark = pytest.mark.django_db


def _customer_at(
    address_line: str, *, name: str, account_number: str, meter_number: str, **premise
):
    """A customer with one premise, whose meter has the given number."""
    customer = CustomerFactory(name=name, account_number=account_number)
    PremiseFactory(
        customer=customer,
        address_line=address_line,
        premises_gateway=PremisesGatewayFactory(meter_number=meter_number),
        **premise,
    )
    return customer


@pytest.fixture
def moreno():
    return _customer_at(
        "1412 Elm Street",
        name="Alice Moreno",
        account_number="1000234567",
        meter_number="MTR-100001",
        service_point_id="SP-0004412",
    )


@pytest.fixture
def decoy():
    return _customer_at(
        "88 Lakeview Drive",
        name="Bernard Okafor",
        account_number="1000999999",
        meter_number="MTR-200002",
    )


@pytest.mark.parametrize(
    "query",
    [
        "Moreno",
        "alice moreno",
        "1000234567",
        "10002345",
        "Elm Street",
        "elm",
        "MTR-100001",
        "mtr-100001",
        "SP-0004412",
    ],
)
def test_rep_search_finds_the_customer_by_each_field(client, rep, moreno, decoy, query):
    client.force_login(rep)
    page = client.get("/customers/", {"q": query})
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/customers/{moreno.pk}/" in html
    assert f"/customers/{decoy.pk}/" not in html


def test_api_search_finds_the_customer_with_premises(client, rep, moreno, decoy):
    client.force_login(rep)
    results = client.get("/api/v1/customers/", {"search": "MTR-100001"}).json()["results"]
    assert [row["account_number"] for row in results] == ["1000234567"]
    assert results[0]["premises"][0]["meter_number"] == "MTR-100001"


def test_search_with_no_match_says_so(client, rep, moreno):
    client.force_login(rep)
    html = client.get("/customers/", {"q": "Nobody Here"}).content.decode()
    assert "No customer matches" in html


def test_customer_with_two_premises_is_listed_once(client, rep, moreno):
    PremiseFactory(customer=moreno, address_line="9 Elm Court")
    client.force_login(rep)
    results = client.get("/api/v1/customers/", {"search": "Elm"}).json()["results"]
    assert len(results) == 1
    assert len(results[0]["premises"]) == 2


def test_customer_page_shows_premise_gateway_interfaces_and_devices(client, rep, moreno):
    from tests.factories import HanDeviceFactory, NetworkInterfaceFactory

    gateway = moreno.premises.get().premises_gateway
    NetworkInterfaceFactory(premises_gateway=gateway, identifier="han0", channel=20, pan_id=0x1A2B)
    HanDeviceFactory(premises_gateway=gateway, eui64="00:0d:6f:00:0a:90:69:e7", category="pct")
    HanDeviceFactory(
        premises_gateway=gateway,
        eui64="00:17:88:01:02:03:04:05",
        network="customer",
        category="smart_plug",
        manufacturer="Philips",
        model="Secret Model",
    )
    client.force_login(rep)
    html = client.get(f"/customers/{moreno.pk}/").content.decode()
    assert "MTR-100001" in html
    assert "0x1A2B" in html
    assert "00:0d:6f:00:0a:90:69:e7" in html
    assert "Programmable communicating thermostat" in html
    # A customer-owned device is shown to staff by category and vendor only.
    assert "00:17:88:01:02:03:04:05" not in html
    assert "••:••:••:••:••:••:04:05" in html
    assert "Secret Model" not in html
