"""Server-rendered pages for reps (customer search and page) and customers (My home)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from portal import commissioning, han_tests, selectors, services
from portal.diagnosis import ACTION_LABELS
from portal.forms import DeviceRegistrationForm
from portal.han_picture import han_pictures_context
from portal.health import health_report
from portal.models import HanTestRun, Premise, User
from portal.presentation import run_snapshot
from portal.viewers import CUSTOMER, Viewer
from trust_center.models import DeviceRegistration
from trust_center.services import RegistrationError, device_registrations_decommission_for_gateway

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
    viewer = services.han_data_view_open(user=request.user, customer=customer, what="customer page")
    premises = [
        (premise, selectors.premise_han_devices(viewer=viewer, premise=premise))
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
                (premise, selectors.premise_han_devices(viewer=CUSTOMER, premise=premise))
                for premise in selectors.customer_premises(customer=customer)
            ],
        )
        for customer in selectors.customers_visible_to(request.user).order_by("name")
    ]
    return render(request, "portal/my_home.html", {"accounts": accounts})


@require_GET
def premise_detail(request: HttpRequest, premise_id: int) -> HttpResponse:
    premise = _premise_or_404(request, premise_id)
    viewer = services.han_data_view_open(
        user=request.user, customer=premise.customer, premise=premise, what="premise page"
    )
    devices = selectors.premise_han_devices(viewer=viewer, premise=premise)
    return render(
        request,
        "portal/premise_detail.html",
        {
            "premise": premise,
            "devices": devices,
            "active_run": selectors.premise_active_run(premise=premise),
            "registrations": selectors.premise_registrations(premise=premise),
            "recent_runs": selectors.premise_recent_runs(premise=premise),
        },
    )


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and CI: 200 when the database, broker, worker and push all answer."""
    report = health_report(check_worker=request.GET.get("worker") == "1")
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def _staff(request: HttpRequest) -> bool:
    return selectors.user_works_for_utility(request.user)


@require_POST
def han_test_start(request: HttpRequest, premise_id: int) -> HttpResponse:
    premise = _premise_or_404(request, premise_id)
    user = _signed_in(request)
    try:
        run = han_tests.han_test_start(
            premise=premise, user=user, problem=request.POST.get("problem", "").strip()
        )
    except han_tests.ActiveRunExists as error:
        return render(
            request,
            "portal/run_already_active.html",
            {"premise": premise, "run": error.run},
            status=409,
        )
    except han_tests.StartLimitReached as error:
        return _start_limited(request, premise=premise, error=error)
    except han_tests.HanTestError as error:
        messages.error(request, str(error))
        return redirect("premise_detail", premise_id=premise.pk)
    return redirect("run_detail", run_id=run.pk)


def _start_limited(
    request: HttpRequest, *, premise: Premise, error: han_tests.StartLimitReached
) -> HttpResponse:
    response = render(
        request,
        "portal/han_test_limited.html",
        {"premise": premise, "message": str(error)},
        status=429,
    )
    response["Retry-After"] = str(error.retry_after_s)
    return response


def _run_viewed(request: HttpRequest, run: HanTestRun, *, what: str) -> Viewer:
    return services.han_data_view_open(
        user=request.user, customer=run.premise.customer, premise=run.premise, what=what
    )


@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_or_404(request, run_id)
    viewer = _run_viewed(request, run, what=f"HAN test run {run.pk}")
    staff = viewer.staff
    administrator = selectors.user_is_administrator(request.user)
    return render(
        request,
        "portal/run_detail.html",
        {
            "run": run,
            "premise": run.premise,
            "case_runs": selectors.case_runs(case=run.case),
            "snapshot": run_snapshot(run, viewer=viewer),
            "staff": staff,
            "gateway_premises": selectors.gateway_premise_count(premise=run.premise)
            if staff
            else 0,
            "administrator": administrator,
            "action_choices": [(action.value, label) for action, label in ACTION_LABELS.items()],
            "han_pictures": han_pictures_context(run, viewer=viewer),
            "timeline": selectors.case_timeline(case=run.case) if staff else [],
            "findings_for_review": selectors.run_findings_for_review(run=run)
            if administrator and not run.is_active
            else [],
        },
    )


@require_GET
def run_picture(request: HttpRequest, run_id: int) -> HttpResponse:
    """The HAN picture alone, for the live page to redraw once a run has finished."""
    run = _run_or_404(request, run_id)
    viewer = _run_viewed(request, run, what=f"HAN picture of run {run.pk}")
    return render(
        request,
        "portal/_han_picture.html",
        {"han_pictures": han_pictures_context(run, viewer=viewer)},
    )


@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_or_404(request, run_id)
    try:
        han_tests.han_test_cancel(run=run, user=_signed_in(request))
    except han_tests.HanTestError as error:
        messages.error(request, str(error))
    return redirect("run_detail", run_id=run.pk)


@require_POST
def run_record_action(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_or_404(request, run_id)
    try:
        han_tests.recorded_action_create(
            run=run,
            user=_signed_in(request),
            action=request.POST.get("action", ""),
            note=request.POST.get("note", ""),
        )
    except han_tests.HanTestError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Action recorded. Retest when it is done.")
    return redirect("run_detail", run_id=run.pk)


@require_POST
def run_retest(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_or_404(request, run_id)
    try:
        next_run = han_tests.han_test_retest(run=run, user=_signed_in(request))
    except han_tests.ActiveRunExists as error:
        return render(
            request,
            "portal/run_already_active.html",
            {"premise": run.premise, "run": error.run},
            status=409,
        )
    except han_tests.StartLimitReached as error:
        return _start_limited(request, premise=run.premise, error=error)
    except han_tests.HanTestError as error:
        messages.error(request, str(error))
        return redirect("run_detail", run_id=run.pk)
    return redirect("run_detail", run_id=next_run.pk)


def _premise_or_404(request: HttpRequest, premise_id: int) -> Premise:
    premise = selectors.premise_get_for_user(user=request.user, premise_id=premise_id)
    if premise is None:
        raise Http404("No such premise.")
    return premise


def _run_or_404(request: HttpRequest, run_id: int) -> HanTestRun:
    run = selectors.run_get_for_user(user=request.user, run_id=run_id)
    if run is None:
        raise Http404("No such test run.")
    return run


def _registration_or_404(
    request: HttpRequest, registration_id: int
) -> tuple[DeviceRegistration, Premise]:
    found = selectors.registration_get_for_user(user=request.user, registration_id=registration_id)
    if found is None:
        raise Http404("No such registration.")
    return found


def _signed_in(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def device_register(request: HttpRequest, premise_id: int) -> HttpResponse:
    premise = _premise_or_404(request, premise_id)
    if request.method == "POST":
        form = DeviceRegistrationForm(request.POST)
        if form.is_valid():
            try:
                commissioning.device_register(
                    premise=premise, user=_signed_in(request), **form.cleaned_data
                )
            except RegistrationError as error:
                form.add_error(
                    error.field if error.field in form.fields else None,
                    error.message_for(staff=_staff(request)),
                )
            else:
                messages.success(
                    request,
                    "Device registered. The meter is opening a join window: power the device "
                    "on near the meter, then run a HAN test to confirm it joined.",
                )
                return redirect("premise_detail", premise_id=premise.pk)
    elif request.method == "GET":
        form = DeviceRegistrationForm()
    else:
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(
        request,
        "portal/device_register.html",
        {"premise": premise, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
def registration_reopen(request: HttpRequest, registration_id: int) -> HttpResponse:
    registration, premise = _registration_or_404(request, registration_id)
    try:
        commissioning.join_window_reopen(registration=registration, user=_signed_in(request))
    except RegistrationError as error:
        messages.error(request, error.message_for(staff=_staff(request)))
    else:
        messages.success(request, "The meter is opening a new join window for the device.")
    return redirect("premise_detail", premise_id=premise.pk)


@require_POST
def registration_remove(request: HttpRequest, registration_id: int) -> HttpResponse:
    registration, premise = _registration_or_404(request, registration_id)
    commissioning.device_unregister(registration=registration, user=_signed_in(request))
    messages.success(request, "The device was removed from the meter's HAN.")
    return redirect("premise_detail", premise_id=premise.pk)


@require_POST
def customer_han_consent(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.customer_get_for_user(user=request.user, customer_id=customer_id)
    if customer is None:
        raise Http404("No such customer.")
    try:
        services.customer_han_consent_set(
            customer=customer, user=_signed_in(request), consent=request.POST.get("consent") == "1"
        )
    except PermissionError as error:
        raise PermissionDenied(str(error)) from error
    messages.success(
        request,
        "Customer service can now see your own devices in full."
        if customer.customer_han_consent
        else "Customer service now sees your own devices only by kind and maker.",
    )
    return redirect("my_home")


@require_POST
@utility_staff_required
def meter_exchange(request: HttpRequest, premise_id: int) -> HttpResponse:
    """The meter was exchanged: the old meter's keys must not be used again."""
    premise = selectors.premise_get_for_user(user=request.user, premise_id=premise_id)
    if premise is None or premise.premises_gateway is None:
        raise Http404("No such premise.")
    ended = device_registrations_decommission_for_gateway(
        premises_gateway=premise.premises_gateway,
        by=_signed_in(request),
        reason=f"Meter {premise.premises_gateway.meter_number} was exchanged.",
    )
    messages.success(
        request,
        f"{ended} registration{'s' if ended != 1 else ''} decommissioned. Register the devices "
        "again once the new meter is in place.",
    )
    return redirect("premise_detail", premise_id=premise.pk)
