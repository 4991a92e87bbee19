from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from han_gateway.eui64 import InvalidEUI64, normalise_eui64


def validate_eui64(value: str) -> None:
    try:
        normalise_eui64(value)
    except InvalidEUI64 as error:
        raise ValidationError(str(error), code="invalid_eui64") from error


class EUI64Field(models.CharField):  # type: ignore[type-arg]
    """An EUI-64 stored in canonical form (``00:0d:6f:00:0a:90:69:e7``)."""

    default_validators = [validate_eui64]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 23)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == 23:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if not value:
            return value
        try:
            return normalise_eui64(value)
        except InvalidEUI64:
            # Left as typed so that validation reports it with the reason.
            return value

    def get_prep_value(self, value: Any) -> Any:
        return self.to_python(super().get_prep_value(value))
