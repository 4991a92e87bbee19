"""A run keeps, for each device, whether its answers came with APS security: Smart Energy devices
answer the meter's APS-encrypted requests in kind, a Home Automation device without."""

import json
import re

import pytest

from han_gateway.eui64 import mask_eui64
from han_gateway.scenarios import load_library_scenario
from han_gateway.zigbee_ids import SMART_ENERGY_PROFILE_ID
from portal.models import User
from tests.portal.test_runs.runs import run_at

pytestmark = pytest.mark.django_db


def test_each_device_is_recorded_with_the_security_its_answers_came_with(
    demo_world, no_enqueue, scenario_switch
):
    scenario_switch("MTR-100001", "healthy")
    run = run_at("MTR-100001")
    recorded = {device.eui64: device.details["aps_encrypted"] for device in run.devices.all()}
    expected = {
        str(spec.eui64): spec.profile_id == SMART_ENERGY_PROFILE_ID
        for spec in load_library_scenario("healthy").devices
    }
    assert recorded == expected
    assert set(expected.values()) == {True, False}


def test_staff_see_the_security_each_device_answered_with(
    client, demo_world, no_enqueue, scenario_switch
):
    scenario_switch("MTR-100001", "healthy")
    run = run_at("MTR-100001")

    def shown_to(username):
        client.force_login(User.objects.get(username=username))
        page = client.get(f"/runs/{run.pk}/").content.decode()
        snapshot = re.search(
            r'<script id="run-snapshot" type="application/json">(.*?)</script>', page
        )
        assert snapshot is not None
        return json.loads(snapshot[1])["devices"]

    shown = {device["eui64"]: device["aps_encrypted"] for device in shown_to("rep")}
    # A customer-owned device is shown to the rep by its masked EUI-64.
    assert shown == {
        mask_eui64(device.eui64) if device.network == "customer" else device.eui64: (
            device.details["aps_encrypted"]
        )
        for device in run.devices.all()
    }
    # The customer's page says nothing of keys.
    assert all("aps_encrypted" not in device for device in shown_to("alice"))
