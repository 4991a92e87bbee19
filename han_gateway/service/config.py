"""The gateway service's configuration file: which Premises Gateways it serves and how.

Read by `ServiceDocument`; the JSON Schema (docs/schemas/service-config.schema.json) comes from
these models: ``python -m han_gateway schema config``. Problems are reported with the path of
the bad field, e.g. ``gateways[2].interfaces[0].radio: must be one of ...``, after the file's
name when the config is loaded from a file.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Annotated, Any, Final, Self

import zigpy.types as zigpy_types
from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from han_gateway.protocol import (
    GATEWAY_ID_MAX_LENGTH,
    GATEWAY_ID_PATTERN,
    GATEWAY_KINDS,
    INTERFACE_ID_MAX_LENGTH,
    INTERFACE_ID_PATTERN,
    RADIOS,
    SMART_ENERGY_VERSIONS,
)
from han_gateway.scenarios.documents import (
    Choice,
    Document,
    DocumentError,
    Eui64,
    Integer,
    Items,
    Number,
    Pattern,
    Rule,
    Text,
    document_json_schema,
    document_problems,
    problems_error,
    read_document,
)

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8470
DEFAULT_MAX_BODY_BYTES: Final = 64 * 1024
DEFAULT_SCAN_TIMEOUT_S: Final = 120.0


class ConfigError(DocumentError):
    """The service configuration is invalid; `problems` names each bad field."""


def secret_sha256_hex(secret: str) -> str:
    """What the config stores for a gateway secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class _SecretDigest(Rule):
    """The SHA-256 of a gateway secret, written as 64 hex digits; read as its 32 bytes."""

    _digits: Final = Pattern(
        "[0-9a-fA-F]{64}", "must be the 64 hex digits of the SHA-256 of the gateway secret"
    )

    def check(self, value: Any) -> bytes:
        return bytes.fromhex(self._digits.check(value))

    def json_schema(self) -> dict[str, Any]:
        return self._digits.json_schema()


class _ExistingFile(Rule):
    """A path relative to the config file's directory, naming a file that exists.

    The directory comes from the validation context (``base_directory``).
    """

    _text: Final = Text()

    def check_in_context(self, value: Any, context: dict[str, Any]) -> Path:
        path: Path = context["base_directory"] / self._text.check(value)
        try:
            exists = path.is_file()
        except OSError as error:  # e.g. a name too long for the file system
            raise ValueError(f"cannot read {path}: {error.strerror}") from None
        if not exists:
            raise ValueError(f"no such file: {path}")
        return path

    def json_schema(self) -> dict[str, Any]:
        return self._text.json_schema()


def _identifier(pattern: str, max_length: int) -> Pattern:
    """An id as the protocol takes it (`pattern`, at most `max_length` characters)."""
    return Pattern(
        pattern,
        f"must be 1-{max_length} letters, digits, '.', '_' or '-', starting with a letter or digit",
    )


class InterfaceConfig(Document):
    """A HAN interface of the gateway: a simulated radio, or a real coordinator."""

    # What `_radio_settings` checks, as JSON Schema says it.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"radio": {"const": "simulated"}}},
            "then": {"required": ["scenario"]},
            "else": {"required": ["device"], "properties": {"device": {"required": ["path"]}}},
        }
    )

    interface_id: Annotated[str, _identifier(INTERFACE_ID_PATTERN, INTERFACE_ID_MAX_LENGTH)] = (
        Field(alias="id")
    )
    """The interface's id, e.g. han0 (at most 32 characters: what the portal keeps)."""
    radio: Annotated[str, Choice(RADIOS)]
    """simulated, or a real coordinator: ezsp (bellows), znp (zigpy-znp), deconz
    (zigpy-deconz)."""
    scenario: Annotated[str, Text()] | None = None
    """Simulated radio: a library scenario's name, or a .yaml/.json path relative to this
    file."""
    device: dict[str, Any] = Field(default_factory=dict)
    """Real radio: zigpy's device settings; path (e.g. /dev/ttyUSB0 or socket://host:port) is
    required, baudrate and others are optional."""
    zigpy: dict[str, Any] = Field(default_factory=dict)
    """Real radio: further zigpy settings."""
    scan_timeout_s: Annotated[float, Number(0.1, 3600)] = DEFAULT_SCAN_TIMEOUT_S
    coordinator_eui64: Annotated[zigpy_types.EUI64, Eui64()] | None = None
    """The simulated coordinator's EUI-64."""
    smart_energy_version: Annotated[str, Choice(SMART_ENERGY_VERSIONS)] | None = None
    """The Smart Energy version the meter's Energy Service Interface is certified for (1.0 to
    1.4): reported with the interface, since no radio can say it."""
    max_devices: Annotated[int, Integer(1, 1000)] | None = None
    """Real radio: how many HAN devices the meter supports on it (a simulated radio takes it
    from its scenario)."""

    @model_validator(mode="after")
    def _radio_settings(self) -> Self:
        if self.radio == "simulated" and self.scenario is None:
            raise problems_error(type(self), [(("scenario",), "is required for a simulated radio")])
        if self.radio != "simulated" and "path" not in self.device:
            problem = "is required for a real radio, e.g. /dev/ttyUSB0 or socket://host:port"
            raise problems_error(type(self), [(("device", "path"), problem)])
        return self


class GatewayConfig(Document):
    """A Premises Gateway the service answers for: a meter or a pole-top device."""

    gateway_id: Annotated[str, _identifier(GATEWAY_ID_PATTERN, GATEWAY_ID_MAX_LENGTH)] = Field(
        alias="id"
    )
    """The meter number."""
    kind: Annotated[str, Choice(GATEWAY_KINDS)] = "meter"
    manufacturer: Annotated[str, Text()] = "Unknown"
    model: Annotated[str, Text()] = "Unknown"
    firmware: Annotated[str, Text()] = "unknown"
    secret_sha256: Annotated[bytes, _SecretDigest()] = Field(repr=False)
    """SHA-256 of the gateway's secret, e.g. from
    python -c "import hashlib; print(hashlib.sha256(b'SECRET').hexdigest())"."""
    interfaces: Annotated[
        tuple[InterfaceConfig, ...],
        Items.with_unique(
            "interface_id",
            empty="must list at least one HAN interface",
            duplicate="interface ids must be unique within a gateway",
        ),
    ]

    def interface(self, interface_id: str) -> InterfaceConfig | None:
        for interface in self.interfaces:
            if interface.interface_id == interface_id:
                return interface
        return None


# Built from the document and the config file's directory; the command line replaces some of
# their fields (--host, --port, --tls-certificate, --tls-private-key).
@dataclasses.dataclass(frozen=True)
class TlsConfig:
    """Where the service's TLS certificate (PEM, with its chain) and private key are."""

    certificate: Path
    private_key: Path


@dataclasses.dataclass(frozen=True)
class ServiceConfig:
    host: str
    port: int
    max_body_bytes: int
    gateways: tuple[GatewayConfig, ...]
    base_directory: Path
    tls: TlsConfig | None = None  # None: plain HTTP

    def gateway(self, gateway_id: str) -> GatewayConfig | None:
        for gateway in self.gateways:
            if gateway.gateway_id == gateway_id:
                return gateway
        return None


class ListenDocument(Document):
    """Where the service listens; --host and --port override."""

    host: Annotated[str, Text()] = DEFAULT_HOST
    port: Annotated[int, Integer(0, 65535)] = DEFAULT_PORT


class TlsDocument(Document):
    """Serve HTTPS; --tls-certificate and --tls-private-key override. Paths are relative to
    the config file."""

    certificate: Annotated[Path, _ExistingFile()]
    """PEM: the server certificate first, then its chain."""
    private_key: Annotated[Path, _ExistingFile()]
    """PEM, unencrypted."""


class ServiceDocument(Document):
    """Configuration of the HAN gateway service: where it listens and which Premises Gateways
    it serves. Unknown fields are errors."""

    listen: ListenDocument = Field(default_factory=ListenDocument)
    max_body_bytes: Annotated[int, Integer(1024, 1024 * 1024)] = DEFAULT_MAX_BODY_BYTES
    """Largest request body taken."""
    tls: TlsDocument | None = None
    """Plain HTTP when left out."""
    gateways: Annotated[
        tuple[GatewayConfig, ...],
        Items.with_unique(
            "gateway_id",
            empty="must list at least one gateway",
            duplicate="gateway ids must be unique",
        ),
    ]


def parse_service_config(document: object, *, base_directory: Path) -> ServiceConfig:
    """Validate a loaded config document; raise ConfigError naming each bad field.

    Paths in the document are relative to `base_directory`.
    """
    try:
        parsed = ServiceDocument.model_validate(
            document, context={"base_directory": base_directory}
        )
    except ValidationError as error:
        raise ConfigError(document_problems(error, root="config")) from None
    tls = parsed.tls
    return ServiceConfig(
        host=parsed.listen.host,
        port=parsed.listen.port,
        max_body_bytes=parsed.max_body_bytes,
        gateways=parsed.gateways,
        base_directory=base_directory,
        tls=None if tls is None else TlsConfig(tls.certificate, tls.private_key),
    )


def load_service_config(path: Path) -> ServiceConfig:
    """Load and validate a config file (YAML); each problem names the file."""
    document = read_document(path, what="config file", label=str(path), error=ConfigError)
    try:
        return parse_service_config(document, base_directory=path.resolve().parent)
    except ConfigError as error:
        raise ConfigError([f"{path}: {problem}" for problem in error.problems]) from None


def service_config_json_schema() -> dict[str, Any]:
    """The JSON Schema of the service config (docs/schemas/service-config.schema.json)."""
    return document_json_schema(ServiceDocument, title="HAN gateway service configuration")
