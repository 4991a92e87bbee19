"""zigpy-znp, unmodified, against the emulated Z-Stack coordinator over TCP."""

from __future__ import annotations

from typing import Any, cast

import pytest
import zigpy.application

pytest.importorskip("zigpy_znp", reason="needs the project's 'radios' extra")

import zigpy_znp.commands as c
import zigpy_znp.types as znp_t
from zigpy_znp.exceptions import CommandNotRecognized

from han_gateway.emulators.__main__ import main as emulators_main
from han_gateway.emulators.znp import ZnpEmulator
from han_gateway.radio.virtual_han import channel_mask
from tests.han_gateway.conftest import radio_served

radio = radio_served("znp")


@pytest.mark.asyncio
async def test_zigpy_reads_the_coordinators_descriptors(
    radio_app: zigpy.application.ControllerApplication,
) -> None:
    # The scenario's network, as every emulated radio has it: test_emulated_radios.py.
    assert radio_app._device.is_initialized


@pytest.mark.asyncio
async def test_unknown_requests_get_the_mt_error_answer(
    emulator: ZnpEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    with pytest.raises(CommandNotRecognized):
        await cast(Any, radio_app)._znp.request(c.SYS.GetExtAddr.Req())
    assert [frame.header for frame in emulator.unknown_requests] == [c.SYS.GetExtAddr.Req.header]


@pytest.mark.parametrize("scenario_name", ["channel_interference"])
@pytest.mark.asyncio
async def test_mt_energy_scan_request_is_answered_with_its_notify_callback(
    emulator: ZnpEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    channels = channel_mask([16, 17])
    notify = await cast(Any, radio_app)._znp.request_callback_rsp(
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


def test_command_line_reports_an_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert emulators_main(["znp", "--scenario", "no_such_scenario", "--port", "0"]) == 2
    assert "no library scenario named 'no_such_scenario'" in capsys.readouterr().err
