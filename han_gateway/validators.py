"""The gateway service URL rule as a Django validator, for every form and command that sets one."""

from django.conf import settings
from django.core.exceptions import ValidationError

from han_gateway.service_origins import parse_origins, service_url_problem


def service_url_refusal(url: str) -> str | None:
    """Why this URL may not be a gateway's service URL under the current settings, or None."""
    return service_url_problem(
        url,
        parse_origins(settings.HAN_GATEWAY_SERVICE_ORIGINS),
        require_https=settings.HAN_GATEWAY_REQUIRE_HTTPS,
    )


def validate_service_url(url: str) -> None:
    problem = service_url_refusal(url)
    if problem is not None:
        raise ValidationError(problem, code="service_url_not_allowed")
