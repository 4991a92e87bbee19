from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from portal.diagnosis.rules import Thresholds


@register()
def diagnosis_thresholds_are_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    try:
        Thresholds.from_settings(settings.HAN_DIAGNOSIS_THRESHOLDS)
    except (TypeError, ValueError) as error:
        return [Error(f"HAN_DIAGNOSIS_THRESHOLDS: {error}", id="portal.E001")]
    return []
