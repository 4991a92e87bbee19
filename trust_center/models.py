"""The HAN Trust Center's records: registrations, keys, gateway credentials and their audit.

Secrets (install codes, link keys, gateway secrets) are stored only as ciphertext in
``CiphertextField`` columns; services encrypt and selectors decrypt. No ``__str__`` here
mentions a secret.
"""

from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from han_gateway.fields import EUI64Field
from han_gateway.firmware import (
    OTA_FILE_VERSION_MAX,
    OtaVersionScheme,
    ota_version_text,
)
from han_gateway.models import HanDevice, PremisesGateway
from trust_center.fields import CiphertextField

# When a gateway model is not in GatewayModelCapacity: the low end of what utilities publish
# (a meter takes 5-10 HAN devices), so an unlisted meter is never overfilled.
DEFAULT_HAN_CAPACITY = 5


class GatewayCredential(models.Model):
    """The secret the portal presents to one gateway's HAN gateway service."""

    premises_gateway = models.OneToOneField(
        PremisesGateway, on_delete=models.CASCADE, related_name="trust_center_credential"
    )
    secret_ciphertext = CiphertextField()
    version = models.PositiveIntegerField(default=1)
    issued_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["premises_gateway"]
        indexes = [models.Index(fields=["rotated_at"]), models.Index(fields=["issued_at"])]

    def __str__(self) -> str:
        return f"Credential v{self.version} for {self.premises_gateway}"


class DeviceRegistration(models.Model):
    """A Utility HAN device the utility registered, by EUI-64 and install code, at a gateway."""

    class Status(models.TextChoices):
        REGISTERED = "registered", "Registered"
        JOIN_WINDOW_OPEN = "join_window_open", "Join window open"
        JOINED = "joined", "Joined"
        VERIFIED = "verified", "Verified"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Join window expired"
        REMOVED = "removed", "Removed"
        DECOMMISSIONED = "decommissioned", "Decommissioned"

    # Ended registrations no longer hold the device's place at the gateway.
    ENDED_STATUSES: ClassVar[frozenset[str]] = frozenset({Status.REMOVED, Status.DECOMMISSIONED})
    # Registrations the meter keeps a key-table entry for: these count against its capacity.
    OCCUPYING_STATUSES: ClassVar[frozenset[str]] = frozenset(
        {Status.REGISTERED, Status.JOIN_WINDOW_OPEN, Status.JOINED, Status.VERIFIED}
    )

    # Where each status may go next. Failed and expired registrations may get a new join
    # window; a joined device that was reset may need one too. Ended ones go nowhere.
    ALLOWED_TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.REGISTERED: frozenset({Status.JOIN_WINDOW_OPEN, Status.FAILED}),
        Status.JOIN_WINDOW_OPEN: frozenset(
            {Status.JOIN_WINDOW_OPEN, Status.JOINED, Status.EXPIRED, Status.FAILED}
        ),
        Status.JOINED: frozenset({Status.VERIFIED, Status.FAILED, Status.JOIN_WINDOW_OPEN}),
        Status.VERIFIED: frozenset({Status.FAILED, Status.JOIN_WINDOW_OPEN}),
        Status.FAILED: frozenset({Status.JOIN_WINDOW_OPEN}),
        Status.EXPIRED: frozenset({Status.JOIN_WINDOW_OPEN}),
        Status.REMOVED: frozenset(),
        Status.DECOMMISSIONED: frozenset(),
    }

    premises_gateway = models.ForeignKey(
        PremisesGateway, on_delete=models.CASCADE, related_name="device_registrations"
    )
    service_point_id = models.CharField(
        max_length=32, help_text="The service point (premise) the device serves."
    )
    eui64 = EUI64Field("EUI-64")
    category = models.CharField(max_length=32, choices=HanDevice.Category.choices)
    manufacturer = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=64, blank=True)
    interface = models.CharField(
        max_length=32,
        blank=True,
        default="",
        db_default="",
        help_text="The gateway's HAN interface the device is to join; empty: its first.",
    )
    han_device = models.ForeignKey(
        HanDevice,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registrations",
        help_text="The device as last seen on the HAN, once a scan has found it.",
    )
    install_code_ciphertext = CiphertextField(
        help_text="Empty when the device's QR code carried the link key itself."
    )
    link_key_ciphertext = CiphertextField()
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.REGISTERED)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    join_window_expires_at = models.DateTimeField(null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="trust_center_registrations",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["premises_gateway", "service_point_id", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["premises_gateway", "eui64"],
                condition=~Q(status__in=["removed", "decommissioned"]),
                name="one_active_registration_per_gateway_device",
            )
        ]
        indexes = [
            models.Index(fields=["premises_gateway", "service_point_id"]),
            models.Index(fields=["eui64"]),
            models.Index(fields=["status", "join_window_expires_at"]),
            models.Index(fields=["service_point_id"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.eui64} ({self.get_status_display()})"

    @property
    def is_ended(self) -> bool:
        return self.status in self.ENDED_STATUSES

    def can_change_to(self, status: str) -> bool:
        """Whether ``status`` may follow the current one; any live registration may end."""
        if self.is_ended:
            return False
        if status in self.ENDED_STATUSES:
            return True
        return status in self.ALLOWED_TRANSITIONS.get(self.status, frozenset())

    @property
    def has_install_code(self) -> bool:
        return bool(self.install_code_ciphertext)


class KeyAuditEvent(models.Model):
    """One key operation, append-only. ``detail`` is written for people and never holds a secret.

    The gateway and EUI-64 are copied as text so the trail survives the rows it describes.
    """

    class Action(models.TextChoices):
        REGISTERED = "registered", "Device registered"
        KEY_DERIVED = "key_derived", "Link key derived"
        JOIN_WINDOW_OPENED = "join_window_opened", "Join window opened"
        STATUS_CHANGED = "status_changed", "Registration status changed"
        REMOVED = "removed", "Registration removed"
        DECOMMISSIONED = "decommissioned", "Registration decommissioned"
        CREDENTIAL_ISSUED = "credential_issued", "Gateway credential issued"
        CREDENTIAL_ROTATED = "credential_rotated", "Gateway credential rotated"
        SERVICE_URL_CHANGED = "service_url_changed", "Gateway service URL changed"
        ENCRYPTION_KEY_ROTATED = "encryption_key_rotated", "Encryption key rotated"

    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the system (tasks, commands).",
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    premises_gateway = models.ForeignKey(
        PremisesGateway, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    gateway_label = models.CharField(
        max_length=64, blank=True, help_text="The gateway's meter number when this happened."
    )
    registration = models.ForeignKey(
        DeviceRegistration,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    eui64 = EUI64Field("EUI-64", blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["occurred_at"]),
            models.Index(fields=["action", "occurred_at"]),
            models.Index(fields=["premises_gateway", "occurred_at"]),
            models.Index(fields=["eui64"]),
            models.Index(fields=["gateway_label"]),
        ]

    def __str__(self) -> str:
        target = self.eui64 or self.gateway_label or "portal"
        return f"{self.get_action_display()}: {target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # An audit trail that can be edited is not one.
        if not self._state.adding:
            raise ValueError("Key audit events are append-only; they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Key audit events are append-only; they cannot be deleted.")


class GatewayModelCapacity(models.Model):
    """How many HAN devices a gateway (meter) model takes."""

    manufacturer = models.CharField(
        max_length=64, blank=True, help_text="Empty: any manufacturer's gateway of this model."
    )
    gateway_model = models.CharField(
        max_length=64, help_text="As in the gateway's model field; compared ignoring case."
    )
    max_devices = models.PositiveSmallIntegerField(
        help_text="Utility HAN devices the gateway can hold keys for."
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["gateway_model", "manufacturer"]
        verbose_name_plural = "gateway model capacities"
        constraints = [
            models.UniqueConstraint(
                fields=["manufacturer", "gateway_model"], name="unique_capacity_per_gateway_model"
            )
        ]
        indexes = [models.Index(fields=["gateway_model"])]

    def __str__(self) -> str:
        who = f"{self.manufacturer} " if self.manufacturer else ""
        return f"{who}{self.gateway_model}: {self.max_devices} devices"


class ApprovedDevice(models.Model):
    """A device model the utility approves for its HAN program.

    The list is enforced only when it has at least one entry.
    """

    manufacturer = models.CharField(max_length=64)
    model = models.CharField(max_length=64)
    category = models.CharField(max_length=32, choices=HanDevice.Category.choices, blank=True)
    minimum_firmware = models.CharField(
        max_length=32,
        blank=True,
        help_text="The approved firmware as the manufacturer names it, e.g. 2.1.0: shown to "
        "reps, never compared (devices report it as free text).",
    )
    minimum_ota_file_version = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(OTA_FILE_VERSION_MAX)],
        help_text="The OTA Upgrade cluster file version of the approved image: a device "
        "reporting an older one is told to upgrade.",
    )
    ota_version_scheme = models.CharField(
        max_length=8,
        choices=[(scheme.value, scheme.label) for scheme in OtaVersionScheme],
        default=OtaVersionScheme.BYTES.value,
        help_text="How this manufacturer writes an OTA file version for people.",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["manufacturer", "model"]
        constraints = [
            models.UniqueConstraint(
                fields=["manufacturer", "model"], name="unique_approved_device_model"
            )
        ]
        indexes = [models.Index(fields=["model"])]

    def __str__(self) -> str:
        return f"{self.manufacturer} {self.model}"

    @property
    def minimum_ota_version_text(self) -> str:
        if self.minimum_ota_file_version is None:
            return ""
        return ota_version_text(self.minimum_ota_file_version, self.ota_version_scheme)
