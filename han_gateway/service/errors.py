"""API errors: every failure leaves the service as `{"error": {"code": ..., "message": ...}}`."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

LOGGER = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error the client caused or must know about, with its HTTP status and code."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def error_response(status: int, code: str, message: str, **details: Any) -> web.Response:
    return web.json_response(error_body(code, message, **details), status=status)


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
        return error_response(error.status, error.code, error.message, **error.details)
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
