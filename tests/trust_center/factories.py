import factory

from han_gateway.models import HanDevice
from tests.factories import PremisesGatewayFactory, eui64_sequence
from trust_center import crypto
from trust_center.install_codes import parse_install_code
from trust_center.models import ApprovedDevice, DeviceRegistration, GatewayModelCapacity

# The published Zigbee test vector: install code and the link key it hashes to.
INSTALL_CODE = "83FED3407A939723A5C639B26916D505C3B5"
LINK_KEY_HEX = "66B6900981E1EE3CA4206B6B861C02BB"


class DeviceRegistrationFactory(factory.django.DjangoModelFactory):
    """A registration stored as the service stores it; prefer the service in new tests."""

    class Meta:
        model = DeviceRegistration

    premises_gateway = factory.SubFactory(PremisesGatewayFactory)
    service_point_id = factory.Sequence(lambda n: f"SP-{n:07d}")
    eui64 = eui64_sequence("00:0d:6f:00:11:00")
    category = HanDevice.Category.IN_HOME_DISPLAY
    install_code_ciphertext = factory.LazyFunction(
        lambda: crypto.encrypt_bytes(bytes.fromhex(INSTALL_CODE))
    )
    link_key_ciphertext = factory.LazyFunction(
        lambda: crypto.encrypt_bytes(parse_install_code(INSTALL_CODE).link_key_bytes)
    )


class GatewayModelCapacityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GatewayModelCapacity

    gateway_model = "E350 FOCUS AXe-SD"
    max_devices = 10


class ApprovedDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovedDevice

    manufacturer = "Rainforest Automation"
    model = "EMU-2"
    category = HanDevice.Category.IN_HOME_DISPLAY
