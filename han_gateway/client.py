"""The portal's client for a Premises Gateway's HAN gateway service. Imports no Django.

Blocking calls on purpose: a scan is network-bound, and Celery's threads pool carries many of
them at once in one worker process. Requests are built and every answer and scan line is read
with the models of `han_gateway.protocol`; whatever the gateway sends that does not follow
them becomes a ``GatewayProtocolError`` naming the field.
"""

import contextlib
import functools
import logging
import os
import ssl
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from han_gateway.protocol import (
    Answer,
    DeviceRemoved,
    EnergyScanRequest,
    EnergyScanResult,
    ErrorBody,
    Eui64,
    Identity,
    InterfaceId,
    InterfaceInfo,
    InterfaceList,
    JoinWindowOpened,
    JoinWindowRequest,
    OperationalCheckRequest,
    OperationalCheckResult,
    ProtocolViolation,
    RequestBody,
    ScanErrorEvent,
    ScanEvent,
    ScanFinishedEvent,
    ScanRequest,
    ScenarioReplacement,
    read_answer,
    read_scan_event,
)

logger = logging.getLogger(__name__)

MAX_EVENT_BYTES = 256 * 1024
SCAN_GRACE_S = 3.0
MAX_MESSAGE_SHOWN: Final = 300
_INTERFACE_ID: Final[TypeAdapter[str]] = TypeAdapter(InterfaceId)
_EUI64: Final[TypeAdapter[str]] = TypeAdapter(Eui64)

A = TypeVar("A", bound=Answer)
T = TypeVar("T")


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
    """An answer that is not what the protocol (`han_gateway.protocol`) says."""


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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """A client of one gateway. Raises GatewayError("tls_setup") for an unusable CA file.

        Over https the service's certificate is checked against `ca_file` (PEM) if given,
        else against the system's CA store. `transport` stands in for the network (e.g.
        httpx.MockTransport).
        """
        self.gateway_id = gateway_id
        verify = _verify_context(ca_file)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {secret}", "Accept": "application/json"},
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            follow_redirects=False,
            verify=verify,
            transport=transport,
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

    def _interface_path(self, interface_id: str, suffix: str) -> str:
        checked = _checked(lambda: _INTERFACE_ID.validate_python(interface_id))
        return self._path(f"/interfaces/{checked}{suffix}")

    def _device_path(self, interface_id: str, eui64: str, suffix: str = "") -> str:
        checked = _checked(lambda: _EUI64.validate_python(eui64))
        return self._interface_path(interface_id, f"/devices/{checked}{suffix}")

    def _call(
        self,
        method: str,
        path: str,
        answer: type[A],
        what: str,
        body: RequestBody | None = None,
    ) -> A:
        with _network_errors(
            timeout="The gateway did not answer in time.",
            failure="The gateway could not be reached",
        ):
            response = self._http.request(
                method, path, json=None if body is None else body.to_wire()
            )
        return _read(response, answer, what)

    def identify(self) -> Identity:
        return self._call("GET", self._path(), Identity, "identity")

    def interfaces(self) -> list[InterfaceInfo]:
        answer = self._call("GET", self._path("/interfaces"), InterfaceList, "interface list")
        return answer.interfaces

    def energy_scan(self, interface_id: str) -> EnergyScanResult:
        """Every channel's highest and mean energy sample. The body is left empty so a gateway
        of any version answers: one of this version takes `DEFAULT_ENERGY_SAMPLES` samples."""
        return self._call(
            "POST",
            self._interface_path(interface_id, "/energy-scan"),
            EnergyScanResult,
            "energy scan",
            EnergyScanRequest(),
        )

    def operational_check(
        self, interface_id: str, eui64: str, check: str, *, timeout_s: float = 5.0
    ) -> OperationalCheckResult:
        body = _checked(
            lambda: OperationalCheckRequest.model_validate({"check": check, "timeout_s": timeout_s})
        )
        return self._call(
            "POST",
            self._device_path(interface_id, eui64, "/operational-check"),
            OperationalCheckResult,
            "operational check result",
            body,
        )

    def open_join_window(
        self, interface_id: str, *, eui64: str, link_key_hex: str, duration_s: int
    ) -> JoinWindowOpened:
        body = _checked(
            lambda: JoinWindowRequest(eui64=eui64, link_key=link_key_hex, duration_s=duration_s)
        )
        return self._call(
            "POST",
            self._interface_path(interface_id, "/join-window"),
            JoinWindowOpened,
            "join window",
            body,
        )

    def remove_device(self, interface_id: str, eui64: str) -> DeviceRemoved:
        return self._call(
            "DELETE", self._device_path(interface_id, eui64), DeviceRemoved, "device removal"
        )

    def replace_scenario(self, interface_id: str, scenario: str | dict[str, Any]) -> InterfaceInfo:
        body = _checked(lambda: ScenarioReplacement(scenario=scenario))
        return self._call(
            "PUT",
            self._interface_path(interface_id, "/scenario"),
            InterfaceInfo,
            "interface description",
            body,
        )

    def scan(self, interface_id: str, *, timeout_s: float) -> Generator[ScanEvent]:
        """Yield the scan's events as the gateway streams them; the last is finished or error."""
        path = self._interface_path(interface_id, "/scan")
        body = _checked(lambda: ScanRequest(timeout_s=timeout_s))
        # The gateway ends a scan at timeout_s itself; one that goes silent is given up on
        # shortly after, whatever the client's usual read timeout.
        silence = httpx.Timeout(timeout_s + SCAN_GRACE_S, connect=self._http.timeout.connect)
        with (
            _network_errors(
                timeout="The gateway stopped answering.",
                failure="The connection to the gateway failed",
            ),
            self._http.stream("POST", path, json=body.to_wire(), timeout=silence) as response,
        ):
            if response.status_code != 200:
                response.read()
                if response.status_code >= 400:
                    raise _refusal(response)
                raise GatewayProtocolError(
                    "bad_reply", f"Unexpected HTTP {response.status_code} to a scan."
                )
            ended = False
            for line in _lines(response):
                if not line.strip():
                    continue
                event = _scan_event(line)
                yield event
                if isinstance(event, ScanFinishedEvent | ScanErrorEvent):
                    ended = True
                    break
            if not ended:
                raise GatewayProtocolError(
                    "truncated", "The gateway stopped sending before the scan finished."
                )


@contextlib.contextmanager
def _network_errors(*, timeout: str, failure: str) -> Iterator[None]:
    """httpx's errors as GatewayUnreachable: `timeout` says what a time-out means, `failure`
    (followed by the error's type) what any other failure of the connection means."""
    try:
        yield
    except httpx.TimeoutException as error:
        raise GatewayUnreachable("timeout", timeout) from error
    except httpx.HTTPError as error:
        raise _connection_failed(error, f"{failure} ({type(error).__name__}).") from error


def _checked(build: Callable[[], T]) -> T:
    """What `build` makes of the caller's values; values the protocol refuses are a GatewayError."""
    try:
        return build()
    except ValidationError as error:
        violation = ProtocolViolation.from_error(error)
        raise GatewayError(
            "invalid_request", f"The request for the gateway is not valid: {violation}"
        ) from None


def _verify_context(ca_file: str | None) -> ssl.SSLContext:
    """The context that checks the service's certificate: against `ca_file`, else the system's
    CA store. Loading a CA store costs milliseconds and a run opens a client per gateway, so
    each store is loaded once per process, and again when its file changes."""
    if ca_file is None:
        return _system_context()
    try:
        found = os.stat(ca_file)
    except (OSError, ValueError):
        return _ca_context(ca_file)  # it says why the file cannot be used
    return _cached_ca_context(ca_file, (found.st_ino, found.st_size, found.st_mtime_ns))


@functools.cache
def _system_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


@functools.lru_cache(maxsize=8)
def _cached_ca_context(ca_file: str, stamp: tuple[int, int, int]) -> ssl.SSLContext:
    return _ca_context(ca_file)


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


def _lines(response: httpx.Response) -> Iterator[bytes]:
    """The body's lines as they arrive; one longer than an event may be is refused unread."""
    pending = b""
    for chunk in response.iter_bytes():
        *lines, pending = (pending + chunk).split(b"\n")
        yield from lines
        if len(pending) > MAX_EVENT_BYTES:
            raise GatewayProtocolError("bad_reply", "The gateway sent an oversized scan event.")
    if pending:
        yield pending


def _refusal(response: httpx.Response) -> GatewayError:
    """The gateway's own reason for a 4xx or 5xx answer."""
    status = response.status_code
    try:
        body = read_answer(ErrorBody, response.content)
    except ProtocolViolation:
        return GatewayProtocolError(
            "bad_reply", f"The gateway answered HTTP {status}.", status=status
        )
    code = "unauthorised" if status == 401 else body.error.code
    return GatewayError(code, body.error.message[:MAX_MESSAGE_SHOWN], status=status)


def _read(response: httpx.Response, answer: type[A], what: str) -> A:
    if response.status_code >= 400:
        raise _refusal(response)
    try:
        return read_answer(answer, response.content)
    except ProtocolViolation as violation:
        raise GatewayProtocolError(
            "bad_reply",
            f"The gateway's {what} is malformed: {violation}"[:MAX_MESSAGE_SHOWN],
            status=response.status_code,
        ) from None


def _scan_event(line: bytes) -> ScanEvent:
    if len(line) > MAX_EVENT_BYTES:
        raise GatewayProtocolError("bad_reply", "The gateway sent an oversized scan event.")
    try:
        return read_scan_event(line)
    except ProtocolViolation as violation:
        raise GatewayProtocolError(
            "bad_reply", f"The gateway sent a malformed scan event: {violation}"[:MAX_MESSAGE_SHOWN]
        ) from None
