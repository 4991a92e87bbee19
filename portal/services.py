"""Writes for the portal's people and accounts."""

from collections.abc import Iterable

from django.db import transaction

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
