"""Django admin for the HAN on record: gateways, their interfaces and their devices.

Registered from the portal, not from ``han_gateway``, because two rules of the layers above
apply here as on every staff page: a customer-owned device is shown in full only with its
customer's consent, and every staff view of a customer's HAN data is written to the privacy
audit; and a change of a gateway's service URL (where its credential is sent) is written to the
Trust Center's key audit.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.db.models import Case, Count, Min, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from han_gateway.eui64 import mask_eui64
from han_gateway.models import HanDevice, NetworkInterface, PremisesGateway
from portal.access.viewers import Viewer
from portal.models import Customer, HanDataAccess, Premise, User
from trust_center import services as trust_services

MASKED = "hidden without the customer's consent"


class NetworkInterfaceInline(admin.TabularInline[NetworkInterface, PremisesGateway]):
    model = NetworkInterface
    extra = 0


@admin.register(PremisesGateway)
class PremisesGatewayAdmin(admin.ModelAdmin[PremisesGateway]):
    list_display = [
        "meter_number",
        "ami_id",
        "kind",
        "manufacturer",
        "model",
        "firmware_version",
        "region",
    ]
    list_filter = ["kind", "region", "manufacturer", "model", "firmware_version"]
    search_fields = [
        "meter_number",
        "ami_id",
        "premises__address_line",
        "premises__customer__account_number",
    ]
    inlines = [NetworkInterfaceInline]
    show_full_result_count = False
    # A service URL typed without a scheme is an https one (and Django 6 will assume so too).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(
        self, request: HttpRequest, obj: PremisesGateway, form: ModelForm[Any], change: bool
    ) -> None:
        previous = (
            PremisesGateway.objects.filter(pk=obj.pk).values_list("service_url", flat=True).first()
            if change
            else None
        )
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            trust_services.gateway_service_url_record(
                premises_gateway=obj,
                previous_url=previous or "",
                by=request.user if isinstance(request.user, User) else None,
            )


@admin.register(NetworkInterface)
class NetworkInterfaceAdmin(admin.ModelAdmin[NetworkInterface]):
    list_display = [
        "premises_gateway",
        "identifier",
        "technology",
        "channel",
        "pan_id_hex",
        "security_level",
    ]
    list_filter = ["technology", "channel", "security_level"]
    search_fields = ["premises_gateway__meter_number", "extended_pan_id"]
    list_select_related = ["premises_gateway"]
    raw_id_fields = ["premises_gateway"]


def with_owner(devices: models.QuerySet[HanDevice]) -> models.QuerySet[HanDevice]:
    """Each device with its customer and their consent, as ``owner_id`` and ``owner_consents``.

    The customer is the one of the premise at the device's service point, or of its gateway's
    only premise; none where no one premise is known (a shared gateway, no service point).
    """
    on_gateway = Premise.objects.filter(premises_gateway_id=OuterRef("premises_gateway_id"))
    at_service_point = on_gateway.filter(service_point_id=OuterRef("service_point_id"))
    only_premise = (
        on_gateway.order_by()
        .values("premises_gateway_id")
        .annotate(premises=Count("pk"), customer=Min("customer_id"))
        .filter(premises=1)
    )

    devices = devices.annotate(
        owner_id=Case(
            When(service_point_id="", then=Subquery(only_premise.values("customer")[:1])),
            default=Subquery(at_service_point.values("customer_id")[:1]),
            output_field=models.BigIntegerField(),
        )
    )
    return devices.annotate(
        owner_consents=Coalesce(
            Subquery(
                Customer.objects.filter(pk=OuterRef("owner_id")).values("customer_han_consent")[:1]
            ),
            Value(False),
        )
    )


def masked(device: HanDevice) -> bool:
    """The rule of every staff view (``Viewer``), with the consent of the device's customer."""
    viewer = Viewer(staff=True, sees_customer_han=bool(getattr(device, "owner_consents", False)))
    return device.network == HanDevice.Network.CUSTOMER and viewer.masks_customer_han


@admin.register(HanDevice)
class HanDeviceAdmin(admin.ModelAdmin[HanDevice]):
    """Customer-owned devices: category and vendor with a masked identifier, unless consented."""

    list_display = [
        "shown_eui64",
        "category",
        "network",
        "manufacturer",
        "shown_model",
        "shown_firmware",
        "premises_gateway",
    ]
    list_filter = ["network", "category", "manufacturer"]
    # Not by model or firmware: a search would find a customer's device by what is hidden.
    search_fields = ["eui64", "premises_gateway__meter_number", "service_point_id"]
    list_select_related = ["premises_gateway"]
    raw_id_fields = ["premises_gateway", "network_interface"]
    show_full_result_count = False
    masked_fields = (
        "premises_gateway",
        "service_point_id",
        "network",
        "category",
        "manufacturer",
        "shown_eui64",
        "shown_model",
        "shown_firmware",
        "created_at",
    )

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[HanDevice]:
        return with_owner(super().get_queryset(request))

    @admin.display(description="EUI-64", ordering="eui64")
    def shown_eui64(self, device: HanDevice) -> str:
        return mask_eui64(device.eui64) if masked(device) else device.eui64

    @admin.display(description="model")
    def shown_model(self, device: HanDevice) -> str:
        return MASKED if masked(device) else device.model

    @admin.display(description="firmware")
    def shown_firmware(self, device: HanDevice) -> str:
        return MASKED if masked(device) else device.firmware_version

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet[HanDevice], search_term: str
    ) -> tuple[models.QuerySet[HanDevice], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            # A masked device must not be found by the identifier it hides.
            hidden = {"network": HanDevice.Network.CUSTOMER, "owner_consents": False}
            results = results.exclude(**hidden)
        return results, may_have_duplicates

    def get_fields(self, request: HttpRequest, obj: HanDevice | None = None) -> Any:
        if obj is not None and masked(obj):
            return self.masked_fields
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: HanDevice | None = None) -> Any:
        if obj is not None and masked(obj):
            return self.masked_fields
        return super().get_readonly_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: HanDevice | None = None) -> bool:
        if obj is not None and masked(obj):
            return False
        return super().has_change_permission(request, obj)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and response.context_data:
            changelist = response.context_data.get("cl")
            if changelist is not None:
                _audit(request, changelist.result_list, what="HAN devices in the Django admin")
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            device = self.get_object(request, object_id)
            if device is not None:
                _audit(request, [device], what="a HAN device in the Django admin")
        return response


def _audit(request: HttpRequest, devices: Iterable[HanDevice], *, what: str) -> None:
    """One privacy audit row per customer whose devices the page showed."""
    if not isinstance(request.user, User):
        return
    owners: dict[int, bool] = {}
    for device in devices:
        owner_id = getattr(device, "owner_id", None)
        if owner_id is not None:
            owners[owner_id] = bool(getattr(device, "owner_consents", False))
    HanDataAccess.objects.bulk_create(
        HanDataAccess(user=request.user, customer_id=owner_id, what=what, customer_han_shown=shown)
        for owner_id, shown in owners.items()
    )
