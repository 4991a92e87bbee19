"""zigpy's own interview, topology and energy-scan code against the simulated radio."""

import asyncio
import logging

import pytest
import zigpy.exceptions
import zigpy.types as t
import zigpy.zdo.types as zdo_t

from han_gateway.radio.profile import as_zigpy_decodable
from han_gateway.scenarios import Scenario, parse_scenario
from han_gateway.scenarios.schema import install_code_link_key
from han_gateway.zigbee_ids import HOME_AUTOMATION_PROFILE_ID, SMART_ENERGY_PROFILE_ID
from tests.han_gateway.conftest import small_scenario, wait_for

THERMOSTAT = t.EUI64.convert("00:0d:6f:00:0a:00:00:01")
DISPLAY = t.EUI64.convert("00:0d:6f:00:0a:00:00:02")
INSTALL_CODE = "83FED3407A939723A5C639B26916D505C3B5"


@pytest.mark.asyncio
async def test_zigpy_interviews_a_smart_energy_device_on_the_simulated_radio(simulated, small):
    app = await simulated(small)
    device = app.add_device(THERMOSTAT, t.NWK(small.device(THERMOSTAT).nwk))
    await device.schedule_initialize()

    assert device.is_initialized
    assert device.manufacturer == "Honeywell"
    assert device.model == "UtilityPRO UP8000"
    assert device.node_desc is not None and device.node_desc.is_router
    # The real Smart Energy profile is kept even though zigpy decoded the replies.
    assert device.endpoints[1].profile_id == SMART_ENERGY_PROFILE_ID
    ota = device.endpoints[1].out_clusters[0x0019]
    assert ota.get("current_file_version") == 0x03040200


def test_only_smart_energy_zcl_frames_are_relabelled():
    zcl = t.ZigbeePacket(profile_id=SMART_ENERGY_PROFILE_ID, src_ep=1, cluster_id=0)
    zdo = t.ZigbeePacket(profile_id=0, src_ep=0, cluster_id=0x8002)
    other = t.ZigbeePacket(profile_id=0xC05E, src_ep=1, cluster_id=0)
    assert as_zigpy_decodable(zcl).profile_id == HOME_AUTOMATION_PROFILE_ID
    assert as_zigpy_decodable(zdo) is zdo
    assert as_zigpy_decodable(other) is other


@pytest.mark.asyncio
async def test_without_the_profile_fix_zigpy_ignores_smart_energy_replies(simulated, small, caplog):
    """The trap the radio layer handles: zigpy drops ZCL frames on profile 0x0109."""
    app = await simulated(small)
    device = app.add_device(THERMOSTAT, t.NWK(small.device(THERMOSTAT).nwk))
    await device.schedule_initialize()
    frame = t.ZigbeePacket(
        src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=device.nwk),
        src_ep=1,
        dst=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=0x0000),
        dst_ep=1,
        profile_id=SMART_ENERGY_PROFILE_ID,
        cluster_id=0x0000,
        data=t.SerializableBytes(b"\x18\x01\x0a\x00\x00\x20\x03"),
    )
    with caplog.at_level(logging.DEBUG, logger="zigpy.device"):
        device.packet_received(frame)
    assert "custom profile 0x0109, ignoring" in caplog.text


@pytest.mark.asyncio
async def test_neighbour_tables_give_both_directions_of_a_link(simulated, small):
    app = await simulated(small)
    thermostat = app.add_device(THERMOSTAT, t.NWK(small.device(THERMOSTAT).nwk))
    await thermostat.schedule_initialize()
    status, neighbours = await thermostat.zdo.Mgmt_Lqi_req(0)
    assert status == zdo_t.Status.SUCCESS
    by_ieee = {entry.ieee: entry for entry in neighbours.NeighborTableList}
    assert by_ieee[DISPLAY].relationship == zdo_t.Neighbor.Relationship.Child
    assert by_ieee[DISPLAY].lqi == 140  # measured at the thermostat
    display = app.add_device(DISPLAY, t.NWK(small.device(DISPLAY).nwk))
    status, own = await display.zdo.Mgmt_Lqi_req(0)
    assert own.NeighborTableList[0].ieee == THERMOSTAT
    assert own.NeighborTableList[0].lqi == 120  # measured at the display


@pytest.mark.asyncio
async def test_neighbour_table_is_paged(simulated):
    document = small_scenario()
    document["radio"]["table_page_size"] = 2
    for index in range(4, 9):
        document["devices"].append(
            {
                "eui64": f"00:0d:6f:00:0a:00:00:{index:02x}",
                "category": "in_home_display",
                "manufacturer": "Rainforest Automation",
                "model": "EMU-2",
            }
        )
    document["gateway"]["max_devices"] = 10
    app = await simulated(parse_scenario(document))
    _, first = await app._device.zdo.Mgmt_Lqi_req(0)
    assert first.Entries == 7 and len(first.NeighborTableList) == 2
    _, last = await app._device.zdo.Mgmt_Lqi_req(6)
    assert len(last.NeighborTableList) == 1


@pytest.mark.asyncio
async def test_unreachable_device_fails_delivery_with_no_ack(
    simulated, small_with_unreachable_switch
):
    app = await simulated(small_with_unreachable_switch)
    switch = small_with_unreachable_switch.devices[2]
    device = app.add_device(switch.eui64, t.NWK(switch.nwk))
    with pytest.raises(zigpy.exceptions.DeliveryError) as raised:
        await device.zdo.Node_Desc_req(device.nwk, retries=0)
    assert raised.value.status == t.MACStatus.MAC_NO_ACK


@pytest.mark.asyncio
async def test_energy_scan_reports_the_scenario_energy(simulated):
    document = small_scenario(energy={20: 231, 25: 12})
    app = await simulated(parse_scenario(document))
    energy = await app.energy_scan(t.Channels.ALL_CHANNELS, duration_exp=2, count=1)
    assert set(energy) == set(range(11, 27))
    assert energy[20] == 231 and energy[25] == 12


@pytest.mark.asyncio
async def test_concurrency_limit_bounds_frames_in_flight(simulated):
    document = small_scenario()
    document["radio"] = {"per_hop_latency_ms": 10, "concurrency_limit": 2}
    app = await simulated(parse_scenario(document))
    app.han.stats.reset()
    devices = [app.add_device(spec.eui64, t.NWK(spec.nwk)) for spec in app.han.scenario.devices]

    await asyncio.gather(*(device.zdo.Node_Desc_req(device.nwk) for device in devices))

    assert (
        app.han.stats.peak_in_flight == 2
    )  # three requests at once, never more than two on the air


NEWCOMER_EUI64 = "00:0d:6f:00:05:3c:51:08"


def _with_a_switch_waiting_to_join() -> Scenario:
    """The small HAN and a load control switch that can join only through a join window."""
    document = small_scenario()
    document["devices"].append(
        {
            "eui64": NEWCOMER_EUI64,
            "category": "load_control_switch",
            "manufacturer": "Eaton",
            "model": "Yukon LCR-6601S",
            "pending_join": True,
            "install_code": INSTALL_CODE,
        }
    )
    return parse_scenario(document)


@pytest.mark.asyncio
async def test_join_window_with_the_right_key_admits_the_device(simulated):
    app = await simulated(_with_a_switch_waiting_to_join())
    newcomer = t.EUI64.convert(NEWCOMER_EUI64)
    assert newcomer not in app.han.nodes

    await app.permit_with_link_key(newcomer, install_code_link_key(INSTALL_CODE), 60)
    # zigpy interviews a device that announces itself; wait for the interview to end.
    await wait_for(
        lambda: (
            newcomer in app.devices
            and app.devices[newcomer].is_initialized
            and not app.devices[newcomer].initializing
        )
    )

    assert app.devices[newcomer].model == "Yukon LCR-6601S"
    assert app.han.join_attempts[-1].accepted
    await app.load_network_info(load_devices=True)
    assert newcomer in app.state.network_info.nwk_addresses


@pytest.mark.asyncio
async def test_join_window_with_a_wrong_key_keeps_the_device_out(simulated):
    app = await simulated(_with_a_switch_waiting_to_join())
    newcomer = t.EUI64.convert(NEWCOMER_EUI64)
    wrong_key = t.KeyData(bytes.fromhex("41618FC0C83B0E14A589954B16E31466"))

    await app.permit_with_link_key(newcomer, wrong_key, 60)
    await wait_for(lambda: len(app.han.join_attempts) == 1)

    attempt = app.han.join_attempts[0]
    assert not attempt.accepted and attempt.reason == "link_key_mismatch"
    assert newcomer not in app.devices
    assert newcomer not in app.han.nodes
