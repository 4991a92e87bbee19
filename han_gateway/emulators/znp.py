# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""An emulated TI Z-Stack 3.30 coordinator (CC2652) served over TCP.

zigpy-znp connects to it through ``socket://HOST:PORT`` and speaks Z-Stack's MT serial
protocol to it, unmodified. The coordinator's NVRAM holds a network formed as the scenario
says (channel, PAN id, extended PAN id, network key), and every frame zigpy-znp sends over
the air goes to the scenario's `VirtualHan`, whose answers come back as MT callbacks.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any, Final

import zigpy.exceptions
import zigpy.types as zigpy_t
import zigpy.zdo.types as zdo_t
import zigpy_znp.commands as c
import zigpy_znp.const as znp_const
import zigpy_znp.types as t
from zigpy_znp.exceptions import InvalidFrame
from zigpy_znp.frames import GeneralFrame, TransportFrame
from zigpy_znp.types.nvids import ExNvIds, NvSysIds, OsalNvIds

from han_gateway.emulators.serving import (
    EmulatorServer,
    StreamConnection,
    emulated_coordinator,
)
from han_gateway.radio.virtual_han import (
    COORDINATOR_NWK,
    CoordinatorIdentity,
    channel_mask,
    nwk_packet,
)
from han_gateway.scenarios.schema import Scenario

LOGGER = logging.getLogger(__name__)

# A CC2652 lays structs out padded as in its memory; zigpy-znp detects it from the size of
# UTIL.AssocFindDevice's answer (36 bytes padded, 28 packed).
ALIGN_STRUCTS: Final = True
ASSOCIATED_DEVICE_SIZE: Final = 36
# The most NVRAM bytes one read answer carries (an MT frame holds at most 250).
NV_READ_CHUNK: Final = 240
ZDO_ENDPOINT: Final = 0

# What SYS.Version and SYS.ResetInd report: a Z-Stack 3.30 build for the CC2652.
TRANSPORT_REV: Final = 2
PRODUCT_ID: Final = 1
RELEASE: Final = (2, 7, 1)
CODE_REVISION: Final = 20240710

CAPABILITIES: Final = (
    t.MTCapabilities.SYS
    | t.MTCapabilities.MAC
    | t.MTCapabilities.NWK
    | t.MTCapabilities.AF
    | t.MTCapabilities.ZDO
    | t.MTCapabilities.SAPI
    | t.MTCapabilities.UTIL
    | t.MTCapabilities.APP
    | t.MTCapabilities.GP
    | t.MTCapabilities.APP_CNF
)

NvKey = tuple[int, int, int]  # (system id, item id, sub id)


def osal_key(nv_id: int) -> NvKey:
    """Z-Stack 3.30 keeps the old OSAL items as sub items of its LEGACY item."""
    return (NvSysIds.ZSTACK, ExNvIds.LEGACY, nv_id)


def default_coordinator(scenario: Scenario) -> CoordinatorIdentity:
    """A Texas Instruments CC2652 running Z-Stack 3.30."""
    firmware = f"Z-Stack {CODE_REVISION}"
    return emulated_coordinator(scenario, b"\x00\x12\x4b", "Texas Instruments", "CC2652", firmware)


def network_key(scenario: Scenario) -> t.KeyData:
    """The scenario's network key, as the simulated radio reports it."""
    return t.KeyData(bytes(scenario.gateway.extended_pan_id) * 2)


def _nv_value(value: Any) -> bytes:
    if isinstance(value, (t.CStruct, t.BaseListType)):
        return bytes(value.serialize(align=ALIGN_STRUCTS))
    return bytes(value.serialize())


class NvRam:
    """The coordinator's NVRAM: items by (system, item, sub item), as Z-Stack 3.30 has them."""

    def __init__(self) -> None:
        self.items: dict[NvKey, bytearray] = {}

    def length(self, key: NvKey) -> int:
        item = self.items.get(key)
        return 0 if item is None else len(item)

    def read(self, key: NvKey, offset: int, count: int = NV_READ_CHUNK) -> bytes | None:
        item = self.items.get(key)
        if item is None or offset > len(item):
            return None
        return bytes(item[offset : offset + min(count, NV_READ_CHUNK)])

    def write(self, key: NvKey, offset: int, value: bytes) -> t.Status:
        item = self.items.get(key)
        if item is None:
            return t.Status.NV_ITEM_UNINIT
        if offset + len(value) > len(item):
            return t.Status.NV_BAD_ITEM_LEN
        item[offset : offset + len(value)] = value
        return t.Status.SUCCESS

    def create(self, key: NvKey, length: int, initial: bytes = b"") -> t.Status:
        """SUCCESS if the item was there already, NV_ITEM_UNINIT if it was created."""
        if key in self.items:
            return t.Status.SUCCESS
        item = bytearray(length)
        item[: len(initial)] = initial[:length]
        self.items[key] = item
        return t.Status.NV_ITEM_UNINIT

    def delete(self, key: NvKey) -> t.Status:
        if self.items.pop(key, None) is None:
            return t.Status.NV_ITEM_UNINIT
        return t.Status.SUCCESS

    def put(self, key: NvKey, value: Any) -> None:
        self.items[key] = bytearray(_nv_value(value))

    def table(self, item_id: int) -> list[bytes]:
        """The sub items 0, 1, ... of a Z-Stack table, up to the first missing one."""
        entries: list[bytes] = []
        while (item := self.items.get((NvSysIds.ZSTACK, item_id, len(entries)))) is not None:
            entries.append(bytes(item))
        return entries

    def store_device(
        self, eui64: zigpy_t.EUI64, nwk: int, *, is_child: bool, link_key: zigpy_t.KeyData
    ) -> None:
        """Record a joined device as Z-Stack's trust center does: its address manager entry
        and its (unhashed) APS link key, linked by the APS link key table."""
        ieee = t.EUI64(bytes(eui64))
        addresses = self.table(ExNvIds.ADDRMGR)
        index = next(
            (
                position
                for position, raw in enumerate(addresses)
                if t.AddrMgrEntry.deserialize(raw, align=ALIGN_STRUCTS)[0].extAddr == ieee
            ),
            len(addresses),
        )
        entry_type = t.AddrMgrUserType.Security
        if is_child:
            entry_type |= t.AddrMgrUserType.Assoc
        self.put(
            (NvSysIds.ZSTACK, ExNvIds.ADDRMGR, index),
            t.AddrMgrEntry(type=entry_type, nwkAddr=t.NWK(nwk), extAddr=ieee),
        )
        self.put(
            (NvSysIds.ZSTACK, ExNvIds.APS_KEY_DATA_TABLE, index),
            t.APSKeyDataTableEntry(Key=t.KeyData(link_key), TxFrameCounter=0, RxFrameCounter=0),
        )
        links = t.APSLinkKeyTable(
            t.APSLinkKeyTableEntry(
                AddressManagerIndex=position,
                LinkKeyNvId=position,
                AuthenticationState=t.AuthenticationOption.AuthenticatedCBCK,
            )
            for position in range(len(self.table(ExNvIds.ADDRMGR)))
        )
        self.put(osal_key(OsalNvIds.APS_LINK_KEY_TABLE), links)


def formed_network_nvram(scenario: Scenario, coordinator: CoordinatorIdentity) -> NvRam:
    """NVRAM of a coordinator that formed the scenario's network and was set up by zigpy-znp."""
    gateway = scenario.gateway
    extended_pan_id = t.EUI64(bytes(gateway.extended_pan_id))
    channels = channel_mask([gateway.channel])
    key = network_key(scenario)
    tclk_seed = t.KeyData(hashlib.sha256(f"tclk/{scenario.name}".encode()).digest()[:16])
    unused_key = t.NwkKeyDesc(KeySeqNum=0, Key=t.KeyData(bytes(16)))
    # Z-Stack's network information base: zero but for what a formed coordinator holds.
    nib, _ = t.NIB.deserialize(bytes(t.NIB.get_size(align=ALIGN_STRUCTS)), align=ALIGN_STRUCTS)
    nib = nib.replace(
        PassiveAckTimeout=5,
        MaxBroadcastRetries=2,
        MaxChildren=gateway.max_devices,
        MaxDepth=15,
        MaxRouters=gateway.max_devices,
        BroadcastDeliveryTime=30,
        SecureAllFrames=1,
        SecurityLevel=gateway.security_level,
        SymLink=1,
        CapabilityFlags=0x8F,
        TransactionPersistenceTime=7,
        nwkProtocolVersion=2,
        RouteDiscoveryTime=13,
        RouteExpiryTime=30,
        nwkDevAddress=t.NWK(COORDINATOR_NWK),
        nwkLogicalChannel=gateway.channel,
        nwkCoordAddress=t.NWK(COORDINATOR_NWK),
        nwkCoordExtAddress=t.EUI64(bytes(8)),
        nwkPanId=gateway.pan_id,
        nwkState=t.NwkState.NWK_ROUTER,
        channelList=channels,
        beaconOrder=15,
        superFrameOrder=15,
        scanDuration=4,
        allocatedRouterAddresses=1,
        allocatedEndDeviceAddresses=1,
        extendedPANID=extended_pan_id,
        nwkKeyLoaded=t.Bool(True),
        spare1=unused_key,
        spare2=unused_key,
        nwkLinkStatusPeriod=15,
        nwkRouterAgeLimit=5,
        nwkUseMultiCast=t.Bool(False),
        nwkIsConcentrator=t.Bool(True),
        nwkConcentratorDiscoveryTime=120,
        nwkConcentratorRadius=10,
        nwkAllFresh=1,
        nwkManagerAddr=t.NWK(COORDINATOR_NWK),
    )
    active_key = t.NwkKeyDesc(KeySeqNum=0, Key=key)
    nvram = NvRam()
    osal_items: dict[int, Any] = {
        OsalNvIds.NIB: nib,
        OsalNvIds.EXTADDR: t.EUI64(bytes(coordinator.eui64)),
        OsalNvIds.LOGICAL_TYPE: t.DeviceLogicalType.Coordinator,
        OsalNvIds.BDBNODEISONANETWORK: t.uint8_t(1),
        OsalNvIds.STARTUP_OPTION: t.StartupOptions.NONE,
        OsalNvIds.PANID: t.uint16_t(gateway.pan_id),
        OsalNvIds.EXTENDED_PAN_ID: extended_pan_id,
        OsalNvIds.APS_USE_EXT_PANID: extended_pan_id,
        OsalNvIds.CHANLIST: channels,
        OsalNvIds.PRECFGKEY: key,
        OsalNvIds.PRECFGKEYS_ENABLE: t.Bool(False),
        OsalNvIds.NWK_ACTIVE_KEY_INFO: active_key,
        OsalNvIds.NWK_ALTERN_KEY_INFO: active_key,
        OsalNvIds.TCLK_SEED: tclk_seed,
        OsalNvIds.HAS_CONFIGURED_ZSTACK3: t.uint8_t(znp_const.ZSTACK_CONFIGURE_SUCCESS),
        OsalNvIds.ZIGPY_ZNP_MIGRATION_ID: t.uint8_t(1),
        # The stack settings zigpy-znp writes at every start, already as it wants them.
        OsalNvIds.CONCENTRATOR_ENABLE: t.Bool(True),
        OsalNvIds.CONCENTRATOR_DISCOVERY: t.uint8_t(120),
        OsalNvIds.CONCENTRATOR_RC: t.Bool(True),
        OsalNvIds.SRC_RTG_EXPIRY_TIME: t.uint8_t(255),
        OsalNvIds.NWK_CHILD_AGE_ENABLE: t.Bool(False),
        OsalNvIds.BCAST_DELIVERY_TIME: t.uint8_t(30),
        OsalNvIds.ZDO_DIRECT_CB: t.Bool(True),
    }
    for nv_id, value in osal_items.items():
        nvram.put(osal_key(nv_id), value)
    security_material = [
        t.NwkSecMaterialDesc(FrameCounter=0, ExtendedPanID=extended_pan_id),
        t.NwkSecMaterialDesc(
            FrameCounter=0, ExtendedPanID=t.EUI64.convert("FF:FF:FF:FF:FF:FF:FF:FF")
        ),
    ]
    for sub_id, entry in enumerate(security_material):
        nvram.put((NvSysIds.ZSTACK, ExNvIds.NWK_SEC_MATERIAL_TABLE, sub_id), entry)
    return nvram


class MtConnection(StreamConnection["ZnpEmulator"]):
    """One host connected to the emulator: MT frames in, MT frames out."""

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._buffer:
            start = self._buffer.find(TransportFrame.SOF)
            if start < 0:
                self._buffer.clear()
                return
            del self._buffer[:start]
            # [SOF:1] [Length:1] [Command:2] [Data:Length] [FCS:1]
            if len(self._buffer) < 5 or len(self._buffer) < self._buffer[1] + 5:
                return
            try:
                frame, rest = TransportFrame.deserialize(bytes(self._buffer))
            except InvalidFrame as error:
                LOGGER.debug("Dropping an invalid MT frame: %s", error)
                del self._buffer[:1]
                continue
            del self._buffer[: len(self._buffer) - len(rest)]
            self._emulator.frame_received(self, frame.payload)

    def send(self, command: Any) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        LOGGER.debug("Sending %s", command)
        frame = command.to_frame(align=ALIGN_STRUCTS)
        self.transport.write(TransportFrame(frame).serialize())


Handler = Callable[[Any], Any]


class ZnpEmulator(EmulatorServer[MtConnection]):
    """A Z-Stack coordinator whose network is a scenario's virtual HAN, on a TCP port."""

    STACK = "Z-Stack"

    def __init__(self, scenario: Scenario, coordinator: CoordinatorIdentity | None = None) -> None:
        super().__init__(scenario, coordinator or default_coordinator(scenario))
        self.nvram = formed_network_nvram(scenario, self.coordinator)
        self.endpoint_profiles: dict[int, int] = {ZDO_ENDPOINT: 0x0000}
        self.install_codes: dict[zigpy_t.EUI64, zigpy_t.KeyData] = {}
        self.unknown_requests: list[GeneralFrame] = []
        self._handlers: dict[int, Handler] = {
            c.SYS.Ping.Req.header: self._ping,
            c.SYS.Version.Req.header: self._version,
            c.SYS.ResetReq.Req.header: self._reset,
            c.SYS.SetTxPower.Req.header: self._set_tx_power,
            c.SYS.OSALNVLength.Req.header: self._osal_nv_length,
            c.SYS.OSALNVRead.Req.header: self._osal_nv_read,
            c.SYS.OSALNVReadExt.Req.header: self._osal_nv_read_ext,
            c.SYS.OSALNVWrite.Req.header: self._osal_nv_write,
            c.SYS.OSALNVWriteExt.Req.header: self._osal_nv_write_ext,
            c.SYS.OSALNVItemInit.Req.header: self._osal_nv_item_init,
            c.SYS.OSALNVDelete.Req.header: self._osal_nv_delete,
            c.SYS.NVLength.Req.header: self._nv_length,
            c.SYS.NVRead.Req.header: self._nv_read,
            c.SYS.NVWrite.Req.header: self._nv_write,
            c.SYS.NVCreate.Req.header: self._nv_create,
            c.SYS.NVDelete.Req.header: self._nv_delete,
            c.UTIL.AssocFindDevice.Req.header: self._assoc_find_device,
            c.UTIL.GetDeviceInfo.Req.header: self._get_device_info,
            c.UTIL.LEDControl.Req.header: self._led_control,
            c.ZDO.StartupFromApp.Req.header: self._startup_from_app,
            c.ZDO.MsgCallbackRegister.Req.header: self._msg_callback_register,
            c.ZDO.ExtRouteChk.Req.header: self._ext_route_check,
            c.ZDO.ExtRouteDisc.Req.header: self._ext_route_discovery,
            c.ZDO.MgmtPermitJoinReq.Req.header: self._permit_join,
            c.ZDO.MgmtNWKUpdateReq.Req.header: self._nwk_update,
            c.AF.Register.Req.header: self._af_register,
            c.AF.DataRequestExt.Req.header: self._af_data_request,
            c.AppConfig.BDBStartCommissioning.Req.header: self._bdb_start_commissioning,
            c.AppConfig.BDBSetChannel.Req.header: self._bdb_set_channel,
            c.AppConfig.BDBAddInstallCode.Req.header: self._bdb_add_install_code,
            c.AppConfig.BDBSetJoinUsesInstallCodeKey.Req.header: self._bdb_install_code_only,
        }

    # -- serving ------------------------------------------------------------------------

    def _new_connection(self) -> MtConnection:
        return MtConnection(self)

    def _han_started(self) -> None:
        for node in self.virtual_han.nodes.values():
            self._store_device(node.spec.eui64)

    def _store_device(self, eui64: zigpy_t.EUI64) -> None:
        node = self.virtual_han.nodes.get(eui64)
        if node is not None:
            self.nvram.store_device(
                eui64,
                node.nwk,
                is_child=node.parent_nwk == COORDINATOR_NWK,
                link_key=node.spec.link_key,
            )

    # -- MT dispatch --------------------------------------------------------------------

    def frame_received(self, connection: MtConnection, frame: GeneralFrame) -> None:
        handler = self._handlers.get(frame.header)
        request_class = c.COMMANDS_BY_ID.get(frame.header)
        if handler is None or request_class is None:
            self._not_recognised(connection, frame, c.rpc_error.ErrorCode.InvalidCommandId)
            return
        try:
            request = request_class.from_frame(frame, align=ALIGN_STRUCTS)
        except (ValueError, KeyError):
            self._not_recognised(connection, frame, c.rpc_error.ErrorCode.InvalidParameter)
            return
        LOGGER.debug("Received %s", request)
        try:
            response = handler(request)
        except Exception:
            LOGGER.exception("The emulator failed to answer %s", request)
            self._not_recognised(connection, frame, c.rpc_error.ErrorCode.InvalidParameter)
            return
        if response is not None:
            connection.send(response)

    def _not_recognised(self, connection: MtConnection, frame: GeneralFrame, error: Any) -> None:
        LOGGER.debug("Unknown MT request %s", frame)
        self.unknown_requests.append(frame)
        if frame.header.type == t.CommandType.SREQ:
            connection.send(
                c.RPCError.CommandNotRecognized.Rsp(ErrorCode=error, RequestHeader=frame.header)
            )

    def _callback_soon(self, command: Any) -> None:
        """Send an MT callback once the answer to the request being handled has gone."""
        asyncio.get_running_loop().call_soon(self._send_callback, command)

    def _send_callback(self, command: Any) -> None:
        if self._client is not None:
            self._client.send(command)

    # -- SYS ----------------------------------------------------------------------------

    def _ping(self, request: Any) -> Any:
        return c.SYS.Ping.Rsp(Capabilities=CAPABILITIES)

    def _version(self, request: Any) -> Any:
        major, minor, maintenance = RELEASE
        return c.SYS.Version.Rsp(
            TransportRev=TRANSPORT_REV,
            ProductId=PRODUCT_ID,
            MajorRel=major,
            MinorRel=minor,
            MaintRel=maintenance,
            CodeRevision=CODE_REVISION,
            BootloaderBuildType=c.sys.BootloaderBuildType.NON_BOOTLOADER_BUILD,
            BootloaderRevision=0xFFFFFFFF,
        )

    def _reset(self, request: Any) -> None:
        major, minor, maintenance = RELEASE
        self._callback_soon(
            c.SYS.ResetInd.Callback(
                Reason=t.ResetReason.External,
                TransportRev=TRANSPORT_REV,
                ProductId=PRODUCT_ID,
                MajorRel=major,
                MinorRel=minor,
                MaintRel=maintenance,
            )
        )

    def _set_tx_power(self, request: Any) -> Any:
        return c.SYS.SetTxPower.Rsp(StatusOrPower=t.Status.SUCCESS)

    def _osal_nv_length(self, request: Any) -> Any:
        return c.SYS.OSALNVLength.Rsp(ItemLen=self.nvram.length(osal_key(request.Id)))

    def _osal_nv_read(self, request: Any) -> Any:
        value = self.nvram.read(osal_key(request.Id), request.Offset)
        if value is None:
            return c.SYS.OSALNVRead.Rsp(Status=t.Status.INVALID_PARAMETER, Value=t.ShortBytes())
        return c.SYS.OSALNVRead.Rsp(Status=t.Status.SUCCESS, Value=t.ShortBytes(value))

    def _osal_nv_read_ext(self, request: Any) -> Any:
        value = self.nvram.read(osal_key(request.Id), request.Offset)
        if value is None:
            return c.SYS.OSALNVReadExt.Rsp(Status=t.Status.INVALID_PARAMETER, Value=t.ShortBytes())
        return c.SYS.OSALNVReadExt.Rsp(Status=t.Status.SUCCESS, Value=t.ShortBytes(value))

    def _osal_nv_write(self, request: Any) -> Any:
        status = self.nvram.write(osal_key(request.Id), request.Offset, bytes(request.Value))
        return c.SYS.OSALNVWrite.Rsp(Status=status)

    def _osal_nv_write_ext(self, request: Any) -> Any:
        status = self.nvram.write(osal_key(request.Id), request.Offset, bytes(request.Value))
        return c.SYS.OSALNVWriteExt.Rsp(Status=status)

    def _osal_nv_item_init(self, request: Any) -> Any:
        status = self.nvram.create(osal_key(request.Id), request.ItemLen, bytes(request.Value))
        return c.SYS.OSALNVItemInit.Rsp(Status=status)

    def _osal_nv_delete(self, request: Any) -> Any:
        return c.SYS.OSALNVDelete.Rsp(Status=self.nvram.delete(osal_key(request.Id)))

    @staticmethod
    def _nv_key(request: Any) -> NvKey:
        return (int(request.SysId), int(request.ItemId), int(request.SubId))

    def _nv_length(self, request: Any) -> Any:
        return c.SYS.NVLength.Rsp(Length=self.nvram.length(self._nv_key(request)))

    def _nv_read(self, request: Any) -> Any:
        value = self.nvram.read(self._nv_key(request), request.Offset, request.Length)
        if value is None:
            return c.SYS.NVRead.Rsp(Status=t.Status.NV_ITEM_UNINIT, Value=t.ShortBytes())
        return c.SYS.NVRead.Rsp(Status=t.Status.SUCCESS, Value=t.ShortBytes(value))

    def _nv_write(self, request: Any) -> Any:
        status = self.nvram.write(self._nv_key(request), request.Offset, bytes(request.Value))
        return c.SYS.NVWrite.Rsp(Status=status)

    def _nv_create(self, request: Any) -> Any:
        return c.SYS.NVCreate.Rsp(Status=self.nvram.create(self._nv_key(request), request.Length))

    def _nv_delete(self, request: Any) -> Any:
        return c.SYS.NVDelete.Rsp(Status=self.nvram.delete(self._nv_key(request)))

    # -- UTIL ---------------------------------------------------------------------------

    def _assoc_find_device(self, request: Any) -> Any:
        return c.UTIL.AssocFindDevice.Rsp(Device=t.Bytes(b"\xff" * ASSOCIATED_DEVICE_SIZE))

    def _get_device_info(self, request: Any) -> Any:
        children = [node.nwk for node in self.virtual_han.children_of(COORDINATOR_NWK)]
        return c.UTIL.GetDeviceInfo.Rsp(
            Status=t.Status.SUCCESS,
            IEEE=t.EUI64(bytes(self.coordinator.eui64)),
            NWK=t.NWK(COORDINATOR_NWK),
            DeviceType=(
                t.DeviceTypeCapabilities.Coordinator
                | t.DeviceTypeCapabilities.Router
                | t.DeviceTypeCapabilities.EndDevice
            ),
            DeviceState=t.DeviceState.StartedAsCoordinator,
            AssociatedDevices=t.NWKList(children),
        )

    def _led_control(self, request: Any) -> Any:
        return c.UTIL.LEDControl.Rsp(Status=t.Status.SUCCESS)

    # -- ZDO ----------------------------------------------------------------------------

    def _started_as_coordinator(self) -> None:
        self._callback_soon(c.ZDO.StateChangeInd.Callback(State=t.DeviceState.StartedAsCoordinator))

    def _startup_from_app(self, request: Any) -> Any:
        self._started_as_coordinator()
        return c.ZDO.StartupFromApp.Rsp(State=c.zdo.StartupState.RestoredNetworkState)

    def _msg_callback_register(self, request: Any) -> Any:
        return c.ZDO.MsgCallbackRegister.Rsp(Status=t.Status.SUCCESS)

    def _ext_route_check(self, request: Any) -> Any:
        return c.ZDO.ExtRouteChk.Rsp(Status=c.zdo.RoutingStatus.SUCCESS)

    def _ext_route_discovery(self, request: Any) -> Any:
        return c.ZDO.ExtRouteDisc.Rsp(Status=t.Status.SUCCESS)

    def _permit_join(self, request: Any) -> Any:
        if request.Duration > 0:
            for eui64, link_key in self.install_codes.items():
                self.virtual_han.open_join_window(eui64, link_key, request.Duration)
        source = COORDINATOR_NWK if request.AddrMode == t.AddrMode.Broadcast else request.Dst
        self._callback_soon(
            c.ZDO.MgmtPermitJoinRsp.Callback(Src=t.NWK(source), Status=zdo_t.Status.SUCCESS)
        )
        return c.ZDO.MgmtPermitJoinReq.Rsp(Status=t.Status.SUCCESS)

    def _nwk_update(self, request: Any) -> Any:
        """An energy scan (scan duration 0-5) is answered as the addressed device answers it."""
        if request.ScanDuration <= 5:
            update = zdo_t.NwkUpdate(
                ScanChannels=request.Channels,
                ScanDuration=request.ScanDuration,
                ScanCount=request.ScanCount,
            )
            request_packet = nwk_packet(
                COORDINATOR_NWK,
                zigpy_t.AddrModeAddress(addr_mode=zigpy_t.AddrMode.NWK, address=request.Dst),
                endpoints=(ZDO_ENDPOINT, ZDO_ENDPOINT),
                profile_id=0x0000,
                cluster_id=zdo_t.ZDOCmd.Mgmt_NWK_Update_req,
                data=b"\x00" + update.serialize(),
                tsn=zigpy_t.uint8_t(0),
                radius=zigpy_t.uint8_t(0),
            )
            self._spawn(self._transmit(request_packet, confirm=None))
        return c.ZDO.MgmtNWKUpdateReq.Rsp(Status=t.Status.SUCCESS)

    # -- AF -----------------------------------------------------------------------------

    def _af_register(self, request: Any) -> Any:
        self.endpoint_profiles[int(request.Endpoint)] = int(request.ProfileId)
        return c.AF.Register.Rsp(Status=t.Status.SUCCESS)

    def _af_data_request(self, request: Any) -> Any:
        destination = request.DstAddrModeAddress.as_zigpy_type()
        packet = nwk_packet(
            COORDINATOR_NWK,
            destination,
            endpoints=(int(request.SrcEndpoint), int(request.DstEndpoint)),
            profile_id=self.endpoint_profiles.get(int(request.SrcEndpoint), 0x0104),
            cluster_id=int(request.ClusterId),
            data=bytes(request.Data),
            tsn=zigpy_t.uint8_t(request.TSN),
            radius=zigpy_t.uint8_t(request.Radius),
        )
        unicast = destination.addr_mode in (zigpy_t.AddrMode.NWK, zigpy_t.AddrMode.IEEE)
        confirm = (int(request.SrcEndpoint), int(request.TSN)) if unicast else None
        self._spawn(self._transmit(packet, confirm=confirm))
        return c.AF.DataRequestExt.Rsp(Status=t.Status.SUCCESS)

    async def _transmit(
        self, packet: zigpy_t.ZigbeePacket, confirm: tuple[int, int] | None
    ) -> None:
        """Put a frame on the virtual air; `confirm` (endpoint, TSN) asks for AF.DataConfirm."""
        status = t.Status.SUCCESS
        try:
            await self.virtual_han.transmit(packet)
        except zigpy.exceptions.DeliveryError:
            status = t.Status.MAC_NO_ACK
        if confirm is not None:
            endpoint, tsn = confirm
            self._send_callback(
                c.AF.DataConfirm.Callback(Status=status, Endpoint=endpoint, TSN=tsn)
            )

    def _deliver(self, packet: zigpy_t.ZigbeePacket) -> None:
        """A frame the virtual HAN sends to the coordinator, as Z-Stack hands it to the host."""
        data = packet.data.serialize()
        source = t.NWK(packet.src.address if packet.src is not None else COORDINATOR_NWK)
        if packet.src_ep == ZDO_ENDPOINT and packet.dst_ep == ZDO_ENDPOINT:
            if packet.cluster_id == zdo_t.ZDOCmd.Device_annce:
                self._device_joined(source, data[1:])
            self._send_callback(
                c.ZDO.MsgCbIncoming.Callback(
                    Src=source,
                    IsBroadcast=t.Bool(False),
                    ClusterId=packet.cluster_id,
                    SecurityUse=0,
                    TSN=data[0],
                    MacDst=t.NWK(COORDINATOR_NWK),
                    Data=t.Bytes(data[1:]),
                )
            )
            if packet.cluster_id == zdo_t.ZDOCmd.Mgmt_NWK_Update_rsp:
                self._nwk_update_notify(source, data[1:])
            return
        endpoint = int(packet.dst_ep) if packet.dst_ep in self.endpoint_profiles else 1
        self._send_callback(
            c.AF.IncomingMsg.Callback(
                GroupId=0x0000,
                ClusterId=packet.cluster_id,
                SrcAddr=source,
                SrcEndpoint=packet.src_ep,
                DstEndpoint=endpoint,
                WasBroadcast=t.Bool(False),
                LQI=packet.lqi if packet.lqi is not None else 255,
                SecurityUse=t.Bool(False),
                TimeStamp=0,
                TSN=0,
                Data=t.ShortBytes(data),
                MacSrcAddr=source,
                MsgResultRadius=0,
            )
        )

    def _device_joined(self, source: t.NWK, announcement: bytes) -> None:
        """Z-Stack's trust center tells the host of a join and keeps the device's key."""
        schema = zdo_t.CLUSTERS[zdo_t.ZDOCmd.Device_annce][1]
        (_nwk, eui64, _capability), _ = zigpy_t.deserialize(announcement, schema)
        self._store_device(eui64)
        node = self.virtual_han.nodes.get(eui64)
        parent = COORDINATOR_NWK if node is None else node.parent_nwk
        self._send_callback(
            c.ZDO.TCDevInd.Callback(
                SrcNwk=source, SrcIEEE=t.EUI64(bytes(eui64)), ParentNwk=t.NWK(parent)
            )
        )

    def _nwk_update_notify(self, source: t.NWK, payload: bytes) -> None:
        schema = zdo_t.CLUSTERS[zdo_t.ZDOCmd.Mgmt_NWK_Update_rsp][1]
        (status, channels, transmissions, failures, energies), _ = zigpy_t.deserialize(
            payload, schema
        )
        self._send_callback(
            c.ZDO.MgmtNWKUpdateNotify.Callback(
                Src=source,
                Status=zdo_t.Status(status),
                ScannedChannels=channels,
                TotalTransmissions=transmissions,
                TransmissionFailures=failures,
                EnergyValues=c.zdo.EnergyValues(energies),
            )
        )

    # -- APP_CONFIG (BDB) ---------------------------------------------------------------

    def _bdb_start_commissioning(self, request: Any) -> Any:
        mode = request.Mode
        self._callback_soon(
            c.AppConfig.BDBCommissioningNotification.Callback(
                Status=c.app_config.BDBCommissioningStatus.InProgress,
                Mode=mode,
                RemainingModes=mode,
            )
        )
        self._started_as_coordinator()
        self._callback_soon(
            c.AppConfig.BDBCommissioningNotification.Callback(
                Status=c.app_config.BDBCommissioningStatus.Success,
                Mode=mode,
                RemainingModes=c.app_config.BDBCommissioningMode.NONE,
            )
        )
        return c.AppConfig.BDBStartCommissioning.Rsp(Status=t.Status.SUCCESS)

    def _bdb_set_channel(self, request: Any) -> Any:
        return c.AppConfig.BDBSetChannel.Rsp(Status=t.Status.SUCCESS)

    def _bdb_add_install_code(self, request: Any) -> Any:
        code = bytes(request.InstallCode)
        if (
            request.InstallCodeFormat != c.app_config.InstallCodeFormat.KeyDerivedFromInstallCode
            or len(code) != 16
        ):
            return c.AppConfig.BDBAddInstallCode.Rsp(Status=t.Status.INVALID_PARAMETER)
        self.install_codes[zigpy_t.EUI64(bytes(request.IEEE))] = zigpy_t.KeyData(code)
        return c.AppConfig.BDBAddInstallCode.Rsp(Status=t.Status.SUCCESS)

    def _bdb_install_code_only(self, request: Any) -> Any:
        return c.AppConfig.BDBSetJoinUsesInstallCodeKey.Rsp(Status=t.Status.SUCCESS)
