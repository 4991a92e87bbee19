"""The portal's client for a Premises Gateway's HAN gateway service. Imports no Django.

Blocking calls on purpose: a scan is network-bound, and Celery's threads pool carries many of
them at once in one worker process. Every answer is checked before it is believed; whatever
the gateway sends that is not the documented shape becomes a ``GatewayProtocolError``.
"""

import json
import logging
import re
import ssl
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

import httpx

logger = logging.getLogger(__name__)

MAX_EVENT_BYTES = 256 * 1024
SCAN_EVENTS = {"started", "progress", "device", "finished", "error"}
SCAN_GRACE_S = 3.0
# What the service's configuration allows as an interface id, within the portal's 32-character
# columns: it is stored with every device the run finds and goes back into request paths.
_INTERFACE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}")


class GatewayError(Exception):
    """The gateway could not do what was asked; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class GatewayUnreachable(GatewayError):
    """No answer: connection refused, DNS, time-out, or a failed TLS handshake (`tls_error`)."""


class GatewayProtocolError(GatewayError):
    """An answer that is not what the API documents."""


class GatewayClient:
    def __init__(
        self,
        *,
        base_url: str,
        gateway_id: str,
        secret: str,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 30.0,
        ca_file: str | None = None,
    ) -> None:
        """A client of one gateway. Raises GatewayError("tls_setup") for an unusable CA file.

        Over https the service's certificate is checked against `ca_file` (PEM) if given,
        else against the system's CA store.
        """
        self.gateway_id = gateway_id
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            verify = _ca_context(ca_file)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {secret}", "Accept": "application/json"},
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            follow_redirects=False,
            verify=verify,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _path(self, suffix: str = "") -> str:
        return f"/api/v1/gateways/{self.gateway_id}{suffix}"

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            raise GatewayUnreachable("timeout", "The gateway did not answer in time.") from error
        except httpx.HTTPError as error:
            raise _connection_failed(
                error, f"The gateway could not be reached ({type(error).__name__})."
            ) from error
        return _json_object(response)

    def identify(self) -> dict[str, Any]:
        return self._request("GET", self._path())

    def interfaces(self) -> list[dict[str, Any]]:
        body = self._request("GET", self._path("/interfaces"))
        interfaces = body.get("interfaces")
        if not isinstance(interfaces, list) or not all(
            isinstance(item, dict)
            and isinstance(item.get("id"), str)
            and _INTERFACE_ID.fullmatch(item["id"])
            for item in interfaces
        ):
            raise GatewayProtocolError("bad_reply", "The gateway's interface list is malformed.")
        return interfaces

    def energy_scan(self, interface_id: str) -> dict[int, int]:
        body = self._request("POST", self._path(f"/interfaces/{interface_id}/energy-scan"), json={})
        energy = body.get("energy")
        if not isinstance(energy, dict):
            raise GatewayProtocolError("bad_reply", "The gateway's energy scan is malformed.")
        try:
            return {int(channel): int(level) for channel, level in energy.items()}
        except (TypeError, ValueError, OverflowError) as error:  # int(Infinity) overflows
            raise GatewayProtocolError(
                "bad_reply", "The gateway's energy scan is malformed."
            ) from error

    def operational_check(
        self, interface_id: str, eui64: str, check: str, *, timeout_s: float = 5.0
    ) -> dict[str, Any]:
        return self._request(
            "POST",
            self._path(f"/interfaces/{interface_id}/devices/{eui64}/operational-check"),
            json={"check": check, "timeout_s": timeout_s},
        )

    def open_join_window(
        self, interface_id: str, *, eui64: str, link_key_hex: str, duration_s: int
    ) -> dict[str, Any]:
        return self._request(
            "POST",
            self._path(f"/interfaces/{interface_id}/join-window"),
            json={"eui64": eui64, "link_key": link_key_hex, "duration_s": duration_s},
        )

    def remove_device(self, interface_id: str, eui64: str) -> dict[str, Any]:
        return self._request("DELETE", self._path(f"/interfaces/{interface_id}/devices/{eui64}"))

    def replace_scenario(self, interface_id: str, scenario: str | dict[str, Any]) -> None:
        self._request(
            "PUT",
            self._path(f"/interfaces/{interface_id}/scenario"),
            json={"scenario": scenario},
        )

    def scan(self, interface_id: str, *, timeout_s: float) -> Iterator[dict[str, Any]]:
        """Yield the scan's events as the gateway streams them; the last is finished or error."""
        path = self._path(f"/interfaces/{interface_id}/scan")
        # The gateway ends a scan at timeout_s itself; one that goes silent is given up on
        # shortly after, whatever the client's usual read timeout.
        silence = httpx.Timeout(timeout_s + SCAN_GRACE_S, connect=self._http.timeout.connect)
        try:
            with self._http.stream(
                "POST", path, json={"timeout_s": timeout_s}, timeout=silence
            ) as response:
                if response.status_code != 200:
                    response.read()
                    _json_object(response)  # raises with the gateway's own reason
                    raise GatewayProtocolError(
                        "bad_reply", f"Unexpected HTTP {response.status_code} to a scan."
                    )
                ended = False
                for line in _lines(response):
                    if not line.strip():
                        continue
                    event = _scan_event(line)
                    yield event
                    if event["event"] in {"finished", "error"}:
                        ended = True
                        break
                if not ended:
                    raise GatewayProtocolError(
                        "truncated", "The gateway stopped sending before the scan finished."
                    )
        except httpx.TimeoutException as error:
            raise GatewayUnreachable("timeout", "The gateway stopped answering.") from error
        except httpx.HTTPError as error:
            raise _connection_failed(
                error, f"The connection to the gateway failed ({type(error).__name__})."
            ) from error


def _ca_context(ca_file: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file)
    except ssl.SSLError:
        reason = "it holds no PEM certificate"
    except (OSError, ValueError) as error:  # ValueError: a name with a NUL in it
        reason = getattr(error, "strerror", None) or "it cannot be read"
    raise GatewayError(
        "tls_setup", f"The CA file {ca_file!r} for the gateway service cannot be used: {reason}."
    )


def _tls_failure(error: BaseException) -> ssl.SSLError | None:
    """The TLS error behind an httpx error, if there is one (httpx wraps httpcore's)."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ssl.SSLError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def _connection_failed(error: httpx.HTTPError, message: str) -> GatewayUnreachable:
    tls = _tls_failure(error)
    if tls is None:
        return GatewayUnreachable("unreachable", message)
    if isinstance(tls, ssl.SSLCertVerificationError):
        # e.g. "self-signed certificate", "Hostname mismatch, certificate is not valid for 'x'."
        reason = (tls.verify_message or "the certificate was not accepted").rstrip(".")
    elif tls.reason == "WRONG_VERSION_NUMBER":
        reason = "the service does not speak TLS here (is it serving plain HTTP?)"
    else:
        reason = (tls.reason or type(tls).__name__).replace("_", " ").lower()
    return GatewayUnreachable(
        "tls_error", f"TLS handshake with the gateway service failed: {reason}."
    )


def _lines(response: httpx.Response) -> Iterator[str]:
    """The body's lines as they arrive; one longer than an event may be is refused unread."""
    pending = b""
    for chunk in response.iter_bytes():
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            yield line.decode("utf-8", "replace")
        if len(pending) > MAX_EVENT_BYTES:
            raise GatewayProtocolError("bad_reply", "The gateway sent an oversized scan event.")
    if pending:
        yield pending.decode("utf-8", "replace")


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        body = None
    if response.status_code >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            code = str(error.get("code") or "error")
            if response.status_code == 401:
                code = "unauthorised"
            raise GatewayError(code, error["message"][:300], status=response.status_code)
        raise GatewayProtocolError(
            "bad_reply",
            f"The gateway answered HTTP {response.status_code}.",
            status=response.status_code,
        )
    if not isinstance(body, dict):
        raise GatewayProtocolError("bad_reply", "The gateway's answer is not a JSON object.")
    return body


def _scan_event(line: str) -> dict[str, Any]:
    if len(line) > MAX_EVENT_BYTES:
        raise GatewayProtocolError("bad_reply", "The gateway sent an oversized scan event.")
    try:
        event = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as error:
        raise GatewayProtocolError(
            "bad_reply", "The gateway sent a scan event that is not JSON."
        ) from error
    if not isinstance(event, dict) or event.get("event") not in SCAN_EVENTS:
        raise GatewayProtocolError("bad_reply", "The gateway sent an unknown scan event.")
    if event["event"] == "device" and not (
        isinstance(event.get("device"), dict) and isinstance(event["device"].get("eui64"), str)
    ):
        raise GatewayProtocolError("bad_reply", "The gateway sent a device without an EUI-64.")
    return event
