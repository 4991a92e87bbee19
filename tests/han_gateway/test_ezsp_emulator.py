"""bellows, unmodified, against the emulated EmberZNet coordinator over TCP."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
import zigpy.application
import zigpy.types as zigpy_t
import zigpy.zdo.types as zdo_t

pytest.importorskip("bellows", reason="needs the project's 'radios' extra")

import bellows.ash as ash
import bellows.types as ezsp_t
from bellows.exception import InvalidCommandError

from han_gateway.emulators.__main__ import main as emulators_main
from han_gateway.emulators.ezsp import EzspEmulator
from han_gateway.radio.lqi import on_chip_scale
from han_gateway.radio.virtual_han import COORDINATOR_NWK, nwk_packet
from han_gateway.smart_energy import DEFAULT_TRUST_CENTER_LINK_KEY
from tests.han_gateway.conftest import network_of, radio_served, wait_for

radio = radio_served("ezsp")


@pytest.mark.asyncio
async def test_bellows_speaks_ezsp_13_and_reads_the_network_key(
    emulator: EzspEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    # The scenario's network, as every emulated radio has it: test_emulated_radios.py.
    assert cast(Any, radio_app)._ezsp.ezsp_version == 13
    assert radio_app.state.network_info.network_key.key == emulator.network_key


async def read_ash_frame(reader: asyncio.StreamReader) -> Any:
    raw = await asyncio.wait_for(reader.readuntil(bytes([ash.Reserved.FLAG])), timeout=2)
    return ash.parse_frame(ash.AshProtocol._unstuff_bytes(raw[:-1]))


@pytest.mark.asyncio
async def test_ash_resets_acknowledges_and_rejects(emulator: EzspEmulator) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", emulator.port)
    try:
        writer.write(
            bytes([ash.Reserved.CANCEL]) * 32
            + ash.RstFrame().to_bytes()
            + bytes([ash.Reserved.FLAG])
        )
        assert await read_ash_frame(reader) == ash.RStackFrame(
            version=2, reset_code=ezsp_t.NcpResetCode.RESET_SOFTWARE
        )

        version = ash.DataFrame(frm_num=0, re_tx=False, ack_num=0, ezsp_frame=b"\x00\x00\x00\x04")
        writer.write(ash.AshProtocol._stuff_bytes(version.to_bytes()) + bytes([ash.Reserved.FLAG]))
        assert await read_ash_frame(reader) == ash.AckFrame(res=0, ncp_ready=False, ack_num=1)
        answer = await read_ash_frame(reader)
        assert (answer.frm_num, answer.ack_num) == (0, 1)
        assert answer.ezsp_frame[:3] == b"\x00\x80\x00"  # version, legacy frame format
        assert answer.ezsp_frame[3] == 13

        corrupted = bytearray(version.replace(frm_num=1).to_bytes())
        corrupted[-1] ^= 0xFF
        writer.write(ash.AshProtocol._stuff_bytes(bytes(corrupted)) + bytes([ash.Reserved.FLAG]))
        assert await read_ash_frame(reader) == ash.NakFrame(res=0, ncp_ready=False, ack_num=1)
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.asyncio
async def test_unknown_frames_get_the_invalid_command_answer(
    emulator: EzspEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    with pytest.raises(InvalidCommandError):
        await cast(Any, radio_app)._ezsp.getSourceRouteTableTotalSize()
    assert [frame_id for frame_id, _ in emulator.unknown_requests] == [0x00C3]


@pytest.mark.asyncio
async def test_a_unicast_reaches_a_device_and_its_answer_comes_back(
    emulator: EzspEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    node = next(node for node in emulator.virtual_han.nodes.values() if node.parent_nwk == 0x0000)
    device = radio_app.add_device(node.spec.eui64, node.nwk)
    status, nwk, descriptor = await device.zdo.Node_Desc_req(node.nwk)
    assert status == zdo_t.Status.SUCCESS
    assert nwk == node.nwk
    assert descriptor.logical_type in (zdo_t.LogicalType.Router, zdo_t.LogicalType.EndDevice)
    assert device.lqi == on_chip_scale("ezsp", node.spec.link.link_quality)
    assert device.rssi == node.spec.link.rssi


@pytest.mark.asyncio
async def test_a_group_message_goes_on_the_air(
    emulator: EzspEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    stats = emulator.virtual_han.stats
    await wait_for(lambda: stats.in_flight == 0)
    trips = stats.round_trips
    group = zigpy_t.AddrModeAddress(addr_mode=zigpy_t.AddrMode.Group, address=zigpy_t.Group(1))
    await radio_app.send_packet(
        nwk_packet(
            0x0000,
            group,
            endpoints=(1, 1),
            profile_id=0x0104,
            cluster_id=0x0006,
            data=b"\x01\x07\x01",
            tsn=zigpy_t.uint8_t(7),
            radius=zigpy_t.uint8_t(0),
        )
    )
    await wait_for(lambda: stats.in_flight == 0)
    assert stats.round_trips == trips + 1
    assert emulator.unknown_requests == []


@pytest.mark.parametrize("scenario_name", ["router_switched_off"])
@pytest.mark.asyncio
async def test_the_key_table_holds_every_device_that_joined_with_its_install_code(
    emulator: EzspEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    # Those behind the switched-off router too: no neighbour table lists them any more.
    network = await network_of(radio_app)
    nodes = emulator.virtual_han.nodes
    assert {key.partner_ieee: key.key for key in network.key_table} == {
        eui64: node.spec.link_key
        for eui64, node in nodes.items()
        if node.spec.link_key != DEFAULT_TRUST_CENTER_LINK_KEY
    }
    cut_off = {eui64 for eui64, node in nodes.items() if node.cut_off}
    assert len(cut_off) == 2 and cut_off <= {key.partner_ieee for key in network.key_table}
    # The child table pairs each direct child with its NWK address.
    children = {
        node.spec.eui64: node.nwk for node in emulator.virtual_han.children_of(COORDINATOR_NWK)
    }
    assert children.items() <= network.nwk_addresses.items()
    assert all(nodes[eui64].nwk == nwk for eui64, nwk in network.nwk_addresses.items())
    assert emulator.unknown_requests == []


def test_command_line_reports_an_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert emulators_main(["ezsp", "--scenario", "no_such_scenario", "--port", "0"]) == 2
    assert "no library scenario named 'no_such_scenario'" in capsys.readouterr().err
