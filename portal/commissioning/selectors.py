"""Reading a premise's device registrations as a user may see them."""

from django.contrib.auth.models import AnonymousUser

from portal.access.visibility import premises_visible_to
from portal.models import (
    Premise,
    User,
)
from trust_center import selectors as trust_selectors
from trust_center.models import DeviceRegistration


def premise_registrations(*, premise: Premise) -> list[DeviceRegistration]:
    if premise.premises_gateway_id is None:
        return []
    return list(
        trust_selectors.device_registrations_for_premise(
            premises_gateway_id=premise.premises_gateway_id,
            service_point_id=premise.service_point_id,
        )
    )


def registration_get_for_user(
    *, user: User | AnonymousUser, registration_id: int
) -> tuple[DeviceRegistration, Premise] | None:
    """A registration with the premise it serves, if the user may see that premise."""
    registration = DeviceRegistration.objects.filter(pk=registration_id).first()
    if registration is None:
        return None
    premise = (
        premises_visible_to(user)
        .filter(
            premises_gateway_id=registration.premises_gateway_id,
            service_point_id=registration.service_point_id,
        )
        .select_related("customer", "premises_gateway")
        .first()
    )
    return None if premise is None else (registration, premise)
