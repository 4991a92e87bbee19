"""Pages for reps (start page, customer search, customer page) and customers (My home)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.access.roles import (
    signed_in_user,
    user_is_installer,
    user_works_for_utility,
    utility_staff_required,
)
from portal.access.viewers import CUSTOMER, han_data_view_open
from portal.access.visibility import customer_get_for_user, customers_visible_to, premise_or_404
from portal.commissioning.selectors import premise_registrations
from portal.customers import selectors
from portal.customers.selectors import SEARCH_RESULTS_LIMIT, customer_premises, premise_han_devices
from portal.customers.services import customer_han_consent_set, customer_language_set
from portal.models import Customer
from portal.test_runs.selectors import premise_active_run, premise_recent_runs, rep_worklist


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if user_works_for_utility(request.user):
        return redirect("customer_search")
    if user_is_installer(request.user):
        return redirect("work_order_list")
    return redirect("my_home")


@require_GET
@utility_staff_required
def customer_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    customers = selectors.customer_search(user=request.user, query=query) if query else []
    return render(
        request,
        "portal/customer_search.html",
        {
            "query": query,
            "customers": customers,
            "limit": SEARCH_RESULTS_LIMIT,
            # The start page: what the rep was working on.
            "worklist": None if query else rep_worklist(user=signed_in_user(request)),
        },
    )


@require_GET
@utility_staff_required
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get_for_user(user=request.user, customer_id=customer_id)
    if customer is None:
        raise Http404("No such customer.")
    viewer = han_data_view_open(user=request.user, customer=customer, what="customer page")
    premises = [
        (premise, premise_han_devices(viewer=viewer, premise=premise))
        for premise in customer_premises(customer=customer)
    ]
    return render(
        request, "portal/customer_detail.html", {"customer": customer, "premises": premises}
    )


@require_http_methods(["GET", "POST"])
def my_home(request: HttpRequest) -> HttpResponse:
    """The customer's own page; a POST there chooses the language of their pages and email."""
    staff_or_installer = user_works_for_utility(request.user) or user_is_installer(request.user)
    if request.method == "POST":
        if staff_or_installer:
            raise PermissionDenied("The language of a customer's pages is theirs to choose.")
        return _language_choose(request)
    if user_works_for_utility(request.user):
        return redirect("customer_search")
    if staff_or_installer:
        return redirect("work_order_list")
    accounts = [
        (
            customer,
            [
                (
                    premise,
                    premise_han_devices(viewer=CUSTOMER, premise=premise),
                    premise_recent_runs(premise=premise, limit=1).first(),
                )
                for premise in customer_premises(customer=customer)
            ],
        )
        for customer in customers_visible_to(request.user).order_by("name")
    ]
    return render(
        request,
        "portal/my_home.html",
        {"accounts": accounts, "languages": Customer.Language.choices},
    )


def _language_choose(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    language = request.POST.get("language", "")
    accounts = list(user.customer_accounts.all())
    if language not in Customer.Language.values or not accounts:
        messages.error(request, gettext("Choose English or Español."))
        return redirect("my_home")
    try:
        for customer in accounts:
            customer_language_set(customer=customer, user=user, language=language)
    except PermissionError as error:
        raise PermissionDenied(str(error)) from error
    # Said in the language just chosen, as the next page will be.
    with translation.override(language):
        messages.success(request, gettext("Your pages and our emails to you are now in English."))
    response = redirect("my_home")
    # The sign-in page, once signed out, speaks the same language.
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    return response


@require_GET
def premise_detail(request: HttpRequest, premise_id: int) -> HttpResponse:
    premise = premise_or_404(user=request.user, premise_id=premise_id)
    viewer = han_data_view_open(
        user=request.user, customer=premise.customer, premise=premise, what="premise page"
    )
    devices = premise_han_devices(viewer=viewer, premise=premise)
    return render(
        request,
        "portal/premise_detail.html",
        {
            "premise": premise,
            "devices": devices,
            "active_run": premise_active_run(premise=premise),
            "registrations": premise_registrations(premise=premise),
            "recent_runs": premise_recent_runs(premise=premise),
        },
    )


@require_POST
def customer_han_consent(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get_for_user(user=request.user, customer_id=customer_id)
    if customer is None:
        raise Http404("No such customer.")
    try:
        customer_han_consent_set(
            customer=customer,
            user=signed_in_user(request),
            consent=request.POST.get("consent") == "1",
        )
    except PermissionError as error:
        raise PermissionDenied(str(error)) from error
    messages.success(
        request,
        gettext("Customer service can now see your own devices in full.")
        if customer.customer_han_consent
        else gettext("Customer service now sees your own devices only by kind and maker."),
    )
    return redirect("my_home")
