"""zigpy-znp, unmodified, against the emulated Z-Stack coordinator over TCP."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
import pytest_asyncio
import zigpy.application

pytest.importorskip("zigpy_znp", reason="needs the project's 'radios' extra")

import zigpy_znp.commands as c
import zigpy_znp.types as znp_t
from zigpy_znp.exceptions import CommandNotRecognized

from han_gateway.emulators.__main__ import main as emulators_main
from han_gateway.emulators.znp import ZnpEmulator
from han_gateway.radio.factory import start_real_radio
from han_gateway.radio.virtual_han import channel_mask
from han_gateway.scenarios import load_library_scenario
from tests.han_gateway.conftest import SECRETS, running_service, wait_for


def mt(app: zigpy.application.ControllerApplication) -> Any:
    """zigpy-znp's MT interface of a running application."""
    return cast(Any, app)._znp


@pytest_asyncio.fixture
async def emulator(request: pytest.FixtureRequest) -> AsyncIterator[ZnpEmulator]:
    """The emulator serving a library scenario (``healthy`` unless parametrised)."""
    scenario = load_library_scenario(getattr(request, "param", "healthy"))
    async with ZnpEmulator(scenario) as running:
        yield running


@pytest_asyncio.fixture
async def znp_app(
    emulator: ZnpEmulator,
) -> AsyncIterator[zigpy.application.ControllerApplication]:
    app = await start_real_radio("znp", {"path": emulator.url}, {})
    try:
        yield app
    finally:
        await app.shutdown()


@pytest.mark.asyncio
async def test_zigpy_znp_starts_on_the_scenarios_network(
    emulator: ZnpEmulator, znp_app: zigpy.application.ControllerApplication
) -> None:
    gateway = emulator.scenario.gateway
    network = znp_app.state.network_info
    assert network.channel == gateway.channel == 15
    assert network.pan_id == gateway.pan_id
    assert network.extended_pan_id == gateway.extended_pan_id
    assert network.security_level == gateway.security_level
    assert znp_app.state.node_info.ieee == emulator.coordinator.eui64
    assert znp_app.state.node_info.nwk == 0x0000
    assert znp_app._device.is_initialized
    assert emulator.unknown_requests == []


@pytest.mark.asyncio
async def test_unknown_requests_get_the_mt_error_answer(
    emulator: ZnpEmulator, znp_app: zigpy.application.ControllerApplication
) -> None:
    with pytest.raises(CommandNotRecognized):
        await mt(znp_app).request(c.SYS.GetExtAddr.Req())
    assert [frame.header for frame in emulator.unknown_requests] == [c.SYS.GetExtAddr.Req.header]


@pytest.mark.parametrize("emulator", ["channel_interference"], indirect=True)
@pytest.mark.asyncio
async def test_energy_scan_reads_the_virtual_hans_energy(
    emulator: ZnpEmulator, znp_app: zigpy.application.ControllerApplication
) -> None:
    channels = [11, 15, 17, 20, 25]
    energies = await znp_app.energy_scan(channel_mask(channels), duration_exp=2, count=1)
    scenario = emulator.scenario
    assert energies == {channel: scenario.energy_sample(channel, 0) for channel in channels}
    assert energies[17] > 200  # the neighbour's Wi-Fi


@pytest.mark.parametrize("emulator", ["channel_interference"], indirect=True)
@pytest.mark.asyncio
async def test_mt_energy_scan_request_is_answered_with_its_notify_callback(
    emulator: ZnpEmulator, znp_app: zigpy.application.ControllerApplication
) -> None:
    channels = channel_mask([16, 17])
    notify = await mt(znp_app).request_callback_rsp(
        request=c.ZDO.MgmtNWKUpdateReq.Req(
            Dst=0x0000,
            DstAddrMode=znp_t.AddrMode.NWK,
            Channels=channels,
            ScanDuration=2,
            ScanCount=1,
            NwkManagerAddr=0x0000,
        ),
        RspStatus=znp_t.Status.SUCCESS,
        callback=c.ZDO.MgmtNWKUpdateNotify.Callback(partial=True, Src=0x0000),
    )
    scenario = emulator.scenario
    assert notify.ScannedChannels == channels
    assert list(notify.EnergyValues) == [scenario.energy_sample(ch, 0) for ch in (16, 17)]


@pytest.mark.parametrize("emulator", ["channel_interference"], indirect=True)
@pytest.mark.asyncio
async def test_gateway_service_runs_a_znp_interface_on_the_emulator(
    emulator: ZnpEmulator, tmp_path: Path
) -> None:
    document = {
        "listen": {"host": "127.0.0.1", "port": 0},
        "gateways": [
            {
                "id": "MTR-200003",
                "secret_sha256": hashlib.sha256(SECRETS["MTR-200003"].encode()).hexdigest(),
                "interfaces": [{"id": "han0", "radio": "znp", "device": {"path": emulator.url}}],
            }
        ],
    }
    async with running_service(document, tmp_path) as service:
        status, body = await service.request("GET", "/gateways/MTR-200003/interfaces", "MTR-200003")
        assert status == 200, body
        (han0,) = body["interfaces"]
        assert han0["radio"] == "znp"
        assert han0["status"] == "ready", han0
        assert han0["channel"] == 17
        assert han0["pan_id"] == f"0x{emulator.scenario.gateway.pan_id:04X}"
        assert han0["extended_pan_id"] == str(emulator.scenario.gateway.extended_pan_id)
        assert han0["coordinator_eui64"] == str(emulator.coordinator.eui64)

        status, body = await service.request(
            "POST", "/gateways/MTR-200003/interfaces/han0/energy-scan", "MTR-200003"
        )
        assert status == 200, body
        assert set(body["energy"]) == {str(channel) for channel in range(11, 27)}
        assert body["current_channel"] == 17
        assert 17 in body["busy_channels"] and 25 not in body["busy_channels"]


@pytest.mark.parametrize("emulator", ["registered_device_missing"], indirect=True)
@pytest.mark.asyncio
async def test_a_device_joins_through_an_install_code_window(
    emulator: ZnpEmulator, znp_app: zigpy.application.ControllerApplication
) -> None:
    (waiting,) = emulator.virtual_han.pending.values()
    await znp_app.load_network_info(load_devices=True)
    assert waiting.eui64 not in znp_app.state.network_info.nwk_addresses

    permit = asyncio.create_task(
        znp_app.permit_with_link_key(waiting.eui64, waiting.link_key, time_s=1)
    )
    await wait_for(lambda: waiting.eui64 in znp_app.devices)
    await permit

    assert [attempt.accepted for attempt in emulator.virtual_han.join_attempts] == [True]
    await znp_app.load_network_info(load_devices=True)
    network = znp_app.state.network_info
    assert network.nwk_addresses[waiting.eui64] == znp_app.devices[waiting.eui64].nwk
    keys = {key.partner_ieee: key.key for key in network.key_table}
    assert keys[waiting.eui64] == waiting.link_key


def test_command_line_reports_an_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert emulators_main(["znp", "--scenario", "no_such_scenario", "--port", "0"]) == 2
    assert "no library scenario named 'no_such_scenario'" in capsys.readouterr().err
