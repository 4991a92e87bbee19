"""What the utility expects at a premise: its devices on record, approved models and thresholds,
the input the diagnosis compares a run against.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from han_gateway.models import HanDevice
from portal.access.attribution import devices_of_premise
from portal.diagnosis.rules import ApprovedModel
from portal.models import ObservedDevice, Premise
from trust_center import selectors as trust_selectors
from trust_center.models import ApprovedDevice

# A device another meter's run found this long ago may still be there: long enough to span the
# days between a customer's calls, short enough that an old sighting does not mislead.
SEEN_ELSEWHERE_WITHIN = timedelta(days=30)


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
    devices = devices_of_premise(
        premise,
        HanDevice.objects.filter(premises_gateway=gateway).select_related("network_interface"),
    )
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
            ApprovedModel(
                item.manufacturer,
                item.model,
                minimum_ota_file_version=item.minimum_ota_file_version,
                minimum_firmware=item.minimum_firmware,
                ota_version_scheme=item.ota_version_scheme,
            )
            for item in ApprovedDevice.objects.filter(minimum_ota_file_version__isnull=False)
        ),
        capacity=trust_selectors.gateway_han_capacity(premises_gateway=gateway),
        registration_status=registration_status,
    )


def device_interface(device: HanDevice) -> str:
    """The HAN interface the records put the device on; blank when they do not say."""
    interface = device.network_interface if device.network_interface_id else None
    return interface.identifier if interface is not None else ""


def seen_at_other_meters(
    *, premises_gateway_id: int, eui64s: Iterable[str], within: timedelta = SEEN_ELSEWHERE_WITHIN
) -> dict[str, str]:
    """Where recent runs at other meters found these devices as strangers (not on those
    meters' records), newest first, in words ("meter MTR-100003 on 2 Dec 2026"): the
    cross-check that tells a device joined to a neighbour's meter from a missing one."""
    wanted = set(eui64s)
    if not wanted:
        return {}
    sightings = (
        # Only where it was a stranger: a meter whose own records hold the device is no evidence.
        ObservedDevice.objects.filter(
            eui64__in=wanted, registered=False, run__finished_at__gte=timezone.now() - within
        )
        .exclude(run__premise__premises_gateway_id=premises_gateway_id)
        .order_by("-run__finished_at")
        .values_list("eui64", "run__premise__premises_gateway__meter_number", "run__finished_at")
    )
    seen: dict[str, str] = {}
    for eui64, meter_number, finished_at in sightings[: len(wanted) * 4]:
        if eui64 not in seen and meter_number:
            when = timezone.localtime(finished_at)
            seen[eui64] = f"meter {meter_number} on {when.day} {when:%b %Y}"
    return seen


def last_known_parents(*, premise: Premise, eui64s: Iterable[str], before: int) -> dict[str, str]:
    """Each device's parent as the premise's latest earlier run (id below ``before``) that placed
    it found it: the meter's map of who joined through whom, which a real radio does not keep
    across a restart, for devices this run could not place (behind a router that is silent)."""
    wanted = set(eui64s)
    if not wanted:
        return {}
    placed = (
        ObservedDevice.objects.filter(run__premise=premise, run_id__lt=before, eui64__in=wanted)
        .order_by("-run_id")
        .values_list("eui64", "details__parent")
    )
    parents: dict[str, str] = {}
    for eui64, parent in placed[: len(wanted) * 8]:
        if eui64 not in parents and isinstance(parent, str) and parent:
            parents[eui64] = parent
    return parents
