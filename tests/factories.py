from datetime import timedelta

import factory
from django.utils import timezone

from han_gateway.models import HanDevice, NetworkInterface, PremisesGateway
from portal.api.tokens import api_token_issue
from portal.models import (
    Customer,
    Finding,
    HanTestCase,
    HanTestRun,
    ObservedDevice,
    Premise,
    RecordedAction,
    User,
    WorkOrder,
)

PASSWORD = "correct-horse-battery"


def eui64_sequence(first_six_bytes: str) -> factory.Sequence:
    """EUI-64s that start with ``first_six_bytes`` ("00:0d:6f:00:00:00") and count on in the
    last two."""
    return factory.Sequence(lambda n: f"{first_six_bytes}:{n // 256 % 256:02x}:{n % 256:02x}")


class PremisesGatewayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PremisesGateway

    ami_id = factory.Sequence(lambda n: f"AMI-{n:08d}")
    meter_number = factory.Sequence(lambda n: f"MTR-9{n:05d}")
    manufacturer = "Landis+Gyr"
    model = "E350 FOCUS AXe-SD"
    firmware_version = "4.2.1"
    service_url = "http://127.0.0.1:8470"
    service_gateway_id = factory.SelfAttribute("meter_number")


class NetworkInterfaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NetworkInterface

    premises_gateway = factory.SubFactory(PremisesGatewayFactory)
    identifier = "han0"
    channel = 15
    pan_id = 0x1A2B
    extended_pan_id = "00:0d:6f:ff:fe:12:34:56"
    security_level = 5


class HanDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HanDevice

    premises_gateway = factory.SubFactory(PremisesGatewayFactory)
    eui64 = eui64_sequence("00:0d:6f:00:00:00")
    category = HanDevice.Category.IN_HOME_DISPLAY
    manufacturer = "Rainforest Automation"
    model = "EMU-2"
    firmware_version = "1.1.7"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    account_number = factory.Sequence(lambda n: f"{2000000000 + n}")
    email = factory.Faker("email")


class PremiseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Premise

    customer = factory.SubFactory(CustomerFactory)
    service_point_id = factory.Sequence(lambda n: f"SP-{n:07d}")
    address_line = factory.Sequence(lambda n: f"{100 + n} Test Street")
    city = "Springfield"
    state = "IL"
    postal_code = "62704"
    premises_gateway = factory.SubFactory(PremisesGatewayFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.CUSTOMER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def customer_accounts(self, create, extracted, **kwargs):
        if create and extracted:
            self.customer_accounts.set(extracted)
        if create:
            self.save()


class HanTestCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HanTestCase

    premise = factory.SubFactory(PremiseFactory)
    problem = "Thermostat stopped answering"


class HanTestRunFactory(factory.django.DjangoModelFactory):
    """A finished run; its region and meter model are taken from the premise's gateway."""

    class Meta:
        model = HanTestRun

    premise = factory.SubFactory(PremiseFactory)
    case = factory.SubFactory(HanTestCaseFactory, premise=factory.SelfAttribute("..premise"))
    number = factory.Sequence(lambda n: n + 1)
    status = HanTestRun.Status.FAILED
    region = factory.LazyAttribute(lambda run: run.premise.premises_gateway.region)
    gateway_model = factory.LazyAttribute(lambda run: run.premise.premises_gateway.model)
    finished_at = factory.LazyFunction(timezone.now)


class FindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Finding

    run = factory.SubFactory(HanTestRunFactory)
    rule = "weak_link"
    severity = "warning"
    action = "change_range"
    title = "Weak link to the thermostat"


class ObservedDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ObservedDevice

    run = factory.SubFactory(HanTestRunFactory)
    interface = "han0"
    sequence = factory.Sequence(lambda n: n)
    eui64 = eui64_sequence("00:0d:6f:00:00:01")
    category = HanDevice.Category.PCT
    manufacturer = "Ecobee"
    model = "SmartSi"
    link_quality = 180


class RecordedActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecordedAction

    run = factory.SubFactory(HanTestRunFactory)
    action = "change_range"


class WorkOrderFactory(factory.django.DjangoModelFactory):
    """An open work order from a run's case, for a field technician, today."""

    class Meta:
        model = WorkOrder

    from_run = factory.SubFactory(HanTestRunFactory)
    case = factory.SelfAttribute("from_run.case")
    premise = factory.SelfAttribute("from_run.premise")
    installer = factory.SubFactory(
        "tests.factories.UserFactory",
        role=User.Role.INSTALLER,
        username=factory.Sequence(lambda n: f"installer{n}"),
    )
    action = "install_additional_device"
    instructions = "Fit a range extender between the meter and the switch."
    scheduled_for = factory.LazyFunction(timezone.localdate)


def api_token_for(user: User, *, name: str = "Test integration") -> str:
    """Issue an API token for the user as the admin does; the clear token, for the header."""
    _, token = api_token_issue(user=user, name=name, valid_for=timedelta(days=1), issued_by=None)
    return token
