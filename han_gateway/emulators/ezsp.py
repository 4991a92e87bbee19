# zigpy's and bellows' integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""An emulated Silicon Labs EmberZNet 7.4 coordinator (EZSP 13 over ASH) served over TCP.

bellows connects to it through ``socket://HOST:PORT`` and speaks ASH and EZSP to it,
unmodified. The coordinator has formed the scenario's network (channel, PAN id, extended PAN
id, network key), and every frame bellows sends over the air goes to the scenario's
`VirtualHan`, whose answers come back as EZSP callbacks.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any, Final, cast

import bellows.types as t
import zigpy.exceptions
import zigpy.types as zigpy_t
import zigpy.zdo.types as zdo_t
from bellows.ash import (
    AckFrame,
    AshFrame,
    AshProtocol,
    DataFrame,
    NakFrame,
    Reserved,
    RStackFrame,
    RstFrame,
    parse_frame,
)
from bellows.ezsp.v13.commands import COMMANDS
from bellows.zigbee.util import map_energy_to_rssi

from han_gateway.emulators import serving
from han_gateway.radio.virtual_han import (
    COORDINATOR_NWK,
    CoordinatorIdentity,
    channel_mask,
    nwk_packet,
)
from han_gateway.scenarios.schema import Scenario
from han_gateway.smart_energy import DEFAULT_TRUST_CENTER_LINK_KEY

LOGGER = logging.getLogger(__name__)

# What `version` and VALUE_VERSION_INFO report: EmberZNet 7.4.5.0 (build 0) speaking EZSP 13.
PROTOCOL_VERSION: Final = 13
STACK_TYPE: Final = 2  # a mesh stack
STACK_RELEASE: Final = (7, 4, 5, 0)
STACK_BUILD: Final = 0
ASH_VERSION: Final = 2

# EZSP frame control: the high byte's frame format version, the low byte's direction bits.
FRAME_FORMAT_VERSION_1: Final = 0x01
RESPONSE: Final = 0x80
ASYNC_CALLBACK: Final = 0x10

ZDO_ENDPOINT: Final = 0
RADIO_TX_POWER: Final = 8
MULTICAST_TABLE_SIZE: Final = 16
NO_TABLE_INDEX: Final = 0xFF
WILDCARD_EUI64: Final = zigpy_t.EUI64(b"\xff" * 8)
# An energy scan's result, once its energy (0-255) is turned back into dBm.
ENERGY_BOUNDS: Final = (1, 254)

Request = dict[str, Any]
Handler = Callable[[Request], Any]
COMMANDS_BY_ID: Final = {frame_id: name for name, (frame_id, _, _) in COMMANDS.items()}


def default_coordinator(scenario: Scenario) -> CoordinatorIdentity:
    """A Silicon Labs EFR32MG21 running EmberZNet."""
    firmware = "EmberZNet {}.{}.{}.{}".format(*STACK_RELEASE)
    return serving.emulated_coordinator(
        scenario, b"\x00\x0d\x6f", "Silicon Labs", "EFR32MG21", firmware
    )


def network_key(scenario: Scenario) -> zigpy_t.KeyData:
    """The scenario's network key, as the simulated radio reports it."""
    return zigpy_t.KeyData(bytes(scenario.gateway.extended_pan_id) * 2)


def trust_center_link_key(scenario: Scenario) -> zigpy_t.KeyData:
    return zigpy_t.KeyData(hashlib.sha256(f"tclk/{scenario.name}".encode()).digest()[:16])


def energy_to_rssi(energy: int) -> int:
    """The RSSI (dBm) an EmberZNet energy scan reports for an energy of 0-255."""
    low, high = ENERGY_BOUNDS
    rssi: float = map_energy_to_rssi(min(high, max(low, energy)))
    return max(-128, min(127, round(rssi)))


def stack_version() -> int:
    """EmberZNet's release, one digit a nibble, as `version` reports it."""
    major, minor, patch, special = STACK_RELEASE
    return (major << 12) | (minor << 8) | (patch << 4) | special


class AshConnection(serving.StreamConnection["EzspEmulator"]):
    """One host connected to the emulator: ASH frames in, ASH frames out."""

    def __init__(self, emulator: EzspEmulator) -> None:
        super().__init__(emulator)
        self._discarding = False
        self._tx_seq = 0
        self._rx_seq = 0
        self._rejecting = False

    def data_received(self, data: bytes) -> None:
        for byte in data:
            if byte == Reserved.FLAG:
                raw, corrupted = bytes(self._buffer), self._discarding
                self._buffer.clear()
                self._discarding = False
                if raw and not corrupted:
                    self._raw_frame_received(raw)
            elif byte == Reserved.CANCEL:
                self._buffer.clear()
                self._discarding = False
            elif byte == Reserved.SUBSTITUTE:
                self._discarding = True
            elif byte not in (Reserved.XON, Reserved.XOFF):
                self._buffer.append(byte)

    def _raw_frame_received(self, raw: bytes) -> None:
        try:
            frame = parse_frame(AshProtocol._unstuff_bytes(raw))
        except Exception as error:
            LOGGER.debug("Dropping an invalid ASH frame %s: %s", raw.hex(), error)
            if raw[0] & DataFrame.MASK == DataFrame.MASK_VALUE:
                self._reject()
            return
        if isinstance(frame, RstFrame):
            self._tx_seq = 0
            self._rx_seq = 0
            self._rejecting = False
            self._write(RStackFrame(version=ASH_VERSION, reset_code=t.NcpResetCode.RESET_SOFTWARE))
            self._emulator.reset(self)
        elif isinstance(frame, DataFrame):
            self._data_frame_received(frame)
        elif isinstance(frame, NakFrame):
            LOGGER.debug("The host rejected a frame: %s", frame)
        elif not isinstance(frame, AckFrame):
            LOGGER.debug("Ignoring an ASH frame the NCP never receives: %s", frame)

    def _data_frame_received(self, frame: DataFrame) -> None:
        if frame.frm_num == self._rx_seq:
            self._rx_seq = (frame.frm_num + 1) % 8
            self._rejecting = False
            self._write(AckFrame(res=0, ncp_ready=False, ack_num=self._rx_seq))
            self._emulator.frame_received(self, frame.ezsp_frame)
        elif frame.re_tx:
            self._write(AckFrame(res=0, ncp_ready=False, ack_num=self._rx_seq))
        else:
            self._reject()

    def _reject(self) -> None:
        if not self._rejecting:
            self._rejecting = True
            self._write(NakFrame(res=0, ncp_ready=False, ack_num=self._rx_seq))

    def _write(self, frame: AshFrame) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        LOGGER.debug("Sending %s", frame)
        self.transport.write(
            bytes(AshProtocol._stuff_bytes(frame.to_bytes())) + bytes([Reserved.FLAG])
        )

    def send(self, ezsp_frame: bytes) -> None:
        frame = DataFrame(
            frm_num=self._tx_seq, re_tx=False, ack_num=self._rx_seq, ezsp_frame=ezsp_frame
        )
        self._tx_seq = (self._tx_seq + 1) % 8
        self._write(frame)


def _storing(table: dict[Any, Any], key: str, value: str, convert: Callable[[Any], Any]) -> Handler:
    """A set request's handler: keep the request's ``value`` under its ``key`` in ``table``."""

    def store(request: Request) -> Any:
        table[request[key]] = convert(request[value])
        return {"status": t.EzspStatus.SUCCESS}

    return store


def _looked_up(table: dict[Any, Any], key: Any, *, missing: Any) -> dict[str, Any]:
    """A get answer: the value held under ``key``, or an invalid id with ``missing``."""
    if key not in table:
        return {"status": t.EzspStatus.ERROR_INVALID_ID, "value": missing}
    return {"status": t.EzspStatus.SUCCESS, "value": table[key]}


def _encode(schema: Any, values: Any) -> bytes:
    if isinstance(schema, dict):
        return bytes(t.serialize_dict([], values, schema))
    return bytes(values.serialize())


def _decode(schema: Any, data: bytes) -> Request:
    if isinstance(schema, dict):
        request, _ = t.deserialize_dict(data, schema)
        return cast(Request, request)
    value, _ = schema.deserialize(data)
    return {"value": value}


class EzspEmulator(serving.EmulatorServer[AshConnection]):
    """An EmberZNet coordinator whose network is a scenario's virtual HAN, on a TCP port."""

    STACK = "EmberZNet"
    RADIO = "ezsp"

    def __init__(self, scenario: Scenario, coordinator: CoordinatorIdentity | None = None) -> None:
        super().__init__(scenario, coordinator or default_coordinator(scenario))
        self.network_key = network_key(scenario)
        self.tc_link_key = trust_center_link_key(scenario)
        self.network_up = False
        self.endpoint_profiles: dict[int, int] = {ZDO_ENDPOINT: 0x0000}
        self.configuration: dict[t.EzspConfigId, int] = {
            t.EzspConfigId.CONFIG_SECURITY_LEVEL: scenario.gateway.security_level,
            t.EzspConfigId.CONFIG_MULTICAST_TABLE_SIZE: MULTICAST_TABLE_SIZE,
            # A Trust Center firmware keeps a link key for each device it admits.
            t.EzspConfigId.CONFIG_KEY_TABLE_SIZE: scenario.gateway.max_devices,
            t.EzspConfigId.CONFIG_ADDRESS_TABLE_SIZE: 0,
        }
        self.values: dict[t.EzspValueId, bytes] = {}
        self.policies: dict[t.EzspPolicyId, int] = {}
        self.multicast_table: dict[int, t.EmberMulticastTableEntry] = {}
        self.transient_keys: dict[zigpy_t.EUI64, zigpy_t.KeyData] = {}
        self.extended_timeouts: set[zigpy_t.EUI64] = set()
        self.link_keys: list[tuple[zigpy_t.EUI64, zigpy_t.KeyData]] = []
        self.unknown_requests: list[tuple[int, bytes]] = []
        self._callback_seq = 0
        self._aps_seq = 0
        self._energy_scans: dict[int, asyncio.Future[list[int]]] = {}
        self._zdo_tsn = 0
        self._handlers: dict[str, Handler] = {
            "version": self._version,
            "nop": self._nop,
            "customFrame": self._custom_frame,
            "getConfigurationValue": self._get_configuration_value,
            "setConfigurationValue": _storing(self.configuration, "configId", "value", int),
            "getValue": self._get_value,
            "setValue": _storing(self.values, "valueId", "value", bytes),
            "setPolicy": _storing(self.policies, "policyId", "decisionId", int),
            "getMfgToken": self._get_mfg_token,
            "getTokenData": self._get_token_data,
            "getEui64": self._get_eui64,
            "getNodeId": self._get_node_id,
            "addEndpoint": self._add_endpoint,
            "removeDevice": self._remove_device,
            "networkInit": self._network_init,
            "networkState": self._network_state,
            "getNetworkParameters": self._get_network_parameters,
            "exportKey": self._export_key,
            "getNetworkKeyInfo": self._get_network_key_info,
            "getCurrentSecurityState": self._get_current_security_state,
            "exportLinkKeyByIndex": self._export_link_key_by_index,
            "getChildData": self._get_child_data,
            "getAddressTableRemoteNodeId": self._get_address_table_node_id,
            "getAddressTableRemoteEui64": self._get_address_table_eui64,
            "setConcentrator": self._set_concentrator,
            "setSourceRouteDiscoveryMode": self._set_source_route_discovery_mode,
            "setManufacturerCode": self._nop,
            "setRadioPower": self._set_radio_power,
            "getMulticastTableEntry": self._get_multicast_table_entry,
            "setMulticastTableEntry": self._set_multicast_table_entry,
            "readCounters": self._read_counters,
            "readAndClearCounters": self._read_and_clear_counters,
            "getExtendedTimeout": self._get_extended_timeout,
            "setExtendedTimeout": self._set_extended_timeout,
            "lookupNodeIdByEui64": self._lookup_node_id,
            "lookupEui64ByNodeId": self._lookup_eui64,
            "startScan": self._start_scan,
            "importTransientKey": self._import_transient_key,
            "permitJoining": self._permit_joining,
            "sendUnicast": self._send_unicast,
            "sendBroadcast": self._send_broadcast,
            "sendMulticast": self._send_multicast,
        }

    # -- serving ------------------------------------------------------------------------

    def _new_connection(self) -> AshConnection:
        return AshConnection(self)

    def _han_started(self) -> None:
        """The formed network's key table: the link key of every device that joined with its
        install code, in the order they joined (those holding the default key have none)."""
        self.link_keys = []
        for eui64, node in self.virtual_han.nodes.items():
            if node.spec.link_key != DEFAULT_TRUST_CENTER_LINK_KEY:
                self._store_link_key(eui64, node.spec.link_key)

    def _store_link_key(self, eui64: zigpy_t.EUI64, link_key: zigpy_t.KeyData) -> None:
        """Keep a device's link key in the key table, in place of any earlier one; a full
        table keeps none."""
        self.link_keys = [entry for entry in self.link_keys if entry[0] != eui64]
        if len(self.link_keys) < self.configuration[t.EzspConfigId.CONFIG_KEY_TABLE_SIZE]:
            self.link_keys.append((eui64, link_key))

    def reset(self, connection: AshConnection) -> None:
        """The NCP restarted: its network is down until the host initialises it again."""
        self.network_up = False

    # -- EZSP dispatch ------------------------------------------------------------------

    def frame_received(self, connection: AshConnection, data: bytes) -> None:
        """One EZSP command: the legacy format (before `version`) or frame format 1."""
        if len(data) < 3:
            LOGGER.debug("Dropping a short EZSP frame %s", data.hex())
            return
        sequence = data[0]
        extended = data[2] & 0x03 == FRAME_FORMAT_VERSION_1
        if extended:
            frame_id, parameters = int.from_bytes(data[3:5], "little"), data[5:]
        else:
            frame_id, parameters = data[2], data[3:]
        name = COMMANDS_BY_ID.get(frame_id)
        handler = None if name is None else self._handlers.get(name)
        if name is None or handler is None:
            self._invalid_command(connection, sequence, frame_id, extended, parameters)
            return
        _, request_schema, response_schema = COMMANDS[name]
        try:
            request = _decode(request_schema, parameters)
        except (ValueError, KeyError):
            self._invalid_command(connection, sequence, frame_id, extended, parameters)
            return
        LOGGER.debug("Received %s %s", name, request)
        try:
            response = handler(request)
        except Exception:
            LOGGER.exception("The emulator failed to answer %s %s", name, request)
            self._invalid_command(connection, sequence, frame_id, extended, parameters)
            return
        LOGGER.debug("Answering %s %s", name, response)
        connection.send(
            self._header(sequence, RESPONSE, frame_id, extended)
            + _encode(response_schema, response)
        )
        self._callback_seq = sequence

    @staticmethod
    def _header(sequence: int, control: int, frame_id: int, extended: bool) -> bytes:
        if extended:
            return bytes([sequence, control, FRAME_FORMAT_VERSION_1]) + frame_id.to_bytes(
                2, "little"
            )
        return bytes([sequence, control, frame_id])

    def _invalid_command(
        self,
        connection: AshConnection,
        sequence: int,
        frame_id: int,
        extended: bool,
        parameters: bytes,
    ) -> None:
        """EmberZNet's answer to a frame it does not know: `invalidCommand`."""
        LOGGER.debug("Unknown EZSP frame 0x%04X: %s", frame_id, parameters.hex())
        self.unknown_requests.append((frame_id, parameters))
        status = t.EzspStatus.ERROR_INVALID_FRAME_ID
        invalid_id, _, schema = COMMANDS["invalidCommand"]
        connection.send(
            self._header(sequence, RESPONSE, invalid_id, extended)
            + _encode(schema, {"status": status})
        )
        self._callback_seq = sequence

    def _callback(self, name: str, **values: Any) -> None:
        """Send an asynchronous EZSP callback."""
        if self._client is None:
            return
        frame_id, _, schema = COMMANDS[name]
        LOGGER.debug("Calling back %s %s", name, values)
        self._client.send(
            self._header(self._callback_seq, RESPONSE | ASYNC_CALLBACK, frame_id, True)
            + _encode(schema, values)
        )

    def _callback_soon(self, name: str, **values: Any) -> None:
        """Send a callback once the answer to the command being handled has gone."""
        asyncio.get_running_loop().call_soon(lambda: self._callback(name, **values))

    # -- configuration ------------------------------------------------------------------

    def _version(self, request: Request) -> Any:
        return {
            "protocolVersion": PROTOCOL_VERSION,
            "stackType": STACK_TYPE,
            "stackVersion": stack_version(),
        }

    def _nop(self, request: Request) -> Any:
        return {}

    def _custom_frame(self, request: Request) -> Any:
        """No XNCP extensions in this firmware."""
        return {"status": t.EmberStatus.INVALID_CALL, "reply": b""}

    def _get_configuration_value(self, request: Request) -> Any:
        return _looked_up(self.configuration, request["configId"], missing=0)

    def _get_value(self, request: Request) -> Any:
        value_id = request["valueId"]
        if value_id == t.EzspValueId.VALUE_VERSION_INFO:
            major, minor, patch, special = STACK_RELEASE
            value = STACK_BUILD.to_bytes(2, "little") + bytes([major, minor, patch, special])
        else:
            return _looked_up(self.values, value_id, missing=b"")
        return {"status": t.EzspStatus.SUCCESS, "value": value}

    def _get_mfg_token(self, request: Request) -> Any:
        token = request["tokenId"]
        if token == t.EzspMfgTokenId.MFG_STRING:
            data = self.coordinator.manufacturer.encode()
        elif token == t.EzspMfgTokenId.MFG_BOARD_NAME:
            data = self.coordinator.model.encode()
        else:
            data = b"\xff" * 8
        return {"tokenData": data}

    def _get_token_data(self, request: Request) -> Any:
        """No NV3 tokens are readable."""
        _, _, schema = COMMANDS["getTokenData"]
        return schema(status=t.EmberStatus.NOT_FOUND)

    def _get_eui64(self, request: Request) -> Any:
        return {"eui64": t.EUI64(bytes(self.coordinator.eui64))}

    def _get_node_id(self, request: Request) -> Any:
        return {"nodeId": COORDINATOR_NWK}

    def _add_endpoint(self, request: Request) -> Any:
        self.endpoint_profiles[int(request["endpoint"])] = int(request["profileId"])
        self.virtual_han.register_endpoint(
            zdo_t.SimpleDescriptor(
                endpoint=request["endpoint"],
                profile=request["profileId"],
                device_type=request["deviceId"],
                device_version=request["deviceVersion"],
                input_clusters=list(request["inputClusterList"]),
                output_clusters=list(request["outputClusterList"]),
            )
        )
        return {"status": t.EzspStatus.SUCCESS}

    def _remove_device(self, request: Request) -> Any:
        """The Trust Center asks the device's parent to drop it (APSME-REMOVE-DEVICE)."""
        self.virtual_han.remove(request["targetLong"])
        return {"status": t.EmberStatus.SUCCESS}

    def _set_concentrator(self, request: Request) -> Any:
        return {"status": t.EmberStatus.SUCCESS}

    def _set_source_route_discovery_mode(self, request: Request) -> Any:
        return {"remainingTime": 0}

    def _set_radio_power(self, request: Request) -> Any:
        return {"status": t.EmberStatus.SUCCESS}

    def _get_multicast_table_entry(self, request: Request) -> Any:
        index = int(request["index"])
        entry = self.multicast_table.get(index)
        if entry is None:
            entry = t.EmberMulticastTableEntry(multicastId=0, endpoint=0, networkIndex=0)
        return {"status": t.EmberStatus.SUCCESS, "value": entry}

    def _set_multicast_table_entry(self, request: Request) -> Any:
        self.multicast_table[int(request["index"])] = request["value"]
        return {"status": t.EmberStatus.SUCCESS}

    def _counter_values(self, *, clear: bool) -> Any:
        """Every EmberCounterType, in order, from the virtual HAN's count (0 for those it does
        not keep); the stack's 16-bit counters stop at their top."""
        counted = self.virtual_han.read_stack_counters(clear=clear)
        return {
            "values": [
                t.uint16_t(min(counted.get(kind.name.removeprefix("COUNTER_").lower(), 0), 0xFFFF))
                for kind in t.EmberCounterType
            ]
        }

    def _read_counters(self, request: Request) -> Any:
        return self._counter_values(clear=False)

    def _read_and_clear_counters(self, request: Request) -> Any:
        return self._counter_values(clear=True)

    # -- network ------------------------------------------------------------------------

    def _network_init(self, request: Request) -> Any:
        self.network_up = True
        self._callback_soon("stackStatusHandler", status=t.EmberStatus.NETWORK_UP)
        return {"status": t.EmberStatus.SUCCESS}

    def _network_state(self, request: Request) -> Any:
        if self.network_up:
            return {"status": t.EmberNetworkStatus.JOINED_NETWORK}
        return {"status": t.EmberNetworkStatus.NO_NETWORK}

    def _get_network_parameters(self, request: Request) -> Any:
        gateway = self.scenario.gateway
        parameters = t.EmberNetworkParameters(
            extendedPanId=t.ExtendedPanId(bytes(gateway.extended_pan_id)),
            panId=gateway.pan_id,
            radioTxPower=RADIO_TX_POWER,
            radioChannel=gateway.channel,
            joinMethod=t.EmberJoinMethod.USE_MAC_ASSOCIATION,
            nwkManagerId=COORDINATOR_NWK,
            nwkUpdateId=0,
            channels=channel_mask([gateway.channel]),
        )
        return {
            "status": t.EmberStatus.SUCCESS,
            "nodeType": t.EmberNodeType.COORDINATOR,
            "parameters": parameters,
        }

    # -- security -----------------------------------------------------------------------

    def _export_key(self, request: Request) -> Any:
        key_type = request["context"].core_key_type
        if key_type == t.SecurityManagerKeyType.NETWORK:
            return {"key": t.KeyData(self.network_key), "status": t.sl_Status.OK}
        if key_type == t.SecurityManagerKeyType.TC_LINK:
            return {"key": t.KeyData(self.tc_link_key), "status": t.sl_Status.OK}
        return {"key": t.KeyData(bytes(16)), "status": t.sl_Status.NOT_FOUND}

    def _get_network_key_info(self, request: Request) -> Any:
        info = t.SecurityManagerNetworkKeyInfo(
            network_key_set=True,
            alternate_network_key_set=False,
            network_key_sequence_number=0,
            alt_network_key_sequence_number=0,
            network_key_frame_counter=0,
        )
        return {"status": t.sl_Status.OK, "network_key_info": info}

    def _get_current_security_state(self, request: Request) -> Any:
        state = t.EmberCurrentSecurityState(
            bitmask=(
                t.EmberCurrentSecurityBitmask.STANDARD_SECURITY_MODE
                | t.EmberCurrentSecurityBitmask.HAVE_TRUST_CENTER_LINK_KEY
            ),
            trustCenterLongAddress=t.EUI64(bytes(self.coordinator.eui64)),
        )
        return {"status": t.EmberStatus.SUCCESS, "state": state}

    def _export_link_key_by_index(self, request: Request) -> Any:
        """The key table: the keys of the devices that joined with their install code. It
        gives the host their EUI-64s only: EmberZNet keeps no NWK address with a key."""
        index = int(request["index"])
        metadata = t.SecurityManagerAPSKeyMetadata(
            bitmask=0, outgoing_frame_counter=0, incoming_frame_counter=0, ttl_in_seconds=0
        )
        if index >= len(self.link_keys):
            eui64, key, status = zigpy_t.EUI64(bytes(8)), bytes(16), t.sl_Status.NOT_FOUND
        else:
            (eui64, link_key), status = self.link_keys[index], t.sl_Status.OK
            key = bytes(link_key)
        return {
            "eui64": t.EUI64(bytes(eui64)),
            "plaintext_key": t.KeyData(key),
            "key_data": metadata,
            "status": status,
        }

    def _get_child_data(self, request: Request) -> Any:
        children = self.virtual_han.children_of(COORDINATOR_NWK)
        index = int(request["index"])
        _, _, schema = COMMANDS["getChildData"]
        if index >= len(children):
            empty, _ = schema["child_data"].deserialize(bytes(64))
            return {"status": t.EmberStatus.NOT_JOINED, "child_data": empty}
        child = children[index]
        node_type = (
            t.EmberNodeType.SLEEPY_END_DEVICE if child.spec.sleepy else t.EmberNodeType.ROUTER
        )
        data = schema["child_data"](
            eui64=t.EUI64(bytes(child.spec.eui64)),
            type=node_type,
            id=child.nwk,
            phy=0,
            power=0,
            timeout=0,
            timeout_remaining=0,
        )
        return {"status": t.EmberStatus.SUCCESS, "child_data": data}

    def _lookup_node_id(self, request: Request) -> Any:
        eui64 = zigpy_t.EUI64(bytes(request["eui64"]))
        if eui64 == self.coordinator.eui64:
            return {"nodeId": COORDINATOR_NWK}
        node = self.virtual_han.nodes.get(eui64)
        return {"nodeId": 0xFFFF if node is None else node.nwk}

    def _lookup_eui64(self, request: Request) -> Any:
        nwk = int(request["nodeId"])
        if nwk == COORDINATOR_NWK:
            return {"status": t.EmberStatus.SUCCESS, "eui64": self._get_eui64(request)["eui64"]}
        node = self.virtual_han.node_by_nwk(nwk)
        if node is None:
            return {"status": t.EmberStatus.ERR_FATAL, "eui64": t.EUI64(bytes(8))}
        return {"status": t.EmberStatus.SUCCESS, "eui64": t.EUI64(bytes(node.spec.eui64))}

    def _get_extended_timeout(self, request: Request) -> Any:
        eui64 = zigpy_t.EUI64(bytes(request["remoteEui64"]))
        return {"extendedTimeout": t.Bool(eui64 in self.extended_timeouts)}

    def _set_extended_timeout(self, request: Request) -> Any:
        eui64 = zigpy_t.EUI64(bytes(request["remoteEui64"]))
        if request["extendedTimeout"]:
            self.extended_timeouts.add(eui64)
        else:
            self.extended_timeouts.discard(eui64)
        return {}

    def _get_address_table_node_id(self, request: Request) -> Any:
        """Every entry unused: the address table's entries are the host's to fill (EmberZNet
        only updates those in use), and its Trust Center address cache, which sits after them,
        holds only the parents of devices joining now."""
        return {"nodeId": 0xFFFF}

    def _get_address_table_eui64(self, request: Request) -> Any:
        return {"eui64": t.EUI64(bytes(8))}

    # -- scanning -----------------------------------------------------------------------

    def _start_scan(self, request: Request) -> Any:
        if request["scanType"] != t.EzspNetworkScanType.ENERGY_SCAN:
            return {"status": t.EmberStatus.MAC_INCORRECT_SCAN_TYPE}
        self._spawn(self._energy_scan(request["channelMask"]))
        return {"status": t.EmberStatus.SUCCESS}

    async def _energy_scan(self, mask: t.Channels) -> None:
        """One energy sample of each channel, as the virtual HAN measures it."""
        self._zdo_tsn = (self._zdo_tsn + 1) % 256
        tsn = self._zdo_tsn
        result: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._energy_scans[tsn] = result
        update = zdo_t.NwkUpdate(ScanChannels=mask, ScanDuration=0, ScanCount=1)
        request = nwk_packet(
            COORDINATOR_NWK,
            zigpy_t.AddrModeAddress(addr_mode=zigpy_t.AddrMode.NWK, address=COORDINATOR_NWK),
            endpoints=(ZDO_ENDPOINT, ZDO_ENDPOINT),
            profile_id=0x0000,
            cluster_id=zdo_t.ZDOCmd.Mgmt_NWK_Update_req,
            data=bytes([tsn]) + update.serialize(),
        )
        try:
            await self.virtual_han.transmit(request)
            energies = await result
        finally:
            self._energy_scans.pop(tsn, None)
        channels = [channel for channel in range(11, 27) if channel_mask([channel]) & mask]
        for channel, energy in zip(channels, energies, strict=True):
            self._callback(
                "energyScanResultHandler", channel=channel, maxRssiValue=energy_to_rssi(energy)
            )
        self._callback("scanCompleteHandler", channel=0, status=t.EmberStatus.SUCCESS)

    # -- messages -----------------------------------------------------------------------

    def _import_transient_key(self, request: Request) -> Any:
        """A device's link key (from its install code) for the next join window; the
        wildcard address stands for any device."""
        eui64 = zigpy_t.EUI64(bytes(request["eui64"]))
        if eui64 != WILDCARD_EUI64:
            self.transient_keys[eui64] = zigpy_t.KeyData(bytes(request["plaintext_key"]))
        return {"status": t.sl_Status.OK}

    def _permit_joining(self, request: Request) -> Any:
        duration = int(request["duration"])
        if duration > 0:
            for eui64, link_key in self.transient_keys.items():
                self.virtual_han.open_join_window(eui64, link_key, duration)
        return {"status": t.EmberStatus.SUCCESS}

    def _next_aps_sequence(self) -> int:
        self._aps_seq = (self._aps_seq + 1) % 256
        return self._aps_seq

    def _send(
        self,
        request: Request,
        message_type: t.EmberOutgoingMessageType,
        mode: zigpy_t.AddrMode,
        address: int,
    ) -> Any:
        """Put a message from the host on the virtual air; `messageSentHandler` follows."""
        aps = request["apsFrame"].replace(sequence=self._next_aps_sequence())
        packet = nwk_packet(
            COORDINATOR_NWK,
            zigpy_t.AddrModeAddress(
                addr_mode=mode,
                address=zigpy_t.Group(address)
                if mode == zigpy_t.AddrMode.Group
                else zigpy_t.NWK(address),
            ),
            endpoints=(int(aps.sourceEndpoint), int(aps.destinationEndpoint)),
            profile_id=int(aps.profileId),
            cluster_id=int(aps.clusterId),
            data=bytes(request["messageContents"]),
            tsn=zigpy_t.uint8_t(aps.sequence),
            radius=zigpy_t.uint8_t(0),
            tx_options=(
                zigpy_t.TransmitOptions.APS_Encryption
                if t.EmberApsOption.APS_OPTION_ENCRYPTION in aps.options
                else zigpy_t.TransmitOptions.NONE
            ),
        )
        sent = {"type": message_type, "indexOrDestination": address, "apsFrame": aps}
        self._spawn(self._transmit(packet, sent | {"messageTag": request["messageTag"]}))
        return {"status": t.EmberStatus.SUCCESS, "sequence": aps.sequence}

    def _send_unicast(self, request: Request) -> Any:
        destination = int(request["indexOrDestination"])
        return self._send(request, request["type"], zigpy_t.AddrMode.NWK, destination)

    def _send_broadcast(self, request: Request) -> Any:
        return self._send(
            request,
            t.EmberOutgoingMessageType.OUTGOING_BROADCAST,
            zigpy_t.AddrMode.Broadcast,
            int(request["destination"]),
        )

    def _send_multicast(self, request: Request) -> Any:
        return self._send(
            request,
            t.EmberOutgoingMessageType.OUTGOING_MULTICAST,
            zigpy_t.AddrMode.Group,
            int(request["apsFrame"].groupId),
        )

    async def _transmit(self, packet: zigpy_t.ZigbeePacket, sent: dict[str, Any]) -> None:
        """Put a frame on the virtual air and tell the host how it went."""
        status = t.EmberStatus.SUCCESS
        try:
            await self.virtual_han.transmit(packet)
        except zigpy.exceptions.DeliveryError:
            status = t.EmberStatus.DELIVERY_FAILED
        self._callback("messageSentHandler", **sent, status=status, messageContents=b"")

    def _deliver(self, packet: zigpy_t.ZigbeePacket) -> None:
        """A frame the virtual HAN sends to the coordinator, as EmberZNet hands it to the host."""
        data = packet.data.serialize()
        if (
            packet.cluster_id == zdo_t.ZDOCmd.Mgmt_NWK_Update_rsp
            and packet.src_ep == ZDO_ENDPOINT
            and data
            and data[0] in self._energy_scans
        ):
            schema = zdo_t.CLUSTERS[zdo_t.ZDOCmd.Mgmt_NWK_Update_rsp][1]
            (_status, _channels, _sent, _failed, energies), _ = zigpy_t.deserialize(
                data[1:], schema
            )
            scan = self._energy_scans[data[0]]
            if not scan.done():
                scan.set_result([int(energy) for energy in energies])
            return
        source = COORDINATOR_NWK if packet.src is None else cast(int, packet.src.address)
        if packet.src_ep == ZDO_ENDPOINT and packet.cluster_id == zdo_t.ZDOCmd.Device_annce:
            self._device_joined(source, data[1:])
        source_endpoint = ZDO_ENDPOINT if packet.src_ep is None else int(packet.src_ep)
        endpoint = 1 if packet.dst_ep is None else int(packet.dst_ep)
        if endpoint not in self.endpoint_profiles:
            endpoint = 1
        aps = t.EmberApsFrame(
            profileId=int(packet.profile_id),
            clusterId=int(packet.cluster_id),
            sourceEndpoint=source_endpoint,
            destinationEndpoint=endpoint,
            options=(
                t.EmberApsOption.APS_OPTION_ENCRYPTION
                if zigpy_t.TransmitOptions.APS_Encryption in packet.tx_options
                else t.EmberApsOption.APS_OPTION_NONE
            ),
            groupId=0,
            sequence=self._next_aps_sequence(),
        )
        self._callback(
            "incomingMessageHandler",
            type=t.EmberIncomingMessageType.INCOMING_UNICAST,
            apsFrame=aps,
            lastHopLqi=packet.lqi if packet.lqi is not None else 255,
            lastHopRssi=packet.rssi if packet.rssi is not None else -30,
            sender=source,
            bindingIndex=NO_TABLE_INDEX,
            addressIndex=NO_TABLE_INDEX,
            messageContents=data,
        )

    def _device_joined(self, source: int, announcement: bytes) -> None:
        """EmberZNet's trust center tells the host of a join."""
        schema = zdo_t.CLUSTERS[zdo_t.ZDOCmd.Device_annce][1]
        (_nwk, eui64, _capability), _ = zigpy_t.deserialize(announcement, schema)
        link_key = self.transient_keys.pop(eui64, None)
        if link_key is not None:
            self._store_link_key(eui64, link_key)
        node = self.virtual_han.nodes.get(eui64)
        parent = COORDINATOR_NWK if node is None else node.parent_nwk
        self._callback(
            "trustCenterJoinHandler",
            newNodeId=source,
            newNodeEui64=t.EUI64(bytes(eui64)),
            status=t.EmberDeviceUpdate.STANDARD_SECURITY_UNSECURED_JOIN,
            policyDecision=t.EmberJoinDecision.USE_PRECONFIGURED_KEY,
            parentOfNewNodeId=parent,
        )
