"""Pages of a test run: start, the live run page, its HAN picture, cancel, record an action,
retest."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from portal.access.attribution import gateway_premise_count
from portal.access.roles import (
    signed_in_user,
    user_is_administrator,
    user_works_for_utility,
    utility_staff_required,
)
from portal.access.viewers import Viewer, han_data_view_open
from portal.access.visibility import premise_or_404
from portal.diagnosis.rules import ACTION_LABELS, CUSTOMER_ACTION_LABELS
from portal.models import Escalation, HanTestCase, HanTestRun, Premise, User, WorkOrder
from portal.test_runs import cases, start, work_orders
from portal.test_runs.han_picture import han_pictures_context
from portal.test_runs.instructions import customer_instructions_send
from portal.test_runs.payloads import device_for_viewer, observed_device_payload, run_snapshot
from portal.test_runs.review_drafts import review_drafts_take
from portal.test_runs.selectors import (
    case_runs,
    run_findings_for_review,
    run_or_404,
)
from portal.test_runs.start import (
    ActiveRunExists,
    HanTestError,
    StartLimitReached,
    han_test_cancel,
    han_test_retest,
    recorded_action_create,
)


@require_POST
def han_test_start(request: HttpRequest, premise_id: int) -> HttpResponse:
    premise = premise_or_404(user=request.user, premise_id=premise_id)
    user = signed_in_user(request)
    try:
        run = start.han_test_start(
            premise=premise,
            user=user,
            problem=request.POST.get("problem", "").strip(),
            subject_eui64=request.POST.get("subject", ""),
        )
    except ActiveRunExists as error:
        return render(
            request,
            "portal/run_already_active.html",
            {"premise": premise, "run": error.run},
            status=409,
        )
    except StartLimitReached as error:
        return _start_limited(request, premise=premise, error=error)
    except HanTestError as error:
        messages.error(request, str(error))
        return redirect("premise_detail", premise_id=premise.pk)
    return redirect("run_detail", run_id=run.pk)


def _start_limited(
    request: HttpRequest, *, premise: Premise, error: StartLimitReached
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
    return han_data_view_open(
        user=request.user, customer=run.premise.customer, premise=run.premise, what=what
    )


@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_or_404(user=request.user, run_id=run_id)
    viewer = _run_viewed(request, run, what=f"HAN test run {run.pk}")
    staff = viewer.staff
    # Reps and administrators work the case; a field technician reads the evidence but works
    # from their work order.
    case_work = user_works_for_utility(request.user)
    administrator = user_is_administrator(request.user)
    return render(
        request,
        "portal/run_detail.html",
        {
            "run": run,
            "premise": run.premise,
            "case_runs": case_runs(case=run.case),
            "snapshot": run_snapshot(run, viewer=viewer),
            "staff": staff,
            "gateway_premises": gateway_premise_count(premise=run.premise) if staff else 0,
            "administrator": administrator,
            "action_choices": [
                (action.value, label)
                for action, label in (ACTION_LABELS if staff else CUSTOMER_ACTION_LABELS).items()
            ],
            "han_pictures": han_pictures_context(run, viewer=viewer),
            "case_work": case_work,
            "escalations": list(run.case.escalations.all()) if case_work else [],
            "leave_candidates": cases.devices_that_may_be_asked_to_leave(
                run=run, viewer_sees_customer_han=viewer.sees_customer_han
            )
            if case_work and not run.is_active
            else [],
            **_field_work_context(request, run, viewer=viewer, case_work=case_work),
            "escalation_kinds": Escalation.Kind.choices,
            "findings_for_review": review_drafts_take(request, run_findings_for_review(run=run))
            if administrator and not run.is_active
            else [],
        },
    )


def _field_work_context(
    request: HttpRequest, run: HanTestRun, *, viewer: Viewer, case_work: bool
) -> dict[str, object]:
    """The case's work orders and the form to send an installer (staff); the installer's own
    work order (an installer)."""
    orders = run.case.work_orders.select_related("installer").order_by("scheduled_for", "pk")
    if not case_work:
        mine = orders.filter(installer_id=request.user.pk).order_by("-pk").first()
        return {"my_work_order": mine}
    return {
        "work_orders": list(orders),
        "installers": list(work_orders.installers()) if not run.is_active else [],
        "dispatch": work_orders.recommendation_for(run),
        "dispatch_devices": [
            device_for_viewer(observed_device_payload(device), viewer=viewer) | {"id": device.pk}
            for device in run.devices.order_by("sequence")
        ],
        "windows": WorkOrder.Window.choices,
        "today": timezone.localdate(),
    }


@require_GET
def run_picture(request: HttpRequest, run_id: int) -> HttpResponse:
    """The HAN picture alone, for the live page to redraw once a run has finished."""
    run = run_or_404(user=request.user, run_id=run_id)
    viewer = _run_viewed(request, run, what=f"HAN test run {run.pk}")
    return render(
        request,
        "portal/_han_picture.html",
        {"han_pictures": han_pictures_context(run, viewer=viewer)},
    )


@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_or_404(user=request.user, run_id=run_id)
    try:
        han_test_cancel(run=run, user=signed_in_user(request))
    except HanTestError as error:
        messages.error(request, str(error))
    return redirect("run_detail", run_id=run.pk)


def _carry_out(
    request: HttpRequest, work: Callable[[], object], *, done: str | Callable[[], str]
) -> None:
    """One service call behind a form: why it was refused, or what was done, reaches the page."""
    try:
        work()
    except HanTestError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done() if callable(done) else done)


@require_POST
def run_record_action(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_or_404(user=request.user, run_id=run_id)
    _carry_out(
        request,
        lambda: recorded_action_create(
            run=run,
            user=signed_in_user(request),
            action=request.POST.get("action", ""),
            note=request.POST.get("note", ""),
        ),
        done="Action recorded. Retest when it is done.",
    )
    return redirect("run_detail", run_id=run.pk)


@require_POST
def run_retest(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_or_404(user=request.user, run_id=run_id)
    try:
        next_run = han_test_retest(run=run, user=signed_in_user(request))
    except ActiveRunExists as error:
        return render(
            request,
            "portal/run_already_active.html",
            {"premise": run.premise, "run": error.run},
            status=409,
        )
    except StartLimitReached as error:
        return _start_limited(request, premise=run.premise, error=error)
    except HanTestError as error:
        messages.error(request, str(error))
        return redirect("run_detail", run_id=run.pk)
    return redirect("run_detail", run_id=next_run.pk)


def _case_page(case: HanTestCase) -> HttpResponse:
    """Back to the case on its latest run's page."""
    last = case.runs.order_by("-number").values_list("pk", flat=True).first()
    if last is None:
        return redirect("premise_detail", premise_id=case.premise_id)
    return redirect(f"{reverse('run_detail', args=[last])}#case")


# What one of the case's forms does: given the case, who sent the form and its fields, carry it
# out through the service (HanTestError says why not) and say what was done.
CaseWork = Callable[[HanTestCase, User, QueryDict], str]


def _case_form(work: CaseWork) -> Callable[..., HttpResponseBase]:
    """A staff-only form POST on a case, answered by going back to the case with a message."""

    @require_POST
    @utility_staff_required
    def view(request: HttpRequest, case_id: int) -> HttpResponse:
        case = get_object_or_404(HanTestCase, pk=case_id)
        try:
            done = work(case, signed_in_user(request), request.POST)
        except HanTestError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, done)
        return _case_page(case)

    return view


def _add_note(case: HanTestCase, user: User, form: QueryDict) -> str:
    cases.case_note_add(case=case, user=user, text=form.get("text", ""))
    return "Note added to the case."


def _close(case: HanTestCase, user: User, form: QueryDict) -> str:
    cases.case_close(case=case, user=user, reason=form.get("reason", ""))
    return "Case closed."


def _escalate(case: HanTestCase, user: User, form: QueryDict) -> str:
    escalation = cases.escalation_raise(
        case=case, user=user, kind=form.get("kind", ""), reason=form.get("reason", "")
    )
    return f"Sent to the AMI network team: {escalation.kind_in_a_sentence}."


def _dispatch(case: HanTestCase, user: User, form: QueryDict) -> str:
    installer = form.get("installer", "")
    order = work_orders.work_order_dispatch(
        case=case,
        user=user,
        installer_id=int(installer) if installer.isdigit() else 0,
        instructions=form.get("instructions", ""),
        scheduled_for=form.get("scheduled_for", ""),
        window=form.get("window", ""),
        device_ids=[int(device) for device in form.getlist("devices") if device.isdigit()],
    )
    name = order.installer.get_full_name() or order.installer.username
    return f"Work order {order.pk} sent to {name} for {order.scheduled_for:%A %-d %B}."


case_note_create = _case_form(_add_note)
case_close = _case_form(_close)
case_escalate = _case_form(_escalate)
case_dispatch = _case_form(_dispatch)


@require_POST
def run_instructions_send(request: HttpRequest, run_id: int) -> HttpResponse:
    """Staff email the customer what to do; a customer emails it to themselves, from a run of
    their own, to the address on their account only."""
    staff = user_works_for_utility(request.user)
    if not staff and signed_in_user(request).role != User.Role.CUSTOMER:
        raise PermissionDenied("The utility's staff or the account holder send instructions.")
    run = run_or_404(user=request.user, run_id=run_id)
    try:
        sent = customer_instructions_send(run=run, user=signed_in_user(request))
    except PermissionError as error:
        raise PermissionDenied(str(error)) from error
    except HanTestError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Instructions emailed to {sent.sent_to}."
            if staff
            else gettext("We emailed these steps to %(address)s.") % {"address": sent.sent_to},
        )
    return redirect("run_detail", run_id=run.pk)


@require_POST
@utility_staff_required
def run_device_leave(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_or_404(user=request.user, run_id=run_id)
    viewer = _run_viewed(request, run, what=f"HAN test run {run.pk}")
    device_id = request.POST.get("device", "")
    _carry_out(
        request,
        lambda: cases.device_leave_request(
            run=run,
            user=signed_in_user(request),
            device_id=int(device_id) if device_id.isdigit() else 0,
            viewer_sees_customer_han=viewer.sees_customer_han,
        ),
        done="The device was asked to leave the HAN. Retest to confirm.",
    )
    return redirect(f"{reverse('run_detail', args=[run.pk])}#case")


@require_POST
@utility_staff_required
def escalation_update(request: HttpRequest, escalation_id: int) -> HttpResponse:
    escalation = get_object_or_404(Escalation.objects.select_related("case"), pk=escalation_id)
    _carry_out(
        request,
        lambda: cases.escalation_update(
            escalation=escalation,
            user=signed_in_user(request),
            status=request.POST.get("status", ""),
            answer=request.POST.get("answer", ""),
        ),
        done=lambda: f"Request marked {escalation.get_status_display().lower()}.",
    )
    return _case_page(escalation.case)
