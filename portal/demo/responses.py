"""The demo's simulated premises answer the action taken, as the real ones would: once the rep
records that the display was moved, or the AMI network team marks a channel change done, the
simulated HAN at that meter becomes the one after the fix, so the retest passes.

Only a demo gateway is touched: one whose Trust Center secret is the demo's public one
(``demo_gateway_secret``), which no real gateway holds. ``HAN_DEMO_PREMISES_RESPOND`` turns it
off (the test suite does, except where it tests this).
"""

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from han_gateway.client import GatewayError
from portal.demo.premises import demo_gateway_secret
from portal.diagnosis.rules import Action
from portal.gateway_clients import gateway_client_for
from portal.models import Escalation, Premise, RecordedAction
from trust_center.selectors import gateway_secret_get

logger = logging.getLogger(__name__)

# (meter, the action taken) → (interface, the library scenario after it). The README's table of
# demo premises says the same in words.
DEMO_FIXES: dict[tuple[str, str], tuple[str, str]] = {
    ("MTR-100002", Action.CHANGE_RANGE): ("han0", "weak_link_fixed"),
    ("MTR-100004", Action.INSTALL_ADDITIONAL_DEVICE): ("han0", "needs_router_fixed"),
    ("MTR-100005", Action.UPGRADE_DEVICE): ("han0", "outdated_firmware_fixed"),
    ("MTR-100006", Action.CHANGE_SECURITY_SETTINGS): ("han0", "default_key_join_fixed"),
    ("MTR-100007", Action.CHANGE_SECURITY_SETTINGS): ("han0", "unregistered_device_fixed"),
    ("MTR-100007", Action.INVESTIGATE_DEVICE): ("han0", "unregistered_device_fixed"),
    ("MTR-100008", Action.CHANGE_CHANNEL): ("han0", "channel_interference_fixed"),
}


def demo_premise_respond(*, premise: Premise, action: str) -> str | None:
    """Make the demo premise's HAN the one after ``action``; the scenario now running, if any."""
    gateway = premise.premises_gateway
    if gateway is None or not settings.HAN_DEMO_PREMISES_RESPOND:
        return None
    fix = DEMO_FIXES.get((gateway.meter_number, action))
    if fix is None:
        return None
    if gateway_secret_get(premises_gateway=gateway) != demo_gateway_secret(gateway.meter_number):
        return None
    interface, scenario = fix
    try:
        with gateway_client_for(gateway) as client:
            client.replace_scenario(interface, scenario)
    except GatewayError as error:
        logger.warning("demo gateway %s did not take %s: %s", gateway.meter_number, scenario, error)
        return None
    logger.info("demo gateway %s now runs %s after %s", gateway.meter_number, scenario, action)
    return scenario


@receiver(post_save, sender=RecordedAction, dispatch_uid="demo-action-taken")
def _action_recorded(sender: Any, instance: RecordedAction, created: bool, **kwargs: Any) -> None:
    if created:
        premise = instance.run.premise
        transaction.on_commit(lambda: demo_premise_respond(premise=premise, action=instance.action))


@receiver(post_save, sender=Escalation, dispatch_uid="demo-escalation-answered")
def _escalation_saved(sender: Any, instance: Escalation, **kwargs: Any) -> None:
    if (
        instance.kind == Escalation.Kind.CHANNEL_CHANGE
        and instance.status == Escalation.Status.DONE
    ):
        premise = instance.case.premise
        transaction.on_commit(
            lambda: demo_premise_respond(premise=premise, action=Action.CHANGE_CHANNEL)
        )
