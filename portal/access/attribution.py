"""Which devices a scan found belong to the premise under test.

A meter's HAN is its premise's. A pole-top Premises Gateway may serve several premises of
different customers on one HAN, and its scan reports every device on it: a run keeps only what
belongs to its own premise. The rules, in order (docs/SECURITY.md):

1. a device the utility has on record or registered with the Trust Center for this premise's
   service point belongs here; one on record or registered for another service point of the
   gateway belongs there;
2. a device of no known premise on a gateway that serves only this premise belongs here;
3. on a shared gateway, a device of no known premise belongs where its parent belongs: a child
   joins through the router nearest to it, so a device whose route runs through this premise's
   router is in this premise's radio range, and one that hangs off a neighbour's router is in
   theirs; children of such devices follow them in turn;
4. anything else on a shared gateway (a device of no known premise joined straight to the
   gateway, or to another such device) cannot be attributed and is left out: it is neither
   stored, nor shown, nor diagnosed at this premise.

Plain data in, plain data out: no ORM here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, QuerySet, Subquery

from han_gateway.models import HanDevice
from han_gateway.protocol import DeviceReport
from portal.models import (
    Premise,
)
from trust_center import selectors as trust_selectors

# The annotation ``customer_premises`` puts on each premise: how many premises share its gateway.
PREMISES_ON_GATEWAY = "premises_on_gateway"


class Placement(enum.Enum):
    HERE = "here"
    ELSEWHERE = "elsewhere"
    UNATTRIBUTED = "unattributed"


@dataclass(frozen=True)
class PremiseOwnership:
    """What the utility's records say about the devices on a premise's gateway."""

    shared: bool
    here: frozenset[str] = frozenset()
    elsewhere: frozenset[str] = frozenset()

    def on_record(self, eui64: str) -> Placement | None:
        if eui64 in self.here:
            return Placement.HERE
        if eui64 in self.elsewhere:
            return Placement.ELSEWHERE
        if not self.shared:
            return Placement.HERE
        return None


def device_serves_premise(
    device_service_point: str, premise_service_point: str, *, shared: bool
) -> bool:
    """Whether a device on record at a gateway serves this premise.

    A device on record without a service point belongs to its gateway's premise, which is only
    one premise when the gateway is not shared.
    """
    if device_service_point:
        return device_service_point == premise_service_point
    return not shared


@dataclass
class InterfaceAttribution:
    """Places each device one interface's scan reports, as early as the evidence allows.

    A device on record is placed as it arrives, so it is shown live; a device of no known
    premise on a shared gateway waits for the end of the scan, when its parent is known.
    """

    ownership: PremiseOwnership
    coordinator: str | None = None
    placed: dict[str, Placement] = field(default_factory=dict)
    waiting: dict[str, str | None] = field(default_factory=dict)

    def arrive(self, eui64: str, parent: str | None) -> Placement | None:
        """Where the device belongs, or None while that depends on the rest of the scan."""
        placement = self.ownership.on_record(eui64)
        if placement is None:
            self.waiting[eui64] = parent
            return None
        self.placed[eui64] = placement
        return placement

    def settle(self) -> dict[str, Placement]:
        """Place every waiting device by its parent chain; returns their placements."""
        settled: dict[str, Placement] = {}
        changed = True
        while changed:
            changed = False
            for eui64, parent in list(self.waiting.items()):
                placement = self.placed.get(parent) if parent is not None else None
                if placement is None or placement is Placement.UNATTRIBUTED:
                    continue
                self.placed[eui64] = settled[eui64] = placement
                del self.waiting[eui64]
                changed = True
        for eui64 in self.waiting:
            self.placed[eui64] = settled[eui64] = Placement.UNATTRIBUTED
        self.waiting.clear()
        return settled

    def kept(self) -> frozenset[str]:
        return frozenset(e for e, p in self.placed.items() if p is Placement.HERE)

    def without_other_premises(self, report: DeviceReport) -> DeviceReport:
        """A device's report with the links and parent that lead out of this premise removed.

        On a shared gateway a device's neighbour table also lists the neighbours' devices; their
        EUI-64s must not be stored with this premise's run. Links to devices not (yet) placed
        here are left out; the gateway's own coordinator stays.
        """
        if not self.ownership.shared:
            return report
        allowed = self.kept() | ({self.coordinator} if self.coordinator else set())
        return report.model_copy(
            update={
                "parent": report.parent if report.parent in allowed else None,
                "links": [link for link in report.links if link.neighbor in allowed],
            }
        )


def gateway_premise_count(*, premise: Premise) -> int:
    """How many premises the premise's gateway serves: more than one on a shared pole-top."""
    if premise.premises_gateway_id is None:
        return 0
    count = getattr(premise, PREMISES_ON_GATEWAY, None)  # from customer_premises
    if count is None:
        count = Premise.objects.filter(premises_gateway_id=premise.premises_gateway_id).count()
    return int(count)


def devices_of_premise(premise: Premise, devices: Iterable[HanDevice]) -> list[HanDevice]:
    """The gateway's devices on record that serve this premise (a pole-top serves several)."""
    shared = gateway_premise_count(premise=premise) > 1
    return [
        device
        for device in devices
        if device_serves_premise(device.service_point_id, premise.service_point_id, shared=shared)
    ]


def premise_device_ownership(*, premise: Premise) -> PremiseOwnership:
    """Which devices on the premise's gateway the records place here, and which elsewhere."""
    shared = gateway_premise_count(premise=premise) > 1
    if premise.premises_gateway_id is None or not shared:
        return PremiseOwnership(shared=False)
    here: set[str] = set()
    elsewhere: set[str] = set()
    on_record = HanDevice.objects.filter(premises_gateway_id=premise.premises_gateway_id)
    for eui64, service_point_id in on_record.values_list("eui64", "service_point_id"):
        if service_point_id == premise.service_point_id:
            here.add(eui64)
        elif service_point_id:
            elsewhere.add(eui64)
    registered = trust_selectors.device_registrations_for_gateway(
        premises_gateway_id=premise.premises_gateway_id
    )
    for eui64, service_point_id in registered.values_list("eui64", "service_point_id"):
        (here if service_point_id == premise.service_point_id else elsewhere).add(eui64)
    return PremiseOwnership(
        shared=True, here=frozenset(here), elsewhere=frozenset(elsewhere - here)
    )


def with_premises_on_gateway(premises: QuerySet[Premise]) -> QuerySet[Premise]:
    on_same_gateway = (
        Premise.objects.filter(premises_gateway_id=OuterRef("premises_gateway_id"))
        .order_by()
        .values("premises_gateway_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return premises.annotate(**{PREMISES_ON_GATEWAY: Subquery(on_same_gateway)})
