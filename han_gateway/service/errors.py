"""API errors: every failure leaves the service as `{"error": {"code": ..., "message": ...}}`."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from han_gateway.protocol import ErrorBody, ErrorDetail

LOGGER = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error the client caused or must know about, with its HTTP status and code."""

    def __init__(
        self, status: int, code: str, message: str, *, problems: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problems = problems


def error_body(
    code: str, message: str, *, reference: str | None = None, problems: list[str] | None = None
) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if reference is not None:
        details["reference"] = reference
    if problems is not None:
        details["problems"] = problems
    return ErrorBody(error=ErrorDetail(code=code, message=message, **details)).to_wire()


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    reference: str | None = None,
    problems: list[str] | None = None,
) -> web.Response:
    return web.json_response(
        error_body(code, message, reference=reference, problems=problems), status=status
    )


_HTTP_CODES = {
    404: ("not_found", "No such endpoint."),
    405: ("method_not_allowed", "This endpoint does not accept that HTTP method."),
    413: ("body_too_large", "The request body is larger than this service accepts."),
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error.status, error.code, error.message, problems=error.problems)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code, message = _HTTP_CODES.get(error.status, ("http_error", error.reason))
        return error_response(error.status, code, message)
    except Exception:
        reference = secrets.token_hex(6)
        LOGGER.exception(
            "Unexpected error handling %s %s (reference %s)",
            request.method,
            request.path,
            reference,
        )
        return error_response(
            500,
            "internal_error",
            "Sorry, the gateway service failed to handle this request.",
            reference=reference,
        )
