"""Instructions emailed to the customer from a finished run: what was found and what to do, in
the customer's own words, with a link back to their result (Django's mail framework: SMTP in
production, the console on the embedded default)."""

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from portal.access.roles import user_works_for_utility
from portal.diagnosis.rules import RuleId
from portal.models import CustomerMessage, HanTestRun, User
from portal.test_runs.start import HanTestError

logger = logging.getLogger(__name__)


def instructions_text(run: HanTestRun) -> list[str]:
    """What the customer is told to do, each thing once, most important first."""
    steps: list[str] = []
    for finding in run.findings.exclude(rule=RuleId.HEALTHY).order_by("position"):
        if finding.customer_text and finding.customer_text not in steps:
            steps.append(finding.customer_text)
    return steps


def customer_instructions_send(*, run: HanTestRun, user: User) -> CustomerMessage:
    """Email the run's instructions to the customer's address on file."""
    if not user_works_for_utility(user):
        raise PermissionError("The utility's staff send instructions.")
    if run.is_active:
        raise HanTestError("Wait for the test to finish before sending its instructions.")
    customer = run.premise.customer
    if not customer.email:
        raise HanTestError("This customer has no email address on file.")
    context = {
        "customer": customer,
        "premise": run.premise,
        "run": run,
        "passed": run.status == HanTestRun.Status.PASSED,
        "steps": instructions_text(run),
        "link": settings.PORTAL_BASE_URL + reverse("run_detail", args=[run.pk]),
        "sender": user.get_full_name() or "your utility",
    }
    message = EmailMultiAlternatives(
        subject=f"Your home energy devices at {run.premise.address_line}: what to do",
        body=render_to_string("email/instructions.txt", context),
        to=[customer.email],
    )
    message.attach_alternative(render_to_string("email/instructions.html", context), "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        logger.warning("instructions for run %s not sent: %s", run.pk, type(error).__name__)
        raise HanTestError("The email could not be sent just now: try again shortly.") from None
    return CustomerMessage.objects.create(run=run, sent_to=customer.email, sent_by=user)
