"""Pieces every API operation shares: the error bodies and their schema, named enum fields."""

from collections.abc import Callable
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    Direction,
    extend_schema_field,
)
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer[Any]):
    """DRF's answer to a request it refuses: one reason for people."""

    detail = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer[Any]):
    """A request the API cannot accept (400): the reasons, under the name of each field at fault.

    ``non_field_errors`` holds the reasons about the request as a whole; a body that cannot be
    read, or a refusal that is about no one field, has a single ``detail`` instead.
    """

    detail = serializers.CharField(required=False)


class _ValidationErrorSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """The field names are the request's own, so the schema lists them as any other key."""

    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        schema: dict[str, Any] = super().map_serializer(auto_schema, direction)
        schema["additionalProperties"] = {"type": "array", "items": {"type": "string"}}
        return schema


def error_responses(*statuses: int) -> dict[int, Any]:
    """The documented error answers of an endpoint.

    Every endpoint needs a signed-in caller (401) and is throttled (429). A 400 names the
    fields at fault (``{"field": ["reason"]}``); the others carry ``detail``.
    """
    return {
        code: ValidationErrorSerializer if code == 400 else ErrorSerializer
        for code in (401, 429, *statuses)
    }


def named_enum_field(name: str, choices: Any) -> Callable[..., serializers.ChoiceField]:
    """A choice field whose values the schema shows once, as the enum component ``name``.

    drf-spectacular names an enum after its field: the run's, the step's and the case's
    ``status`` each appear in several components and would collide (a warning).
    """

    @extend_schema_field(serializers.ChoiceField(choices=choices), component_name=name)
    class NamedEnumField(serializers.ChoiceField):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(choices=choices, **kwargs)

    return NamedEnumField
