"""zigpy-znp, unmodified, against the emulated Z-Stack coordinator over TCP."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import pytest
import zigpy.application
import zigpy.exceptions
import zigpy.types as zigpy_t
from zigpy.zcl.clusters.general import Basic

pytest.importorskip("zigpy_znp", reason="needs the project's 'radios' extra")

import zigpy_znp.commands as c
import zigpy_znp.types as znp_t
from zigpy_znp.exceptions import CommandNotRecognized

from han_gateway.emulators import znp
from han_gateway.emulators.__main__ import main as emulators_main
from han_gateway.emulators.znp import ZnpEmulator
from han_gateway.radio.factory import start_real_radio
from han_gateway.radio.virtual_han import VirtualNode, channel_mask
from han_gateway.scenarios import parse_scenario
from tests.han_gateway.conftest import network_of, radio_served, small_scenario

radio = radio_served("znp")

# The pool pump's load control switch in `needs_router`: the coordinator's child, out of reach.
POOL_PUMP = zigpy_t.EUI64.convert("00:0d:6f:00:05:3c:51:08")
# The hallway thermostat in `router_switched_off`: its parent, a smart plug, is switched off.
CUT_OFF_THERMOSTAT = zigpy_t.EUI64.convert("00:0d:6f:00:0a:90:69:e7")


def znp_api(app: zigpy.application.ControllerApplication) -> Any:
    """zigpy-znp's MT interface under the application."""
    return cast(Any, app)._znp


def basic_cluster_of(app: zigpy.application.ControllerApplication, node: VirtualNode) -> Basic:
    """The Basic cluster on endpoint 1 of a device zigpy has not interviewed."""
    device = app.add_device(node.spec.eui64, node.nwk)
    endpoint = device.add_endpoint(1)
    endpoint.profile_id = node.spec.endpoints[0].profile_id
    return cast(Basic, endpoint.add_input_cluster(Basic.cluster_id))


async def read_fails_promptly(
    app: zigpy.application.ControllerApplication, node: VirtualNode
) -> zigpy.exceptions.DeliveryError:
    """Read the device's model and fail, as on hardware, well before zigpy would time out."""
    started = time.monotonic()
    with pytest.raises(zigpy.exceptions.DeliveryError) as failure:
        await basic_cluster_of(app, node).read_attributes(["model"])
    assert time.monotonic() - started < 15
    return failure.value


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


@pytest.mark.asyncio
async def test_the_host_registers_each_endpoint_once_per_reset(
    emulator: ZnpEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    assert sorted(emulator.virtual_han.coordinator_endpoints) == sorted(
        endpoint for endpoint in radio_app._device.endpoints if endpoint != 0
    )
    again = await znp_api(radio_app).request(
        c.AF.Register.Req(
            Endpoint=1,
            ProfileId=0x0104,
            DeviceId=0x0400,
            DeviceVersion=0,
            LatencyReq=c.af.LatencyReq.NoLatencyReqs,
            InputClusters=[],
            OutputClusters=[],
        )
    )
    assert again.Status == znp_t.Status.INVALID_PARAMETER


@pytest.mark.parametrize("scenario_name", ["empty_han"])
@pytest.mark.asyncio
async def test_an_empty_han_has_empty_device_tables(
    emulator: ZnpEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    network = await network_of(radio_app)
    assert network.nwk_addresses == {}
    assert network.key_table == []
    assert network.pan_id == emulator.scenario.gateway.pan_id
    assert emulator.unknown_requests == []


@pytest.mark.asyncio
async def test_the_device_tables_hold_every_joined_device(
    emulator: ZnpEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    network = await network_of(radio_app)
    nodes = emulator.virtual_han.nodes
    assert network.nwk_addresses == {eui64: node.nwk for eui64, node in nodes.items()}
    assert {key.partner_ieee: key.key for key in network.key_table} == {
        eui64: node.spec.link_key for eui64, node in nodes.items()
    }


@pytest.mark.asyncio
async def test_a_device_that_leaves_is_dropped_from_the_device_tables(
    emulator: ZnpEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    (switch,) = (
        node
        for node in emulator.virtual_han.nodes.values()
        if node.spec.category == "load_control_switch"
    )
    left: list[Any] = []
    znp_api(radio_app).callback_for_response(c.ZDO.LeaveInd.Callback(partial=True), left.append)
    device = radio_app.add_device(switch.spec.eui64, switch.nwk)
    await device.zdo.leave(remove_children=False)
    await asyncio.sleep(0.1)
    assert [(indication.NWK, indication.IEEE) for indication in left] == [
        (switch.nwk, switch.spec.eui64)
    ]
    network = await network_of(radio_app)
    assert switch.spec.eui64 not in network.nwk_addresses
    assert switch.spec.eui64 not in {key.partner_ieee for key in network.key_table}
    assert len(network.nwk_addresses) == len(emulator.virtual_han.nodes)


@pytest.mark.parametrize("scenario_name", ["needs_router"])
@pytest.mark.asyncio
async def test_a_request_to_a_child_out_of_reach_fails_promptly(
    emulator: ZnpEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    failure = await read_fails_promptly(radio_app, emulator.virtual_han.nodes[POOL_PUMP])
    assert failure.status == znp_t.Status.MAC_NO_ACK
    assert emulator.unknown_requests == []


@pytest.mark.parametrize("scenario_name", ["router_switched_off"])
@pytest.mark.asyncio
async def test_a_device_cut_off_has_no_route_and_rediscovery_finds_none(
    emulator: ZnpEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    thermostat = emulator.virtual_han.nodes[CUT_OFF_THERMOSTAT]
    check = c.ZDO.ExtRouteChk.Req(
        Dst=thermostat.nwk,
        RtStatus=c.zdo.RouteStatus.ACTIVE,
        Options=c.zdo.RouteOptions.MTO_ROUTE | c.zdo.RouteOptions.NO_ROUTE_CACHE,
    )
    assert (await znp_api(radio_app).request(check)).Status == c.zdo.RoutingStatus.NO_ENTRY
    # zigpy-znp's answer to NWK_NO_ROUTE: a route discovery, then the frame once more.
    await read_fails_promptly(radio_app, thermostat)
    assert (await znp_api(radio_app).request(check)).Status == c.zdo.RoutingStatus.NO_ENTRY
    assert emulator.unknown_requests == []


@pytest.mark.parametrize("scenario_name", ["needs_router"])
@pytest.mark.asyncio
async def test_zdo_frames_get_no_data_confirm_as_zdo_keeps_its_confirmations(
    emulator: ZnpEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    # A ZDO request to a device out of reach goes out without error: Z-Stack confirms frames
    # from ZDO's endpoint 0 to ZDO itself, so the host hears nothing (zigpy times out).
    pool_pump = emulator.virtual_han.nodes[POOL_PUMP]
    confirms: list[Any] = []
    api = znp_api(radio_app)
    api.callback_for_response(c.AF.DataConfirm.Callback(partial=True), confirms.append)
    answer = await api.request(
        c.AF.DataRequestExt.Req(
            DstAddrModeAddress=znp_t.AddrModeAddress(
                mode=znp_t.AddrMode.NWK, address=pool_pump.nwk
            ),
            DstEndpoint=0,
            DstPanId=0x0000,
            SrcEndpoint=0,
            ClusterId=0x0002,
            TSN=77,
            Options=c.af.TransmitOptions.SUPPRESS_ROUTE_DISC_NETWORK,
            Radius=30,
            Data=b"\x4d" + pool_pump.nwk.serialize(),
        )
    )
    assert answer.Status == znp_t.Status.SUCCESS
    await asyncio.sleep(0.5)
    assert confirms == []


@pytest.mark.parametrize("scenario_name", ["router_switched_off"])
@pytest.mark.asyncio
async def test_the_association_table_lists_the_coordinators_children_only(
    emulator: ZnpEmulator, radio_app: zigpy.application.ControllerApplication
) -> None:
    api = znp_api(radio_app)
    nodes = emulator.virtual_han.nodes
    (plug,) = (node for node in nodes.values() if not node.spec.reachable)

    async def relation(eui64: zigpy_t.EUI64, nwk: int = 0x0000) -> Any:
        answer = await api.request(c.UTIL.AssocGetWithAddress.Req(IEEE=eui64, NWK=nwk))
        return answer.Device

    child = await relation(plug.spec.eui64)
    assert (child.shortAddr, child.nodeRelation) == (
        plug.nwk,
        c.util.NodeRelation.CHILD_FFD_RX_IDLE,
    )
    by_nwk = await relation(zigpy_t.EUI64(bytes(8)), plug.nwk)
    assert by_nwk.shortAddr == plug.nwk
    # The thermostat joined through the plug: not the coordinator's child.
    grandchild = await relation(CUT_OFF_THERMOSTAT)
    assert (grandchild.shortAddr, grandchild.nodeRelation) == (
        0xFFFE,
        c.util.NodeRelation.NOTUSED,
    )

    removed = await api.request(c.UTIL.AssocRemove.Req(IEEE=plug.spec.eui64))
    assert removed.Status == znp_t.Status.SUCCESS
    assert (await relation(plug.spec.eui64)).nodeRelation == c.util.NodeRelation.NOTUSED
    await radio_app.load_network_info(load_devices=True)
    assert plug.spec.eui64 not in radio_app.state.network_info.children

    added = await api.request(
        c.UTIL.AssocAdd.Req(
            NWK=plug.nwk,
            IEEE=plug.spec.eui64,
            NodeRelation=c.util.NodeRelation.CHILD_FFD_RX_IDLE,
        )
    )
    assert added.Status == znp_t.Status.SUCCESS
    assert (await relation(plug.spec.eui64)).nodeRelation == child.nodeRelation
    await radio_app.load_network_info(load_devices=True)
    assert plug.spec.eui64 in radio_app.state.network_info.children
    assert emulator.unknown_requests == []


@pytest.mark.asyncio
async def test_a_sleeping_child_out_of_reach_goes_through_the_association_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The in-home display sleeps, is the coordinator's own child, and is out of reach: the
    # coordinator holds its frame until it expires, and zigpy-znp drops the association,
    # rediscovers the route, tries again and puts the association back.
    monkeypatch.setattr(znp, "MAC_TRANSACTION_PERSISTENCE_S", 0.2)
    document = small_scenario()
    display = document["devices"][1]
    del display["parent"]
    display.update(sleepy=True, reachable=False)
    async with ZnpEmulator(parse_scenario(document)) as emulator:
        app = await start_real_radio("znp", {"path": emulator.url}, {})
        try:
            node = emulator.virtual_han.nodes[zigpy_t.EUI64.convert(display["eui64"])]
            asked: list[Any] = []
            for request in (c.UTIL.AssocGetWithAddress, c.UTIL.AssocRemove, c.UTIL.AssocAdd):
                znp_api(app).callback_for_response(request.Rsp(partial=True), asked.append)
            basic = basic_cluster_of(app, node)
            with pytest.raises(zigpy.exceptions.DeliveryError):
                await basic.read_attributes(["model"], retries=0)
            names = [type(answer).__qualname__ for answer in asked]
            assert names == [
                "UTIL.AssocGetWithAddress.Rsp",
                "UTIL.AssocRemove.Rsp",
                "UTIL.AssocAdd.Rsp",
            ]
            assert emulator.associations[node.spec.eui64] == c.util.NodeRelation.CHILD_RFD
            assert emulator.unknown_requests == []
        finally:
            await app.shutdown()


def test_command_line_reports_an_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert emulators_main(["znp", "--scenario", "no_such_scenario", "--port", "0"]) == 2
    assert "no library scenario named 'no_such_scenario'" in capsys.readouterr().err
