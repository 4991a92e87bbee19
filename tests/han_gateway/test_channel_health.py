"""Channel health on the gateway: bursty interference and transmit power in scenarios, the
simulated radio's energy samples, and the energy scan's peak and mean over several samples."""

from typing import Any

import pytest
import zigpy.types as t

from han_gateway.protocol import DEFAULT_ENERGY_SAMPLES
from han_gateway.scenarios import ScenarioError, load_library_scenario, parse_scenario
from tests.han_gateway.conftest import small_scenario

ENERGY_SCAN = "/gateways/MTR-200001/interfaces/han0/energy-scan"


def _bursty(duty_cycle: float) -> dict[str, Any]:
    return small_scenario(
        energy={20: 60}, interference={20: {"energy": 230, "duty_cycle": duty_cycle}}
    )


def test_bursty_interference_misses_the_first_sample_and_is_caught_within_one_over_duty():
    scenario = parse_scenario(_bursty(0.3))
    samples = [scenario.energy_sample(20, index) for index in range(10)]
    assert samples[0] == 60  # one short sample reads the channel quiet
    assert samples.count(230) == 3  # 30 % of the samples
    for start in range(len(samples) - 3):
        assert 230 in samples[start : start + 4]  # any run of 1/0.3 samples catches a burst


def test_steady_interference_is_in_every_sample_and_other_channels_keep_their_level():
    scenario = parse_scenario(small_scenario(interference={18: {"energy": 210}}))
    assert {scenario.energy_sample(18, index) for index in range(5)} == {210}
    assert scenario.energy_sample(19, 0) == 24  # an unlisted channel is quiet


@pytest.mark.parametrize(
    ("interference", "problem"),
    [
        ({30: {"energy": 200}}, "interference.30: channel must be from 11 to 26"),
        ({20: {"energy": 300}}, "interference.20.energy"),
        ({20: {"energy": 200, "duty_cycle": 1.5}}, "interference.20.duty_cycle"),
        ({20: {"duty_cycle": 0.5}}, "interference.20.energy"),
    ],
)
def test_bad_interference_is_refused_naming_the_field(interference, problem):
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(small_scenario(interference=interference))
    assert problem in str(raised.value)


def test_full_power_leaves_links_as_written():
    document = small_scenario()
    document["devices"][0].update(link_quality=150, reverse_link_quality=140, rssi=-60)
    scenario = parse_scenario(document)
    assert scenario.tx_power_dbm == 8
    link = scenario.devices[0].link
    assert (link.link_quality, link.reverse_link_quality, link.rssi) == (150, 140, -60)


def test_channel_26_cuts_power_and_weakens_every_link():
    document = small_scenario()
    document["gateway"]["channel"] = 26
    full = parse_scenario(small_scenario())
    cut = parse_scenario(document)
    assert cut.tx_power_dbm == -2
    for at_full, at_cut in zip(full.devices, cut.devices, strict=True):
        assert at_cut.link.link_quality == at_full.link.link_quality - 42  # 10 dB
        assert at_cut.link.reverse_link_quality == at_full.link.reverse_link_quality - 42
        assert at_cut.link.rssi == at_full.link.rssi - 10


def test_a_scenario_may_set_the_transmit_power_on_any_channel():
    document = small_scenario()
    document["radio"] = {"tx_power_dbm": 4}
    full = parse_scenario(small_scenario())
    scenario = parse_scenario(document)
    assert scenario.tx_power_dbm == 4
    assert scenario.devices[0].link.link_quality == full.devices[0].link.link_quality - 17


def test_library_channel_scenarios_show_their_problem():
    adjacent = load_library_scenario("adjacent_channel_busy")
    assert adjacent.energy[adjacent.gateway.channel] <= 0.75 * 255
    assert adjacent.energy[adjacent.gateway.channel - 1] > 0.75 * 255
    bursty = load_library_scenario("bursty_wifi")
    assert bursty.energy_sample(bursty.gateway.channel, 0) <= 0.75 * 255
    assert max(bursty.energy_sample(19, index) for index in range(DEFAULT_ENERGY_SAMPLES)) > 191
    low_power = load_library_scenario("channel_26_low_power")
    assert low_power.gateway.channel == 26 and low_power.tx_power_dbm == -2
    assert all(device.link.reverse_link_quality < 100 for device in low_power.devices)


@pytest.mark.asyncio
async def test_simulated_radio_samples_bursts_across_energy_scans(simulated):
    app = await simulated(parse_scenario(_bursty(0.5)))
    readings = [
        (await app.energy_scan(t.Channels.from_channel_list([20]), duration_exp=2, count=1))[20]
        for _ in range(4)
    ]
    assert readings == [60, 230, 60, 230]
    # A scan count of several samples reports the highest of them.
    both = await app.energy_scan(t.Channels.from_channel_list([20]), duration_exp=2, count=2)
    assert both[20] == 230


@pytest.mark.asyncio
async def test_simulated_radio_reports_its_transmit_power(simulated):
    document = small_scenario()
    document["gateway"]["channel"] = 26
    app = await simulated(parse_scenario(document))
    assert app.state.network_info.tx_power == -2


@pytest.mark.asyncio
async def test_energy_scan_reports_peak_and_mean_over_its_samples(service):
    status, _ = await service.request(
        "PUT",
        "/gateways/MTR-200001/interfaces/han0/scenario",
        "MTR-200001",
        json={"scenario": "bursty_wifi"},
    )
    assert status == 200
    status, body = await service.request("POST", ENERGY_SCAN, "MTR-200001")
    assert status == 200
    assert body["samples"] == DEFAULT_ENERGY_SAMPLES == 6
    assert body["energy"]["19"] == 232  # the burst, at its peak
    assert body["mean_energy"]["19"] == round((5 * 62 + 232) / 6)
    assert body["mean_energy"]["25"] == body["energy"]["25"] == 19
    assert 19 in body["busy_channels"]
    assert body["tx_power_dbm"] == 8


@pytest.mark.asyncio
async def test_one_short_energy_sample_misses_bursty_wifi(service):
    await service.request(
        "PUT",
        "/gateways/MTR-200001/interfaces/han0/scenario",
        "MTR-200001",
        json={"scenario": "bursty_wifi"},
    )
    status, body = await service.request("POST", ENERGY_SCAN, "MTR-200001", json={"samples": 1})
    assert status == 200
    assert body["samples"] == 1 and body["energy"]["19"] == 62
    assert 19 not in body["busy_channels"]


@pytest.mark.asyncio
async def test_energy_scan_refuses_too_many_samples(service):
    status, body = await service.request("POST", ENERGY_SCAN, "MTR-200001", json={"samples": 17})
    assert status == 400
    assert "samples" in body["error"]["message"]
