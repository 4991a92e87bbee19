"""Real runs that judge a registered device's security from the Trust Center's join evidence:
a wrong install code, a default-key join, and a device with no join record."""

import pytest

from portal.models import HanTestRun, Premise, User
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.start import han_test_start
from tests.portal.commissioning.pool_pump import EUI64, registration_form
from tests.portal.test_runs.runs import library_document
from trust_center.models import DeviceRegistration

pytestmark = pytest.mark.django_db

METER = "MTR-100003"
# A well-formed install code (its CRC is right) that is not the one on the pool pump's label.
ANOTHER_DEVICES_INSTALL_CODE = "84FED3407A939723A5C639B26916D5058007"


@pytest.fixture
def chen(client, demo_world, eager_tasks, scenario_switch):
    """Chen Wei, signed in; the simulated meter's HAN is put back as it was afterwards."""
    scenario_switch(METER, "registered_device_missing")
    client.force_login(User.objects.get(username="chen"))
    return Premise.objects.get(premises_gateway__meter_number=METER)


def _register(client, premise, django_capture_on_commit_callbacks, **changes):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/premises/{premise.pk}/devices/register/", registration_form(**changes)
        )
    assert response.status_code == 302, response.content
    registration = DeviceRegistration.objects.get()
    assert registration.status == DeviceRegistration.Status.JOIN_WINDOW_OPEN
    return registration


def _run(premise) -> HanTestRun:
    run = han_test_start(premise=premise, user=User.objects.get(username="chen"))
    han_test_run_execute(run.pk)
    run.refresh_from_db()
    return run


def test_a_wrong_install_code_is_named_not_a_power_check(
    client, chen, join_log, django_capture_on_commit_callbacks
):
    registration = _register(
        client, chen, django_capture_on_commit_callbacks, install_code=ANOTHER_DEVICES_INSTALL_CODE
    )
    join_log(METER, EUI64, "refused_key_mismatch")

    run = _run(chen)
    about_the_pump = list(run.findings.filter(eui64=EUI64))
    assert [finding.rule for finding in about_the_pump] == ["install_code_mismatch"]
    (finding,) = about_the_pump
    assert finding.severity == "critical"
    assert "install code does not match" in finding.title
    assert "re-check the label or QR code" in finding.title
    assert "the Trust Center refused its join on han0 at" in finding.evidence
    assert "power" not in finding.customer_text.lower()
    # The customer is told to check the code; the rep is offered re-registering with it.
    (told,) = client.get(f"/runs/{run.pk}/").context["snapshot"]["findings"]
    assert told == {
        "rule": "install_code_mismatch",
        "severity": "critical",
        "customer_text": finding.customer_text,
    }
    client.force_login(User.objects.get(username="rep"))
    assert "Re-check the install code" in client.get(f"/runs/{run.pk}/").content.decode()
    assert run.status == "failed"

    registration.refresh_from_db()
    assert registration.status == DeviceRegistration.Status.FAILED
    assert "install code does not match" in registration.status_reason


def test_a_default_key_join_under_an_open_policy_is_reported_with_its_evidence(
    client, chen, join_log, scenario_switch, django_capture_on_commit_callbacks
):
    document = library_document("registered_device_missing")
    document["gateway"]["join_policy"] = "default_key_allowed"
    pump = next(each for each in document["devices"] if each["eui64"] == EUI64)
    pump["join_method"] = "default_key"  # the switch holds the well-known key, not its own
    scenario_switch(METER, document)
    registration = _register(client, chen, django_capture_on_commit_callbacks)
    join_log(METER, EUI64, "joined")

    run = _run(chen)
    assert run.devices.get(eui64=EUI64).join_method == "default_key"
    rules = {(finding.rule, finding.eui64) for finding in run.findings.all()}
    assert ("insecure_join", EUI64) in rules
    assert ("default_key_policy", "") in rules
    policy = run.findings.get(rule="default_key_policy")
    assert policy.severity == "critical" and "han0" in policy.title
    registration.refresh_from_db()
    assert registration.status == DeviceRegistration.Status.FAILED
    assert "default key" in registration.status_reason


def test_a_device_that_joined_before_the_log_is_unknown_and_never_verified(
    client, chen, scenario_switch, django_capture_on_commit_callbacks
):
    document = library_document("registered_device_missing")
    pump = next(each for each in document["devices"] if each["eui64"] == EUI64)
    pump["pending_join"] = False  # on the network already ...
    pump["join_logged"] = False  # ... since before the gateway's join log began
    scenario_switch(METER, document)
    registration = _register(client, chen, django_capture_on_commit_callbacks)

    run = _run(chen)
    pump_seen = run.devices.get(eui64=EUI64)
    assert pump_seen.join_method == "unknown"
    assert not run.findings.filter(eui64=EUI64).exists()  # no guess either way
    registration.refresh_from_db()
    assert registration.status == DeviceRegistration.Status.JOIN_WINDOW_OPEN  # not verified
