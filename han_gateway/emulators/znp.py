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
    VirtualNode,
    channel_mask,
    nwk_packet,
)
from han_gateway.scenarios.schema import Scenario
from han_gateway.zigbee_ids import MAC_TRANSACTION_PERSISTENCE_S

LOGGER = logging.getLogger(__name__)

# A CC2652 lays structs out padded as in its memory; zigpy-znp detects it from the size of
# UTIL.AssocFindDevice's answer (36 bytes padded, 28 packed).
ALIGN_STRUCTS: Final = True
ASSOCIATED_DEVICE_SIZE: Final = 36
# What UTIL.AssocFindDevice and UTIL.AssocGetWithAddress answer for a device that is not in
# the association table: packDev_t() writes INVALID_NODE_ADDR (0xFFFE) over an unset buffer,
# whose other bytes a CC2652 reads as 0xFF (so its node relation is NOTUSED).
NO_ASSOCIATED_DEVICE: Final = b"\xfe\xff" + b"\xff" * (ASSOCIATED_DEVICE_SIZE - 2)
# The most NVRAM bytes one read answer carries (an MT frame holds at most 250).
NV_READ_CHUNK: Final = 240
ZDO_ENDPOINT: Final = 0
GREEN_POWER_ENDPOINT: Final = 242
# The endpoints the stack registers for itself (ZDO, the Green Power proxy) with their
# profiles: it sends from them too, but confirms those frames to its own tasks, not the host.
STACK_ENDPOINTS: Final = {ZDO_ENDPOINT: 0x0000, GREEN_POWER_ENDPOINT: 0xA1E0}
# An address manager entry Z-Stack has not used has every address bit set.
UNUSED_EXTENDED_ADDRESS: Final = znp_const.EMPTY_ADDR_MGR_ENTRY_ZSTACK3.extAddr
# A TCLK table entry that holds no key, as Z-Stack initialises the table.
UNUSED_TCLK_ENTRY: Final = t.TCLKDevEntry(
    txFrmCntr=0,
    rxFrmCntr=0,
    extAddr=t.EUI64(bytes(8)),
    keyAttributes=t.KeyAttributes.DEFAULT_KEY,
    keyType=t.KeyType.NONE,
    SeedShift_IcIndex=0,
)
UNUSED_APS_KEY_DATA: Final = t.APSKeyDataTableEntry(
    Key=t.KeyData(bytes(16)), TxFrameCounter=0, RxFrameCounter=0
)

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

    def create_table(self, item_id: int, empty_entry: Any, size: int) -> None:
        """A table as Z-Stack creates it when it forms a network: `size` unused entries."""
        for sub_id in range(size):
            self.put((NvSysIds.ZSTACK, item_id, sub_id), empty_entry)

    def address_entries(self) -> list[t.AddrMgrEntry]:
        return [
            t.AddrMgrEntry.deserialize(raw, align=ALIGN_STRUCTS)[0]
            for raw in self.table(ExNvIds.ADDRMGR)
        ]

    def address_index(self, eui64: zigpy_t.EUI64) -> int | None:
        """The device's entry in the address manager table, if it has one."""
        ieee = t.EUI64(bytes(eui64))
        return next(
            (index for index, entry in enumerate(self.address_entries()) if entry.extAddr == ieee),
            None,
        )

    def store_device(
        self, eui64: zigpy_t.EUI64, nwk: int, *, is_child: bool, link_key: zigpy_t.KeyData
    ) -> None:
        """Record a joined device as Z-Stack's trust center does: its address manager entry
        and its (unhashed) APS link key, linked by the APS link key table."""
        ieee = t.EUI64(bytes(eui64))
        index = self.address_index(eui64)
        if index is None:
            entries = self.address_entries()
            index = next(
                (
                    position
                    for position, entry in enumerate(entries)
                    if entry.extAddr == UNUSED_EXTENDED_ADDRESS
                ),
                len(entries),
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
        self._write_link_key_table()

    def release_device(self, eui64: zigpy_t.EUI64) -> None:
        """A device that left: its address manager entry and its key become unused."""
        index = self.address_index(eui64)
        if index is None:
            return
        self.put((NvSysIds.ZSTACK, ExNvIds.ADDRMGR, index), znp_const.EMPTY_ADDR_MGR_ENTRY_ZSTACK3)
        self.put((NvSysIds.ZSTACK, ExNvIds.APS_KEY_DATA_TABLE, index), UNUSED_APS_KEY_DATA)
        self._write_link_key_table()

    def set_associated(self, eui64: zigpy_t.EUI64, associated: bool) -> None:
        """AssocAddNew and AssocRemove: the address manager entry's association user."""
        index = self.address_index(eui64)
        if index is None:
            return
        entry = self.address_entries()[index]
        entry_type = int(entry.type) & ~int(t.AddrMgrUserType.Assoc)
        if associated:
            entry_type |= t.AddrMgrUserType.Assoc
        self.put(
            (NvSysIds.ZSTACK, ExNvIds.ADDRMGR, index),
            entry.replace(type=t.AddrMgrUserType(entry_type)),
        )

    def _write_link_key_table(self) -> None:
        """The APS link key table: one entry per device with a key, in a fixed-size item (the
        bytes after its last entry are unused)."""
        links = t.APSLinkKeyTable(
            t.APSLinkKeyTableEntry(
                AddressManagerIndex=position,
                LinkKeyNvId=position,
                AuthenticationState=t.AuthenticationOption.AuthenticatedCBCK,
            )
            for position, entry in enumerate(self.address_entries())
            if entry.extAddr != UNUSED_EXTENDED_ADDRESS and entry.type & t.AddrMgrUserType.Security
        )
        key = osal_key(OsalNvIds.APS_LINK_KEY_TABLE)
        value = _nv_value(links)
        self.items[key] = bytearray(value.ljust(self.length(key), b"\x00"))


def link_key_table_size(entries: int) -> int:
    """Bytes of the APS link key table item: its entry count and `entries` entries."""
    entry_size: int = t.APSLinkKeyTableEntry.get_size(align=ALIGN_STRUCTS)
    return len(t.uint16_t(0).serialize()) + entries * entry_size


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
    # The device tables exist, every entry unused, from the moment the network forms: an
    # empty HAN has them too. The build holds as many devices as the gateway admits.
    size = max(gateway.max_devices, len(scenario.devices))
    nvram.create_table(ExNvIds.ADDRMGR, znp_const.EMPTY_ADDR_MGR_ENTRY_ZSTACK3, size)
    nvram.create_table(ExNvIds.TCLK_TABLE, UNUSED_TCLK_ENTRY, size)
    nvram.create_table(ExNvIds.APS_KEY_DATA_TABLE, UNUSED_APS_KEY_DATA, size)
    nvram.items[osal_key(OsalNvIds.APS_LINK_KEY_TABLE)] = bytearray(link_key_table_size(size))
    return nvram


def child_relation(node: VirtualNode) -> c.util.NodeRelation:
    """How Z-Stack's association table records a child: a router, a device whose receiver
    stays on, or a sleeping end device (which polls for its frames)."""
    if node.spec.is_router:
        return c.util.NodeRelation.CHILD_FFD_RX_IDLE
    if node.spec.sleepy:
        return c.util.NodeRelation.CHILD_RFD
    return c.util.NodeRelation.CHILD_RFD_RX_IDLE


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
    RADIO = "znp"

    def __init__(self, scenario: Scenario, coordinator: CoordinatorIdentity | None = None) -> None:
        super().__init__(scenario, coordinator or default_coordinator(scenario))
        self.nvram = formed_network_nvram(scenario, self.coordinator)
        self.endpoint_profiles: dict[int, int] = dict(STACK_ENDPOINTS)
        self.install_codes: dict[zigpy_t.EUI64, zigpy_t.KeyData] = {}
        # The association table: the coordinator's own children, by their node relation.
        self.associations: dict[zigpy_t.EUI64, c.util.NodeRelation] = {}
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
            c.UTIL.AssocGetWithAddress.Req.header: self._assoc_get_with_address,
            c.UTIL.AssocRemove.Req.header: self._assoc_remove,
            c.UTIL.AssocAdd.Req.header: self._assoc_add,
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
        if node is None:
            return
        if node.parent_nwk == COORDINATOR_NWK:
            self.associations[eui64] = child_relation(node)
        self.nvram.store_device(
            eui64, node.nwk, is_child=eui64 in self.associations, link_key=node.spec.link_key
        )

    def _node_at(self, address: zigpy_t.AddrModeAddress | None) -> VirtualNode | None:
        """The device at a unicast address, if the network has one."""
        if address is None:
            return None
        if isinstance(address.address, zigpy_t.EUI64):
            return self.virtual_han.nodes.get(address.address)
        if address.addr_mode == zigpy_t.AddrMode.NWK and isinstance(address.address, int):
            return self.virtual_han.node_by_nwk(address.address)
        return None

    def _first_hop(self, node: VirtualNode) -> VirtualNode:
        """The coordinator's neighbour a frame for `node` goes to first: its top ancestor."""
        hop, seen = node, {node.spec.eui64}
        while hop.parent_nwk != COORDINATOR_NWK:
            parent = self.virtual_han.node_by_nwk(hop.parent_nwk)
            if parent is None or parent.spec.eui64 in seen:
                break
            hop = parent
            seen.add(hop.spec.eui64)
        return hop

    def _has_route(self, node: VirtualNode | None) -> bool:
        return node is not None and node.spec.reachable and not node.cut_off

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
        # A reset forgets the host's endpoints: it registers them again after each one.
        self.endpoint_profiles = dict(STACK_ENDPOINTS)
        self.virtual_han.coordinator_endpoints.clear()
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
        # zigpy-znp asks for index 0 only to learn the struct's size.
        return c.UTIL.AssocFindDevice.Rsp(Device=t.Bytes(NO_ASSOCIATED_DEVICE))

    def _assoc_get_with_address(self, request: Any) -> Any:
        """The association table entry of a child, looked up by IEEE address unless that is
        all zeroes (or all ones), else by NWK address; any other device has none."""
        ieee = bytes(request.IEEE)
        if ieee in (bytes(8), b"\xff" * 8):
            node = self.virtual_han.node_by_nwk(int(request.NWK))
        else:
            node = self.virtual_han.nodes.get(zigpy_t.EUI64(ieee))
        relation = None if node is None else self.associations.get(node.spec.eui64)
        if node is None or relation is None:
            device, _ = c.util.Device.deserialize(NO_ASSOCIATED_DEVICE, align=ALIGN_STRUCTS)
            return c.UTIL.AssocGetWithAddress.Rsp(Device=device)
        address_index = self.nvram.address_index(node.spec.eui64)
        link_quality = node.spec.link.link_quality
        device = c.util.Device(
            shortAddr=t.NWK(node.nwk),
            addrIdx=0xFFFF if address_index is None else address_index,
            nodeRelation=relation,
            devStatus=0,
            assocCnt=0,
            age=0,
            linkInfo=c.util.LinkInfo(
                txCounter=0,
                txCost=1,
                rxLqi=link_quality,
                inKeySeqNum=0,
                inFrmCntr=0,
                txFailure=0,
            ),
            endDev=c.util.AgingEndDevice(endDevCfg=0, deviceTimeout=0),
            timeoutCounter=0,
            keepaliveRcv=0,
            ctrl=0,
        )
        return c.UTIL.AssocGetWithAddress.Rsp(Device=device)

    def _assoc_remove(self, request: Any) -> Any:
        """The Z2M firmware's proxy of AssocRemove(): the device is no longer a child."""
        eui64 = zigpy_t.EUI64(bytes(request.IEEE))
        if self.associations.pop(eui64, None) is not None:
            self.nvram.set_associated(eui64, False)
        return c.UTIL.AssocRemove.Rsp(Status=t.Status.SUCCESS)

    def _assoc_add(self, request: Any) -> Any:
        """The Z2M firmware's proxy of AssocAddNew(): a child again, as it was."""
        eui64 = zigpy_t.EUI64(bytes(request.IEEE))
        self.associations[eui64] = c.util.NodeRelation(request.NodeRelation)
        self.nvram.set_associated(eui64, True)
        return c.UTIL.AssocAdd.Rsp(Status=t.Status.SUCCESS)

    def _get_device_info(self, request: Any) -> Any:
        children = [
            node.nwk for eui64, node in self.virtual_han.nodes.items() if eui64 in self.associations
        ]
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
        """RTG_CheckRtStatus(): an active route while the device answers along it; none to a
        device that is switched off, out of reach or cut off (its route failed or expired),
        nor to an address the network does not have."""
        node = self.virtual_han.node_by_nwk(int(request.Dst))
        if self._has_route(node):
            return c.ZDO.ExtRouteChk.Rsp(Status=c.zdo.RoutingStatus.SUCCESS)
        return c.ZDO.ExtRouteChk.Rsp(Status=c.zdo.RoutingStatus.NO_ENTRY)

    def _ext_route_discovery(self, request: Any) -> Any:
        """NLME_RouteDiscoveryRequest() starts a discovery and answers SUCCESS; a device that
        does not answer route requests leaves the routing table as it was (no route)."""
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
        """An endpoint the host registers: Z-Stack answers ZDO descriptor requests for it."""
        endpoint = int(request.Endpoint)
        if endpoint in self.endpoint_profiles:
            # afRegister() refuses an endpoint that has a descriptor already.
            return c.AF.Register.Rsp(Status=t.Status.INVALID_PARAMETER)
        self.endpoint_profiles[endpoint] = int(request.ProfileId)
        self.virtual_han.register_endpoint(
            zdo_t.SimpleDescriptor(
                endpoint=endpoint,
                profile=int(request.ProfileId),
                device_type=int(request.DeviceId),
                device_version=int(request.DeviceVersion),
                input_clusters=list(request.InputClusters),
                output_clusters=list(request.OutputClusters),
            )
        )
        return c.AF.Register.Rsp(Status=t.Status.SUCCESS)

    def _af_data_request(self, request: Any) -> Any:
        source_endpoint = int(request.SrcEndpoint)
        if source_endpoint not in self.endpoint_profiles:
            # AF_DataRequest() sends from a registered endpoint only.
            return c.AF.DataRequestExt.Rsp(Status=t.Status.INVALID_PARAMETER)
        destination = request.DstAddrModeAddress.as_zigpy_type()
        options = c.af.TransmitOptions(request.Options)
        if (
            c.af.TransmitOptions.LIMIT_CONCENTRATOR in options
            and destination.addr_mode == zigpy_t.AddrMode.NWK
            and destination.address != COORDINATOR_NWK
            and not self._has_route(self._node_at(destination))
        ):
            # Only along an existing route: AF_DataRequest() refuses at once.
            return c.AF.DataRequestExt.Rsp(Status=t.Status.NWK_NO_ROUTE)
        packet = nwk_packet(
            COORDINATOR_NWK,
            destination,
            endpoints=(int(request.SrcEndpoint), int(request.DstEndpoint)),
            profile_id=self.endpoint_profiles.get(int(request.SrcEndpoint), 0x0104),
            cluster_id=int(request.ClusterId),
            data=bytes(request.Data),
            tsn=zigpy_t.uint8_t(request.TSN),
            radius=zigpy_t.uint8_t(request.Radius),
            tx_options=(
                zigpy_t.TransmitOptions.APS_Encryption
                if c.af.TransmitOptions.ENABLE_SECURITY in options
                else zigpy_t.TransmitOptions.NONE
            ),
        )
        unicast = destination.addr_mode in (zigpy_t.AddrMode.NWK, zigpy_t.AddrMode.IEEE)
        # The stack confirms a frame to the task that owns its source endpoint: the host's
        # endpoints get AF.DataConfirm; ZDO (endpoint 0) and Green Power keep theirs.
        confirm = None
        if unicast and source_endpoint not in STACK_ENDPOINTS:
            confirm = (source_endpoint, int(request.TSN))
        self._spawn(self._transmit(packet, confirm=confirm))
        return c.AF.DataRequestExt.Rsp(Status=t.Status.SUCCESS)

    async def _transmit(
        self, packet: zigpy_t.ZigbeePacket, confirm: tuple[int, int] | None
    ) -> None:
        """Put a frame on the virtual air; `confirm` (endpoint, TSN) asks for AF.DataConfirm."""
        started = asyncio.get_running_loop().time()
        status = t.Status.SUCCESS
        try:
            await self.virtual_han.transmit(packet)
        except zigpy.exceptions.DeliveryError:
            status = self._delivery_failure(packet)
        else:
            node = self._node_at(packet.dst)
            if node is not None and self._polls_too_late(node):
                status = t.Status.MAC_TRANSACTION_EXPIRED
        if confirm is None:
            return
        if status == t.Status.MAC_TRANSACTION_EXPIRED:
            # The coordinator held the frame for its sleeping child as long as the MAC does.
            elapsed = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(0.0, MAC_TRANSACTION_PERSISTENCE_S - elapsed))
        endpoint, tsn = confirm
        self._send_callback(c.AF.DataConfirm.Callback(Status=status, Endpoint=endpoint, TSN=tsn))

    def _polls_too_late(self, node: VirtualNode) -> bool:
        """A sleeping child of the coordinator that does not poll before its frame expires."""
        return (
            self.associations.get(node.spec.eui64) == c.util.NodeRelation.CHILD_RFD
            and node.spec.poll_interval_ms / 1000 > MAC_TRANSACTION_PERSISTENCE_S
        )

    def _delivery_failure(self, packet: zigpy_t.ZigbeePacket) -> t.Status:
        """The status Z-Stack confirms a unicast with when the frame did not get through, after
        its MAC retries, from where the frame was lost."""
        node = self._node_at(packet.dst)
        if node is None:
            # No neighbour, route or address entry, and nothing answers a route request.
            return t.Status.NWK_NO_ROUTE
        if self._has_route(node):
            # It reached the device, which never acknowledged it.
            return t.Status.APS_NO_ACK
        relation = self.associations.get(node.spec.eui64)
        if relation == c.util.NodeRelation.CHILD_RFD:
            # Held for a sleeping child that never polled for it.
            return t.Status.MAC_TRANSACTION_EXPIRED
        first_hop = self._first_hop(node)
        if relation is not None or (first_hop is node and node.spec.is_router):
            # A child, or a neighbouring router: sent to it directly, never acknowledged.
            return t.Status.MAC_NO_ACK
        if first_hop is not node and not first_hop.spec.reachable:
            # Its route starts at a neighbour that does not acknowledge.
            return t.Status.MAC_NO_ACK
        # Its route broke beyond the first hop, or the coordinator has none to it.
        return t.Status.NWK_NO_ROUTE

    def _deliver(self, packet: zigpy_t.ZigbeePacket) -> None:
        """A frame the virtual HAN sends to the coordinator, as Z-Stack hands it to the host."""
        data = packet.data.serialize()
        source = t.NWK(packet.src.address if packet.src is not None else COORDINATOR_NWK)
        aps_secured = zigpy_t.TransmitOptions.APS_Encryption in zigpy_t.TransmitOptions(
            packet.tx_options
        )
        if packet.src_ep == ZDO_ENDPOINT and packet.dst_ep == ZDO_ENDPOINT:
            if packet.cluster_id == zdo_t.ZDOCmd.Device_annce:
                self._device_joined(source, data[1:])
            self._send_callback(
                c.ZDO.MsgCbIncoming.Callback(
                    Src=source,
                    IsBroadcast=t.Bool(False),
                    ClusterId=packet.cluster_id,
                    SecurityUse=int(aps_secured),
                    TSN=data[0],
                    MacDst=t.NWK(COORDINATOR_NWK),
                    Data=t.Bytes(data[1:]),
                )
            )
            if packet.cluster_id == zdo_t.ZDOCmd.Mgmt_NWK_Update_rsp:
                self._nwk_update_notify(source, data[1:])
            if packet.cluster_id == zdo_t.ZDOCmd.Mgmt_Leave_rsp and data[1:2] == b"\x00":
                self._devices_left()
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
                SecurityUse=t.Bool(aps_secured),
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

    def _devices_left(self) -> None:
        """A device that was asked to leave does so, with its children: ZDApp_LeaveUpdate()
        drops each from the association table, the address manager and the key tables, and
        MT tells the host with ZDO.LeaveInd."""
        for entry in self.nvram.address_entries():
            eui64 = zigpy_t.EUI64(bytes(entry.extAddr))
            if entry.extAddr == UNUSED_EXTENDED_ADDRESS or eui64 in self.virtual_han.nodes:
                continue
            self.associations.pop(eui64, None)
            self.nvram.release_device(eui64)
            self._send_callback(
                c.ZDO.LeaveInd.Callback(
                    NWK=entry.nwkAddr,
                    IEEE=entry.extAddr,
                    Request=t.Bool(False),
                    Remove=t.Bool(False),
                    Rejoin=t.Bool(False),
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
