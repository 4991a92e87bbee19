"""A run as a customer reads it, in their language: the test's state, its steps and the words
the live page writes itself. Staff read the stored, technical wording instead.

Run states and steps are stored in English, with the meter's and interfaces' names in them;
a customer's words come from what is stable in them (a status, how far the test is, a step's
key), so they never depend on the stored sentence.
"""

from typing import Any

from django.utils.translation import gettext, gettext_noop, ngettext

from portal.diagnosis.wording import device_kind_translated

Payload = dict[str, Any]

# The labels of the choices a customer reads (test and case status, their role): pages
# translate the stored label, so each must be in the catalogue.
CHOICE_LABELS: tuple[str, ...] = (
    gettext_noop("Queued"),
    gettext_noop("Running"),
    gettext_noop("Passed"),
    gettext_noop("Problems found"),
    gettext_noop("Could not complete"),
    gettext_noop("Cancelled"),
    gettext_noop("Open"),
    gettext_noop("Resolved"),
    gettext_noop("Customer"),
)

# A step's title by the first part of its key ("scan:han0" is a scan).
STEP_TITLES: dict[str, str] = {
    "connect": gettext_noop("Reach your meter"),
    "enumerate": gettext_noop("Find your meter's home networks"),
    "scan": gettext_noop("Look for your devices"),
    "energy": gettext_noop("Check the radio channel for interference"),
    "operational": gettext_noop("Send a test message to each device"),
    "diagnose": gettext_noop("Work out what we found"),
}


def customer_phase(run: Payload) -> str:
    """What the test is doing, from its status and progress (never from the stored phase)."""
    if not run["active"]:
        return ""
    if run["cancel_requested"]:
        return gettext("Cancelling… the test stops at its next step.")
    if run["status"] == "queued":
        return gettext("Waiting to start")
    progress = run["progress"]
    if progress < 10:
        return gettext("Reaching your meter")
    if progress < 80:
        return gettext("Looking for your devices")
    if progress < 90:
        return gettext("Checking your devices answer the utility")
    return gettext("Working out what we found")


def run_state_for_customer(run: Payload) -> Payload:
    return {
        **run,
        "status_label": gettext(run["status_label"]),
        "phase": customer_phase(run),
        # A gateway's or the worker's reason is for staff; the customer is told what to do.
        "error": gettext("The test could not finish. Please try again in a few minutes.")
        if run["error"]
        else "",
    }


def step_for_customer(step: Payload) -> Payload:
    kind = str(step["key"]).split(":", 1)[0]
    title = STEP_TITLES.get(kind)
    return {
        **step,
        "title": gettext(title) if title else step["title"],
        # Details name interfaces, channels and gateway errors: staff's reading.
        "detail": "",
    }


def device_for_customer(device: Payload) -> Payload:
    return {**device, "category_label": device_kind_translated(device["category_label"])}


def live_words() -> dict[str, str]:
    """The words run-live.js writes on the page that a customer may read, in the active
    language (staff read English). ``{name}`` stands for a value the script fills in."""
    return {
        "cancelling": gettext("Cancelling… the test stops at its next step."),
        "cancellingButton": gettext("Cancelling…"),
        "cancelButton": gettext("Cancel test"),
        "cancelFailed": gettext("The test could not be cancelled."),
        "secondsLeft": gettext("— about {seconds} s left"),
        "resolved": gettext("resolved"),
        "whatWeFound": gettext("What we found"),
        "oneMoreThing": gettext("One more thing below."),
        # {count} is 2 or more.
        "moreThings": ngettext("{count} more thing below.", "{count} more things below.", 2),
        "noAnswer": gettext("No answer"),
        "signal_good": gettext("Good"),
        "signal_fair": gettext("Fair"),
        "signal_poor": gettext("Poor"),
        "signal_bad": gettext("Bad"),
        "signal_unknown": gettext("Unknown"),
        "check_acknowledged": gettext("Acknowledged"),
        "check_not_acknowledged": gettext("Delivered, no acknowledgement"),
        "check_not_delivered": gettext("Not delivered"),
        "yourOwnDevice": gettext("Your own device"),
        "resolvedPrefix": gettext("Resolved: {what}"),
        "newPrefix": gettext("New: {what}"),
        "deviceFound": gettext("Device now found: {what}"),
        "deviceLost": gettext("Device no longer found: {what}"),
        "signalBetter": gettext("Signal better: {what}"),
        "signalWorse": gettext("Signal worse: {what}"),
        "noChange": gettext("No change since run {number}."),
        "liveUnavailable": gettext("Live updates are not available for this run."),
        "reconnecting": gettext("Connection lost — reconnecting…"),
    }
