"""The demo data set: customers, premises and meters whose simulated HANs show each problem."""

import os
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from han_gateway.firmware import OtaVersionScheme, ota_version_from_text
from han_gateway.models import HanDevice, NetworkInterface, PremisesGateway
from han_gateway.scenarios import Scenario, resolve_scenario
from han_gateway.service.config import GatewayConfig, InterfaceConfig, load_service_config
from han_gateway.validators import service_url_refusal
from portal.customers.services import user_create
from portal.models import Customer, Premise, User
from trust_center.models import ApprovedDevice, GatewayModelCapacity
from trust_center.services import gateway_credential_issue, gateway_service_url_record

DEMO_SERVICE_URL = os.environ.get("HAN_DEMO_SERVICE_URL", "http://127.0.0.1:8470")


class DemoDataError(Exception):
    """The demo cannot be loaded as configured; the message says what to change."""


@dataclass(frozen=True)
class DemoPremise:
    customer_name: str
    account_number: str
    address_line: str
    city: str
    postal_code: str
    meter_number: str
    scenario: str
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
    ),
    DemoPremise(
        "Fatima Haddad",
        "1000234572",
        "55 Cedar Court",
        "Springfield",
        "62702",
        "MTR-100006",
        "default_key_join",
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
    ),
]

DEMO_USERS = [
    # username, password, role, first name, last name, accounts
    ("rep", "han-demo-rep", User.Role.REPRESENTATIVE, "Rita", "Reyes", ()),
    ("admin", "han-demo-admin", User.Role.ADMINISTRATOR, "Ada", "Adams", ()),
    ("alice", "han-demo-alice", User.Role.CUSTOMER, "Alice", "Moreno", ("1000234567",)),
    ("bernard", "han-demo-bernard", User.Role.CUSTOMER, "Bernard", "Okafor", ("1000234568",)),
    ("chen", "han-demo-chen", User.Role.CUSTOMER, "Chen", "Wei", ("1000234569",)),
    ("installer", "han-demo-installer", User.Role.INSTALLER, "Ivan", "Ortiz", ()),
]


DEMO_GATEWAYS_CONFIG = Path(__file__).resolve().parents[2] / "han_gateway/demo/gateways.yaml"

# The utility's approved device list for the demo: the outdated-firmware scenario's devices
# run releases below these minimums.
DEMO_APPROVED_DEVICES = [
    ("Honeywell", "UtilityPRO UP8000", HanDevice.Category.PCT, "3.4.0"),
    ("Rainforest Automation", "EMU-2", HanDevice.Category.IN_HOME_DISPLAY, "2.1.0"),
    ("Rainforest Automation", "EAGLE-200", HanDevice.Category.EMS, "4.0.0"),
    ("Eaton", "Yukon LCR-6601S", HanDevice.Category.LOAD_CONTROL_SWITCH, "1.8.0"),
]


# Enhanced meters take ten Utility HAN devices (published utility HAN programs).
DEMO_METER_HAN_CAPACITY = 10


def demo_gateway_secret(meter_number: str) -> str:
    """The demo gateways' secrets are public by design: they guard only simulated HANs."""
    return f"demo-secret-{meter_number.lower()}"


def _scenario_for(interface: InterfaceConfig, base_directory: Path) -> Scenario:
    if interface.scenario is None:
        raise ValueError(f"demo interface {interface.interface_id} has no scenario")
    return resolve_scenario(interface.scenario, relative_to=base_directory)


def _load_han_from_scenarios(
    gateway: PremisesGateway, configured: GatewayConfig, base: Path
) -> None:
    """What the utility knows of each demo HAN: its interfaces and the devices on record.

    Registered utility devices and the customer's own devices are on record; a device the
    utility never registered is not, and neither is anything a scan has yet to find.
    """
    for interface in configured.interfaces:
        scenario = _scenario_for(interface, base)
        network_interface, _ = NetworkInterface.objects.update_or_create(
            premises_gateway=gateway,
            identifier=interface.interface_id,
            defaults={
                "channel": scenario.gateway.channel,
                "pan_id": scenario.gateway.pan_id,
                "extended_pan_id": str(scenario.gateway.extended_pan_id),
                "security_level": scenario.gateway.security_level,
            },
        )
        on_record = [
            (str(d.eui64), d.category, d.han, d.manufacturer, d.model, d.sw_build_id)
            for d in scenario.devices
            if d.registered or d.han == HanDevice.Network.CUSTOMER
        ] + [
            (str(d.eui64), d.category, HanDevice.Network.UTILITY, d.manufacturer, d.model, "")
            for d in scenario.expected_devices
        ]
        for eui64, category, network, manufacturer, model, firmware in on_record:
            HanDevice.objects.get_or_create(
                premises_gateway=gateway,
                eui64=eui64,
                defaults={
                    "network_interface": network_interface,
                    "network": network,
                    "category": category,
                    "manufacturer": manufacturer,
                    "model": model,
                    "firmware_version": firmware,
                },
            )


@transaction.atomic
def demo_data_load(config_path: Path = DEMO_GATEWAYS_CONFIG) -> list[tuple[str, str, str]]:
    """Create the demo data set if it is not there yet; returns (role, username, password)."""
    config = load_service_config(config_path)
    refusal = service_url_refusal(DEMO_SERVICE_URL)
    if refusal is not None:
        raise DemoDataError(f"HAN_DEMO_SERVICE_URL={DEMO_SERVICE_URL}: {refusal}")
    configured = {gateway.gateway_id: gateway for gateway in config.gateways}
    for gateway_config in config.gateways:
        GatewayModelCapacity.objects.get_or_create(
            manufacturer=gateway_config.manufacturer,
            gateway_model=gateway_config.model,
            defaults={"max_devices": DEMO_METER_HAN_CAPACITY},
        )
    for manufacturer, model, category, minimum in DEMO_APPROVED_DEVICES:
        image = ota_version_from_text(minimum, OtaVersionScheme.BYTES)
        approved = {"category": category, "minimum_firmware": minimum}
        ApprovedDevice.objects.get_or_create(
            manufacturer=manufacturer,
            model=model,
            defaults={**approved, "minimum_ota_file_version": image},
        )
    for index, item in enumerate(DEMO_PREMISES):
        gateway_config = configured[item.meter_number]
        customer, _ = Customer.objects.get_or_create(
            account_number=item.account_number,
            defaults={
                "name": item.customer_name,
                "email": item.customer_name.lower().replace(" ", ".") + "@example.com",
                "phone": f"217-555-{100 + index:04d}",
            },
        )
        gateway, created = PremisesGateway.objects.get_or_create(
            meter_number=item.meter_number,
            defaults={
                "ami_id": f"AMI-{item.meter_number[4:]}",
                "kind": item.gateway_kind,
                "manufacturer": gateway_config.manufacturer,
                "model": gateway_config.model,
                "firmware_version": gateway_config.firmware,
                "region": item.region,
                "service_url": DEMO_SERVICE_URL,
                "service_gateway_id": item.meter_number,
            },
        )
        if created:
            gateway_service_url_record(premises_gateway=gateway, previous_url="", by=None)
            gateway_credential_issue(
                premises_gateway=gateway, secret=demo_gateway_secret(item.meter_number)
            )
            _load_han_from_scenarios(gateway, gateway_config, config.base_directory)
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
