"""Admin for the Trust Center: find and review, never reveal.

No page shows a secret or its ciphertext, only whether one is stored. Registrations and
credentials are made through the services (which return a secret once and audit it), so
they cannot be added or edited here; the audit trail is read-only.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from han_gateway.firmware import (
    OtaVersionError,
    OtaVersionScheme,
    ota_version_from_text,
    ota_version_name,
)
from trust_center import services
from trust_center.models import (
    ApprovedDevice,
    DeviceRegistration,
    GatewayCredential,
    GatewayModelCapacity,
    KeyAuditEvent,
)

STORED = "stored"
NOT_STORED = "—"


class ReadOnlyAdminMixin:
    """View and search only: writes go through the services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


GATEWAY_CREDENTIAL_FIELDS: tuple[str, ...] = (
    "premises_gateway",
    "version",
    "issued_at",
    "rotated_at",
    "secret",
)


@admin.register(GatewayCredential)
class GatewayCredentialAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[GatewayCredential]):
    list_display = ["premises_gateway", "version", "issued_at", "rotated_at", "secret"]
    list_filter = ["issued_at", "rotated_at"]
    search_fields = ["premises_gateway__meter_number", "premises_gateway__ami_id"]
    list_select_related = ["premises_gateway"]
    fields = GATEWAY_CREDENTIAL_FIELDS
    readonly_fields = GATEWAY_CREDENTIAL_FIELDS
    show_full_result_count = False

    @admin.display(description="secret")
    def secret(self, credential: GatewayCredential) -> str:
        return STORED if credential.secret_ciphertext else NOT_STORED


DEVICE_REGISTRATION_FIELDS: tuple[str, ...] = (
    "premises_gateway",
    "service_point_id",
    "eui64",
    "category",
    "manufacturer",
    "model",
    "han_device",
    "install_code",
    "link_key",
    "status",
    "status_reason",
    "status_changed_at",
    "join_window_expires_at",
    "registered_by",
    "created_at",
    "updated_at",
)


@admin.register(DeviceRegistration)
class DeviceRegistrationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[DeviceRegistration]):
    list_display = [
        "eui64",
        "category",
        "status",
        "premises_gateway",
        "service_point_id",
        "manufacturer",
        "model",
        "join_window_expires_at",
        "install_code",
        "link_key",
        "created_at",
    ]
    list_filter = ["status", "category", "manufacturer", "created_at", "join_window_expires_at"]
    search_fields = [
        "eui64",
        "service_point_id",
        "premises_gateway__meter_number",
        "manufacturer",
        "model",
    ]
    list_select_related = ["premises_gateway"]
    date_hierarchy = "created_at"
    fields = DEVICE_REGISTRATION_FIELDS
    readonly_fields = DEVICE_REGISTRATION_FIELDS
    actions = ["remove_registrations"]
    show_full_result_count = False

    @admin.display(description="install code")
    def install_code(self, registration: DeviceRegistration) -> str:
        return STORED if registration.install_code_ciphertext else NOT_STORED

    @admin.display(description="link key")
    def link_key(self, registration: DeviceRegistration) -> str:
        return STORED if registration.link_key_ciphertext else NOT_STORED

    @admin.action(description="Remove the selected registrations")
    def remove_registrations(
        self, request: HttpRequest, queryset: QuerySet[DeviceRegistration]
    ) -> None:
        by = request.user if request.user.is_authenticated else None
        removed = 0
        for registration in queryset.exclude(status__in=DeviceRegistration.ENDED_STATUSES):
            services.device_registration_remove(
                registration=registration, by=by, reason="Removed in the admin."
            )
            removed += 1
        self.message_user(request, f"Removed {removed} registrations.", messages.SUCCESS)

    def get_actions(self, request: HttpRequest) -> Any:
        # The change form is read-only, but removal is a write: offer it only to those with
        # the model's change permission.
        actions = super().get_actions(request)
        if not request.user.has_perm("trust_center.change_deviceregistration"):
            actions.pop("remove_registrations", None)
        return actions


KEY_AUDIT_EVENT_FIELDS: tuple[str, ...] = (
    "occurred_at",
    "action",
    "actor",
    "premises_gateway",
    "gateway_label",
    "registration",
    "eui64",
    "detail",
)


@admin.register(KeyAuditEvent)
class KeyAuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[KeyAuditEvent]):
    list_display = ["occurred_at", "action", "gateway_label", "eui64", "actor", "detail"]
    list_filter = ["action", "occurred_at"]
    search_fields = ["eui64", "gateway_label", "detail", "actor__username"]
    list_select_related = ["actor"]
    date_hierarchy = "occurred_at"
    fields = KEY_AUDIT_EVENT_FIELDS
    readonly_fields = KEY_AUDIT_EVENT_FIELDS
    show_full_result_count = False


@admin.register(GatewayModelCapacity)
class GatewayModelCapacityAdmin(admin.ModelAdmin[GatewayModelCapacity]):
    list_display = ["gateway_model", "manufacturer", "max_devices"]
    list_filter = ["manufacturer", "max_devices"]
    search_fields = ["gateway_model", "manufacturer"]


class ApprovedDeviceForm(forms.ModelForm[ApprovedDevice]):
    """The approved image is typed as the manufacturer writes it (or as the number itself)
    and stored as the OTA file version devices report."""

    minimum_ota_version = forms.CharField(
        required=False,
        label="Approved image (OTA file version)",
        help_text="The image devices must run at least, e.g. 2.1.0 or 0x02010000, in the "
        "scheme below; empty: firmware is not judged for this model.",
    )

    class Meta:
        model = ApprovedDevice
        fields = [
            "manufacturer",
            "model",
            "category",
            "minimum_ota_version",
            "ota_version_scheme",
            "minimum_firmware",
            "notes",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.minimum_ota_file_version is not None:
            self.initial["minimum_ota_version"] = ota_version_name(
                self.instance.minimum_ota_file_version, self.instance.ota_version_scheme
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        text = cleaned.get("minimum_ota_version", "")
        scheme = cleaned.get("ota_version_scheme") or OtaVersionScheme.BYTES
        try:
            self.instance.minimum_ota_file_version = (
                ota_version_from_text(text, scheme) if text else None
            )
        except OtaVersionError as error:
            self.add_error("minimum_ota_version", str(error))
        return cleaned


@admin.register(ApprovedDevice)
class ApprovedDeviceAdmin(admin.ModelAdmin[ApprovedDevice]):
    form = ApprovedDeviceForm
    list_display = [
        "manufacturer",
        "model",
        "category",
        "approved_image",
        "minimum_firmware",
        "created_at",
    ]
    list_filter = ["manufacturer", "category"]
    search_fields = ["manufacturer", "model"]

    @admin.display(description="Approved image")
    def approved_image(self, approved: ApprovedDevice) -> str:
        return approved.minimum_ota_version_text or NOT_STORED
