"""The worker's way to a Premises Gateway: a client for its HAN gateway service, with its secret."""

import logging

from django.conf import settings

from han_gateway.client import GatewayClient, GatewayError
from han_gateway.models import PremisesGateway
from han_gateway.validators import service_url_refusal
from trust_center.selectors import gateway_secret_get

logger = logging.getLogger(__name__)


def gateway_client_for(gateway: PremisesGateway) -> GatewayClient:
    """A client for the gateway's service, carrying its secret: only to an allowed origin.

    The URL was checked when it was written, but a row may predate today's settings or have
    been written around the forms; the secret is not sent until it passes again.
    """
    refusal = service_url_refusal(gateway.service_url)
    if refusal is not None:
        logger.warning("gateway %s: service URL refused: %s", gateway.meter_number, refusal)
        raise GatewayError("service_url_refused", refusal)
    secret = gateway_secret_get(premises_gateway=gateway)
    if secret is None:
        raise GatewayError("no_credentials", "The Trust Center holds no secret for this gateway.")
    return GatewayClient(
        base_url=gateway.service_url,
        gateway_id=gateway.service_gateway_id,
        secret=secret,
        connect_timeout_s=settings.HAN_GATEWAY_CONNECT_TIMEOUT_S,
        read_timeout_s=settings.HAN_GATEWAY_READ_TIMEOUT_S,
        ca_file=settings.HAN_GATEWAY_CA_FILE or None,
    )
