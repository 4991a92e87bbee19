"""Which language a person reads the portal in."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from portal.models import User


def user_language(user: User | AnonymousUser | None) -> str | None:
    """A customer's language is their account's (the first account, when they have several);
    the utility's staff and field technicians read English. None: not known from the user
    (signed out, or a customer not linked to an account yet), so the browser's choice applies.
    """
    if not isinstance(user, User) or not user.is_active:
        return None
    if user.works_for_utility or user.role != User.Role.CUSTOMER:
        return settings.LANGUAGE_CODE
    language: str | None = (
        user.customer_accounts.order_by("pk").values_list("language", flat=True).first()
    )
    return language
