"""What the utility expects at a premise: its devices on record, approved models and thresholds,
the input the diagnosis compares a run against.
"""

from dataclasses import dataclass, field

from han_gateway.models import HanDevice
from portal.access.attribution import devices_of_premise
from portal.diagnosis.rules import ApprovedModel
from portal.models import (
    Premise,
)
from trust_center import selectors as trust_selectors
from trust_center.models import ApprovedDevice


@dataclass(frozen=True)
class PremiseExpectations:
    """What the utility expects on a premise's HAN, for the diagnosis."""

    utility_devices: list[HanDevice]
    customer_devices: list[HanDevice]
    approved: tuple[ApprovedModel, ...] = ()
    capacity: int | None = None
    registration_status: dict[str, str] = field(default_factory=dict)


def premise_expectations(*, premise: Premise) -> PremiseExpectations:
    """Devices on record (and registered with the Trust Center), approved list and capacity."""
    gateway = premise.premises_gateway
    if gateway is None:
        return PremiseExpectations([], [])
    devices = devices_of_premise(premise, HanDevice.objects.filter(premises_gateway=gateway))
    utility = [d for d in devices if d.network == HanDevice.Network.UTILITY]
    on_record = {d.eui64 for d in devices}
    registration_status = {}
    for registration in trust_selectors.device_registrations_for_premise(
        premises_gateway_id=gateway.pk, service_point_id=premise.service_point_id
    ):
        registration_status[registration.eui64] = registration.status
        if registration.eui64 not in on_record:
            utility.append(
                HanDevice(
                    premises_gateway=gateway,
                    eui64=registration.eui64,
                    category=registration.category,
                    network=HanDevice.Network.UTILITY,
                    manufacturer=registration.manufacturer,
                    model=registration.model,
                )
            )
    return PremiseExpectations(
        utility_devices=utility,
        customer_devices=[d for d in devices if d.network == HanDevice.Network.CUSTOMER],
        approved=tuple(
            ApprovedModel(item.manufacturer, item.model, item.minimum_firmware)
            for item in ApprovedDevice.objects.exclude(minimum_firmware="")
        ),
        capacity=trust_selectors.gateway_han_capacity(premises_gateway=gateway),
        registration_status=registration_status,
    )
