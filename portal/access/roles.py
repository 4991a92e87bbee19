"""Who works for the utility, who administers it, and the view guards built on that."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from portal.models import (
    User,
)


def user_works_for_utility(user: User | AnonymousUser) -> bool:
    return isinstance(user, User) and user.works_for_utility


def user_is_administrator(user: User | AnonymousUser) -> bool:
    return isinstance(user, User) and user.is_active and user.role == User.Role.ADMINISTRATOR


def user_is_installer(user: User | AnonymousUser) -> bool:
    return isinstance(user, User) and user.is_installer


def user_sees_technical_evidence(user: User | AnonymousUser) -> bool:
    """Staff and field technicians read the evidence (identifiers, channels, link quality);
    customers read plain words."""
    return user_works_for_utility(user) or user_is_installer(user)


View = Callable[..., HttpResponseBase]


def _role_required(
    allowed: Callable[[User | AnonymousUser], bool], refusal: str
) -> Callable[[View], View]:
    def guard(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not allowed(request.user):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapper

    return guard


utility_staff_required = _role_required(
    user_works_for_utility, "This page is for the utility's staff."
)
administrator_required = _role_required(user_is_administrator, "This page is for administrators.")
installer_required = _role_required(user_is_installer, "This page is for field technicians.")


def is_staff_request(request: HttpRequest) -> bool:
    return user_works_for_utility(request.user)


def signed_in_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
