from django.contrib import admin
from django.db import models

from han_gateway.models import HanDevice, NetworkInterface, PremisesGateway


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


@admin.register(HanDevice)
class HanDeviceAdmin(admin.ModelAdmin[HanDevice]):
    list_display = [
        "eui64",
        "category",
        "network",
        "manufacturer",
        "model",
        "firmware_version",
        "premises_gateway",
    ]
    list_filter = ["network", "category", "manufacturer", "model", "firmware_version"]
    search_fields = ["eui64", "premises_gateway__meter_number", "model", "service_point_id"]
    list_select_related = ["premises_gateway"]
    raw_id_fields = ["premises_gateway", "network_interface"]
    show_full_result_count = False
