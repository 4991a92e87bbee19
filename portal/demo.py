"""The demo data set: customers, premises and meters whose simulated HANs show each problem."""

import os
from dataclasses import dataclass

from django.db import transaction

from han_gateway.models import PremisesGateway
from portal.models import Customer, Premise, User
from portal.services import user_create

DEMO_SERVICE_URL = os.environ.get("HAN_DEMO_SERVICE_URL", "http://127.0.0.1:8470")


@dataclass(frozen=True)
class DemoPremise:
    customer_name: str
    account_number: str
    address_line: str
    city: str
    postal_code: str
    meter_number: str
    scenario: str
    gateway_model: str = "E350 FOCUS AXe-SD"
    gateway_kind: str = PremisesGateway.Kind.METER
    region: str = "north"


DEMO_PREMISES = [
    DemoPremise(
        "Alice Moreno",
        "1000234567",
        "1412 Elm Street",
        "Springfield",
        "62704",
        "MTR-100001",
        "healthy",
    ),
    DemoPremise(
        "Bernard Okafor",
        "1000234568",
        "88 Lakeview Drive",
        "Springfield",
        "62711",
        "MTR-100002",
        "weak_link",
    ),
    DemoPremise(
        "Chen Wei",
        "1000234569",
        "301 Maple Avenue",
        "Chatham",
        "62629",
        "MTR-100003",
        "registered_device_missing",
        region="south",
    ),
    DemoPremise(
        "Dana Whitfield",
        "1000234570",
        "17 Prairie Lane",
        "Rochester",
        "62563",
        "MTR-100004",
        "needs_router",
        region="south",
    ),
    DemoPremise(
        "Emeka Nwosu",
        "1000234571",
        "940 Oak Ridge Road",
        "Sherman",
        "62684",
        "MTR-100005",
        "outdated_firmware",
        gateway_model="I-210+c",
    ),
    DemoPremise(
        "Fatima Haddad",
        "1000234572",
        "55 Cedar Court",
        "Springfield",
        "62702",
        "MTR-100006",
        "default_key_join",
        gateway_model="I-210+c",
    ),
    DemoPremise(
        "Greg Lindqvist",
        "1000234573",
        "2210 Walnut Street",
        "Petersburg",
        "62675",
        "MTR-100007",
        "unregistered_device",
        region="south",
    ),
    DemoPremise(
        "Hannah Schultz",
        "1000234574",
        "6 Birch Circle",
        "Springfield",
        "62707",
        "MTR-100008",
        "channel_interference",
    ),
    DemoPremise(
        "Alice Moreno",
        "1000234567",
        "12 Lakeshore Cabin Road",
        "Petersburg",
        "62675",
        "MTR-100009",
        "two_interfaces",
        gateway_model="GridStream RF Pole-Top",
        gateway_kind=PremisesGateway.Kind.POLE_TOP,
        region="south",
    ),
    DemoPremise(
        "Ivan Petrov",
        "1000234575",
        "480 Sunset Boulevard",
        "Chatham",
        "62629",
        "MTR-100010",
        "empty_han",
    ),
    DemoPremise(
        "Northgate Community Center",
        "1000234576",
        "1 Northgate Plaza",
        "Springfield",
        "62702",
        "MTR-100011",
        "large_han",
        gateway_model="I-210+c",
    ),
]

DEMO_USERS = [
    # username, password, role, first name, last name, accounts
    ("rep", "han-demo-rep", User.Role.REPRESENTATIVE, "Rita", "Reyes", ()),
    ("admin", "han-demo-admin", User.Role.ADMINISTRATOR, "Ada", "Adams", ()),
    ("alice", "han-demo-alice", User.Role.CUSTOMER, "Alice", "Moreno", ("1000234567",)),
    ("bernard", "han-demo-bernard", User.Role.CUSTOMER, "Bernard", "Okafor", ("1000234568",)),
]


def demo_gateway_secret(meter_number: str) -> str:
    """The demo gateways' secrets are public by design: they guard only simulated HANs."""
    return f"demo-{meter_number.lower()}"


@transaction.atomic
def demo_data_load() -> list[tuple[str, str, str]]:
    """Create the demo data set if it is not there yet; returns (role, username, password)."""
    for index, item in enumerate(DEMO_PREMISES):
        customer, _ = Customer.objects.get_or_create(
            account_number=item.account_number,
            defaults={
                "name": item.customer_name,
                "email": item.customer_name.lower().replace(" ", ".") + "@example.com",
                "phone": f"217-555-{100 + index:04d}",
            },
        )
        gateway, _ = PremisesGateway.objects.get_or_create(
            meter_number=item.meter_number,
            defaults={
                "ami_id": f"AMI-{item.meter_number[4:]}",
                "kind": item.gateway_kind,
                "manufacturer": "Landis+Gyr" if "E350" in item.gateway_model else "Itron",
                "model": item.gateway_model,
                "firmware_version": "4.2.1",
                "region": item.region,
                "service_url": DEMO_SERVICE_URL,
                "service_gateway_id": item.meter_number,
            },
        )
        Premise.objects.get_or_create(
            service_point_id=f"SP-{item.meter_number[4:]}",
            defaults={
                "customer": customer,
                "address_line": item.address_line,
                "city": item.city,
                "state": "IL",
                "postal_code": item.postal_code,
                "premises_gateway": gateway,
            },
        )
    sign_ins = []
    for username, password, role, first_name, last_name, accounts in DEMO_USERS:
        if not User.objects.filter(username=username).exists():
            user_create(
                username=username,
                password=password,
                role=role,
                first_name=first_name,
                last_name=last_name,
                customer_accounts=Customer.objects.filter(account_number__in=accounts),
            )
        sign_ins.append((User.Role(role).label, username, password))
    return sign_ins
