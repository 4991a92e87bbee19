"""The Premises Gateway as the portal knows it: the gateway, its HAN interfaces, its devices."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from han_gateway import networks
from han_gateway.eui64 import mask_eui64
from han_gateway.fields import EUI64Field
from han_gateway.protocol import GATEWAY_ID_MAX_LENGTH, INTERFACE_ID_MAX_LENGTH, ZIGBEE_CHANNELS
from han_gateway.validators import validate_service_url
from han_gateway.zigbee_ids import MAX_PAN_ID


class PremisesGateway(models.Model):
    """A smart meter or pole-top device that fronts a Utility HAN."""

    class Kind(models.TextChoices):
        METER = "meter", "Smart meter"
        POLE_TOP = "pole_top", "Pole-top device"

    ami_id = models.CharField("AMI identifier", max_length=64, unique=True)
    meter_number = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.METER)
    manufacturer = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=64)
    firmware_version = models.CharField(max_length=32, blank=True)
    region = models.CharField(
        max_length=32, default="default", help_text="AMI region; selects the worker queue."
    )
    service_url = models.URLField(
        "HAN gateway service URL",
        help_text="Where the gateway's HAN service answers, e.g. https://ami.example/han/. "
        "Only at an origin listed in HAN_GATEWAY_SERVICE_ORIGINS: the gateway's secret goes there.",
        validators=[validate_service_url],
    )
    service_gateway_id = models.CharField(
        "gateway id at the service",
        max_length=GATEWAY_ID_MAX_LENGTH,
        help_text="How the HAN gateway service names this gateway (usually the meter number).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meter_number"]
        indexes = [models.Index(fields=["region", "model"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.meter_number}"


class NetworkInterface(models.Model):
    """One HAN radio interface of a gateway, as last enumerated."""

    class Technology(models.TextChoices):
        ZIGBEE = "zigbee", "Zigbee Smart Energy"

    premises_gateway = models.ForeignKey(
        PremisesGateway, on_delete=models.CASCADE, related_name="interfaces"
    )
    identifier = models.CharField(
        max_length=INTERFACE_ID_MAX_LENGTH, help_text="The interface's id at the service."
    )
    technology = models.CharField(
        max_length=16, choices=Technology.choices, default=Technology.ZIGBEE
    )
    channel = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(ZIGBEE_CHANNELS[0]),
            MaxValueValidator(ZIGBEE_CHANNELS[-1]),
        ],
    )
    pan_id = models.PositiveIntegerField(
        "PAN id", null=True, blank=True, validators=[MaxValueValidator(MAX_PAN_ID)]
    )
    extended_pan_id = EUI64Field("extended PAN id", blank=True)
    security_level = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(7)]
    )

    class Meta:
        ordering = ["premises_gateway", "identifier"]
        constraints = [
            models.UniqueConstraint(
                fields=["premises_gateway", "identifier"], name="unique_interface_per_gateway"
            )
        ]

    def __str__(self) -> str:
        return f"{self.premises_gateway.meter_number} / {self.identifier}"

    @property
    def pan_id_hex(self) -> str:
        return "" if self.pan_id is None else f"0x{self.pan_id:04X}"


class HanDevice(models.Model):
    """A device on a gateway's HAN: the utility's own or the customer's."""

    class Network(models.TextChoices):
        UTILITY = networks.UTILITY, "Utility HAN"
        CUSTOMER = networks.CUSTOMER, "Customer HAN"

    class Category(models.TextChoices):
        PCT = "pct", "Programmable communicating thermostat"
        IN_HOME_DISPLAY = "in_home_display", "In-home display"
        LOAD_CONTROL_SWITCH = "load_control_switch", "Load control switch"
        SMART_PLUG = "smart_plug", "Smart plug"
        EMS = "ems", "Energy management system"
        OTHER_CUSTOMER_INTERFACE = "other_customer_interface", "Other customer interface"

    premises_gateway = models.ForeignKey(
        PremisesGateway, on_delete=models.CASCADE, related_name="devices"
    )
    network_interface = models.ForeignKey(
        NetworkInterface, on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    service_point_id = models.CharField(
        max_length=32,
        blank=True,
        help_text="The service point this device serves, when its gateway serves several.",
    )
    eui64 = EUI64Field("EUI-64")
    network = models.CharField(max_length=16, choices=Network.choices, default=Network.UTILITY)
    category = models.CharField(max_length=32, choices=Category.choices)
    manufacturer = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=64, blank=True)
    firmware_version = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["premises_gateway", "category", "eui64"]
        verbose_name = "HAN device"
        constraints = [
            models.UniqueConstraint(
                fields=["premises_gateway", "eui64"], name="unique_device_per_gateway"
            )
        ]
        indexes = [models.Index(fields=["eui64"]), models.Index(fields=["model"])]

    def __str__(self) -> str:
        # Titles, history and pickers show this: a customer-owned device's identity stays masked.
        shown = mask_eui64(self.eui64) if self.network == self.Network.CUSTOMER else self.eui64
        return f"{self.get_category_display()} {shown}"
