"""Channel health: busy channels and neighbours, bursts, quiet Smart Energy preferred channels
named with their Wi-Fi neighbours, and channel 26's power cut told from distance."""

import pytest

from portal.diagnosis import channels
from portal.diagnosis.rules import (
    Action,
    DeviceObservation,
    DiagnosisInput,
    InterfaceObservation,
    diagnose,
)

QUIET = dict.fromkeys(range(11, 27), 30)


def _device(number: int, link_quality: int, **fields) -> DeviceObservation:
    return DeviceObservation(
        eui64=f"00:0d:6f:00:00:00:00:{number:02x}",
        interface="han0",
        category_label="In-home display",
        link_quality=link_quality,
        registered=True,
        join_method="install_code",
        **fields,
    )


def _findings(interface: InterfaceObservation, *devices: DeviceObservation):
    return diagnose(DiagnosisInput(interfaces=(interface,), devices=devices))


def test_wifi_position_names_the_wifi_channel_over_or_around_a_zigbee_channel():
    assert channels.wifi_position(11) == "under Wi-Fi 1"
    assert channels.wifi_position(15) == "between Wi-Fi 1 and 6"
    assert channels.wifi_position(19) == "under Wi-Fi 6"
    assert channels.wifi_position(20) == "between Wi-Fi 6 and 11"
    assert channels.wifi_position(24) == "under Wi-Fi 11"
    assert channels.wifi_position(25) == "above Wi-Fi 11"


def test_neighbours_stay_inside_the_band():
    assert channels.neighbours(11) == (12,)
    assert channels.neighbours(15) == (14, 16)
    assert channels.neighbours(26) == (25,)


def test_suggestions_are_quiet_preferred_channels_not_the_lowest_numbers():
    peak = QUIET | {11: 20, 12: 230, 19: 12, 25: 15, 24: 150}
    suggested = channels.quiet_preferred_channels(17, peak, quiet=102, busy=191)
    # 11 is quiet itself but its neighbour 12 is busy; 24 is not quiet; 16-18 are not preferred.
    assert suggested == [19, 25, 15]
    assert set(suggested) <= set(channels.SMART_ENERGY_PREFERRED_CHANNELS)


def test_between_equals_a_channel_in_a_wifi_gap_comes_first():
    assert channels.quiet_preferred_channels(17, QUIET, quiet=102, busy=191, count=7) == [
        15,
        20,
        25,
        11,
        14,
        19,
        24,
    ]


def test_no_suggestion_when_nothing_preferred_is_quiet():
    assert (
        channels.quiet_preferred_channels(
            17, dict.fromkeys(range(11, 27), 150), quiet=102, busy=191
        )
        == []
    )


def test_channel_26_is_power_limited_and_25_only_when_the_radio_reports_a_cut():
    assert channels.power_limited(26, None, low_tx_power_dbm=0)
    assert not channels.power_limited(25, None, low_tx_power_dbm=0)
    assert channels.power_limited(25, -3, low_tx_power_dbm=0)
    assert not channels.power_limited(15, -3, low_tx_power_dbm=0)


def test_uniformly_weak_needs_most_of_two_or_more_links():
    assert channels.uniformly_weak([80, 90, 95, 70], weak=100, share=0.75)
    assert channels.uniformly_weak([80, 90, 95, 200], weak=100, share=0.75)
    assert not channels.uniformly_weak([80, 200, 210, 220], weak=100, share=0.75)
    assert not channels.uniformly_weak([80], weak=100, share=0.75)


def test_energy_reading_tells_a_burst_from_a_steady_load():
    assert channels.energy_reading(232, 90, 6, busy=191) == (
        "energy peak 232/255, mean 90 over 6 samples, in bursts"
    )
    assert channels.energy_reading(236, 236, 6, busy=191) == (
        "energy peak 236/255, mean 236 over 6 samples"
    )
    assert channels.energy_reading(236, 236, 1, busy=191) == "energy 236/255"


def test_a_busy_neighbouring_channel_is_a_finding_though_the_own_channel_is_below_the_limit():
    interface = InterfaceObservation(
        "han0", 15, QUIET | {13: 233, 14: 228, 15: 150}, QUIET | {13: 233, 14: 228, 15: 150}, 6
    )
    (finding,) = _findings(interface, _device(1, 200))
    assert finding.rule == "channel_interference" and finding.action == Action.CHANGE_CHANNEL
    assert finding.title == "Interface han0: channel 14, next to the HAN's channel 15, is busy"
    assert finding.evidence.startswith(
        "channel 15 (between Wi-Fi 1 and 6): energy peak 150/255, mean 150 over 6 samples; "
        "neighbouring channel 14 (under Wi-Fi 1): energy peak 228/255, mean 228 over 6 samples "
        "(busy above 191); quiet Smart Energy preferred channels: 20 (between Wi-Fi 6 and 11"
    )


def test_a_burst_caught_by_the_peak_sample_is_a_finding():
    peak = QUIET | {19: 232}
    mean = QUIET | {19: 90}
    (finding,) = _findings(InterfaceObservation("han0", 19, peak, mean, 6), _device(1, 200))
    assert finding.title == "Interface han0: channel 19 is busy in bursts"
    assert "energy peak 232/255, mean 90 over 6 samples, in bursts" in finding.evidence
    assert "20 (between Wi-Fi 6 and 11" not in finding.evidence  # 20 sits next to the bursts


def test_the_mean_alone_would_have_missed_the_burst_but_the_rule_reads_the_peak():
    steady_looking = InterfaceObservation("han0", 19, QUIET | {19: 90}, QUIET | {19: 90}, 6)
    assert [finding.rule for finding in _findings(steady_looking, _device(1, 200))] == ["healthy"]


def test_channel_26_with_uniformly_weak_links_is_one_channel_finding_not_several_weak_links():
    interface = InterfaceObservation("han0", 26, QUIET | {26: 18}, QUIET | {26: 18}, 6, -2)
    devices = [_device(1, 88), _device(2, 80), _device(3, 91), _device(4, 83)]
    findings = _findings(interface, *devices)
    assert [finding.rule for finding in findings] == ["channel_interference"]
    (finding,) = findings
    assert finding.title == (
        "Interface han0: move the HAN off channel 26: its radios must cut transmit power"
    )
    assert "(the radio reports -2 dBm); 4 of 4 devices have weak links (link quality 80-91" in (
        finding.evidence
    )
    # Channel 25 is no refuge: radios often cut their power there too.
    assert "quiet Smart Energy preferred channels: 15 (between Wi-Fi 1 and 6, peak 30)" in (
        finding.evidence
    )
    assert " 25 (" not in finding.evidence


def test_one_weak_device_on_channel_26_is_still_a_weak_link():
    interface = InterfaceObservation("han0", 26, QUIET)
    findings = _findings(interface, _device(1, 70), _device(2, 210), _device(3, 220))
    assert [(finding.rule, finding.eui64) for finding in findings] == [
        ("weak_link", "00:0d:6f:00:00:00:00:01")
    ]


def test_uniformly_weak_links_on_an_ordinary_channel_stay_weak_links():
    interface = InterfaceObservation("han0", 15, QUIET)
    findings = _findings(interface, _device(1, 88), _device(2, 80))
    assert [finding.rule for finding in findings] == ["weak_link", "weak_link"]


def test_customer_devices_do_not_count_towards_uniformly_weak_links():
    interface = InterfaceObservation("han0", 26, QUIET)
    findings = _findings(
        interface, _device(1, 80), _device(2, 210), _device(3, 85, customer_owned=True)
    )
    assert [finding.rule for finding in findings] == ["weak_link"]


@pytest.mark.parametrize("channel", [15, 20, 25])
def test_a_quiet_channel_with_quiet_neighbours_passes(channel):
    interface = InterfaceObservation("han0", channel, QUIET, QUIET, 6)
    assert [finding.rule for finding in _findings(interface, _device(1, 200))] == ["healthy"]
