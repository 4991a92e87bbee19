"""The gateway service's configuration file: which Premises Gateways it serves and how.

See docs/GATEWAY_API.md for the format. Problems are reported with the path of the bad
field, e.g. ``gateways[2].interfaces[0].radio: must be one of ...``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import yaml
import zigpy.types as zigpy_types

from han_gateway.scenarios.schema import (
    DocumentReader,
    choice_field,
    eui64_field,
    integer_field,
    number_field,
    text_field,
)

RADIOS: Final = ("simulated", "ezsp", "znp", "deconz")
GATEWAY_KINDS: Final = ("meter", "pole_top")
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8470
DEFAULT_MAX_BODY_BYTES: Final = 64 * 1024
DEFAULT_SCAN_TIMEOUT_S: Final = 120.0

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_INTERFACE_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class ConfigError(ValueError):
    """The service configuration is invalid; `problems` names each bad field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclasses.dataclass(frozen=True)
class InterfaceConfig:
    interface_id: str
    radio: str
    scenario: str | None  # simulated: library name or path to a scenario file
    device: dict[str, Any]  # real radio: zigpy's `device` settings (path, baudrate, ...)
    zigpy: dict[str, Any]  # real radio: extra zigpy settings
    scan_timeout_s: float
    coordinator_eui64: zigpy_types.EUI64 | None


@dataclasses.dataclass(frozen=True)
class GatewayConfig:
    gateway_id: str
    kind: str
    manufacturer: str
    model: str
    firmware: str
    secret_sha256: bytes = dataclasses.field(repr=False)
    interfaces: tuple[InterfaceConfig, ...]

    def interface(self, interface_id: str) -> InterfaceConfig | None:
        for interface in self.interfaces:
            if interface.interface_id == interface_id:
                return interface
        return None


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


def secret_sha256_hex(secret: str) -> str:
    """What the config stores for a gateway secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _identifier(value: Any) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ValueError(
            "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def _interface_identifier(value: Any) -> str:
    """An interface id: as a gateway id, but at most 32 characters (what the portal keeps)."""
    if not isinstance(value, str) or not _INTERFACE_IDENTIFIER.match(value):
        raise ValueError(
            "must be 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def _secret_digest(value: Any) -> bytes:
    if not isinstance(value, str) or not _SHA256_HEX.match(value):
        raise ValueError("must be the 64 hex digits of the SHA-256 of the gateway secret")
    return bytes.fromhex(value)


def _mapping_field(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError("must be a mapping")
    return dict(value)


def _parse_interface(reader: DocumentReader, value: object, path: str) -> InterfaceConfig | None:
    data = reader.mapping(value, path)
    if data is None:
        return None
    reader.unknown_keys(
        data,
        {"id", "radio", "scenario", "device", "zigpy", "scan_timeout_s", "coordinator_eui64"},
        path,
    )
    interface_id = reader.field(data, "id", path, _interface_identifier, required=True)
    radio = reader.field(data, "radio", path, choice_field(RADIOS), required=True)
    scenario = reader.field(data, "scenario", path, text_field)
    device: dict[str, Any] = reader.field(data, "device", path, _mapping_field) or {}
    if radio == "simulated" and scenario is None:
        reader.problem(f"{path}.scenario", "is required for a simulated radio")
    if radio in RADIOS[1:] and "path" not in device:
        reader.problem(
            f"{path}.device.path",
            "is required for a real radio, e.g. /dev/ttyUSB0 or socket://host:port",
        )
    if interface_id is None or radio is None:
        return None
    return InterfaceConfig(
        interface_id=interface_id,
        radio=radio,
        scenario=scenario,
        device=device,
        zigpy=reader.field(data, "zigpy", path, _mapping_field, {}) or {},
        scan_timeout_s=reader.field(
            data, "scan_timeout_s", path, number_field(0.1, 3600), DEFAULT_SCAN_TIMEOUT_S
        )
        or DEFAULT_SCAN_TIMEOUT_S,
        coordinator_eui64=reader.field(data, "coordinator_eui64", path, eui64_field),
    )


def _existing_file(base_directory: Path) -> Callable[[Any], Path]:
    """A path relative to the config file's directory, naming a file that exists."""

    def convert(value: Any) -> Path:
        path = base_directory / text_field(value)
        try:
            if not path.is_file():
                raise ValueError(f"no such file: {path}")
        except OSError as error:  # e.g. a name too long for the file system
            raise ValueError(f"cannot read {path}: {error.strerror}") from None
        return path

    return convert


def _parse_tls(reader: DocumentReader, value: object, base_directory: Path) -> TlsConfig | None:
    data = reader.mapping(value, "tls")
    if data is None:
        return None
    reader.unknown_keys(data, {"certificate", "private_key"}, "tls")
    existing = _existing_file(base_directory)
    certificate = reader.field(data, "certificate", "tls", existing, required=True)
    private_key = reader.field(data, "private_key", "tls", existing, required=True)
    if certificate is None or private_key is None:
        return None
    return TlsConfig(certificate=certificate, private_key=private_key)


def _parse_gateway(reader: DocumentReader, value: object, path: str) -> GatewayConfig | None:
    data = reader.mapping(value, path)
    if data is None:
        return None
    reader.unknown_keys(
        data,
        {"id", "kind", "manufacturer", "model", "firmware", "secret_sha256", "interfaces"},
        path,
    )
    gateway_id = reader.field(data, "id", path, _identifier, required=True)
    secret = reader.field(data, "secret_sha256", path, _secret_digest, required=True)
    raw_interfaces = data.get("interfaces")
    interfaces: list[InterfaceConfig] = []
    if not isinstance(raw_interfaces, list) or not raw_interfaces:
        reader.problem(f"{path}.interfaces", "must list at least one HAN interface")
    else:
        for index, item in enumerate(raw_interfaces):
            interface = _parse_interface(reader, item, f"{path}.interfaces[{index}]")
            if interface is not None:
                interfaces.append(interface)
    ids = [interface.interface_id for interface in interfaces]
    if len(ids) != len(set(ids)):
        reader.problem(f"{path}.interfaces", "interface ids must be unique within a gateway")
    if gateway_id is None or secret is None:
        return None
    return GatewayConfig(
        gateway_id=gateway_id,
        kind=reader.field(data, "kind", path, choice_field(GATEWAY_KINDS), "meter") or "meter",
        manufacturer=reader.field(data, "manufacturer", path, text_field, "Unknown") or "",
        model=reader.field(data, "model", path, text_field, "Unknown") or "",
        firmware=reader.field(data, "firmware", path, text_field, "unknown") or "",
        secret_sha256=secret,
        interfaces=tuple(interfaces),
    )


def parse_service_config(document: object, *, base_directory: Path) -> ServiceConfig:
    reader = DocumentReader()
    data = reader.mapping(document, "config")
    if data is None:
        raise ConfigError(reader.problems)
    reader.unknown_keys(data, {"listen", "max_body_bytes", "tls", "gateways"}, "")
    listen = reader.mapping(data.get("listen", {}), "listen") or {}
    reader.unknown_keys(listen, {"host", "port"}, "listen")
    host = reader.field(listen, "host", "listen", text_field, DEFAULT_HOST) or DEFAULT_HOST
    port = reader.field(listen, "port", "listen", integer_field(0, 65535), DEFAULT_PORT)
    max_body_bytes = reader.field(
        data, "max_body_bytes", "", integer_field(1024, 1024 * 1024), DEFAULT_MAX_BODY_BYTES
    )
    tls = None if data.get("tls") is None else _parse_tls(reader, data["tls"], base_directory)
    gateways: list[GatewayConfig] = []
    raw_gateways = data.get("gateways")
    if not isinstance(raw_gateways, list) or not raw_gateways:
        reader.problem("gateways", "must list at least one gateway")
    else:
        for index, item in enumerate(raw_gateways):
            gateway = _parse_gateway(reader, item, f"gateways[{index}]")
            if gateway is not None:
                gateways.append(gateway)
    ids = [gateway.gateway_id for gateway in gateways]
    if len(ids) != len(set(ids)):
        reader.problem("gateways", "gateway ids must be unique")
    if reader.problems:
        raise ConfigError(reader.problems)
    return ServiceConfig(
        host=host,
        port=DEFAULT_PORT if port is None else port,
        max_body_bytes=max_body_bytes or DEFAULT_MAX_BODY_BYTES,
        gateways=tuple(gateways),
        base_directory=base_directory,
        tls=tls,
    )


def load_service_config(path: Path) -> ServiceConfig:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError([f"{path}: cannot read config file: {error.strerror}"]) from error
    except UnicodeDecodeError as error:
        raise ConfigError(
            [f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"]
        ) from error
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: not valid YAML: {error}"]) from error
    except RecursionError:
        raise ConfigError([f"{path}: not valid YAML: nested too deeply"]) from None
    except ValueError as error:  # a file name no file can have, e.g. with a NUL in it
        raise ConfigError([f"{path!r}: cannot read config file: {error}"]) from error
    return parse_service_config(document, base_directory=path.resolve().parent)
