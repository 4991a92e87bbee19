"""Which customers and premises a user may see: the one rule the pages, the API and the live
stream use."""

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from han_gateway.models import NetworkInterface
from portal.access.attribution import with_premises_on_gateway
from portal.models import (
    Customer,
    Premise,
    User,
)


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
