"""Pages that commission devices: register, reopen a join window, remove, meter exchange."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from portal.access.roles import is_staff_request, signed_in_user, utility_staff_required
from portal.access.visibility import premise_get_for_user, premise_or_404
from portal.commissioning import services as commissioning
from portal.commissioning.forms import DeviceRegistrationForm
from portal.commissioning.selectors import registration_get_for_user
from portal.models import Premise
from trust_center.models import DeviceRegistration
from trust_center.services import RegistrationError, device_registrations_decommission_for_gateway


def _registration_or_404(
    request: HttpRequest, registration_id: int
) -> tuple[DeviceRegistration, Premise]:
    found = registration_get_for_user(user=request.user, registration_id=registration_id)
    if found is None:
        raise Http404("No such registration.")
    return found


def device_register(request: HttpRequest, premise_id: int) -> HttpResponse:
    premise = premise_or_404(user=request.user, premise_id=premise_id)
    interfaces = (
        commissioning.gateway_interfaces(gateway_id=premise.premises_gateway_id)
        if premise.premises_gateway_id
        else []
    )
    if request.method == "POST":
        form = DeviceRegistrationForm(request.POST, interfaces=interfaces)
        if form.is_valid():
            try:
                commissioning.device_register(
                    premise=premise, user=signed_in_user(request), **form.cleaned_data
                )
            except RegistrationError as error:
                form.add_error(
                    error.field if error.field in form.fields else None,
                    error.message_for(staff=is_staff_request(request)),
                )
            else:
                messages.success(
                    request,
                    gettext(
                        "Device registered. The meter is opening a join window: power the "
                        "device on near the meter, then run a HAN test to confirm it joined."
                    ),
                )
                return redirect("premise_detail", premise_id=premise.pk)
    elif request.method == "GET":
        form = DeviceRegistrationForm(interfaces=interfaces)
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
        commissioning.join_window_reopen(registration=registration, user=signed_in_user(request))
    except RegistrationError as error:
        messages.error(request, error.message_for(staff=is_staff_request(request)))
    else:
        messages.success(request, gettext("The meter is opening a new join window for the device."))
    return redirect("premise_detail", premise_id=premise.pk)


@require_POST
def registration_remove(request: HttpRequest, registration_id: int) -> HttpResponse:
    registration, premise = _registration_or_404(request, registration_id)
    commissioning.device_unregister(registration=registration, user=signed_in_user(request))
    messages.success(request, gettext("The device was removed from the meter's HAN."))
    return redirect("premise_detail", premise_id=premise.pk)


@require_POST
@utility_staff_required
def meter_exchange(request: HttpRequest, premise_id: int) -> HttpResponse:
    """The meter was exchanged: the old meter's keys must not be used again."""
    premise = premise_get_for_user(user=request.user, premise_id=premise_id)
    if premise is None or premise.premises_gateway is None:
        raise Http404("No such premise.")
    ended = device_registrations_decommission_for_gateway(
        premises_gateway=premise.premises_gateway,
        by=signed_in_user(request),
        reason=f"Meter {premise.premises_gateway.meter_number} was exchanged.",
    )
    messages.success(
        request,
        f"{ended} registration{'s' if ended != 1 else ''} decommissioned. Register the devices "
        "again once the new meter is in place.",
    )
    return redirect("premise_detail", premise_id=premise.pk)
