"""Who works for the utility, who administers it, and the view guards built on that."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from portal.models import (
    User,
)


def user_works_for_utility(user: User | AnonymousUser) -> bool:
    return isinstance(user, User) and user.works_for_utility


def user_is_administrator(user: User | AnonymousUser) -> bool:
    return isinstance(user, User) and user.is_active and user.role == User.Role.ADMINISTRATOR


View = Callable[..., HttpResponse]


def utility_staff_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_works_for_utility(request.user):
            raise PermissionDenied("This page is for the utility's staff.")
        return view(request, *args, **kwargs)

    return wrapper


def is_staff_request(request: HttpRequest) -> bool:
    return user_works_for_utility(request.user)


def signed_in_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
