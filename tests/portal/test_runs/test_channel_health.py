"""Channel health through real runs: the demo meter MTR-100008 keeps its devices while its HAN
moves to a channel next to busy Wi-Fi, under bursty Wi-Fi, or to channel 26."""

import pytest

from portal.models import HanTestRun
from tests.portal.test_runs.runs import run_at

pytestmark = pytest.mark.django_db

METER = "MTR-100008"


def _run_with(scenario_switch, scenario: str) -> HanTestRun:
    scenario_switch(METER, scenario)
    return run_at(METER)


def test_a_busy_neighbouring_channel_fails_the_run(demo_world, no_enqueue, scenario_switch):
    run = _run_with(scenario_switch, "adjacent_channel_busy")
    (finding,) = run.findings.all()
    assert run.status == HanTestRun.Status.FAILED
    assert finding.rule == "channel_interference" and finding.action == "change_channel"
    assert finding.title == "Interface han0: channel 14, next to the HAN's channel 15, is busy"
    assert "channel 15 (between Wi-Fi 1 and 6): energy peak 152/255" in finding.evidence
    assert "neighbouring channel 14 (under Wi-Fi 1): energy peak 228/255" in finding.evidence
    assert finding.evidence.endswith(
        "quiet Smart Energy preferred channels: 25 (above Wi-Fi 11, peak 21), "
        "20 (between Wi-Fi 6 and 11, peak 30), 19 (under Wi-Fi 6, peak 36)"
    )


def test_bursty_wifi_is_caught_by_several_energy_samples(demo_world, no_enqueue, scenario_switch):
    run = _run_with(scenario_switch, "bursty_wifi")
    (finding,) = run.findings.all()
    assert finding.rule == "channel_interference"
    assert finding.title == "Interface han0: channel 19 is busy in bursts"
    assert (
        "channel 19 (under Wi-Fi 6): energy peak 232/255, mean 90 over 6 samples, in bursts"
        in finding.evidence
    )
    assert "quiet Smart Energy preferred channels: 25 (above Wi-Fi 11, peak 19)" in (
        finding.evidence
    )
    # The run keeps each channel's peak sample, the one that shows the burst.
    assert run.interfaces.get().energy_by_channel["19"] == 232
    step = run.steps.get(key="energy:han0")
    assert step.detail == "busiest channel 18 (peak 235/255, mean 92, 6 samples)"


def test_channel_26_with_uniformly_weak_links_says_change_channel_not_move_closer(
    demo_world, no_enqueue, scenario_switch
):
    run = _run_with(scenario_switch, "channel_26_low_power")
    assert list(run.findings.values_list("rule", flat=True)) == ["channel_interference"]
    (finding,) = run.findings.all()
    assert finding.action == "change_channel"
    assert finding.title == (
        "Interface han0: move the HAN off channel 26: its radios must cut transmit power"
    )
    assert (
        "North American radios must cut transmit power (the radio reports -2 dBm); 4 of 4 "
        "devices have weak links (link quality 80-91, weak below 100)" in finding.evidence
    )
    assert " 25 (" not in finding.evidence
    assert "must transmit quietly" in finding.customer_text
    assert all(
        device.link_quality is not None and device.link_quality < 100
        for device in run.devices.filter(network="utility")
    )
