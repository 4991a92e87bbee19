# zigpy's integer and list types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""What the scenario and service config documents share.

A document is read by a `Document` model: unknown keys are refused, and a key set to null
counts as absent (YAML writes an empty value as null). Leaf fields use the rules below
(``Annotated[int, Integer(11, 26)]``), which check a value, say what is wrong in words a person
can act on, and describe the value in the JSON Schema as a document writes it (an EUI-64 as
text, not as zigpy's list of bytes). `document_problems` turns pydantic's errors into
problems named by path, e.g. ``devices[3].eui64: not a valid EUI-64 (...)``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, ClassVar, Final

import yaml
import zigpy.types as zigpy_types
from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema

from han_gateway.eui64 import EUI64_SEPARATORS, InvalidEUI64, parse_eui64

Location = tuple[int | str, ...]


class DocumentError(ValueError):
    """A document is invalid; `problems` lists each bad field with its path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def read_document(
    path: Path, *, what: str, label: str, error: type[DocumentError] = DocumentError
) -> Any:
    """A YAML file (JSON when it ends in .json) as plain data; each problem starts `label`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as failure:
        raise error([f"{path}: cannot read {what}: {failure.strerror}"]) from failure
    except UnicodeDecodeError as failure:
        raise error(
            [f"{label}: not UTF-8 text ({failure.reason} at byte {failure.start})"]
        ) from failure
    except ValueError as failure:  # a file name no file can have, e.g. with a NUL in it
        raise error([f"{path!r}: cannot read {what}: {failure}"]) from failure
    kind = "JSON" if path.suffix == ".json" else "YAML"
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as failure:
        raise error([f"{label}: not valid {kind}: {failure}"]) from failure
    except RecursionError:
        raise error([f"{label}: not valid {kind}: nested too deeply"]) from None


JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

# pydantic's errors for a key that is not a field: the problem is named by the key.
_NAMED_KEY_ERRORS: Final = ("extra_forbidden", "invalid_key")
# How pydantic's own checks (structure, not values) read in a problem.
_STRUCTURE_WORDS: Final = {
    **dict.fromkeys(_NAMED_KEY_ERRORS, "unknown field"),
    **dict.fromkeys(("model_type", "model_attributes_type", "dict_type"), "must be a mapping"),
    **dict.fromkeys(("list_type", "tuple_type"), "must be a list"),
    "missing": "is required",
    "string_type": "must be text",
    "string_unicode": "holds text that is not Unicode",
}


class Document(BaseModel):
    """A mapping read from a YAML or JSON document."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


def problems_error(model: type[BaseModel], problems: list[tuple[Location, str]]) -> ValidationError:
    """Problems found by a model's own validator, each at its location within the model.

    Raised from a validator, pydantic adds them to the document's errors under the model's
    own path.
    """
    return ValidationError.from_exception_data(
        model.__name__,
        [
            InitErrorDetails(type=invalid(message), loc=location, input=None)
            for location, message in problems
        ],
    )


def invalid(message: str) -> PydanticCustomError:
    """A value's problem, as a validator raises it."""
    # pydantic renders messages as UTF-8: a lone surrogate (JSON allows "\udcff") is escaped.
    readable = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return PydanticCustomError("invalid", "{problem}", {"problem": readable})


def document_problems(error: ValidationError, *, root: str) -> list[str]:
    """Each of pydantic's errors as ``path: problem``; `root` names the document itself."""
    problems: list[str] = []
    for detail in error.errors(include_url=False):
        location = list(detail["loc"])
        if detail["type"] in _NAMED_KEY_ERRORS and location:
            # An unknown key, even one that is not text or is empty.
            location[-1] = str(location[-1]) or "''"
        path = _path(location)
        message = _STRUCTURE_WORDS.get(detail["type"], detail["msg"])
        problems.append(f"{path or root}: {message}")
    return problems


def _path(location: list[int | str]) -> str:
    path = ""
    for part in location:
        if part == "[key]":  # pydantic's marker for a problem with a mapping's key
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


class DocumentJsonSchema(GenerateJsonSchema):
    """JSON Schema of a document as a person writes it.

    Field titles would only repeat the keys, and null, which the parser takes for an absent
    key, is not part of the format.
    """

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if json_schema.get("default", ...) is None:
            del json_schema["default"]
        return json_schema


def document_json_schema(model: type[Document], *, title: str) -> dict[str, Any]:
    """The JSON Schema of documents `model` reads, under `title`."""
    schema = model.model_json_schema(schema_generator=DocumentJsonSchema)
    schema["title"] = title
    described: dict[str, Any] = _one_line_descriptions({"$schema": JSON_SCHEMA_DIALECT, **schema})
    return described


def _one_line_descriptions(schema: Any) -> Any:
    """The schema with each description on one line, as docstrings wrap them."""
    if isinstance(schema, dict):
        return {
            key: " ".join(value.split())
            if key == "description" and isinstance(value, str)
            else _one_line_descriptions(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_one_line_descriptions(item) for item in schema]
    return schema


# -- rules for leaf values ------------------------------------------------------------------


class Rule:
    """Checks one value of a document and describes it in the JSON Schema.

    A subclass implements `check` (raising ValueError with the problem), or
    `check_in_context` if it needs the validation's context, and `json_schema`; used as
    ``Annotated[<the type check returns>, SubclassOfRule(...)]``.
    """

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    def check_in_context(self, value: Any, context: dict[str, Any]) -> Any:
        """`check`, given what the caller passed to validation as its context."""
        return self.check(value)

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def _validate(self, value: Any, info: ValidationInfo) -> Any:
        try:
            return self.check_in_context(value, info.context or {})
        except ValueError as error:
            raise invalid(str(error)) from None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(self._validate)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return self.json_schema()


# No field needs more digits; the limit keeps int() fast and within Python's own limit.
_INTEGER_TEXT: Final = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})")


@dataclasses.dataclass(frozen=True)
class Integer(Rule):
    """An integer in a range, or text holding one in decimal or 0x hex (JSON has no hex)."""

    minimum: int
    maximum: int
    label: str = ""  # what the integer is, when the path alone does not say

    def check(self, value: Any) -> int:
        if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
            value = int(value, 0 if "x" in value.lower() else 10)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(
                f"{self._prefix}must be an integer from {self.minimum} to {self.maximum}"
            )
        if not self.minimum <= value <= self.maximum:
            raise ValueError(
                f"{self._prefix}must be from {self.minimum} to {self.maximum}, not {value}"
            )
        return value

    @property
    def _prefix(self) -> str:
        return f"{self.label} " if self.label else ""

    def json_schema(self) -> dict[str, Any]:
        return {
            "anyOf": [
                {"type": "integer", "minimum": self.minimum, "maximum": self.maximum},
                {"type": "string", "pattern": f"^{_INTEGER_TEXT.pattern}$"},
            ]
        }


@dataclasses.dataclass(frozen=True)
class Number(Rule):
    """A number in a range; returned as a float."""

    minimum: float
    maximum: float

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number from {self.minimum:g} to {self.maximum:g}")
        if not self.minimum <= value <= self.maximum:  # NaN is in no range
            raise ValueError(f"must be from {self.minimum:g} to {self.maximum:g}, not {value}")
        return float(value)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": self.minimum, "maximum": self.maximum}


@dataclasses.dataclass(frozen=True)
class Choice(Rule):
    """One of a few words."""

    choices: tuple[str, ...]

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}, not {value!r}")
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"enum": list(self.choices)}


@dataclasses.dataclass(frozen=True)
class Text(Rule):
    """Text that is not blank."""

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be text")
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"\S"}


@dataclasses.dataclass(frozen=True)
class Pattern(Rule):
    """Text matching a regular expression; `problem` says what is expected."""

    pattern: str
    problem: str

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise ValueError(self.problem)
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": f"^(?:{self.pattern})$"}


@dataclasses.dataclass(frozen=True)
class Flag(Rule):
    """true or false (not 1, 0 or "yes")."""

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


def hex_digits_pattern(*counts: int, separators: str) -> str:
    """A regular expression for `count` hex digits with any of `separators` among them."""
    separator = f"[{separators}]*"
    choices = "|".join(f"(?:[0-9A-Fa-f]{separator}){{{count}}}" for count in counts)
    return f"{separator}(?:{choices})"


@dataclasses.dataclass(frozen=True)
class Eui64(Rule):
    """An EUI-64 (IEEE MAC address) written as text, with or without separators."""

    EXAMPLE: ClassVar[str] = "00:0d:6f:00:0a:90:69:e7"

    def check(self, value: Any) -> zigpy_types.EUI64:
        if not isinstance(value, str):
            raise ValueError(f"not a valid EUI-64: write it as text, e.g. '{self.EXAMPLE}'")
        try:
            return parse_eui64(value)
        except InvalidEUI64 as error:
            raise ValueError(f"not a valid EUI-64 ({error})") from None

    def json_schema(self) -> dict[str, Any]:
        digits = hex_digits_pattern(16, separators=EUI64_SEPARATORS)
        return {"type": "string", "pattern": f"^{digits}$", "examples": [self.EXAMPLE]}


@dataclasses.dataclass(frozen=True)
class Items:
    """How long a list may be, and which attribute its items may not share.

    Used as ``Annotated[tuple[Item, ...], Items(...)]``; the JSON Schema gets the lengths.
    """

    minimum: int = 0
    maximum: int | None = None
    length_problem: str = ""
    unique_by: str | None = None
    unique_problem: str = ""

    def _check(self, items: tuple[Any, ...]) -> tuple[Any, ...]:
        too_long = self.maximum is not None and len(items) > self.maximum
        if len(items) < self.minimum or too_long:
            raise invalid(self.length_problem)
        if self.unique_by is not None:
            keys = [getattr(item, self.unique_by) for item in items]
            if len(keys) != len(set(keys)):
                raise invalid(self.unique_problem)
        return items

    @classmethod
    def with_unique(cls, unique_by: str, *, empty: str, duplicate: str) -> Items:
        """A list of at least one item, no two with the same `unique_by` (their id);
        `empty` and `duplicate` are the problems."""
        return cls(minimum=1, length_problem=empty, unique_by=unique_by, unique_problem=duplicate)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        if self.minimum:
            json_schema["minItems"] = self.minimum
        if self.maximum is not None:
            json_schema["maxItems"] = self.maximum
        return json_schema


def keys_as_text(value: Any) -> Any:
    """A mapping with its keys as text, so that problems name them as ``energy.17``.

    YAML reads ``{17: 236}`` with an integer key, JSON with a text key; both mean the same.
    """
    if isinstance(value, dict):
        return {str(key): item for key, item in value.items()}
    return value
