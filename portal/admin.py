from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from portal.models import Customer, HanDataAccess, Premise, User


@admin.register(User)
class PortalUserAdmin(UserAdmin[User]):
    list_display = ["username", "email", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active", "is_staff"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Portal", {"fields": ("role", "customer_accounts")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Portal", {"fields": ("role",)}),
    )
    filter_horizontal = ("groups", "user_permissions", "customer_accounts")


class PremiseInline(admin.StackedInline[Premise, Customer]):
    model = Premise
    extra = 0
    raw_id_fields = ["premises_gateway"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin[Customer]):
    list_display = [
        "name",
        "account_number",
        "email",
        "phone",
        "customer_han_consent",
        "created_at",
    ]
    list_filter = ["customer_han_consent"]
    search_fields = [
        "name",
        "account_number",
        "email",
        "premises__address_line",
        "premises__premises_gateway__meter_number",
    ]
    date_hierarchy = "created_at"
    inlines = [PremiseInline]
    show_full_result_count = False


@admin.register(Premise)
class PremiseAdmin(admin.ModelAdmin[Premise]):
    list_display = [
        "service_point_id",
        "address_line",
        "city",
        "state",
        "customer",
        "premises_gateway",
    ]
    list_filter = ["state", "city", "premises_gateway__kind", "premises_gateway__region"]
    search_fields = [
        "service_point_id",
        "address_line",
        "postal_code",
        "customer__name",
        "customer__account_number",
        "premises_gateway__meter_number",
    ]
    list_select_related = ["customer", "premises_gateway"]
    raw_id_fields = ["customer", "premises_gateway"]
    show_full_result_count = False


@admin.register(HanDataAccess)
class HanDataAccessAdmin(admin.ModelAdmin[HanDataAccess]):
    """The privacy audit, read-only: who viewed which customer's HAN data, and when."""

    list_display = ["at", "user", "customer", "premise", "what", "customer_han_shown"]
    list_filter = ["customer_han_shown", "at", "user__role"]
    search_fields = ["user__username", "customer__name", "customer__account_number", "what"]
    date_hierarchy = "at"
    list_select_related = ["user", "customer", "premise"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
