"""The device the call is about: picked when the test starts, kept by the case, first in the
verdict; one that is not the premise's is refused with the reason."""

import pytest

from portal.models import HanTestCase, HanTestRun, Premise, User
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.start import han_test_retest

pytestmark = pytest.mark.django_db

SWITCH = "00:0d:6f:00:05:3c:44:a1"  # MTR-100005's load control switch: outdated firmware
THERMOSTAT = "00:0d:6f:00:0a:90:69:e7"  # MTR-100005's thermostat: no acknowledgement


def _premise(meter_number: str) -> Premise:
    return Premise.objects.get(premises_gateway__meter_number=meter_number)


def test_the_premise_page_offers_the_utility_devices_on_record(client, demo_world):
    client.force_login(User.objects.get(username="rep"))
    page = client.get(f"/premises/{_premise('MTR-100005').pk}/").content.decode()
    assert "Device the call is about" in page
    assert f'<option value="{SWITCH}">' in page
    # The customer's own devices are theirs to look after: not offered.
    assert '<option value="28:2c:02:bf:ff:e6:0a:12">' not in page


@pytest.mark.parametrize("subject", [SWITCH, THERMOSTAT])
def test_the_verdict_leads_with_the_device_the_call_is_about(
    client, demo_world, no_enqueue, subject
):
    client.force_login(User.objects.get(username="rep"))
    response = client.post(
        f"/premises/{_premise('MTR-100005').pk}/test/", {"subject": subject.upper()}
    )
    run = HanTestRun.objects.get()
    assert response.status_code == 302
    assert run.case.subject_eui64 == subject
    han_test_run_execute(run.pk)
    run.refresh_from_db()
    first = run.findings.order_by("position").first()
    assert first is not None and first.eui64 == subject

    retest = han_test_retest(run=run, user=User.objects.get(username="rep"))
    assert retest.case_id == run.case_id
    assert HanTestCase.objects.get().subject_eui64 == subject  # the case keeps it


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        ("28:2c:02:bf:ff:e6:0a:12", "is not one of this premise"),
        ("00:0d:6f:00:0a:90:69", "is a pair missing?"),
    ],
)
def test_a_device_that_is_not_the_premises_is_refused_with_the_reason(
    client, demo_world, no_enqueue, subject, reason
):
    client.force_login(User.objects.get(username="rep"))
    premise = _premise("MTR-100005")
    response = client.post(f"/premises/{premise.pk}/test/", {"subject": subject}, follow=True)
    assert reason in response.content.decode()
    assert not HanTestRun.objects.exists()

    answer = client.post(
        f"/api/v1/premises/{premise.pk}/runs/", {"subject_eui64": subject}, "application/json"
    )
    assert answer.status_code == 400
    assert reason in answer.json()["detail"]
    assert not HanTestRun.objects.exists()
