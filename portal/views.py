"""Server-rendered pages for reps (customer search and page) and customers (My home)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal import selectors
from portal.health import health_report

View = Callable[..., HttpResponse]


def utility_staff_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not selectors.user_works_for_utility(request.user):
            raise PermissionDenied("This page is for the utility's staff.")
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if selectors.user_works_for_utility(request.user):
        return redirect("customer_search")
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
            "limit": selectors.SEARCH_RESULTS_LIMIT,
        },
    )


@require_GET
@utility_staff_required
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.customer_get_for_user(user=request.user, customer_id=customer_id)
    if customer is None:
        raise Http404("No such customer.")
    premises = [
        (premise, selectors.premise_han_devices(user=request.user, premise=premise))
        for premise in selectors.customer_premises(customer=customer)
    ]
    return render(
        request, "portal/customer_detail.html", {"customer": customer, "premises": premises}
    )


@require_GET
def my_home(request: HttpRequest) -> HttpResponse:
    if selectors.user_works_for_utility(request.user):
        return redirect("customer_search")
    accounts = [
        (
            customer,
            [
                (premise, selectors.premise_han_devices(user=request.user, premise=premise))
                for premise in selectors.customer_premises(customer=customer)
            ],
        )
        for customer in selectors.customers_visible_to(request.user).order_by("name")
    ]
    return render(request, "portal/my_home.html", {"accounts": accounts})


@require_GET
def premise_detail(request: HttpRequest, premise_id: int) -> HttpResponse:
    premise = selectors.premise_get_for_user(user=request.user, premise_id=premise_id)
    if premise is None:
        raise Http404("No such premise.")
    devices = selectors.premise_han_devices(user=request.user, premise=premise)
    return render(request, "portal/premise_detail.html", {"premise": premise, "devices": devices})


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and CI: 200 when the database, broker, worker and push all answer."""
    report = health_report(check_worker=request.GET.get("worker") == "1")
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
