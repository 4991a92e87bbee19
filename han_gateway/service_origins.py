"""Where the portal may send a gateway's credential: the allowed HAN gateway service origins.

A gateway's service URL receives that gateway's bearer secret with every request, so it may
point only at origins the operator configured (``HAN_GATEWAY_SERVICE_ORIGINS``), and only over
TLS in production. Imports no Django: the settings hand the values in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

ANY_PORT = "*"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class ServiceOrigin:
    """``scheme://host:port``; a port of ``*`` allows any port on that host."""

    scheme: str
    host: str
    port: int | None  # None: any port

    def allows(self, scheme: str, host: str, port: int) -> bool:
        return (
            self.scheme == scheme and self.host == host and (self.port is None or self.port == port)
        )

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{ANY_PORT if self.port is None else self.port}"


def parse_origin(text: str) -> ServiceOrigin:
    """An origin from the setting, e.g. ``https://ami-north.example`` or ``http://127.0.0.1:*``."""
    text = text.strip()
    any_port = text.endswith(":" + ANY_PORT)
    parts = urlsplit(text[: -len(ANY_PORT)] + "0" if any_port else text)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{text!r} is not an origin like https://host or https://host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{text!r} must be an origin only: scheme, host and port")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} has a port that is not a number") from None
    return ServiceOrigin(
        parts.scheme,
        parts.hostname.lower(),
        None if any_port else (port or _DEFAULT_PORTS[parts.scheme]),
    )


def parse_origins(texts: Iterable[str]) -> tuple[ServiceOrigin, ...]:
    return tuple(parse_origin(text) for text in texts if text.strip())


def service_url_problem(
    url: str, origins: Iterable[ServiceOrigin], *, require_https: bool
) -> str | None:
    """Why the portal must not send a gateway's credential to ``url``, or None if it may."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "The gateway service URL is not a valid URL."
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return "The gateway service URL must start with https:// and name a host."
    if parts.username or parts.password:
        return "The gateway service URL must not carry a user name or password."
    if require_https and parts.scheme != "https":
        return "The gateway service URL must use https:// in production."
    host = parts.hostname.lower()
    port = port or _DEFAULT_PORTS[parts.scheme]
    allowed = tuple(origins)
    if not any(origin.allows(parts.scheme, host, port) for origin in allowed):
        listed = ", ".join(str(origin) for origin in allowed) or "none are configured"
        return (
            "The gateway service URL is not at an allowed gateway service origin "
            f"(HAN_GATEWAY_SERVICE_ORIGINS: {listed})."
        )
    return None
