"""Which customers and premises a user may see: the one rule the pages, the API and the live
stream use."""

from typing import TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, Prefetch, QuerySet
from django.http import Http404

from han_gateway.models import NetworkInterface
from portal.access.attribution import with_premises_on_gateway
from portal.models import Customer, Premise, User

_Row = TypeVar("_Row", bound=Model)


def visible_to(
    user: User | AnonymousUser, rows: QuerySet[_Row], *, account_users: str
) -> QuerySet[_Row]:
    """``rows`` as ``user`` may see them: reps and admins all, a customer those of the accounts
    linked to them (``account_users``, the lookup from a row to its account's users), anyone
    signed out or deactivated none."""
    if not isinstance(user, User) or not user.is_active:
        return rows.none()
    if user.works_for_utility:
        return rows
    return rows.filter(**{account_users: user})


def customers_visible_to(user: User | AnonymousUser) -> QuerySet[Customer]:
    return visible_to(user, Customer.objects.all(), account_users="users")


def premises_visible_to(user: User | AnonymousUser) -> QuerySet[Premise]:
    return visible_to(user, Premise.objects.all(), account_users="customer__users")


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
