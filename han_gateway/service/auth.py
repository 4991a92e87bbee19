"""Per-gateway bearer authentication: `Authorization: Bearer <secret>`.

The configuration holds only the SHA-256 of each gateway's secret. Neither the secret nor
the header is ever logged or echoed. An unknown gateway id gets the same 401 as a wrong
secret, after the same work, so gateway ids cannot be probed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from aiohttp import web

from han_gateway.service.config import GatewayConfig
from han_gateway.service.errors import ApiError

LOGGER = logging.getLogger(__name__)

_SCHEME = "bearer "
# Stands in for the digest of an unknown gateway's secret: random, so nothing matches it.
_UNKNOWN_GATEWAY_DIGEST = secrets.token_bytes(32)
_LOGGED_ID_CHARACTERS = 64


def presented_secret(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith(_SCHEME):
        return None
    secret = header[len(_SCHEME) :].strip()
    return secret or None


def authenticate(
    request: web.Request, gateway_id: str, gateway: GatewayConfig | None
) -> GatewayConfig:
    """`gateway` if it exists and the request carries its secret, else a 401 ApiError.

    `gateway` is None for an id the service does not serve: that is refused exactly as a
    wrong secret is.
    """
    secret = presented_secret(request)
    if secret is None:
        reason = "no bearer token"
    else:
        # A header that is not UTF-8 arrives with surrogates standing for its bytes; it
        # cannot match, but it must still be hashed rather than crash the request.
        digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
        expected = gateway.secret_sha256 if gateway is not None else _UNKNOWN_GATEWAY_DIGEST
        if hmac.compare_digest(digest, expected) and gateway is not None:
            return gateway
        reason = "wrong secret" if gateway is not None else "unknown gateway"
    LOGGER.warning(
        "Rejected %s %r for gateway %r from %s: %s",
        request.method,
        request.path[:200],
        gateway_id[:_LOGGED_ID_CHARACTERS],
        request.remote,
        reason,
    )
    raise ApiError(401, "unauthorized", "Missing or wrong credentials for this gateway.")
