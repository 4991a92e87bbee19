"""The gateway service's HTTP server: aiohttp with the service's limits and error answers.

aiohttp's HTTP parser refuses a malformed request (a header too long, a NUL in a header, an
overlong request line) before the application or its middleware runs; aiohttp's own
`RequestHandler.handle_error` then answers in plain text quoting the offending bytes and
logs them with a traceback. The offending bytes may be a bearer secret, so the service runs
its own request handler class, which answers with the API's JSON error body and logs only
the kind of problem. Only this service's runner uses it; other aiohttp servers in the same
process are untouched.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import ssl
from http import HTTPStatus
from typing import Any, Final

from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMethod,
    BadStatusLine,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
    PayloadEncodingError,
)
from aiohttp.web_protocol import RequestHandler

from han_gateway.service.app import create_app
from han_gateway.service.config import ServiceConfig
from han_gateway.service.errors import error_response

LOGGER = logging.getLogger(__name__)

# Limits on the request head, enforced by aiohttp's parser (documented in GATEWAY_API.md).
MAX_REQUEST_LINE_BYTES: Final = 4096  # the longest API path is a few hundred bytes
MAX_HEADER_BYTES: Final = 8190  # one header, name and value; aiohttp's and nginx's default
MAX_HEADERS: Final = 64
KEEPALIVE_TIMEOUT_S: Final = 75.0
# aiohttp's default access log format quotes the Referer and User-Agent headers; the service
# logs no header contents at all.
ACCESS_LOG_FORMAT: Final = '%a "%r" %s %b %Tf'


def _refusal(exc: BaseException | None, request_line_limit: int) -> tuple[int, str, str]:
    """Status, code and message for a request the parser refused; never the request's bytes."""
    if isinstance(exc, LineTooLong):
        if exc.args[1:2] == (request_line_limit,):
            return (
                400,
                "request_line_too_long",
                f"The request line is longer than {request_line_limit} bytes.",
            )
        return (
            431,
            "header_too_large",
            f"A request header is longer than {MAX_HEADER_BYTES} bytes (name and value).",
        )
    # aiohttp gives "too many headers" no exception class of its own, only this message.
    if isinstance(exc, HttpProcessingError) and exc.message == "Too many headers received":
        return 431, "too_many_headers", f"The request has more than {MAX_HEADERS} headers."
    if isinstance(exc, BadHttpMethod | BadStatusLine):
        reason = "the request line is malformed"
    elif isinstance(exc, InvalidURLError):
        reason = "the request target is malformed"
    elif isinstance(exc, InvalidHeader):
        reason = "a header is malformed"
    elif isinstance(exc, PayloadEncodingError):
        reason = "the body's framing (Content-Length or Transfer-Encoding) is malformed"
    else:
        reason = "its request line, a header or the body's chunked framing is malformed"
    return 400, "malformed_request", f"The request is not valid HTTP/1.1: {reason}."


class GatewayRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering the requests it refuses with a JSON error."""

    __slots__ = ()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's version quotes `exc` (the offending bytes) in the answer and the log.
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send an error answer")
        if isinstance(exc, HttpProcessingError):
            status, code, text = _refusal(exc, self.max_line_size)
            LOGGER.warning(
                "Refused a malformed request from %s: %s (%s)",
                request.remote,
                code,
                type(exc).__name__,
            )
            response = error_response(status, code, text)
        elif status == HTTPStatus.GATEWAY_TIMEOUT:
            response = error_response(
                status, "handler_timeout", "The gateway service ran out of time."
            )
        else:
            reference = secrets.token_hex(6)
            LOGGER.error(
                "Unexpected error handling %s %s (reference %s)",
                request.method,
                request.path,
                reference,
                exc_info=exc,
            )
            response = error_response(
                500,
                "internal_error",
                "Sorry, the gateway service failed to handle this request.",
                reference=reference,
            )
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        # aiohttp logs failures below the application (such as a body that breaks off after
        # the answer went out) with the exception, whose text may quote the request's bytes.
        error = kw.get("exc_info")
        peer = self.peername
        LOGGER.warning(
            "HTTP connection from %s closed: %s (%s)",
            peer[0] if isinstance(peer, tuple) else peer,
            args[0] if args else "error",
            type(error).__name__ if isinstance(error, BaseException) else "no exception",
        )


class GatewayServer(web.Server):
    """aiohttp's low-level server, making a GatewayRequestHandler for each connection.

    aiohttp names its handler class inside `Server.__call__`; this mirrors that method and
    its attributes (`_loop`, `_kwargs`). tests/han_gateway/test_security.py fails if a new
    aiohttp changes them.
    """

    def __call__(self) -> RequestHandler:
        return GatewayRequestHandler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """An AppRunner with the service's header limits, access log and error answers."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        kwargs.setdefault("max_line_size", MAX_REQUEST_LINE_BYTES)
        kwargs.setdefault("max_field_size", MAX_HEADER_BYTES)
        kwargs.setdefault("max_headers", MAX_HEADERS)
        kwargs.setdefault("keepalive_timeout", KEEPALIVE_TIMEOUT_S)
        kwargs.setdefault("access_log_format", ACCESS_LOG_FORMAT)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        # AppRunner starts the application and builds aiohttp's Server for it; the same
        # handler, request factory and settings go to a GatewayServer instead.
        server = await super()._make_server()
        return GatewayServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )


async def serve(config: ServiceConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
    """Serve the gateways of `config` until SIGINT or SIGTERM, then stop their radios."""
    runner = GatewayRunner(create_app(config))
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_context)
        await site.start()
        scheme = "https" if ssl_context is not None else "http"
        for address in runner.addresses:
            LOGGER.info(
                "Serving %d gateway(s) on %s://%s:%s",
                len(config.gateways),
                scheme,
                address[0],
                address[1],
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        await stop.wait()
        LOGGER.info("Stopping")
    finally:
        await runner.cleanup()
