"""Registering Utility HAN devices for a premise and commissioning them through its gateway.

The Trust Center keeps the registration and its keys; this module ties it to the premise the
user may see, pushes the link key to the gateway as a join window, and follows the device
through its statuses: registered -> join window open -> joined -> verified (seen in a run,
joined with its install-code key), or failed / expired with the reason.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from han_gateway.client import GatewayError
from han_gateway.models import HanDevice, NetworkInterface
from portal import task_names
from portal.celery import app
from portal.diagnosis.rules import RuleId
from portal.gateway_clients import gateway_client_for
from portal.models import HanTestRun, ObservedDevice, Premise, User
from trust_center import selectors as trust_selectors
from trust_center import services as trust_services
from trust_center.models import DeviceRegistration

logger = logging.getLogger(__name__)
Status = DeviceRegistration.Status

REOPENABLE = {Status.REGISTERED, Status.JOIN_WINDOW_OPEN, Status.FAILED, Status.EXPIRED}


def device_register(
    *,
    premise: Premise,
    user: User,
    eui64: str = "",
    install_code: str = "",
    qr_text: str = "",
    category: str,
    manufacturer: str = "",
    model: str = "",
    interface: str = "",
) -> DeviceRegistration:
    """Register a device by EUI-64 and install code (or QR text), then open its join window
    on ``interface`` (one of the gateway's HAN interfaces; its first when empty).

    Raises ``trust_center.services.RegistrationError`` naming the field at fault.
    """
    gateway = premise.premises_gateway
    if gateway is None:
        raise trust_services.RegistrationError(
            field=None,
            message=gettext("This premise has no premises gateway to register a device with."),
        )
    interfaces = gateway_interfaces(gateway_id=gateway.pk)
    if interface and interface not in interfaces:
        raise trust_services.RegistrationError(
            field="interface",
            message=gettext("This meter has no HAN interface %(asked)s: choose one of %(known)s.")
            % {
                "asked": interface[:32],
                "known": ", ".join(interfaces)
                or gettext("its interfaces once a test has listed them"),
            },
        )
    with transaction.atomic():
        registration = trust_services.device_registration_create(
            premises_gateway=gateway,
            service_point_id=premise.service_point_id,
            eui64=eui64,
            install_code=install_code or None,
            qr_text=qr_text or None,
            category=category,
            manufacturer=manufacturer,
            model=model,
            interface=interface,
            registered_by=user,
        )
        transaction.on_commit(lambda: _enqueue_join_window(registration.pk))
    return registration


def _enqueue_join_window(registration_id: int) -> None:
    # By task name: the tasks module imports this one.
    app.signature(task_names.OPEN_JOIN_WINDOW, args=(registration_id,)).apply_async()


def join_window_reopen(*, registration: DeviceRegistration, user: User) -> None:
    if registration.status not in REOPENABLE:
        ended = registration.status in DeviceRegistration.ENDED_STATUSES
        raise trust_services.RegistrationError(
            field=None,
            message=gettext("This registration has ended: register the device again.")
            if ended
            else gettext("This device has already joined: it needs no join window."),
        )
    transaction.on_commit(lambda: _enqueue_join_window(registration.pk))


def gateway_interfaces(*, gateway_id: int) -> list[str]:
    """The HAN interfaces a gateway's tests have listed, in order."""
    return list(
        NetworkInterface.objects.filter(premises_gateway_id=gateway_id)
        .order_by("identifier")
        .values_list("identifier", flat=True)
    )


def _interface_for(registration: DeviceRegistration) -> str:
    """The HAN interface the device belongs on: the one its registration or its record names,
    else the gateway's first (a meter's Utility HAN)."""
    if registration.interface:
        return registration.interface
    on_record = (
        HanDevice.objects.filter(
            premises_gateway_id=registration.premises_gateway_id,
            eui64=registration.eui64,
            network_interface__isnull=False,
        )
        .values_list("network_interface__identifier", flat=True)
        .first()
    )
    interfaces = gateway_interfaces(gateway_id=registration.premises_gateway_id)
    return on_record or (interfaces[0] if interfaces else "han0")


def join_window_open(registration_id: int) -> None:
    """Push the device's link key to its gateway for a join window (the task's body)."""
    registration = (
        DeviceRegistration.objects.select_related("premises_gateway")
        .filter(pk=registration_id)
        .first()
    )
    if registration is None or registration.status not in REOPENABLE:
        return
    duration = timedelta(seconds=settings.HAN_JOIN_WINDOW_S)
    try:
        link_key = trust_selectors.device_registration_link_key(registration=registration)
        with gateway_client_for(registration.premises_gateway) as client:
            client.open_join_window(
                _interface_for(registration),
                eui64=registration.eui64,
                link_key_hex=link_key.hex(),
                duration_s=int(duration.total_seconds()),
            )
    except GatewayError as error:
        logger.warning(
            "join window for registration %s not opened: %s", registration.pk, error.code
        )
        _mark(registration, Status.FAILED, f"The meter could not open a join window: {error}")
        return
    _mark(
        registration,
        Status.JOIN_WINDOW_OPEN,
        "The meter is waiting for the device to join.",
        join_window_expires_at=timezone.now() + duration,
    )


def _mark(
    registration: DeviceRegistration,
    status: str,
    reason: str,
    join_window_expires_at: datetime | None = None,
) -> bool:
    try:
        trust_services.device_registration_mark(
            registration=registration,
            status=status,
            reason=reason,
            join_window_expires_at=join_window_expires_at,
        )
    except trust_services.InvalidStatusTransition as error:
        logger.info("registration %s stays %s: %s", registration.pk, registration.status, error)
        return False
    return True


def registrations_follow_run(*, run: HanTestRun) -> None:
    """What a finished run saw of each registered device moves its registration along.

    Verified rests on the gateway's join evidence only (the device joined in its install-code
    window); a device the Trust Center refused for its key fails, with the reason.
    """
    gateway = run.premise.premises_gateway
    if gateway is None or run.status not in {HanTestRun.Status.PASSED, HanTestRun.Status.FAILED}:
        return
    seen = {device.eui64: device for device in ObservedDevice.objects.filter(run=run)}
    if not run.interfaces.exists():
        return  # the gateway was not reached: nothing is known
    refused_for_its_key = set(
        run.findings.filter(rule=RuleId.INSTALL_CODE_MISMATCH).values_list("eui64", flat=True)
    )
    for registration in trust_selectors.device_registrations_for_premise(
        premises_gateway_id=gateway.pk, service_point_id=run.premise.service_point_id
    ):
        device = seen.get(registration.eui64)
        if device is None:
            if registration.eui64 in refused_for_its_key and registration.status != Status.FAILED:
                _mark(
                    registration,
                    Status.FAILED,
                    "The meter refused the device's join: the install code does not match the "
                    "device. Re-check the label or QR code and register it again.",
                )
            continue
        if device.join_method == "install_code":
            if registration.status == Status.JOIN_WINDOW_OPEN:
                _mark(registration, Status.JOINED, "The device joined the HAN.")
            if registration.status in {Status.JOINED, Status.JOIN_WINDOW_OPEN}:
                _mark(
                    registration,
                    Status.VERIFIED,
                    f"Seen in HAN test run {run.number}, joined with its install-code key.",
                )
        elif device.join_method == "default_key" and registration.status != Status.FAILED:
            _mark(
                registration,
                Status.FAILED,
                "The device joined with the well-known default key, not its install code.",
            )


def join_windows_expire() -> int:
    return trust_services.device_registrations_expire_join_windows()


def device_unregister(*, registration: DeviceRegistration, user: User) -> None:
    """End the registration and ask the gateway to remove the device from its HAN."""
    trust_services.device_registration_remove(
        registration=registration, by=user, reason="Removed at the premise's request."
    )
    try:
        with gateway_client_for(registration.premises_gateway) as client:
            client.remove_device(_interface_for(registration), registration.eui64)
    except GatewayError as error:
        # The registration is ended either way: its key will not be used again.
        logger.info("gateway did not remove %s: %s", registration.pk, error.code)
