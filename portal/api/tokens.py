"""API tokens for integrations (CRM, CIS): issue, revoke, and authenticate with them.

Tokens are django-rest-knox tokens kept in ``portal.models.ApiToken``, which stores only a
digest: the clear token exists in what ``api_token_issue`` returns and nowhere else.
"""

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.settings import knox_settings
from rest_framework import exceptions

from portal.models import ApiToken, User

# A token's last use is written at most this often, not on every request it makes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_token_issue(
    *, user: User, name: str, valid_for: timedelta, issued_by: User | None
) -> tuple[ApiToken, str]:
    """The new token's row, and the token itself: its only clear copy, to be shown once."""
    api_token, token = ApiToken.objects.create(  # type: ignore[no-untyped-call]
        user, expiry=valid_for, name=name, created_by=issued_by
    )
    return api_token, token


def api_token_revoke(*, api_token: ApiToken) -> bool:
    """Stop the token working at once; False when it was already revoked."""
    if api_token.revoked_at is not None:
        return False
    api_token.revoked_at = timezone.now()
    api_token.save(update_fields=["revoked_at"])
    return True


def api_token_record_use(*, api_token: ApiToken) -> None:
    now = timezone.now()
    if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
        api_token.last_used_at = now
        api_token.save(update_fields=["last_used_at"])


class ApiTokenAuthentication(TokenAuthentication):
    """knox's ``Authorization: Token <token>``, refusing revoked tokens and noting each use."""

    def authenticate_credentials(self, token: bytes) -> tuple[User, ApiToken]:
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            # knox decodes without catching this, which would answer a garbled header with 500.
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        user, api_token = super().authenticate_credentials(token)  # type: ignore[no-untyped-call]
        return user, api_token

    def validate_user(self, auth_token: ApiToken) -> tuple[User, ApiToken]:
        if auth_token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Token revoked.")
        user, api_token = super().validate_user(auth_token)  # type: ignore[no-untyped-call]
        api_token_record_use(api_token=api_token)
        return user, api_token


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """The schema's name for the token scheme is the one DRF's tokens had, so clients built
    from the schema need no change."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=knox_settings.AUTH_HEADER_PREFIX
        )
