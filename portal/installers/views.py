"""An installer's list of open work orders (phone first), and the work order page they use at
the premise: what to do and to which devices, the test run on site, and finishing the visit."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.access.roles import installer_required, signed_in_user, user_works_for_utility
from portal.access.viewers import han_data_view_open
from portal.access.visibility import work_order_premises
from portal.models import HanTestRun, User, WorkOrder
from portal.test_runs.payloads import device_for_viewer, observed_device_payload
from portal.test_runs.start import HanTestError
from portal.test_runs.work_orders import work_order_complete, work_orders_for_installer


@require_GET
@installer_required
def work_order_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/work_orders.html",
        {"work_orders": list(work_orders_for_installer(signed_in_user(request)))},
    )


def _work_order_or_404(request: HttpRequest, work_order_id: int) -> WorkOrder:
    """Staff see every work order; an installer theirs, while its premise is theirs to see."""
    user = request.user
    orders = WorkOrder.objects.select_related(
        "premise__customer", "premise__premises_gateway", "case", "installer", "created_by"
    )
    if not user_works_for_utility(user):
        if not isinstance(user, User) or not user.is_installer:
            raise Http404("No such work order.")
        orders = orders.filter(installer=user, premise_id__in=work_order_premises(user))
    work_order = orders.filter(pk=work_order_id).first()
    if work_order is None:
        raise Http404("No such work order.")
    return work_order


@require_GET
def work_order_detail(request: HttpRequest, work_order_id: int) -> HttpResponse:
    work_order = _work_order_or_404(request, work_order_id)
    viewer = han_data_view_open(
        user=request.user,
        customer=work_order.premise.customer,
        premise=work_order.premise,
        what=f"work order {work_order.pk}",
    )
    devices = [
        device_for_viewer(observed_device_payload(device, ""), viewer=viewer)
        for device in work_order.devices.order_by("sequence")
    ]
    last_run = HanTestRun.objects.filter(case=work_order.case).order_by("-number").first()
    return render(
        request,
        "portal/work_order_detail.html",
        {
            "work_order": work_order,
            "premise": work_order.premise,
            "devices": devices,
            "last_run": last_run,
            "is_installer": work_order.installer_id == request.user.pk,
        },
    )


@require_POST
def work_order_done(request: HttpRequest, work_order_id: int) -> HttpResponse:
    work_order = _work_order_or_404(request, work_order_id)
    try:
        work_order_complete(
            work_order=work_order,
            user=signed_in_user(request),
            outcome=request.POST.get("outcome", ""),
        )
    except (HanTestError, PermissionError) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Work order finished. Thank you.")
    return redirect("work_order_detail", work_order_id=work_order.pk)
