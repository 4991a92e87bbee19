"""Reads, and the one access rule for each object every view, API and consumer goes through."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery

from han_gateway.eui64 import mask_eui64
from han_gateway.models import HanDevice, NetworkInterface
from portal.attribution import PremiseOwnership, device_serves_premise
from portal.diagnosis import ApprovedModel
from portal.models import (
    Customer,
    DiagnosisReview,
    Finding,
    HanTestCase,
    HanTestRun,
    Premise,
    RecordedAction,
    User,
)
from portal.viewers import Viewer
from trust_center import selectors as trust_selectors
from trust_center.models import ApprovedDevice, DeviceRegistration

SEARCH_RESULTS_LIMIT = 50
# A term thousands of customers share would otherwise sort them all to show fifty.
SEARCH_CANDIDATES_PER_FIELD = 500


def user_works_for_utility(user: User | AnonymousUser) -> bool:
    return isinstance(user, User) and user.works_for_utility


def customers_visible_to(user: User | AnonymousUser) -> QuerySet[Customer]:
    """Reps and admins see every customer; a customer sees the accounts linked to them."""
    if not isinstance(user, User) or not user.is_active:
        return Customer.objects.none()
    if user.works_for_utility:
        return Customer.objects.all()
    return Customer.objects.filter(users=user)


def premises_visible_to(user: User | AnonymousUser) -> QuerySet[Premise]:
    if not isinstance(user, User) or not user.is_active:
        return Premise.objects.none()
    if user.works_for_utility:
        return Premise.objects.all()
    return Premise.objects.filter(customer__users=user)


def customer_get_for_user(*, user: User | AnonymousUser, customer_id: int) -> Customer | None:
    return customers_visible_to(user).filter(pk=customer_id).first()


def premise_get_for_user(*, user: User | AnonymousUser, premise_id: int) -> Premise | None:
    return (
        _with_premises_on_gateway(premises_visible_to(user))
        .select_related("customer", "premises_gateway")
        .prefetch_related(
            Prefetch(
                "premises_gateway__interfaces",
                queryset=NetworkInterface.objects.order_by("identifier"),
            )
        )
        .filter(pk=premise_id)
        .first()
    )


def customer_search(*, user: User | AnonymousUser, query: str) -> QuerySet[Customer]:
    """Customers matching a name, account number, address, service point or meter number.

    One query per field, each answered by that field's index (trigram or prefix, on
    PostgreSQL) and stopped after ``SEARCH_CANDIDATES_PER_FIELD`` matches; then the candidates
    in name order. One OR across the joined tables could use no index: seconds at a million
    customers. When a field matches more customers than that (a common surname, a street), the
    fifty shown are in name order but drawn from the candidates found first, and the page says
    to narrow the search.
    """
    query = " ".join(query.split())
    if not query or not user_works_for_utility(user):
        return Customer.objects.none()
    customers = customers_visible_to(user).order_by()
    premises = premises_visible_to(user).order_by()
    by_field = [
        customers.filter(name__icontains=query).values_list("pk", flat=True),
        customers.filter(account_number__istartswith=query).values_list("pk", flat=True),
        premises.filter(address_line__icontains=query).values_list("customer_id", flat=True),
        premises.filter(service_point_id__iexact=query).values_list("customer_id", flat=True),
        premises.filter(premises_gateway__meter_number__istartswith=query).values_list(
            "customer_id", flat=True
        ),
    ]
    candidates: set[int] = set()
    for matches in by_field:
        candidates.update(matches[:SEARCH_CANDIDATES_PER_FIELD])
    return (
        Customer.objects.filter(pk__in=candidates)
        .prefetch_related(
            Prefetch(
                "premises",
                queryset=Premise.objects.select_related("premises_gateway").order_by(
                    "address_line"
                ),
            )
        )
        .order_by("name", "account_number")[:SEARCH_RESULTS_LIMIT]
    )


# Where customer_premises leaves each gateway's devices for premise_han_devices.
DEVICES_ON_RECORD = "devices_on_record"
# Where customer_premises leaves how many premises each premise's gateway serves.
PREMISES_ON_GATEWAY = "premises_on_gateway"


def _with_premises_on_gateway(premises: QuerySet[Premise]) -> QuerySet[Premise]:
    on_same_gateway = (
        Premise.objects.filter(premises_gateway_id=OuterRef("premises_gateway_id"))
        .order_by()
        .values("premises_gateway_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return premises.annotate(**{PREMISES_ON_GATEWAY: Subquery(on_same_gateway)})


def customer_premises(*, customer: Customer) -> QuerySet[Premise]:
    """The customer's premises with their gateways, interfaces and devices on record.

    The same few queries for one premise or many: ``premise_han_devices`` then reads the
    devices from here instead of querying for each premise.
    """
    return (
        _with_premises_on_gateway(customer.premises.select_related("premises_gateway"))
        .prefetch_related(
            Prefetch(
                "premises_gateway__interfaces",
                queryset=NetworkInterface.objects.order_by("identifier"),
            ),
            Prefetch(
                "premises_gateway__devices",
                queryset=HanDevice.objects.order_by("network", "category", "eui64"),
                to_attr=DEVICES_ON_RECORD,
            ),
        )
        .order_by("address_line")
    )


@dataclass(frozen=True)
class DeviceForViewer:
    """A HAN device as one viewer may see it: Customer HAN identifiers are masked for staff."""

    eui64: str
    masked: bool
    network: str
    network_label: str
    category_label: str
    manufacturer: str
    model: str
    firmware_version: str


def han_viewer(*, user: User | AnonymousUser, customer: Customer) -> Viewer:
    """The one rule: staff see customer-owned devices in full only with the customer's consent."""
    staff = user_works_for_utility(user)
    return Viewer(staff=staff, sees_customer_han=not staff or customer.customer_han_consent)


def premise_han_devices(*, viewer: Viewer, premise: Premise) -> list[DeviceForViewer]:
    """The devices on the premise's HAN, with customer-owned devices masked for staff.

    A pole-top gateway serves several premises; its devices carry the service point they serve.
    """
    if premise.premises_gateway_id is None:
        return []
    devices: Iterable[HanDevice]
    gateway = premise.premises_gateway if Premise.premises_gateway.is_cached(premise) else None
    if gateway is not None and hasattr(gateway, DEVICES_ON_RECORD):  # from customer_premises
        devices = getattr(gateway, DEVICES_ON_RECORD)
    else:
        devices = HanDevice.objects.filter(
            premises_gateway_id=premise.premises_gateway_id
        ).order_by("network", "category", "eui64")
    devices = _devices_of_premise(premise, devices)
    shown = []
    for device in devices:
        masked = viewer.masks_customer_han and device.network == HanDevice.Network.CUSTOMER
        shown.append(
            DeviceForViewer(
                eui64=mask_eui64(device.eui64) if masked else device.eui64,
                masked=masked,
                network=device.network,
                network_label=device.get_network_display(),
                category_label=device.get_category_display(),
                manufacturer=device.manufacturer,
                model="" if masked else device.model,
                firmware_version="" if masked else device.firmware_version,
            )
        )
    return shown


@dataclass(frozen=True)
class PremiseExpectations:
    """What the utility expects on a premise's HAN, for the diagnosis."""

    utility_devices: list[HanDevice]
    customer_devices: list[HanDevice]
    approved: tuple[ApprovedModel, ...] = ()
    capacity: int | None = None
    registration_status: dict[str, str] = field(default_factory=dict)


def gateway_premise_count(*, premise: Premise) -> int:
    """How many premises the premise's gateway serves: more than one on a shared pole-top."""
    if premise.premises_gateway_id is None:
        return 0
    count = getattr(premise, PREMISES_ON_GATEWAY, None)  # from customer_premises
    if count is None:
        count = Premise.objects.filter(premises_gateway_id=premise.premises_gateway_id).count()
    return int(count)


def _devices_of_premise(premise: Premise, devices: Iterable[HanDevice]) -> list[HanDevice]:
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


def premise_expectations(*, premise: Premise) -> PremiseExpectations:
    """Devices on record (and registered with the Trust Center), approved list and capacity."""
    gateway = premise.premises_gateway
    if gateway is None:
        return PremiseExpectations([], [])
    devices = _devices_of_premise(premise, HanDevice.objects.filter(premises_gateway=gateway))
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


def runs_visible_to(user: User | AnonymousUser) -> QuerySet[HanTestRun]:
    if not isinstance(user, User) or not user.is_active:
        return HanTestRun.objects.none()
    if user.works_for_utility:
        # No premise subquery: the history walks an index on the runs alone.
        return HanTestRun.objects.all()
    return HanTestRun.objects.filter(premise__customer__users=user)


def user_is_administrator(user: User | AnonymousUser) -> bool:
    return isinstance(user, User) and user.is_active and user.role == User.Role.ADMINISTRATOR


def run_get_for_user(*, user: User | AnonymousUser, run_id: int) -> HanTestRun | None:
    return (
        runs_visible_to(user)
        .select_related("case", "premise__customer", "premise__premises_gateway", "started_by")
        .filter(pk=run_id)
        .first()
    )


def premise_active_run(*, premise: Premise) -> HanTestRun | None:
    return HanTestRun.objects.filter(premise=premise, status__in=HanTestRun.ACTIVE).first()


def premise_recent_runs(*, premise: Premise, limit: int = 10) -> QuerySet[HanTestRun]:
    return (
        HanTestRun.objects.filter(premise=premise)
        .select_related("case", "started_by")
        .order_by("-created_at")[:limit]
    )


def case_runs(*, case: HanTestCase) -> QuerySet[HanTestRun]:
    return case.runs.select_related("started_by").order_by("number")


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    who: str
    what: str
    run_id: int | None = None


def _name(user: User | None) -> str:
    if user is None:
        return "(removed user)"
    return user.get_full_name() or user.username


def case_timeline(*, case: HanTestCase) -> list[TimelineEvent]:
    """Who did what in a case, oldest first: opened, runs, actions, reviews. Four queries."""
    events = [TimelineEvent(case.opened_at, _name(case.opened_by), "opened the case")]
    runs = list(case.runs.select_related("started_by").order_by("number"))
    for run in runs:
        events.append(
            TimelineEvent(
                run.created_at, _name(run.started_by), f"started run {run.number}", run.pk
            )
        )
        if run.finished_at is not None:
            events.append(
                TimelineEvent(
                    run.finished_at,
                    "HAN test tool",
                    f"finished run {run.number}: {run.get_status_display().lower()}",
                    run.pk,
                )
            )
    for action in RecordedAction.objects.filter(run__case=case).select_related(
        "recorded_by", "run"
    ):
        note = f" ({action.note})" if action.note else ""
        events.append(
            TimelineEvent(
                action.recorded_at,
                _name(action.recorded_by),
                f"recorded after run {action.run.number}: {action.action_label}{note}",
                action.run_id,
            )
        )
    for review in DiagnosisReview.objects.filter(finding__run__case=case).select_related(
        "reviewed_by", "finding__run"
    ):
        events.append(
            TimelineEvent(
                review.reviewed_at,
                _name(review.reviewed_by),
                f"judged “{review.finding.title}” {review.get_verdict_display().lower()}",
                review.finding.run_id,
            )
        )
    if case.resolved_at is not None:
        events.append(TimelineEvent(case.resolved_at, "HAN test tool", "resolved the case"))
    return sorted(events, key=lambda event: event.at)


def run_findings_for_review(*, run: HanTestRun) -> list[Finding]:
    return list(run.findings.select_related("review__reviewed_by").order_by("position"))


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
