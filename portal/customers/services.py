"""Writes for the portal's people and accounts."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from portal.models import Customer, User


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: User.Role,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    customer_accounts: Iterable[Customer] = (),
) -> User:
    """Create a user of one role; administrators get the Django admin, nobody else does."""
    is_administrator = role == User.Role.ADMINISTRATOR
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        is_staff=is_administrator,
        is_superuser=is_administrator,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    accounts = list(customer_accounts)
    if accounts:
        if role != User.Role.CUSTOMER:
            raise ValueError("Only customer users are linked to customer accounts.")
        user.customer_accounts.set(accounts)
    return user


def customer_han_consent_set(*, customer: Customer, user: User, consent: bool) -> Customer:
    """The customer decides whether staff may see their own devices in full."""
    if user.works_for_utility or not user.customer_accounts.filter(pk=customer.pk).exists():
        raise PermissionError("Only the account holder can give or withdraw this consent.")
    customer.customer_han_consent = consent
    customer.customer_han_consent_changed_at = timezone.now()
    customer.save(update_fields=["customer_han_consent", "customer_han_consent_changed_at"])
    return customer


def customer_language_set(*, customer: Customer, user: User, language: str) -> Customer:
    """The account holder chooses the language of their pages and of what is sent to them."""
    if user.works_for_utility or not user.customer_accounts.filter(pk=customer.pk).exists():
        raise PermissionError("Only the account holder can choose the account's language.")
    if language not in Customer.Language.values:
        raise ValueError(f"Not a language the portal speaks: {language!r}.")
    customer.language = language
    customer.save(update_fields=["language"])
    return customer
