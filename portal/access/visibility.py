"""Which customers and premises a user may see: the one rule the pages, the API and the live
stream use."""

from datetime import timedelta
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from han_gateway.models import NetworkInterface
from portal.access.attribution import with_premises_on_gateway
from portal.models import Customer, Premise, User, WorkOrder

_Row = TypeVar("_Row", bound=Model)


# A field technician keeps the premise of a finished work order this long, to read the result
# they left behind; then it is gone from their view.
INSTALLER_ACCESS_AFTER_DONE = timedelta(hours=24)


def work_order_premises(user: User) -> QuerySet[WorkOrder, Any]:
    """The premises (``premise_id``) of ``user``'s work orders: open ones, and ones finished
    within ``INSTALLER_ACCESS_AFTER_DONE``."""
    recent = timezone.now() - INSTALLER_ACCESS_AFTER_DONE
    return WorkOrder.objects.filter(
        Q(status=WorkOrder.Status.OPEN) | Q(completed_at__gte=recent), installer=user
    ).values("premise_id")


def visible_to(
    user: User | AnonymousUser,
    rows: QuerySet[_Row],
    *,
    account_users: str,
    work_order_premise: str | None = None,
) -> QuerySet[_Row]:
    """``rows`` as ``user`` may see them: reps and admins all, a customer those of the accounts
    linked to them (``account_users``, the lookup from a row to its account's users), a field
    technician those at the premises of their work orders (``work_order_premise``, the lookup
    from a row to its premise's id; none where it is not given), anyone signed out or
    deactivated none."""
    if not isinstance(user, User) or not user.is_active:
        return rows.none()
    if user.works_for_utility:
        return rows
    if user.is_installer:
        if work_order_premise is None:
            return rows.none()
        return rows.filter(**{f"{work_order_premise}__in": work_order_premises(user)})
    return rows.filter(**{account_users: user})


def customers_visible_to(user: User | AnonymousUser) -> QuerySet[Customer]:
    return visible_to(user, Customer.objects.all(), account_users="users")


def premises_visible_to(user: User | AnonymousUser) -> QuerySet[Premise]:
    return visible_to(
        user, Premise.objects.all(), account_users="customer__users", work_order_premise="pk"
    )


def customer_get_for_user(*, user: User | AnonymousUser, customer_id: int) -> Customer | None:
    return customers_visible_to(user).filter(pk=customer_id).first()


def premise_get_for_user(*, user: User | AnonymousUser, premise_id: int) -> Premise | None:
    return (
        with_premises_on_gateway(premises_visible_to(user))
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


def premise_or_404(*, user: User | AnonymousUser, premise_id: int) -> Premise:
    premise = premise_get_for_user(user=user, premise_id=premise_id)
    if premise is None:
        raise Http404("No such premise.")
    return premise
