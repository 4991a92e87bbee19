"""Link limits per radio chip family: the same LQI is weak on a Silicon Labs (EZSP) scale and
fine on a TI (Z-Stack) one; the signal words people read follow the diagnosis's limits."""

from dataclasses import replace

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from portal.diagnosis.rules import (
    DiagnosisInput,
    InterfaceObservation,
    LinkLimits,
    Thresholds,
    diagnose,
)
from portal.drawing.link_quality import link_quality_label
from tests.portal.diagnosis.test_rules import THERMOSTAT


def _rules_for(link_quality: int, radio: str) -> list[str]:
    device = replace(THERMOSTAT, link_quality=link_quality)
    interface = InterfaceObservation("han0", 15, radio=radio)
    findings = diagnose(DiagnosisInput(interfaces=(interface,), devices=(device,)))
    return [finding.rule for finding in findings]


@pytest.mark.parametrize(
    ("link_quality", "radio", "rules"),
    [
        (130, "ezsp", ["weak_link"]),  # weak below 150 on Silicon Labs' scale
        (130, "znp", ["healthy"]),  # a good link on TI's
        (130, "simulated", ["healthy"]),  # the general limits: weak below 100
        (35, "znp", ["weak_link"]),
        (15, "znp", ["beyond_reach"]),
        (50, "ezsp", ["beyond_reach"]),
        (50, "", ["weak_link"]),
    ],
)
def test_the_same_link_quality_is_judged_on_its_radios_scale(link_quality, radio, rules):
    assert _rules_for(link_quality, radio) == rules


def test_a_weak_link_finding_states_the_limit_of_its_radio():
    device = replace(THERMOSTAT, link_quality=130)
    (finding,) = diagnose(
        DiagnosisInput(
            interfaces=(InterfaceObservation("han0", 15, radio="ezsp"),), devices=(device,)
        )
    )
    assert "link quality 130 (weak below 150)" in finding.evidence


def test_a_radios_limits_can_be_set_without_touching_the_others():
    thresholds = Thresholds.from_settings(
        {
            "link_quality_by_radio": {"znp": {"weak": 70, "unreachable": 30}},
            "weak_link_quality": 110,
        }
    )
    assert thresholds.link_limits("znp") == LinkLimits(70, 30)
    assert thresholds.link_limits("ezsp") == LinkLimits(150, 60)
    assert thresholds.link_limits("deconz") == LinkLimits(110, 40)


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"znp": {"weak": 20, "unreachable": 50}}, "link_quality_by_radio.znp: need 0 <="),
        ({"znp": {"weak": "high"}}, "link_quality_by_radio.znp: give whole numbers"),
        ({"znp": 50}, "link_quality_by_radio.znp: give whole numbers"),
        (["znp"], "link_quality_by_radio: give an object of radios"),
    ],
)
def test_bad_radio_limits_stop_the_portal_with_the_reason(given, problem):
    with override_settings(HAN_DIAGNOSIS_THRESHOLDS={"link_quality_by_radio": given}):
        errors = [error for error in run_checks() if error.id == "portal.E001"]
    assert len(errors) == 1 and problem in errors[0].msg


@pytest.mark.parametrize(
    ("link_quality", "radio", "label"),
    [
        (130, "ezsp", "poor"),
        (130, "znp", "fair"),
        (150, "znp", "good"),
        (130, "", "fair"),
        (200, "", "good"),
        (245, "ezsp", "good"),
        (45, "znp", "poor"),
        (15, "znp", "bad"),
    ],
)
def test_signal_words_follow_the_radios_limits(link_quality, radio, label):
    assert link_quality_label(link_quality, radio) == label
