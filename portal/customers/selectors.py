"""Reads, and the one access rule for each object every view, API and consumer goes through."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import F, Prefetch, QuerySet, Value
from django.db.models.functions import Replace
from django.utils.translation import gettext_noop

from han_gateway.eui64 import mask_eui64
from han_gateway.models import HanDevice, NetworkInterface
from portal.access.attribution import (
    devices_of_premise,
    with_premises_on_gateway,
)
from portal.access.roles import user_works_for_utility
from portal.access.viewers import Viewer
from portal.access.visibility import customers_visible_to, premises_visible_to
from portal.models import (
    Customer,
    Premise,
    User,
)

SEARCH_RESULTS_LIMIT = 50


# A term thousands of customers share would otherwise sort them all to show fifty.
SEARCH_CANDIDATES_PER_FIELD = 500


# What a phone number is written with besides its digits; PHONE_DIGITS takes them out, and
# the index customer_phone_digits_idx (portal migration 0001) is on the very same expression.
PHONE_PUNCTUATION = ("-", " ", "(", ")", ".", "+")
PHONE_LIKE = re.compile(r"[\d\s().+-]+")
# Fewer digits than this match too many numbers to be worth a look.
MIN_PHONE_DIGITS = 7
MIN_METER_DIGITS = 4


def phone_digits(expression: Any) -> Any:
    """The phone number with its punctuation taken out, as SQL."""
    for mark in PHONE_PUNCTUATION:
        expression = Replace(expression, Value(mark), Value(""))
    return expression


def customer_search(*, user: User | AnonymousUser, query: str) -> QuerySet[Customer]:
    """Customers matching a name, account number, address, service point, meter number (whole,
    its start, or digits from it), phone number (however it is punctuated) or email address.

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
    digits = re.sub(r"\D", "", query)
    if "@" in query:
        by_field.append(customers.filter(email__istartswith=query).values_list("pk", flat=True))
    if query.isdigit() and len(query) >= MIN_METER_DIGITS:
        # Meters are read out by their digits: "100002" for MTR-100002.
        by_field.append(
            premises.filter(premises_gateway__meter_number__icontains=query).values_list(
                "customer_id", flat=True
            )
        )
    if PHONE_LIKE.fullmatch(query) and len(digits) >= MIN_PHONE_DIGITS:
        # "(217) 555-0102", "217.555.0102" and "+1 217 555 0102" are one number.
        national = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
        numbers = customers.annotate(phone_digits=phone_digits(F("phone")))
        for prefix in (national, "1" + national):
            by_field.append(
                numbers.filter(phone_digits__startswith=prefix).values_list("pk", flat=True)
            )
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


def customer_premises(*, customer: Customer) -> QuerySet[Premise]:
    """The customer's premises with their gateways, interfaces and devices on record.

    The same few queries for one premise or many: ``premise_han_devices`` then reads the
    devices from here instead of querying for each premise.
    """
    return (
        with_premises_on_gateway(customer.premises.select_related("premises_gateway"))
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


# Whose device it is, as the customer says it (pages translate it).
CUSTOMER_NETWORK_WORDS = {
    HanDevice.Network.UTILITY: gettext_noop("The utility's"),
    HanDevice.Network.CUSTOMER: gettext_noop("Your own device"),
}


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
    devices = devices_of_premise(premise, devices)
    shown = []
    for device in devices:
        masked = viewer.masks_customer_han and device.network == HanDevice.Network.CUSTOMER
        shown.append(
            DeviceForViewer(
                eui64=mask_eui64(device.eui64) if masked else device.eui64,
                masked=masked,
                network=device.network,
                network_label=(
                    str(device.get_network_display())
                    if viewer.staff
                    else CUSTOMER_NETWORK_WORDS[HanDevice.Network(device.network)]
                ),
                category_label=device.get_category_display(),
                manufacturer=device.manufacturer,
                model="" if masked else device.model,
                firmware_version="" if masked else device.firmware_version,
            )
        )
    return shown
