"""Reads from the Trust Center, including the only places secrets are decrypted."""

from datetime import datetime

from django.db.models import Q, QuerySet

from han_gateway.models import PremisesGateway
from trust_center import crypto
from trust_center.models import (
    DEFAULT_HAN_CAPACITY,
    ApprovedDevice,
    DeviceRegistration,
    GatewayCredential,
    GatewayModelCapacity,
    KeyAuditEvent,
)


def device_registrations_for_premise(
    *, premises_gateway_id: int, service_point_id: str, include_ended: bool = False
) -> QuerySet[DeviceRegistration]:
    """A premise's registrations at its gateway, oldest first; removed ones only on request.

    A pole-top gateway serves several premises, so the service point narrows it to one.
    """
    registrations = DeviceRegistration.objects.filter(
        premises_gateway_id=premises_gateway_id, service_point_id=service_point_id
    ).select_related("premises_gateway", "han_device")
    if not include_ended:
        registrations = registrations.exclude(status__in=DeviceRegistration.ENDED_STATUSES)
    return registrations.order_by("created_at", "id")


def device_registrations_for_gateway(
    *, premises_gateway_id: int, include_ended: bool = False
) -> QuerySet[DeviceRegistration]:
    registrations = DeviceRegistration.objects.filter(premises_gateway_id=premises_gateway_id)
    if not include_ended:
        registrations = registrations.exclude(status__in=DeviceRegistration.ENDED_STATUSES)
    return registrations.order_by("service_point_id", "created_at", "id")


def device_registration_active_get(
    *, premises_gateway_id: int, eui64: str
) -> DeviceRegistration | None:
    """The live registration of a device at a gateway, if any. ``eui64`` in canonical form."""
    return (
        DeviceRegistration.objects.filter(premises_gateway_id=premises_gateway_id, eui64=eui64)
        .exclude(status__in=DeviceRegistration.ENDED_STATUSES)
        .first()
    )


def device_registration_link_key(*, registration: DeviceRegistration) -> bytes:
    """The 16-byte link key, decrypted: for handing to the gateway when opening a join window.

    Refuses for a removed or decommissioned registration: its device must not join.
    """
    if registration.is_ended:
        raise ValueError(
            f"The registration of {registration.eui64} is {registration.get_status_display()}; "
            "its key is no longer handed out."
        )
    return crypto.decrypt_bytes(registration.link_key_ciphertext)


def device_registrations_join_window_lapsed(*, now: datetime) -> QuerySet[DeviceRegistration]:
    """Registrations whose join window has closed without the device joining."""
    return DeviceRegistration.objects.filter(
        status=DeviceRegistration.Status.JOIN_WINDOW_OPEN, join_window_expires_at__lte=now
    )


def gateway_secret_get(*, premises_gateway: PremisesGateway) -> str | None:
    """The secret to present to the gateway's HAN service, or None when none was issued."""
    ciphertext = (
        GatewayCredential.objects.filter(premises_gateway=premises_gateway)
        .values_list("secret_ciphertext", flat=True)
        .first()
    )
    if ciphertext is None:
        return None
    return crypto.decrypt_text(ciphertext)


def gateway_han_capacity(*, premises_gateway: PremisesGateway) -> int:
    """How many Utility HAN devices the gateway's model takes.

    A row for the gateway's manufacturer wins over one for any manufacturer; an unlisted
    model gets ``DEFAULT_HAN_CAPACITY``.
    """
    candidates = GatewayModelCapacity.objects.filter(
        Q(manufacturer="") | Q(manufacturer__iexact=premises_gateway.manufacturer),
        gateway_model__iexact=premises_gateway.model,
    )
    best = sorted(candidates, key=lambda capacity: capacity.manufacturer == "")
    return best[0].max_devices if best else DEFAULT_HAN_CAPACITY


def gateway_han_devices_registered(*, premises_gateway: PremisesGateway) -> int:
    """Registrations that hold a place in the gateway's key table (all of its premises)."""
    return DeviceRegistration.objects.filter(
        premises_gateway=premises_gateway, status__in=DeviceRegistration.OCCUPYING_STATUSES
    ).count()


def approved_device_list_in_force() -> bool:
    """The approved list is enforced only once the utility has entered something in it."""
    return ApprovedDevice.objects.exists()


def approved_device_find(*, manufacturer: str, model: str) -> ApprovedDevice | None:
    return ApprovedDevice.objects.filter(
        manufacturer__iexact=manufacturer.strip(), model__iexact=model.strip()
    ).first()


def key_audit_events_for_gateway(*, premises_gateway_id: int) -> QuerySet[KeyAuditEvent]:
    return KeyAuditEvent.objects.filter(premises_gateway_id=premises_gateway_id).select_related(
        "actor"
    )
