from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import reverse
from django.utils import timezone

from portal.api import tokens as api_tokens
from portal.models import (
    ApiToken,
    Customer,
    Escalation,
    HanDataAccess,
    Premise,
    User,
    WorkOrder,
)
from trust_center.admin import ReadOnlyAdminMixin


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


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin[Escalation]):
    """The AMI network team's queue: requests raised from cases, open ones first."""

    list_display = ["raised_at", "kind", "status", "case", "raised_by", "updated_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["case__premise", "raised_by"]
    ordering = ["status", "-raised_at"]
    readonly_fields = [
        "case",
        "kind",
        "reason",
        "raised_by",
        "raised_at",
        "updated_by",
        "updated_at",
    ]
    fields = [*readonly_fields[:5], "status", "answer", "updated_by", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Escalation, form: Any, change: bool) -> None:
        obj.updated_by = request.user if isinstance(request.user, User) else None
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # raised from a case's page, where the case is known


@admin.register(WorkOrder)
class WorkOrderAdmin(admin.ModelAdmin[WorkOrder]):
    """Field visits by day: who goes where, and how each ended. Made from a case's page."""

    list_display = ["scheduled_for", "window", "installer", "premise", "action", "status"]
    list_filter = ["status", "window", "installer"]
    list_select_related = ["installer", "premise"]
    date_hierarchy = "scheduled_for"
    ordering = ["status", "scheduled_for"]
    raw_id_fields = ["case", "premise", "from_run"]
    readonly_fields = ["case", "premise", "from_run", "action", "created_by", "created_at"]
    exclude = ["devices"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made from a case's page, where the case and its run are known


@admin.register(HanDataAccess)
class HanDataAccessAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[HanDataAccess]):
    """The privacy audit, read-only: who viewed which customer's HAN data, and when."""

    list_display = ["at", "user", "customer", "premise", "what", "customer_han_shown"]
    list_filter = ["customer_han_shown", "at", "user__role"]
    search_fields = ["user__username", "customer__name", "customer__account_number", "what"]
    date_hierarchy = "at"
    list_select_related = ["user", "customer", "premise"]
    show_full_result_count = False


class ApiTokenIssueForm(forms.ModelForm[ApiToken]):
    valid_for_days = forms.IntegerField(
        label="Valid for (days)",
        min_value=1,
        max_value=settings.PORTAL_API_TOKEN_MAX_TTL_DAYS,
        initial=lambda: settings.PORTAL_API_TOKEN_TTL_DAYS,
        help_text=f"At most {settings.PORTAL_API_TOKEN_MAX_TTL_DAYS} days.",
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name"]


API_TOKEN_ISSUED_PAGE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% block breadcrumbs %}<div class="breadcrumbs"><a href="{% url 'admin:index' %}">Home</a>
&rsaquo; <a href="{{ changelist_url }}">API tokens</a> &rsaquo; {{ api_token.name }}</div>
{% endblock %}
{% block content %}
<p>Copy the token now and hand it to the integration. Only its digest is kept: it cannot be
shown again. If it is lost, revoke it and issue another.</p>
<p><code id="api-token">{{ token }}</code></p>
<p>{{ api_token.name }}, for {{ api_token.user }}; expires {{ api_token.expiry|date:"M j, Y H:i" }}.
The integration sends <code>Authorization: Token &lt;token&gt;</code>.</p>
<p><a href="{{ changelist_url }}">Back to the API tokens</a></p>
{% endblock %}"""
)

API_TOKEN_CHANGE_FIELDS: tuple[str, ...] = (
    "name",
    "user",
    "id",
    "created",
    "created_by",
    "expiry",
    "last_used_at",
    "revoked_at",
)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Issue, rename, revoke and delete integrations' API tokens.

    The token is shown once, on the page that answers its issue; every other page, and the
    admin's history (built from ``str()``), names a token by its name, user and id. Neither the
    digest nor knox's ``token_key`` (the token's first characters) is shown.
    """

    list_display = [
        "name",
        "user",
        "id",
        "created",
        "expiry",
        "last_used_at",
        "status",
        "created_by",
    ]
    list_filter = ["created", "expiry", "revoked_at"]
    search_fields = ["name", "user__username"]
    list_select_related = ["user", "created_by"]
    raw_id_fields = ["user"]
    actions = ["revoke"]
    show_full_result_count = False

    def get_form(
        self, request: HttpRequest, obj: ApiToken | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[ApiToken]]:
        if obj is None:
            kwargs["form"] = ApiTokenIssueForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "name", "valid_for_days")
        return API_TOKEN_CHANGE_FIELDS

    def get_readonly_fields(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ()
        return API_TOKEN_CHANGE_FIELDS[1:]

    def add_view(
        self,
        request: HttpRequest,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The stock add view redirects after saving; the token must instead be in this answer,
        # the only one that will ever carry it. Blank and invalid forms take the stock path.
        if request.method == "POST" and self.has_add_permission(request):
            form = self.get_form(request)(request.POST)
            if form.is_valid():
                return self._issue(request, form.cleaned_data)
        return super().add_view(request, form_url, extra_context)

    def _issue(self, request: HttpRequest, cleaned_data: dict[str, Any]) -> HttpResponse:
        issued_by = request.user if isinstance(request.user, User) else None
        with transaction.atomic():
            api_token, token = api_tokens.api_token_issue(
                user=cleaned_data["user"],
                name=cleaned_data["name"],
                valid_for=timedelta(days=cleaned_data["valid_for_days"]),
                issued_by=issued_by,
            )
            self.log_addition(request, api_token, [{"added": {}}])
        context = {
            **self.admin_site.each_context(request),
            "title": "API token issued",
            "api_token": api_token,
            "token": token,
            "changelist_url": reverse("admin:portal_apitoken_changelist"),
        }
        return HttpResponse(API_TOKEN_ISSUED_PAGE.render(context, request))

    @admin.display(description="status")
    def status(self, api_token: ApiToken) -> str:
        if api_token.revoked_at is not None:
            return "revoked"
        if api_token.expiry is not None and api_token.expiry <= timezone.now():
            return "expired"
        return "active"

    @admin.action(description="Revoke the selected API tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = []
        for api_token in queryset.select_related("user"):
            if api_tokens.api_token_revoke(api_token=api_token):
                self.log_change(request, api_token, "Revoked.")
                revoked.append(str(api_token))
        if revoked:
            self.message_user(
                request, f"Revoked {len(revoked)}: {'; '.join(revoked)}.", messages.SUCCESS
            )
        else:
            self.message_user(request, "The selected tokens were already revoked.")
