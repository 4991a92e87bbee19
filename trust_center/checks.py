from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register

from trust_center import crypto


@register(Tags.security, deploy=True)
def encryption_keys_configured(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """``manage.py check --deploy`` fails when secrets at rest could not be encrypted."""
    problem = crypto.configuration_problem()
    if problem is None:
        return []
    return [Error(problem, id="trust_center.E001")]
