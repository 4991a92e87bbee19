"""Per-gateway bearer authentication: `Authorization: Bearer <secret>`.

The configuration holds only the SHA-256 of each gateway's secret. Neither the secret nor
the header is ever logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from aiohttp import web

from han_gateway.service.config import GatewayConfig
from han_gateway.service.errors import ApiError

LOGGER = logging.getLogger(__name__)

_SCHEME = "bearer "


def presented_secret(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith(_SCHEME):
        return None
    secret = header[len(_SCHEME) :].strip()
    return secret or None


def authenticate(request: web.Request, gateway: GatewayConfig) -> None:
    """Raise a 401 ApiError unless the request carries this gateway's secret."""
    secret = presented_secret(request)
    if secret is None:
        reason = "no bearer token"
    else:
        # A header that is not UTF-8 arrives with surrogates standing for its bytes; it
        # cannot match, but it must still be hashed rather than crash the request.
        digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
        if hmac.compare_digest(digest, gateway.secret_sha256):
            return
        reason = "wrong secret"
    LOGGER.warning(
        "Rejected %s %s for gateway %s from %s: %s",
        request.method,
        request.path,
        gateway.gateway_id,
        request.remote,
        reason,
    )
    raise ApiError(401, "unauthorized", "Missing or wrong gateway credentials.")
