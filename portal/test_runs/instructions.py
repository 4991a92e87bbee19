"""Instructions emailed to the customer from a finished run: what was found and what to do, in
the customer's own words and language, with a link back to their result (Django's mail
framework: SMTP in production, the console on the embedded default). A rep sends them, or the
customer sends them to themselves; either way only to the address on the customer's account."""

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from portal.access.roles import user_works_for_utility
from portal.diagnosis.rules import RuleId
from portal.diagnosis.wording import customer_text_translated
from portal.models import CustomerMessage, HanTestRun, User
from portal.test_runs.start import HanTestError

logger = logging.getLogger(__name__)


def instructions_text(run: HanTestRun) -> list[str]:
    """What the customer is told to do, each thing once, most important first, in the active
    language."""
    steps: list[str] = []
    for finding in run.findings.exclude(rule=RuleId.HEALTHY).order_by("position"):
        words = customer_text_translated(finding.customer_text) if finding.customer_text else ""
        if words and words not in steps:
            steps.append(words)
    return steps


def customer_instructions_send(*, run: HanTestRun, user: User) -> CustomerMessage:
    """Email the run's instructions to the customer's address on file, in the customer's
    language whoever sends them. ``user``: the utility's staff, or the account holder."""
    customer = run.premise.customer
    staff = user_works_for_utility(user)
    if not staff and not user.customer_accounts.filter(pk=customer.pk).exists():
        raise PermissionError("The utility's staff or the account holder send instructions.")
    if run.is_active:
        raise HanTestError(
            "Wait for the test to finish before sending its instructions."
            if staff
            else gettext("Wait for the test to finish, then email yourself the steps.")
        )
    if not customer.email:
        raise HanTestError(
            "This customer has no email address on file."
            if staff
            else gettext(
                "We have no email address for you. Call customer service to add one, then you "
                "can email yourself these steps."
            )
        )
    with translation.override(customer.language):
        context = {
            "customer": customer,
            "premise": run.premise,
            "run": run,
            "passed": run.status == HanTestRun.Status.PASSED,
            "steps": instructions_text(run),
            "link": settings.PORTAL_BASE_URL + reverse("run_detail", args=[run.pk]),
            # A customer who sends them to themselves is not signed by name.
            "sender": (user.get_full_name() or gettext("your utility")) if staff else "",
        }
        message = EmailMultiAlternatives(
            subject=gettext("Your home energy devices at %(address)s: what to do")
            % {"address": run.premise.address_line},
            body=render_to_string("email/instructions.txt", context),
            to=[customer.email],
        )
        message.attach_alternative(
            render_to_string("email/instructions.html", context), "text/html"
        )
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        logger.warning("instructions for run %s not sent: %s", run.pk, type(error).__name__)
        raise HanTestError(
            "The email could not be sent just now: try again shortly."
            if staff
            else gettext("The email could not be sent just now: please try again shortly.")
        ) from None
    return CustomerMessage.objects.create(run=run, sent_to=customer.email, sent_by=user)
