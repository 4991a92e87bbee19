"""What staff do to a case besides testing: keep notes, hand work to the AMI network team
(an escalation with its own status), and close a case by hand with a reason. Each lands on the
case's timeline; customers do none of it."""

from django.db import transaction
from django.utils import timezone

from han_gateway.client import GatewayError
from han_gateway.models import HanDevice
from portal.access.roles import user_works_for_utility
from portal.gateway_clients import gateway_client_for
from portal.models import (
    CaseNote,
    Escalation,
    HanTestCase,
    HanTestRun,
    ObservedDevice,
    RecordedAction,
    User,
    WorkOrder,
    save_changes,
)
from portal.test_runs.events import publish_case_event
from portal.test_runs.start import OTHER_ACTION, HanTestError, words_required
from portal.test_runs.work_orders import work_orders_end_with_case

NOTE_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 300


def _staff_only(user: User) -> None:
    if not user_works_for_utility(user):
        raise PermissionError("Only the utility's staff work a case.")


def case_note_add(*, case: HanTestCase, user: User, text: str) -> CaseNote:
    _staff_only(user)
    text = words_required(text, missing="Write the note first.", limit=NOTE_MAX_LENGTH)
    note = CaseNote.objects.create(case=case, text=text, written_by=user)
    publish_case_event(case.pk)
    return note


def case_close(*, case: HanTestCase, user: User, reason: str) -> HanTestCase:
    """Close an open case without a passing run: the reason says why (customer declined, device
    returned, duplicate…). A run still going must be cancelled or finish first."""
    _staff_only(user)
    reason = words_required(
        reason,
        missing="Say why the case is closed without a passing test.",
        limit=REASON_MAX_LENGTH,
    )
    with transaction.atomic():
        case = HanTestCase.objects.select_for_update().get(pk=case.pk)
        if case.status != HanTestCase.Status.OPEN:
            raise HanTestError("This case is already resolved.")
        if case.runs.filter(status__in=case.runs.model.ACTIVE).exists():
            raise HanTestError("A test is running in this case: cancel it or let it finish.")
        moment = timezone.now()
        save_changes(
            case,
            status=HanTestCase.Status.RESOLVED,
            resolved_at=moment,
            closed_by=user,
            close_reason=reason,
        )
        work_orders_end_with_case(
            case_id=case.pk,
            status=WorkOrder.Status.CANCELLED,
            outcome=f"The case was closed: {reason}",
            moment=moment,
        )
    return case


def escalation_raise(*, case: HanTestCase, user: User, kind: str, reason: str) -> Escalation:
    _staff_only(user)
    if kind not in Escalation.Kind.values:
        raise HanTestError("Choose what the AMI network team should do.")
    reason = words_required(
        reason, missing="Say what the team needs to know.", limit=NOTE_MAX_LENGTH
    )
    if case.status != HanTestCase.Status.OPEN:
        raise HanTestError("This case is resolved; open a new one by testing again.")
    if case.escalations.filter(
        kind=kind, status__in=[Escalation.Status.OPEN, Escalation.Status.IN_PROGRESS]
    ).exists():
        raise HanTestError("This case already has that request open with the AMI team.")
    escalation = Escalation.objects.create(case=case, kind=kind, reason=reason, raised_by=user)
    publish_case_event(case.pk)
    return escalation


def escalation_update(
    *, escalation: Escalation, user: User, status: str, answer: str = ""
) -> Escalation:
    """The AMI team's answer (administrators record it): in progress, done or declined."""
    _staff_only(user)
    if status not in Escalation.Status.values or status == Escalation.Status.OPEN:
        raise HanTestError("Choose in progress, done or declined.")
    answer = words_required(
        answer,
        missing="Say why the request was declined."
        if status == Escalation.Status.DECLINED
        else None,
        limit=REASON_MAX_LENGTH,
        what="the answer",
    )
    save_changes(
        escalation, status=status, answer=answer, updated_by=user, updated_at=timezone.now()
    )
    publish_case_event(escalation.case_id)
    return escalation


def devices_that_may_be_asked_to_leave(
    *, run: HanTestRun, viewer_sees_customer_han: bool
) -> list[ObservedDevice]:
    """The run's devices staff may ask to leave: customer-owned ones only with consent."""
    devices = run.devices.order_by("sequence")
    if not viewer_sees_customer_han:
        devices = devices.exclude(network=HanDevice.Network.CUSTOMER)
    return list(devices)


def device_leave_request(
    *, run: HanTestRun, user: User, device_id: int, viewer_sees_customer_han: bool
) -> RecordedAction:
    """Ask a device the run found to leave the HAN (ZDO Mgmt_Leave, through the gateway
    service), and record it on the case: who, when, which device, and whether it answered."""
    _staff_only(user)
    if run.is_active:
        raise HanTestError("Wait for the test to finish.")
    device = next(
        (
            found
            for found in devices_that_may_be_asked_to_leave(
                run=run, viewer_sees_customer_han=viewer_sees_customer_han
            )
            if found.pk == device_id
        ),
        None,
    )
    if device is None:
        raise HanTestError("Choose one of the devices this test found.")
    gateway = run.premise.premises_gateway
    if gateway is None:
        raise HanTestError("This premise has no premises gateway.")
    try:
        with gateway_client_for(gateway) as client:
            answer = client.remove_device(device.interface, device.eui64)
    except GatewayError as error:
        raise HanTestError(f"The meter could not be asked: {error.message}") from None
    said = "it acknowledged" if answer.leave_acknowledged else "it did not answer; it was removed"
    return RecordedAction.objects.create(
        run=run,
        action=OTHER_ACTION,
        note=f"Asked the {device.get_category_display().lower()} {device.eui64} to leave the "
        f"HAN (Mgmt_Leave): {said}",
        recorded_by=user,
    )
