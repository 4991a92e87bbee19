"""A run keeps, for each device, whether its answers came with APS security: Smart Energy devices
answer the meter's APS-encrypted requests in kind, a Home Automation device without."""

import pytest

from han_gateway.scenarios import load_library_scenario
from han_gateway.zigbee_ids import SMART_ENERGY_PROFILE_ID
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
