import pytest

from tests.factories import CustomerFactory, PremiseFactory, PremisesGatewayFactory

pytestmark = pytest.mark.django_db


def _customer_at(
    address_line: str,
    *,
    name: str,
    account_number: str,
    meter_number: str,
    phone: str = "",
    email: str = "",
    **premise,
):
    """A customer with one premise, whose meter has the given number."""
    customer = CustomerFactory(name=name, account_number=account_number, phone=phone, email=email)
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
        phone="(217) 555-0142",
        email="alice.moreno@example.com",
    )


@pytest.fixture
def decoy():
    return _customer_at(
        "88 Lakeview Drive",
        name="Bernard Okafor",
        account_number="1000999999",
        meter_number="MTR-200002",
        phone="217-555-0199",
        email="b.okafor@example.com",
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
        "100001",
        "2175550142",
        "217-555-0142",
        "217.555.0142",
        "+1 (217) 555-0142",
        "12175550142",
        "alice.moreno@example.com",
        "Alice.Moreno@",
    ],
)
def test_rep_search_finds_the_customer_by_each_field(client, rep, moreno, decoy, query):
    client.force_login(rep)
    page = client.get("/customers/", {"q": query})
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/customers/{moreno.pk}/" in html
    assert f"/customers/{decoy.pk}/" not in html


@pytest.mark.parametrize("query", ["555", "217-555", "@example.com", "0002"])
def test_search_by_a_fragment_every_customer_shares_finds_no_one_by_it(
    client, rep, moreno, decoy, query
):
    client.force_login(rep)
    html = client.get("/customers/", {"q": query}).content.decode()
    assert f"/customers/{moreno.pk}/" not in html


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


def test_the_reps_start_page_lists_their_open_cases_and_recent_runs(client, demo_world):
    from portal.models import HanTestCase, HanTestRun, Premise, User

    rep = User.objects.get(username="rep")
    other = User.objects.create_user("rita", role=User.Role.REPRESENTATIVE)
    bernard = Premise.objects.get(premises_gateway__meter_number="MTR-100002")
    alice = Premise.objects.get(premises_gateway__meter_number="MTR-100001")
    chen = Premise.objects.get(premises_gateway__meter_number="MTR-100003")
    open_case = HanTestCase.objects.create(premise=bernard, problem="IHD blank", opened_by=rep)
    HanTestRun.objects.create(
        case=open_case, premise=bernard, number=1, status="failed", started_by=rep
    )
    resolved = HanTestCase.objects.create(premise=alice, opened_by=rep, status="resolved")
    HanTestRun.objects.create(
        case=resolved, premise=alice, number=1, status="passed", started_by=rep
    )
    theirs = HanTestCase.objects.create(premise=chen, problem="not mine", opened_by=other)
    HanTestRun.objects.create(
        case=theirs, premise=chen, number=1, status="failed", started_by=other
    )

    client.force_login(rep)
    page = client.get("/", follow=True).content.decode()
    cases = page[page.index("data-open-cases") : page.index("data-recent-runs")]
    runs = page[page.index("data-recent-runs") :]
    assert "Bernard Okafor" in cases and "IHD blank" in cases and "Problems found" in cases
    assert "Alice" not in cases  # resolved
    assert "not mine" not in page
    assert "Bernard Okafor" in runs and "Alice" in runs and "case resolved" in runs

    client.force_login(other)
    page = client.get("/customers/").content.decode()
    assert "IHD blank" not in page and "not mine" in page
