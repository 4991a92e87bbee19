"""Writes to the Trust Center: registrations, their lifecycle, gateway credentials.

Every key operation leaves a ``KeyAuditEvent``. Secrets go into the database only through
``crypto.encrypt_*`` and never into an audit detail, an exception message or a log line.
"""

import logging
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from han_gateway.eui64 import InvalidEUI64, parse_eui64
from han_gateway.models import HanDevice, PremisesGateway
from trust_center import crypto, selectors
from trust_center.install_codes import (
    InstallCode,
    InvalidInstallCode,
    ScannedInstallCode,
    look_alike_advice,
    parse_install_code,
    parse_install_code_qr_text,
)
from trust_center.models import DeviceRegistration, GatewayCredential, KeyAuditEvent

logger = logging.getLogger(__name__)

Status = DeviceRegistration.Status
Action = KeyAuditEvent.Action

# Utilities' published practice: join windows last hours to days.
DEFAULT_JOIN_WINDOW = timedelta(hours=24)
MINIMUM_SECRET_LENGTH = 16
MAXIMUM_SECRET_LENGTH = 256


# What a customer is told about a device live at another premise: where it is registered
# belongs to that premise's customer. Translated when raised: pass it through gettext.
REGISTERED_ELSEWHERE_FOR_CUSTOMERS = gettext_noop(
    "This device is already registered at another address. Call us if it has moved to you."
)


class RegistrationError(ValueError):
    """A registration the utility cannot make, with the form field the reason belongs to.

    ``field`` is a form field name (``eui64``, ``install_code``, ``qr_text``, ``category``,
    ``manufacturer``, ``model``, ``service_point_id``) or None for the form as a whole.
    ``message`` is written for the utility's staff; when it names another premise's meter,
    ``customer_message`` says the same without it. Show one through ``message_for``. Both are
    in the language active when raised: what a customer can read is translated then, and
    staff pages are in English.
    No message repeats what was typed: a pasted install code must not come back in one.
    """

    def __init__(
        self, *, field: str | None, message: str, customer_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.customer_message = customer_message

    def message_for(self, *, staff: bool) -> str:
        if staff or self.customer_message is None:
            return self.message
        return self.customer_message


class InvalidStatusTransition(ValueError):
    """The registration's lifecycle does not allow the requested status from its current one."""


class GatewayCredentialError(ValueError):
    """A gateway credential that cannot be issued or rotated as asked."""


def _user_id(user: AbstractBaseUser | None) -> int | None:
    # Assigned by id: this app must not import the portal's user model.
    return None if user is None else int(user.pk)


def _audit(
    action: str,
    *,
    by: AbstractBaseUser | None,
    premises_gateway: PremisesGateway | None = None,
    registration: DeviceRegistration | None = None,
    eui64: str = "",
    detail: str = "",
) -> KeyAuditEvent:
    if registration is not None:
        premises_gateway = premises_gateway or registration.premises_gateway
        eui64 = eui64 or registration.eui64
    event = KeyAuditEvent(
        action=action,
        premises_gateway=premises_gateway,
        gateway_label=premises_gateway.meter_number if premises_gateway else "",
        registration=registration,
        eui64=eui64,
        detail=detail,
    )
    event.actor_id = _user_id(by)
    event.save()
    return event


# --- Device registrations ----------------------------------------------------------------------


def _parse_eui64_field(eui64: str) -> str | None:
    if not eui64 or not eui64.strip():
        return None
    try:
        return str(parse_eui64(eui64))
    except InvalidEUI64 as error:
        raise RegistrationError(field="eui64", message=eui64_problem_words(error)) from error


def eui64_problem_words(error: InvalidEUI64) -> str:
    """The EUI-64 parser's reason in the active language (the parser imports no Django)."""
    if error.problem == "not_text":
        return gettext("An EUI-64 must be text.")
    if error.problem == "empty":
        return gettext("Enter the device's EUI-64 (MAC): 16 hexadecimal digits.")
    if error.problem == "characters":
        return gettext(
            "An EUI-64 uses only the digits 0-9 and letters A-F; found %(character)s."
        ) % {"character": repr(error.character)} + look_alike_advice(error.lookalikes)
    if error.count < 16:
        return gettext(
            "An EUI-64 has 16 hexadecimal digits; this has %(count)s (is a pair missing?)."
        ) % {"count": error.count}
    return gettext("An EUI-64 has 16 hexadecimal digits; this has %(count)s.") % {
        "count": error.count
    }


def _parse_qr_field(qr_text: str | None) -> ScannedInstallCode | None:
    if not qr_text or not qr_text.strip():
        return None
    try:
        return parse_install_code_qr_text(qr_text)
    except InvalidInstallCode as error:
        raise RegistrationError(field="qr_text", message=error.message) from error


def _parse_install_code_field(install_code: str | None) -> InstallCode | None:
    if not install_code or not install_code.strip():
        return None
    try:
        return parse_install_code(install_code)
    except InvalidInstallCode as error:
        raise RegistrationError(field="install_code", message=error.message) from error


def _check_capacity(premises_gateway: PremisesGateway) -> None:
    capacity = selectors.gateway_han_capacity(premises_gateway=premises_gateway)
    registered = selectors.gateway_han_devices_registered(premises_gateway=premises_gateway)
    if registered >= capacity:
        raise RegistrationError(
            field=None,
            message=(
                f"Meter {premises_gateway.meter_number} ({premises_gateway.model}) holds keys "
                f"for at most {capacity} HAN devices and already has {registered} registered. "
                "Remove a device it no longer needs before adding another."
            ),
            # A pole-top gateway's count includes other premises' devices.
            customer_message=gettext(
                "Your meter cannot take any more devices. Remove a device you no longer need "
                "before adding another, or call us."
            ),
        )


def _approved_spelling(manufacturer: str, model: str) -> tuple[str, str]:
    """The approved list's spelling of the device, or the typed one when no list is in force."""
    if not selectors.approved_device_list_in_force():
        return manufacturer, model
    if not manufacturer:
        raise RegistrationError(
            field="manufacturer",
            message=gettext(
                "Enter the device's manufacturer: the utility approves devices by make."
            ),
        )
    if not model:
        raise RegistrationError(
            field="model",
            message=gettext("Enter the device's model: the utility approves devices by model."),
        )
    approved = selectors.approved_device_find(manufacturer=manufacturer, model=model)
    if approved is None:
        raise RegistrationError(
            field="model",
            message=gettext(
                "This make and model are not on the utility's approved device list; "
                "only approved devices can join the Utility HAN."
            ),
        )
    return approved.manufacturer, approved.model


def _end_stale_registration(
    premises_gateway: PremisesGateway,
    service_point_id: str,
    eui64: str,
    by: AbstractBaseUser | None,
) -> None:
    """Make room for a new registration of the device at this gateway, or say why not.

    A failed or expired registration is replaced (the usual cause is a mistyped install
    code); a live one must be removed deliberately first.
    """
    existing = (
        DeviceRegistration.objects.select_for_update()
        .filter(premises_gateway=premises_gateway, eui64=eui64)
        .exclude(status__in=DeviceRegistration.ENDED_STATUSES)
        .first()
    )
    if existing is None:
        return
    status = existing.get_status_display().lower()
    if existing.service_point_id != service_point_id:
        # A pole-top gateway serves several premises: this one is a neighbour's.
        raise RegistrationError(
            field="eui64",
            message=(
                f"This device is already registered at meter {premises_gateway.meter_number} "
                f"for service point {existing.service_point_id} ({status}). "
                "Remove it there first."
            ),
            customer_message=gettext(REGISTERED_ELSEWHERE_FOR_CUSTOMERS),
        )
    if existing.status not in {Status.FAILED, Status.EXPIRED}:
        raise RegistrationError(
            field="eui64",
            message=(
                f"This device is already registered at meter {premises_gateway.meter_number} "
                f"({status}). Remove that registration first."
            ),
            customer_message=gettext(
                "This device is already registered at your meter. Remove that registration first."
            ),
        )
    _change_status(
        existing,
        status=Status.REMOVED,
        reason="Replaced by a new registration of the same device.",
        by=by,
        action=Action.REMOVED,
    )


def _check_not_registered_elsewhere(premises_gateway: PremisesGateway, eui64: str) -> None:
    # A device joins one Trust Center with one link key; two live registrations would hand
    # its key to two meters.
    elsewhere = (
        DeviceRegistration.objects.filter(eui64=eui64)
        .exclude(premises_gateway=premises_gateway)
        .exclude(status__in=DeviceRegistration.ENDED_STATUSES)
        .select_related("premises_gateway")
        .first()
    )
    if elsewhere is not None:
        raise RegistrationError(
            field="eui64",
            message=(
                "This device is registered at another meter "
                f"({elsewhere.premises_gateway.meter_number}, service point "
                f"{elsewhere.service_point_id}). Remove it there first."
            ),
            customer_message=gettext(REGISTERED_ELSEWHERE_FOR_CUSTOMERS),
        )


def device_registration_create(
    *,
    premises_gateway: PremisesGateway,
    service_point_id: str,
    eui64: str,
    install_code: str | None = None,
    qr_text: str | None = None,
    category: str,
    manufacturer: str = "",
    model: str = "",
    interface: str = "",
    registered_by: AbstractBaseUser | None = None,
) -> DeviceRegistration:
    """Register a Utility HAN device at a gateway by EUI-64 and install code (typed or QR),
    to join the gateway's HAN ``interface`` (its first when empty).

    With QR text the EUI-64 may be left empty; when both are given they must agree, as must
    a typed install code and the QR code's. Raises ``RegistrationError`` naming the field.
    """
    service_point_id = service_point_id.strip()
    if not service_point_id:
        raise RegistrationError(
            field="service_point_id",
            message=gettext("A registration needs the premise's service point."),
        )
    if category not in HanDevice.Category.values:
        raise RegistrationError(field="category", message=gettext("Choose the kind of device."))

    typed_eui64 = _parse_eui64_field(eui64)
    scanned = _parse_qr_field(qr_text)
    typed_code = _parse_install_code_field(install_code)

    if scanned is not None and typed_eui64 is not None and str(scanned.eui64) != typed_eui64:
        raise RegistrationError(
            field="eui64",
            message=gettext(
                "The EUI-64 typed is not the one in the QR code; check the device's label."
            ),
        )
    if (
        scanned is not None
        and typed_code is not None
        and scanned.link_key_bytes != typed_code.link_key_bytes
    ):
        raise RegistrationError(
            field="install_code",
            message=gettext(
                "The install code typed is not the one in the QR code; use one or the other."
            ),
        )
    device_eui64 = typed_eui64 or (str(scanned.eui64) if scanned else None)
    if device_eui64 is None:
        raise RegistrationError(
            field="eui64",
            message=gettext("Enter the device's EUI-64 (MAC): 16 hexadecimal digits."),
        )

    code: bytes | None
    if typed_code is not None:
        code, link_key = typed_code.code, typed_code.link_key_bytes
    elif scanned is not None:
        code, link_key = scanned.install_code, scanned.link_key_bytes
    else:
        raise RegistrationError(
            field="install_code",
            message=gettext("Enter the install code printed on the device, or scan its QR code."),
        )

    manufacturer, model = _approved_spelling(manufacturer.strip(), model.strip())

    try:
        with transaction.atomic():
            # Locking the gateway serialises registrations at one meter, so two people
            # cannot both take its last free place.
            gateway = PremisesGateway.objects.select_for_update().get(pk=premises_gateway.pk)
            _check_not_registered_elsewhere(gateway, device_eui64)
            _end_stale_registration(gateway, service_point_id, device_eui64, registered_by)
            _check_capacity(gateway)
            registration = DeviceRegistration(
                premises_gateway=gateway,
                service_point_id=service_point_id,
                eui64=device_eui64,
                category=category,
                manufacturer=manufacturer,
                model=model,
                interface=interface,
                han_device=HanDevice.objects.filter(
                    premises_gateway=gateway, eui64=device_eui64
                ).first(),
                install_code_ciphertext=crypto.encrypt_bytes(code) if code else "",
                link_key_ciphertext=crypto.encrypt_bytes(link_key),
                status=Status.REGISTERED,
                status_reason="Registered; waiting for a join window.",
            )
            registration.registered_by_id = _user_id(registered_by)
            registration.save()
            source = "QR code" if typed_code is None else "typed install code"
            _audit(
                Action.REGISTERED,
                by=registered_by,
                registration=registration,
                detail=(
                    f"{registration.get_category_display()} registered for service point "
                    f"{service_point_id} from a {source}."
                ),
            )
            _audit(
                Action.KEY_DERIVED,
                by=registered_by,
                registration=registration,
                detail=(
                    f"Link key derived from a {len(code)}-byte install code."
                    if code
                    else "Link key read from the device's QR code."
                ),
            )
    except IntegrityError as error:
        # Another registration of the same device won the race for the unique constraint.
        raise RegistrationError(
            field="eui64",
            message=gettext("This device was registered at this meter a moment ago."),
        ) from error
    logger.info(
        "Registered HAN device %s at gateway %s (registration %s)",
        device_eui64,
        gateway.meter_number,
        registration.pk,
    )
    return registration


def _change_status(
    registration: DeviceRegistration,
    *,
    status: str,
    reason: str,
    by: AbstractBaseUser | None,
    action: str,
    join_window_expires_at: datetime | None = None,
) -> None:
    """Apply a status change already known to be allowed, and audit it. Caller holds the lock.

    Ending a registration deletes its install code and link key; the row and its audit stay.
    """
    previous = registration.get_status_display()
    registration.status = status
    registration.status_reason = reason
    registration.status_changed_at = timezone.now()
    if join_window_expires_at is not None:
        registration.join_window_expires_at = join_window_expires_at
    changed = [
        "status",
        "status_reason",
        "status_changed_at",
        "join_window_expires_at",
        "updated_at",
    ]
    keys_deleted = registration.is_ended and bool(
        registration.install_code_ciphertext or registration.link_key_ciphertext
    )
    if registration.is_ended:
        # An ended registration's device never joins again (and a new registration brings its
        # own code), so nothing needs these keys any more: kept, they could only leak.
        registration.install_code_ciphertext = ""
        registration.link_key_ciphertext = ""
        changed += ["install_code_ciphertext", "link_key_ciphertext"]
    registration.save(update_fields=changed)
    detail = f"{previous} → {registration.get_status_display()}"
    if join_window_expires_at is not None:
        detail += f", until {join_window_expires_at.isoformat()}"
    if reason:
        detail += f": {reason}"
    if keys_deleted:
        detail += " Its install code and link key were deleted."
    _audit(action, by=by, registration=registration, detail=detail)


def device_registration_mark(
    *,
    registration: DeviceRegistration,
    status: str,
    reason: str,
    by: AbstractBaseUser | None = None,
    join_window_expires_at: datetime | None = None,
) -> DeviceRegistration:
    """Move a registration along its lifecycle; ``registration`` is updated in place.

    Opening a join window sets its end (``join_window_expires_at``, default 24 hours from
    now). Raises ``InvalidStatusTransition`` when the lifecycle does not allow the change.
    """
    if status not in Status.values:
        raise InvalidStatusTransition(f"{status!r} is not a registration status.")
    now = timezone.now()
    if status == Status.JOIN_WINDOW_OPEN:
        join_window_expires_at = join_window_expires_at or now + DEFAULT_JOIN_WINDOW
        if join_window_expires_at <= now:
            raise InvalidStatusTransition("A join window must end in the future.")
    else:
        join_window_expires_at = None

    with transaction.atomic():
        # Decide from the stored status, not the caller's possibly stale copy.
        current = DeviceRegistration.objects.select_for_update().get(pk=registration.pk)
        if not current.can_change_to(status):
            raise InvalidStatusTransition(
                f"A registration that is {current.get_status_display().lower()} cannot become "
                f"{Status(status).label.lower()}."
            )
        action = {
            Status.JOIN_WINDOW_OPEN: Action.JOIN_WINDOW_OPENED,
            Status.REMOVED: Action.REMOVED,
            Status.DECOMMISSIONED: Action.DECOMMISSIONED,
        }.get(Status(status), Action.STATUS_CHANGED)
        _change_status(
            current,
            status=status,
            reason=reason,
            by=by,
            action=action,
            join_window_expires_at=join_window_expires_at,
        )
    for field_name in (
        "status",
        "status_reason",
        "status_changed_at",
        "join_window_expires_at",
        "updated_at",
        "install_code_ciphertext",
        "link_key_ciphertext",
    ):
        setattr(registration, field_name, getattr(current, field_name))
    return registration


def device_registration_remove(
    *,
    registration: DeviceRegistration,
    by: AbstractBaseUser | None,
    reason: str = "Removed by the utility.",
) -> DeviceRegistration:
    """End a registration (the device leaves the program). Removing twice changes nothing."""
    if registration.is_ended:
        return registration
    try:
        return device_registration_mark(
            registration=registration, status=Status.REMOVED, reason=reason, by=by
        )
    except InvalidStatusTransition:
        # Ended meanwhile by someone else: the outcome the caller wanted.
        registration.refresh_from_db()
        return registration


def device_registrations_decommission_for_gateway(
    *, premises_gateway: PremisesGateway, by: AbstractBaseUser | None, reason: str
) -> int:
    """End every live registration at a gateway (meter exchange); returns how many ended."""
    with transaction.atomic():
        live = list(
            DeviceRegistration.objects.select_for_update()
            .filter(premises_gateway=premises_gateway)
            .exclude(status__in=DeviceRegistration.ENDED_STATUSES)
        )
        for registration in live:
            _change_status(
                registration,
                status=Status.DECOMMISSIONED,
                reason=reason,
                by=by,
                action=Action.DECOMMISSIONED,
            )
    if live:
        logger.info(
            "Decommissioned %d registrations at gateway %s",
            len(live),
            premises_gateway.meter_number,
        )
    return len(live)


def device_registrations_expire_join_windows(*, now: datetime | None = None) -> int:
    """Mark registrations whose join window closed without a join as expired (periodic task)."""
    now = now or timezone.now()
    expired = 0
    for registration_id in selectors.device_registrations_join_window_lapsed(now=now).values_list(
        "id", flat=True
    ):
        with transaction.atomic():
            registration = (
                DeviceRegistration.objects.select_for_update()
                .filter(
                    pk=registration_id,
                    status=Status.JOIN_WINDOW_OPEN,
                    join_window_expires_at__lte=now,
                )
                .first()
            )
            # Joined or re-opened since the query: nothing to expire.
            if registration is None:
                continue
            _change_status(
                registration,
                status=Status.EXPIRED,
                reason="The join window closed before the device joined.",
                by=None,
                action=Action.STATUS_CHANGED,
            )
            expired += 1
    return expired


# --- Gateway credentials -----------------------------------------------------------------------


def _checked_secret(secret: str | None) -> str:
    if secret is None:
        return secrets.token_urlsafe(32)
    if secret != secret.strip() or not (
        MINIMUM_SECRET_LENGTH <= len(secret) <= MAXIMUM_SECRET_LENGTH
    ):
        raise GatewayCredentialError(
            f"A gateway secret must be {MINIMUM_SECRET_LENGTH} to {MAXIMUM_SECRET_LENGTH} "
            "characters with no surrounding spaces."
        )
    return secret


def gateway_credential_issue(
    *,
    premises_gateway: PremisesGateway,
    secret: str | None = None,
    by: AbstractBaseUser | None = None,
) -> str:
    """Issue the gateway's first credential and return its secret, the only time it is shown.

    Without ``secret`` a strong random one is made. The plaintext goes to the gateway service
    (whose configuration keeps only ``crypto.secret_sha256`` of it); the portal keeps it
    encrypted. Raises ``GatewayCredentialError`` if the gateway already has one.
    """
    secret = _checked_secret(secret)
    try:
        with transaction.atomic():
            if GatewayCredential.objects.filter(premises_gateway=premises_gateway).exists():
                raise GatewayCredentialError(
                    f"Meter {premises_gateway.meter_number} already has a credential; "
                    "rotate it instead."
                )
            credential = GatewayCredential.objects.create(
                premises_gateway=premises_gateway, secret_ciphertext=crypto.encrypt_text(secret)
            )
            _audit(
                Action.CREDENTIAL_ISSUED,
                by=by,
                premises_gateway=premises_gateway,
                detail=f"Credential version {credential.version} issued.",
            )
    except IntegrityError as error:
        raise GatewayCredentialError(
            f"Meter {premises_gateway.meter_number} was given a credential a moment ago."
        ) from error
    logger.info("Issued a gateway credential for %s", premises_gateway.meter_number)
    return secret


def gateway_credential_rotate(
    *,
    premises_gateway: PremisesGateway,
    secret: str | None = None,
    by: AbstractBaseUser | None = None,
) -> str:
    """Replace the gateway's secret and return the new one, the only time it is shown."""
    secret = _checked_secret(secret)
    with transaction.atomic():
        credential = (
            GatewayCredential.objects.select_for_update()
            .filter(premises_gateway=premises_gateway)
            .first()
        )
        if credential is None:
            raise GatewayCredentialError(
                f"Meter {premises_gateway.meter_number} has no credential to rotate; issue one."
            )
        credential.secret_ciphertext = crypto.encrypt_text(secret)
        credential.version += 1
        credential.rotated_at = timezone.now()
        credential.save(update_fields=["secret_ciphertext", "version", "rotated_at"])
        _audit(
            Action.CREDENTIAL_ROTATED,
            by=by,
            premises_gateway=premises_gateway,
            detail=f"Credential rotated to version {credential.version}.",
        )
    logger.info(
        "Rotated the gateway credential for %s to version %d",
        premises_gateway.meter_number,
        credential.version,
    )
    return secret


def encryption_key_rotation_record(*, detail: str, by: AbstractBaseUser | None = None) -> None:
    """Audit a run of ``rotate_encryption_key`` (counts only)."""
    _audit(Action.ENCRYPTION_KEY_ROTATED, by=by, detail=detail)


# --- Gateway service URLs ----------------------------------------------------------------------


def gateway_service_url_record(
    *, premises_gateway: PremisesGateway, previous_url: str, by: AbstractBaseUser | None
) -> None:
    """Audit a change of where the portal sends this gateway's credential (URLs hold no secret).

    The URL itself was validated by the model field's validator on the way in.
    """
    if previous_url == premises_gateway.service_url:
        return
    detail = (
        f"Service URL changed from {previous_url} to {premises_gateway.service_url}."
        if previous_url
        else f"Service URL set to {premises_gateway.service_url}."
    )
    _audit(Action.SERVICE_URL_CHANGED, by=by, premises_gateway=premises_gateway, detail=detail)
    logger.info("Gateway %s: %s", premises_gateway.meter_number, detail)
