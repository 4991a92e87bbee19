"""What every emulated coordinator does with its radio library, unmodified, over TCP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import zigpy.application

from han_gateway.radio.virtual_han import channel_mask
from tests.han_gateway.conftest import EMULATORS, wait_for


@pytest.fixture(params=list(EMULATORS))
def radio(request: pytest.FixtureRequest) -> str:
    """Each emulated radio in turn."""
    return str(request.param)


@pytest.mark.asyncio
async def test_the_radio_library_starts_on_the_scenarios_network(
    emulator: Any, radio_app: zigpy.application.ControllerApplication
) -> None:
    gateway = emulator.scenario.gateway
    network = radio_app.state.network_info
    assert network.channel == gateway.channel == 15
    assert network.pan_id == gateway.pan_id
    assert network.extended_pan_id == gateway.extended_pan_id
    assert network.security_level == gateway.security_level
    assert radio_app.state.node_info.ieee == emulator.coordinator.eui64
    assert radio_app.state.node_info.nwk == 0x0000
    assert emulator.unknown_requests == []


@pytest.mark.parametrize("scenario_name", ["channel_interference"])
@pytest.mark.asyncio
async def test_energy_scan_reads_the_virtual_hans_energy(
    emulator: Any, radio_app: zigpy.application.ControllerApplication
) -> None:
    channels = [11, 15, 17, 20, 25]
    energies = await radio_app.energy_scan(channel_mask(channels), duration_exp=2, count=1)
    expected = {channel: emulator.scenario.energy_sample(channel, 0) for channel in channels}
    # EmberZNet reports energy as a whole-dBm RSSI, which bellows turns back: within 4 steps.
    assert energies == pytest.approx(expected, abs=4.1)
    assert energies[17] > 200  # the neighbour's Wi-Fi


@pytest.mark.parametrize("scenario_name", ["registered_device_missing"])
@pytest.mark.asyncio
async def test_a_device_joins_through_an_install_code_window(
    emulator: Any, radio_app: zigpy.application.ControllerApplication
) -> None:
    (waiting,) = emulator.virtual_han.pending.values()
    await radio_app.load_network_info(load_devices=True)
    assert waiting.eui64 not in radio_app.state.network_info.nwk_addresses

    permit = asyncio.create_task(
        radio_app.permit_with_link_key(waiting.eui64, waiting.link_key, time_s=1)
    )
    await wait_for(lambda: waiting.eui64 in radio_app.devices)
    await permit

    assert [attempt.accepted for attempt in emulator.virtual_han.join_attempts] == [True]
    await radio_app.load_network_info(load_devices=True)
    network = radio_app.state.network_info
    assert network.nwk_addresses[waiting.eui64] == radio_app.devices[waiting.eui64].nwk
    keys = {key.partner_ieee: key.key for key in network.key_table}
    assert keys[waiting.eui64] == waiting.link_key
