"""Who is looking at a customer's HAN data, and so what they may see of it.

Built once, by ``han_viewer`` after the access check (and with the audit row by
``han_data_view_open``), then handed to every page, API answer, live stream, picture
and export that shows the data. Nothing re-derives it under another name.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from portal.access.roles import user_sees_technical_evidence
from portal.models import (
    Customer,
    HanDataAccess,
    Premise,
    User,
)


@dataclass(frozen=True)
class Viewer:
    """``staff``: works for the utility (or is its field technician), so is shown the technical
    evidence.

    ``sees_customer_han``: shown customer-owned devices in full (identifier, model, firmware):
    the customer themselves, or staff with the customer's consent. Otherwise those devices are
    shown by category and maker with a masked identifier.
    """

    staff: bool
    sees_customer_han: bool

    @property
    def masks_customer_han(self) -> bool:
        return not self.sees_customer_han


# Views of the same data by the same person within this time are one entry of the audit.
AUDIT_REPEAT_WINDOW = timedelta(minutes=10)

CUSTOMER = Viewer(staff=False, sees_customer_han=True)


def han_viewer(*, user: User | AnonymousUser, customer: Customer) -> Viewer:
    """The one rule: staff (and field technicians) see customer-owned devices in full only with
    the customer's consent."""
    staff = user_sees_technical_evidence(user)
    return Viewer(staff=staff, sees_customer_han=not staff or customer.customer_han_consent)


def han_data_view_open(
    *, user: User | AnonymousUser, customer: Customer, what: str, premise: Premise | None = None
) -> Viewer:
    """The step after the access check, for every page, API and stream of a customer's HAN data.

    Says who is looking (``Viewer``) and, for staff, writes the privacy audit entry.
    """
    viewer = han_viewer(user=user, customer=customer)
    if viewer.staff and isinstance(user, User):
        entry = {
            "user": user,
            "customer": customer,
            "premise": premise,
            "what": what[:120],
            "customer_han_shown": viewer.sees_customer_han,
        }
        # One view is one entry: the parts a page loads after it (its live stream, its
        # picture, a reconnect) and a reload soon after add nothing the entry does not say.
        since = timezone.now() - AUDIT_REPEAT_WINDOW
        if not HanDataAccess.objects.filter(**entry, at__gte=since).exists():
            HanDataAccess.objects.create(**entry)
    return viewer
