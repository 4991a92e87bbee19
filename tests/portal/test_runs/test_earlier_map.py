"""A real radio keeps no map of who joined through whom across a restart: devices behind a router
that went silent come without a parent (Z-Stack) or not at all (EmberZNet). The diagnosis places
them where the premise's latest earlier run found them, so the silent router is the finding."""

import pytest

from portal.diagnosis import rules as diagnosis
from portal.models import Premise, User
from portal.test_runs.execute import _with_earlier_map
from portal.test_runs.expectations import premise_expectations
from portal.test_runs.start import han_test_start
from tests.portal.test_runs.runs import library_document, run_at

pytestmark = pytest.mark.django_db

METER = "MTR-100001"
PLUG = "28:2c:02:bf:ff:e6:0a:12"  # the customer's smart plug, the thermostat's parent
THERMOSTAT = "00:0d:6f:00:0a:90:69:e7"


def _plug_off_as_a_real_radio_sees_it(*, knows_thermostat: bool):
    """The premise's devices as a real radio reports them the first time after the plug went off:
    the plug silent, the thermostat silent without a parent or not reported at all."""
    premise = Premise.objects.get(premises_gateway__meter_number=METER)
    run = han_test_start(premise=premise, user=User.objects.get(username="rep"))
    plug = diagnosis.DeviceObservation(
        eui64=PLUG, interface="han0", reachable=False, customer_owned=True
    )
    thermostat = diagnosis.DeviceObservation(
        eui64=THERMOSTAT, interface="han0", reachable=False, registered=True
    )
    devices = (plug, thermostat) if knows_thermostat else (plug,)
    registered = premise_expectations(premise=premise).utility_devices
    return _with_earlier_map(run, devices, registered), registered


@pytest.mark.parametrize("knows_thermostat", [True, False], ids=["znp", "ezsp"])
def test_devices_behind_a_silent_router_are_placed_as_the_last_run_found_them(
    demo_world, no_enqueue, scenario_switch, knows_thermostat
):
    document = library_document("router_switched_off")
    plug = next(device for device in document["devices"] if device["eui64"] == PLUG)
    plug["reachable"] = True  # last week, when the plug was on
    scenario_switch(METER, document)
    run_at(METER)

    devices, _ = _plug_off_as_a_real_radio_sees_it(knows_thermostat=knows_thermostat)

    thermostat = next(device for device in devices if device.eui64 == THERMOSTAT)
    assert (thermostat.parent, thermostat.reachable) == (PLUG, False)
    findings = diagnosis.diagnose(
        diagnosis.DiagnosisInput(
            devices=devices,
            expected=(diagnosis.ExpectedDevice(eui64=THERMOSTAT, interface="han0"),),
        )
    )
    assert [(finding.rule, finding.eui64) for finding in findings] == [
        ("router_down", "••:••:••:••:••:••:0a:12")
    ]


def test_without_an_earlier_run_nothing_is_placed(demo_world, no_enqueue):
    devices, _ = _plug_off_as_a_real_radio_sees_it(knows_thermostat=True)

    assert next(device for device in devices if device.eui64 == THERMOSTAT).parent == ""
