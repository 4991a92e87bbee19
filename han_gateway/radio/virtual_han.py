# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""A virtual Smart Energy HAN that answers real serialised ZDO and ZCL frames.

The simulated radio hands every outgoing `ZigbeePacket` to `VirtualHan.transmit`. The
virtual HAN charges the radio's time for it (one slot of the radio's concurrency limit,
held for the per-hop latency times the number of hops), then builds the reply the addressed
device would send and hands it back to zigpy. All behaviour comes from the scenario.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from datetime import UTC, datetime
from typing import Any, Final, cast

import zigpy.exceptions
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.zcl import Cluster, foundation
from zigpy.zcl.clusters.general import Basic, Ota

from han_gateway import smart_energy, zigbee_ids
from han_gateway.protocol import ZIGBEE_CHANNELS, JoinDecisionKind
from han_gateway.radio.lqi import on_chip_scale
from han_gateway.scenarios.schema import DeviceSpec, Scenario
from han_gateway.smart_energy import DEFAULT_TRUST_CENTER_LINK_KEY

LOGGER = logging.getLogger(__name__)

COORDINATOR_NWK = t.NWK(0x0000)
ZDO_ENDPOINT = 0

# The coordinator's clear-channel assessment (IEEE 802.15.4 energy detection) finds its channel
# busy when an energy sample there reads above this, as the energy scan reports it (0-255).
CCA_BUSY_ENERGY: Final = 191
# IEEE 802.15.4: the backoffs a frame waits out for a clear channel, and the retries of a unicast
# the next hop does not acknowledge.
MAC_MAX_CSMA_BACKOFFS: Final = 4
MAC_MAX_FRAME_RETRIES: Final = 3
# The coordinator stack's counters the virtual HAN keeps, named as EmberZNet names them
# (EmberCounterType without its COUNTER_ prefix, in lower case).
STACK_COUNTERS: Final = (
    "mac_tx_broadcast",
    "mac_tx_unicast_success",
    "mac_tx_unicast_retry",
    "mac_tx_unicast_failed",
    "aps_data_tx_unicast_success",
    "aps_data_tx_unicast_failed",
    "phy_cca_fail_count",
    "child_removed",
    "nwk_decryption_failure",
    "aps_decryption_failure",
    "nwk_frame_counter_failure",
    "aps_frame_counter_failure",
)

_BROADCAST_ADDRESSES = frozenset(int(address) for address in t.BroadcastAddress)
# A refused join attempt as the Trust Center decides it (a device whose parent has not joined
# never reaches the Trust Center).
_TRUST_CENTER_REFUSALS: dict[str, JoinDecisionKind] = {
    "no_join_window": "refused_no_window",
    "link_key_mismatch": "refused_key_mismatch",
    "default_key_refused": "refused_policy",
}


@dataclasses.dataclass(frozen=True)
class CoordinatorIdentity:
    """What the Premises Gateway's own radio node reports about itself."""

    eui64: t.EUI64
    manufacturer: str
    model: str
    sw_build_id: str


@dataclasses.dataclass
class RadioStats:
    """The simulator's own account of radio work, used for the scan lower bound."""

    round_trips: int = 0
    busy_seconds: float = 0.0  # sum over round trips of the time each held a radio slot
    round_trips_by_device: Counter[t.EUI64] = dataclasses.field(default_factory=Counter)
    in_flight: int = 0  # frames holding a radio slot now
    peak_in_flight: int = 0  # the most at once, never above the radio's concurrency limit

    def reset(self) -> None:
        self.round_trips = 0
        self.busy_seconds = 0.0
        self.round_trips_by_device.clear()
        self.peak_in_flight = self.in_flight


@dataclasses.dataclass(frozen=True)
class JoinAttempt:
    eui64: t.EUI64
    accepted: bool
    reason: str
    at: datetime


@dataclasses.dataclass
class VirtualNode:
    spec: DeviceSpec
    nwk: t.NWK
    parent_nwk: t.NWK  # its parent as the network stands (an alternate when its own is down)
    depth: int
    formed_parent_nwk: t.NWK = COORDINATOR_NWK  # its parent when the network formed
    cut_off: bool = False  # every route to it runs through a router that does not answer


# The clusters that carry the meter's utility messages to a device.
_UTILITY_MESSAGE_CLUSTERS: Final = frozenset(
    {zigbee_ids.MESSAGING_CLUSTER_ID, zigbee_ids.DRLC_CLUSTER_ID}
)


def channel_mask(channels: Iterable[int]) -> t.Channels:
    mask: t.Channels = t.Channels.from_channel_list(list(channels))  # type: ignore[misc]
    return mask


def nwk_packet(
    source: int,
    destination: t.AddrModeAddress,
    *,
    endpoints: tuple[int, int],
    profile_id: int,
    cluster_id: int,
    data: bytes,
    **more: Any,
) -> t.ZigbeePacket:
    """A frame from a network address, between two endpoints, as zigpy carries it; ``more``
    sets its other fields (tsn, radius, lqi, rssi)."""
    return t.ZigbeePacket(
        src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=t.NWK(source)),
        src_ep=t.uint8_t(endpoints[0]),
        dst=destination,
        dst_ep=t.uint8_t(endpoints[1]),
        profile_id=t.uint16_t(profile_id),
        cluster_id=t.uint16_t(cluster_id),
        data=t.SerializableBytes(data),
        **more,
    )


class VirtualHan:
    """The devices of one scenario, as seen over the air by the coordinator."""

    def __init__(
        self,
        scenario: Scenario,
        coordinator: CoordinatorIdentity,
        deliver: Callable[[t.ZigbeePacket], None],
        refused: Callable[[t.EUI64, JoinDecisionKind], None] | None = None,
        *,
        radio: str = "simulated",
    ) -> None:
        self.scenario = scenario
        self.radio = radio  # whose chip family's LQI scale the coordinator sees links on
        self.coordinator = coordinator
        self._deliver = deliver
        self._refused = refused  # told of each join the Trust Center refuses
        self.stats = RadioStats()
        self.join_attempts: list[JoinAttempt] = []
        self._slots = asyncio.Semaphore(scenario.radio.concurrency_limit)
        self._slot_busy = [False] * scenario.radio.concurrency_limit
        self._slot_free_at = [0.0] * scenario.radio.concurrency_limit
        self._by_nwk: dict[int, VirtualNode] = {}
        self._latency_s = scenario.radio.per_hop_latency_ms / 1000
        self._tasks: set[asyncio.Task[None]] = set()
        self._join_windows: dict[t.EUI64, tuple[t.KeyData, float]] = {}
        # The endpoints the coordinator's radio registered (zigpy's add_endpoint).
        self.coordinator_endpoints: dict[int, zdo_t.SimpleDescriptor] = {}
        self._energy_samples_taken = 0  # bursty interference shows in some samples only
        # The stack's counters, and the clear-channel assessments made, for the samples they use.
        self.stack_counters: Counter[str] = Counter()
        self._assessments_made = 0
        self.nodes: dict[t.EUI64, VirtualNode] = {}
        self.pending: dict[t.EUI64, DeviceSpec] = {}
        for spec in scenario.devices:
            if spec.pending_join:
                self.pending[spec.eui64] = spec
        for spec in self._in_parent_order(
            [spec for spec in scenario.devices if not spec.pending_join]
        ):
            self._attach(spec)
        self._reroute()

    # -- network membership -------------------------------------------------------------

    @staticmethod
    def _in_parent_order(specs: list[DeviceSpec]) -> list[DeviceSpec]:
        ordered: list[DeviceSpec] = []
        placed: set[t.EUI64] = set()
        remaining = list(specs)
        while remaining:
            progressed = False
            for spec in list(remaining):
                if spec.parent is None or spec.parent in placed:
                    ordered.append(spec)
                    placed.add(spec.eui64)
                    remaining.remove(spec)
                    progressed = True
            if not progressed:
                # A parent that is still waiting to join: its children wait with it.
                break
        return ordered

    def _attach(self, spec: DeviceSpec) -> VirtualNode:
        if spec.parent is None:
            parent_nwk, depth = COORDINATOR_NWK, 1
        else:
            parent = self.nodes[spec.parent]
            parent_nwk, depth = parent.nwk, parent.depth + 1
        node = VirtualNode(
            spec=spec,
            nwk=t.NWK(spec.nwk),
            parent_nwk=parent_nwk,
            depth=depth,
            formed_parent_nwk=parent_nwk,
            cut_off=spec.parent is not None
            and (self.nodes[spec.parent].cut_off or not self.nodes[spec.parent].spec.reachable),
        )
        self.nodes[spec.eui64] = node
        self._by_nwk[int(node.nwk)] = node
        return node

    def _reroute(self) -> None:
        """Each device's parent as the network stands: its own while that parent answers and
        has a route, else the first of its alternates that does; with none, it is cut off
        (its frames have no route) and keeps its parent."""
        route_up: dict[t.EUI64, bool] = {}

        def has_route(node: VirtualNode, visiting: set[t.EUI64]) -> bool:
            if node.spec.eui64 in route_up:
                return route_up[node.spec.eui64]
            visiting.add(node.spec.eui64)
            parent_nwk: t.NWK | None = None
            for parent in (node.spec.parent, *node.spec.alternate_parents):
                if parent is None:
                    parent_nwk = COORDINATOR_NWK
                    break
                other = self.nodes.get(parent)
                if (
                    other is not None
                    and other.spec.reachable
                    and parent not in visiting
                    and has_route(other, visiting)
                ):
                    parent_nwk = other.nwk
                    break
            visiting.discard(node.spec.eui64)
            node.cut_off = parent_nwk is None
            node.parent_nwk = node.formed_parent_nwk if parent_nwk is None else parent_nwk
            route_up[node.spec.eui64] = not node.cut_off
            return not node.cut_off

        for node in self.nodes.values():
            has_route(node, set())
        for node in self.nodes.values():
            node.depth = self._depth(node)

    def _depth(self, node: VirtualNode) -> int:
        depth, current = 1, node
        while current.parent_nwk != COORDINATOR_NWK and depth <= len(self.nodes):
            parent = self.node_by_nwk(current.parent_nwk)
            if parent is None:
                break
            depth, current = depth + 1, parent
        return depth

    def link_keys(self) -> dict[t.EUI64, t.KeyData]:
        """The trust center's key table: each joined device's link key."""
        return {eui64: node.spec.link_key for eui64, node in self.nodes.items()}

    def children_of(self, nwk: t.NWK, *, formed: bool = False) -> list[VirtualNode]:
        """The node's children as the network stands, or as it formed."""
        return [
            node
            for node in self.nodes.values()
            if (node.formed_parent_nwk if formed else node.parent_nwk) == nwk
        ]

    def node_by_nwk(self, nwk: int) -> VirtualNode | None:
        return self._by_nwk.get(int(nwk))

    def remove(self, eui64: t.EUI64) -> bool:
        node = self.nodes.pop(eui64, None)
        if node is None:
            return False
        if node.parent_nwk == COORDINATOR_NWK:
            self.stack_counters["child_removed"] += 1
        self._by_nwk.pop(int(node.nwk), None)
        for child in self.children_of(node.nwk):
            self.remove(child.spec.eui64)
        return True

    def open_join_window(self, eui64: t.EUI64, link_key: t.KeyData, duration_s: float) -> None:
        """Let `eui64` join with `link_key` for `duration_s`; a waiting device tries at once."""
        self._join_windows[eui64] = (link_key, time.monotonic() + duration_s)
        if eui64 in self.pending:
            self._spawn(self._attempt_join(self.pending[eui64]))

    async def _attempt_join(self, spec: DeviceSpec) -> None:
        await asyncio.sleep(self.scenario.radio.join_delay_ms / 1000)
        window = self._join_windows.get(spec.eui64)
        now = datetime.now(UTC)
        if window is None or window[1] < time.monotonic():
            self._refuse(spec, "no_join_window", now)
            return
        holds_default_key = spec.link_key == DEFAULT_TRUST_CENTER_LINK_KEY
        if window[0] != spec.link_key and not (
            holds_default_key and self.scenario.gateway.join_policy == "default_key_allowed"
        ):
            if holds_default_key:
                # The Trust Center admits install-code keys only.
                self._refuse(spec, "default_key_refused", now)
                return
            # The device's key cannot decrypt the transport-key message: it never joins.
            LOGGER.info("Simulated join of %s rejected: link key mismatch", spec.eui64)
            self._refuse(spec, "link_key_mismatch", now)
            return
        if spec.parent is not None and spec.parent not in self.nodes:
            self.join_attempts.append(JoinAttempt(spec.eui64, False, "parent_not_joined", now))
            return
        self.pending.pop(spec.eui64, None)
        node = self._attach(dataclasses.replace(spec, pending_join=False))
        self.join_attempts.append(JoinAttempt(spec.eui64, True, "joined", now))
        LOGGER.info("Simulated device %s joined as 0x%04X", spec.eui64, node.nwk)
        announce = t.uint8_t(0).serialize() + t.serialize(
            [node.nwk, spec.eui64, t.uint8_t(0x8E if spec.is_router else 0x80)],
            zdo_t.CLUSTERS[zdo_t.ZDOCmd.Device_annce][1],
        )
        self._deliver(
            self._packet_from(node, ZDO_ENDPOINT, 0x0000, zdo_t.ZDOCmd.Device_annce, announce)
        )

    def _refuse(self, spec: DeviceSpec, reason: str, now: datetime) -> None:
        self.join_attempts.append(JoinAttempt(spec.eui64, False, reason, now))
        decision = _TRUST_CENTER_REFUSALS.get(reason)
        if decision is not None and self._refused is not None:
            self._refused(spec.eui64, decision)

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    # -- the air interface --------------------------------------------------------------

    def _destination(self, packet: t.ZigbeePacket) -> VirtualNode | str | None:
        """The addressed node, "coordinator" for loopback, "broadcast", or None if unknown."""
        address = packet.dst
        if address is None:
            return None
        if address.addr_mode == t.AddrMode.Broadcast:
            return "broadcast"
        if address.addr_mode == t.AddrMode.Group:
            return "broadcast"
        if address.addr_mode == t.AddrMode.IEEE:
            eui64 = cast(t.EUI64, address.address)
            if eui64 == self.coordinator.eui64:
                return "coordinator"
            return self.nodes.get(eui64)
        nwk = int(cast(t.NWK, address.address))
        if nwk == COORDINATOR_NWK:
            return "coordinator"
        if nwk in _BROADCAST_ADDRESSES:
            return "broadcast"
        return self.node_by_nwk(nwk)

    def hops_to(self, node: VirtualNode | None) -> int:
        return 1 if node is None else max(1, node.depth)

    async def transmit(self, packet: t.ZigbeePacket) -> None:
        """Send one frame: hold a radio slot for the trip, then schedule the reply."""
        destination = self._destination(packet)
        node = destination if isinstance(destination, VirtualNode) else None
        hops = self.hops_to(node)
        queued_at = time.monotonic()
        async with self._slots:
            # The radio keeps its own clock: a frame queued while every slot was busy goes
            # on the air the moment a slot frees, however late the host gets round to it.
            slot = min(
                (index for index, busy in enumerate(self._slot_busy) if not busy),
                key=self._slot_free_at.__getitem__,
            )
            self._slot_busy[slot] = True
            self.stats.in_flight += 1
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
            try:
                on_air = max(queued_at, self._slot_free_at[slot])
                done = on_air + self._latency_s * hops
                self._slot_free_at[slot] = done
                delay = done - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            finally:
                self._slot_busy[slot] = False
                self.stats.in_flight -= 1
            self.stats.round_trips += 1
            self.stats.busy_seconds += done - on_air
            self.stats.round_trips_by_device[
                node.spec.eui64 if node is not None else self.coordinator.eui64
            ] += 1
        if destination is None:
            self.stack_counters["aps_data_tx_unicast_failed"] += 1
            raise zigpy.exceptions.DeliveryError(
                "No route to destination", status=t.MACStatus.MAC_NO_ACK
            )
        if destination == "coordinator":
            self._answer_coordinator(packet)
            return
        self._assess_channel()
        if destination == "broadcast":
            self.stack_counters["mac_tx_broadcast"] += 1
            self._answer_broadcast(packet)
            return
        if node is None:
            return
        if not node.spec.reachable:
            self._count_undelivered()
            raise zigpy.exceptions.DeliveryError(
                f"Device 0x{node.nwk:04X} did not acknowledge", status=t.MACStatus.MAC_NO_ACK
            )
        if node.cut_off:
            self._count_undelivered()
            raise zigpy.exceptions.DeliveryError(
                f"No route to device 0x{node.nwk:04X}", status=t.MACStatus.MAC_NO_ACK
            )
        if node.spec.loses_messages and packet.cluster_id in _UTILITY_MESSAGE_CLUSTERS:
            self._count_undelivered()
            raise zigpy.exceptions.DeliveryError(
                f"Device 0x{node.nwk:04X} did not acknowledge", status=t.MACStatus.MAC_NO_ACK
            )
        self.stack_counters["mac_tx_unicast_success"] += 1
        self.stack_counters["aps_data_tx_unicast_success"] += 1
        if node.spec.silent:
            return
        replies = self._answer_device(node, packet)
        if not replies:
            return
        if node.spec.sleepy and node.spec.poll_interval_ms:
            # A sleepy device only hears the frame when it next polls its parent, which holds
            # it for the MAC transaction persistence time: a device that polls less often never
            # hears it (its parent acknowledged the frame, so the sender sees no error).
            if node.spec.poll_interval_ms / 1000 > zigbee_ids.MAC_TRANSACTION_PERSISTENCE_S:
                return
            self._spawn(self._deliver_later(replies, node.spec.poll_interval_ms / 1000))
        else:
            loop = asyncio.get_running_loop()
            for reply in replies:
                loop.call_soon(self._deliver, reply)

    def _assess_channel(self) -> None:
        """Count the clear-channel assessments a frame fails before it goes on the air: each
        backoff takes the channel's next energy sample. The frame goes out in the end: the
        virtual HAN counts what interference costs, it does not lose frames to it."""
        channel = self.scenario.gateway.channel
        for _ in range(MAC_MAX_CSMA_BACKOFFS):
            sample = self._assessments_made
            self._assessments_made += 1
            if self.scenario.energy_sample(channel, sample) <= CCA_BUSY_ENERGY:
                return
            self.stack_counters["phy_cca_fail_count"] += 1

    def _count_undelivered(self) -> None:
        self.stack_counters["mac_tx_unicast_retry"] += MAC_MAX_FRAME_RETRIES
        self.stack_counters["mac_tx_unicast_failed"] += 1
        self.stack_counters["aps_data_tx_unicast_failed"] += 1

    def read_stack_counters(self, *, clear: bool) -> dict[str, int]:
        """The stack's counters since they were last cleared, every one named."""
        values = {name: self.stack_counters[name] for name in STACK_COUNTERS}
        if clear:
            self.stack_counters.clear()
        return values

    async def _deliver_later(self, replies: list[t.ZigbeePacket], delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        for reply in replies:
            self._deliver(reply)

    # -- building replies ---------------------------------------------------------------

    def _last_hop_quality(self, node: VirtualNode) -> tuple[int, int]:
        """LQI and RSSI the coordinator measures on the last hop of a frame from `node`."""
        current = node
        while current.parent_nwk != COORDINATOR_NWK:
            parent = self.node_by_nwk(current.parent_nwk)
            if parent is None:
                break
            current = parent
        return current.spec.link.link_quality, current.spec.link.rssi

    def _packet_from(
        self,
        node: VirtualNode | None,
        endpoint: int,
        profile_id: int,
        cluster_id: int,
        data: bytes,
        *,
        aps_encrypted: bool = False,
    ) -> t.ZigbeePacket:
        if node is None:
            source, link_quality, rssi = COORDINATOR_NWK, 255, -30
        else:
            source = node.nwk
            link_quality, rssi = self._last_hop_quality(node)
            link_quality = on_chip_scale(self.radio, link_quality)
        return nwk_packet(
            source,
            t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=COORDINATOR_NWK),
            endpoints=(endpoint, endpoint),
            profile_id=profile_id,
            cluster_id=cluster_id,
            data=data,
            lqi=t.uint8_t(link_quality),
            rssi=t.int8s(rssi),
            tx_options=(
                t.TransmitOptions.APS_Encryption if aps_encrypted else t.TransmitOptions.NONE
            ),
        )

    def _answer_broadcast(self, packet: t.ZigbeePacket) -> None:
        if packet.dst_ep != ZDO_ENDPOINT or packet.cluster_id != zdo_t.ZDOCmd.IEEE_addr_req:
            return
        tsn, payload = t.uint8_t.deserialize(packet.data.serialize())
        (nwk, _request_type, _start), _ = t.deserialize(
            payload, zdo_t.CLUSTERS[zdo_t.ZDOCmd.IEEE_addr_req][1]
        )
        node = self.node_by_nwk(nwk)
        if node is None or not node.spec.reachable or node.spec.silent:
            return
        reply = self._zdo_reply(
            zdo_t.ZDOCmd.IEEE_addr_rsp,
            tsn,
            [zdo_t.Status.SUCCESS, node.spec.eui64, node.nwk, None, None, None],
        )
        asyncio.get_running_loop().call_soon(
            self._deliver, self._packet_from(node, ZDO_ENDPOINT, 0, reply[0], reply[1])
        )

    @staticmethod
    def _zdo_reply(command: zdo_t.ZDOCmd, tsn: int, args: list[object]) -> tuple[int, bytes]:
        schema = zdo_t.CLUSTERS[command][1]
        present = [
            (value, kind) for value, kind in zip(args, schema, strict=True) if value is not None
        ]
        data = t.uint8_t(tsn).serialize() + t.serialize(
            [value for value, _ in present], [kind for _, kind in present]
        )
        return command, data

    def _answer_coordinator(self, packet: t.ZigbeePacket) -> None:
        replies: list[t.ZigbeePacket] = []
        if packet.dst_ep == ZDO_ENDPOINT:
            answer = self._answer_zdo(None, packet)
            if answer is not None:
                replies.append(self._packet_from(None, ZDO_ENDPOINT, 0, answer[0], answer[1]))
        elif packet.cluster_id == Basic.cluster_id:
            replies.extend(self._answer_zcl(None, packet))
        loop = asyncio.get_running_loop()
        for reply in replies:
            loop.call_soon(self._deliver, reply)

    def _answer_device(self, node: VirtualNode, packet: t.ZigbeePacket) -> list[t.ZigbeePacket]:
        if packet.dst_ep == ZDO_ENDPOINT:
            answer = self._answer_zdo(node, packet)
            if answer is None:
                return []
            if answer[0] == zdo_t.ZDOCmd.Mgmt_Leave_rsp:
                self.remove(node.spec.eui64)
            return [self._packet_from(node, ZDO_ENDPOINT, 0, answer[0], answer[1])]
        return self._answer_zcl(node, packet)

    # ZDO -------------------------------------------------------------------------------

    def _node_descriptor(self, node: VirtualNode | None) -> zdo_t.NodeDescriptor:
        if node is None:
            logical_type = zdo_t.LogicalType.Coordinator
            capabilities = 0x8F
        elif node.spec.is_router:
            logical_type = zdo_t.LogicalType.Router
            capabilities = 0x8E
        else:
            logical_type = zdo_t.LogicalType.EndDevice
            capabilities = 0x80 | (0x04 if node.spec.power_source == "mains" else 0x00)
            capabilities |= 0x00 if node.spec.sleepy else 0x08
        return zdo_t.NodeDescriptor(
            logical_type=logical_type,
            complex_descriptor_available=0,
            user_descriptor_available=0,
            reserved=0,
            aps_flags=0,
            frequency_band=zdo_t.FrequencyBand.Freq2400MHz,
            mac_capability_flags=zdo_t.MACCapabilityFlags(capabilities),
            manufacturer_code=0x1037,
            maximum_buffer_size=82,
            maximum_incoming_transfer_size=82,
            server_mask=0x2C00 if node is not None else 0x2C41,
            maximum_outgoing_transfer_size=82,
            descriptor_capability_field=zdo_t.DescriptorCapability.NONE,
        )

    def register_endpoint(self, descriptor: zdo_t.SimpleDescriptor) -> None:
        """An endpoint the coordinator's radio registered: its stack answers for it and takes
        frames sent to it on its profile."""
        self.coordinator_endpoints[int(descriptor.endpoint)] = descriptor

    def formed_neighbour_tables(self) -> dict[t.EUI64, list[zdo_t.Neighbor]]:
        """The coordinator's and the routers' neighbour tables as they were when the network
        formed, every router answering: what a coordinator's stored topology holds from its
        last topology scan (zigpy keeps the tables it read in its database)."""
        owners: list[VirtualNode | None] = [
            None,
            *(node for node in self.nodes.values() if node.spec.is_router),
        ]
        return {
            self.coordinator.eui64 if owner is None else owner.spec.eui64: self._neighbours(
                owner, formed=True
            )
            for owner in owners
        }

    def _neighbours(
        self, node: VirtualNode | None, *, formed: bool = False
    ) -> list[zdo_t.Neighbor]:
        """Neighbour table of a node: parent, children and extra router links, as the network
        stands or as it formed."""
        own_nwk = COORDINATOR_NWK if node is None else node.nwk
        own_eui = self.coordinator.eui64 if node is None else node.spec.eui64
        entries: list[zdo_t.Neighbor] = []

        def entry(other: VirtualNode | None, relationship: zdo_t.Relationship, lqi: int) -> None:
            if other is None:
                ieee, nwk, device_type, depth = (
                    self.coordinator.eui64,
                    COORDINATOR_NWK,
                    zdo_t.Neighbor.DeviceType.Coordinator,
                    0,
                )
                rx_on = zdo_t.Neighbor.RxOnWhenIdle.On
            else:
                ieee, nwk, depth = other.spec.eui64, other.nwk, other.depth
                device_type = (
                    zdo_t.Neighbor.DeviceType.Router
                    if other.spec.is_router
                    else zdo_t.Neighbor.DeviceType.EndDevice
                )
                rx_on = (
                    zdo_t.Neighbor.RxOnWhenIdle.Off
                    if other.spec.sleepy
                    else zdo_t.Neighbor.RxOnWhenIdle.On
                )
            entries.append(
                zdo_t.Neighbor(
                    extended_pan_id=self.scenario.gateway.extended_pan_id,
                    ieee=ieee,
                    nwk=nwk,
                    device_type=device_type,
                    rx_on_when_idle=rx_on,
                    relationship=relationship,
                    reserved1=0,
                    permit_joining=zdo_t.Neighbor.PermitJoins.NotAccepting,
                    reserved2=0,
                    depth=depth,
                    lqi=on_chip_scale(self.radio, lqi),
                )
            )

        if node is not None:
            parent = self.node_by_nwk(node.formed_parent_nwk if formed else node.parent_nwk)
            entry(parent, zdo_t.Neighbor.Relationship.Parent, node.spec.link.reverse_link_quality)
        for child in self.children_of(own_nwk, formed=formed):
            entry(child, zdo_t.Neighbor.Relationship.Child, child.spec.link.link_quality)
        for link in self.scenario.extra_links:
            if link.first == own_eui and link.second in self.nodes:
                other = self.nodes[link.second]
                entry(other, zdo_t.Neighbor.Relationship.Sibling, link.link_quality)
            elif link.second == own_eui and link.first in self.nodes:
                other = self.nodes[link.first]
                entry(other, zdo_t.Neighbor.Relationship.Sibling, link.reverse_link_quality)
        return entries

    def _routes(self, node: VirtualNode | None) -> list[zdo_t.Route]:
        """Routing table: a route to every router below this node, via the child above it."""
        own_nwk = COORDINATOR_NWK if node is None else node.nwk
        routes: list[zdo_t.Route] = []
        for child in self.children_of(own_nwk):
            if not child.spec.is_router:
                continue
            for descendant in [child, *self._descendants(child)]:
                if descendant.spec.is_router:
                    routes.append(
                        zdo_t.Route(
                            DstNWK=descendant.nwk,
                            RouteStatus=zdo_t.RouteStatus.Active,
                            MemoryConstrained=0,
                            ManyToOne=0,
                            RouteRecordRequired=0,
                            Reserved=0,
                            NextHop=child.nwk,
                        )
                    )
        return routes

    def _descendants(self, node: VirtualNode) -> list[VirtualNode]:
        found: list[VirtualNode] = []
        for child in self.children_of(node.nwk):
            found.append(child)
            found.extend(self._descendants(child))
        return found

    def _answer_zdo(
        self, node: VirtualNode | None, packet: t.ZigbeePacket
    ) -> tuple[int, bytes] | None:
        command = zdo_t.ZDOCmd(packet.cluster_id)
        if command not in zdo_t.CLUSTERS:
            return None
        tsn, payload = t.uint8_t.deserialize(packet.data.serialize())
        args, _ = t.deserialize(payload, zdo_t.CLUSTERS[command][1])
        nwk = COORDINATOR_NWK if node is None else node.nwk
        page_size = self.scenario.radio.table_page_size
        success = zdo_t.Status.SUCCESS
        if command == zdo_t.ZDOCmd.Node_Desc_req:
            return self._zdo_reply(
                zdo_t.ZDOCmd.Node_Desc_rsp, tsn, [success, nwk, self._node_descriptor(node)]
            )
        if command == zdo_t.ZDOCmd.Active_EP_req:
            endpoints = (
                sorted(self.coordinator_endpoints)
                if node is None
                else [ep.endpoint_id for ep in node.spec.endpoints]
            )
            return self._zdo_reply(zdo_t.ZDOCmd.Active_EP_rsp, tsn, [success, nwk, endpoints])
        if command == zdo_t.ZDOCmd.Simple_Desc_req:
            wanted = args[1]
            descriptor = self._simple_descriptor(node, wanted)
            if descriptor is None:
                return self._zdo_reply(
                    zdo_t.ZDOCmd.Simple_Desc_rsp, tsn, [zdo_t.Status.NOT_ACTIVE, nwk, None]
                )
            return self._zdo_reply(zdo_t.ZDOCmd.Simple_Desc_rsp, tsn, [success, nwk, descriptor])
        if command == zdo_t.ZDOCmd.Mgmt_Lqi_req:
            start = args[0]
            table = self._neighbours(node)
            page = table[start : start + page_size]
            return self._zdo_reply(
                zdo_t.ZDOCmd.Mgmt_Lqi_rsp,
                tsn,
                [
                    success,
                    zdo_t.Neighbors(Entries=len(table), StartIndex=start, NeighborTableList=page),
                ],
            )
        if command == zdo_t.ZDOCmd.Mgmt_Rtg_req:
            if node is not None and not node.spec.is_router:
                return self._zdo_reply(
                    zdo_t.ZDOCmd.Mgmt_Rtg_rsp, tsn, [zdo_t.Status.NOT_SUPPORTED, None]
                )
            start = args[0]
            routes = self._routes(node)
            return self._zdo_reply(
                zdo_t.ZDOCmd.Mgmt_Rtg_rsp,
                tsn,
                [
                    success,
                    zdo_t.Routes(
                        Entries=len(routes),
                        StartIndex=start,
                        RoutingTableList=routes[start : start + page_size],
                    ),
                ],
            )
        if command == zdo_t.ZDOCmd.Mgmt_NWK_Update_req and node is None:
            update: zdo_t.NwkUpdate = args[0]
            channels = [
                channel
                for channel in ZIGBEE_CHANNELS
                if channel_mask([channel]) & update.ScanChannels
            ]
            return self._zdo_reply(
                zdo_t.ZDOCmd.Mgmt_NWK_Update_rsp,
                tsn,
                [
                    success,
                    update.ScanChannels,
                    t.uint16_t(0),
                    t.uint16_t(0),
                    self._energy_scan(channels, max(1, int(update.ScanCount))),
                ],
            )
        if command == zdo_t.ZDOCmd.Mgmt_Leave_req:
            return self._zdo_reply(zdo_t.ZDOCmd.Mgmt_Leave_rsp, tsn, [success])
        if command == zdo_t.ZDOCmd.Mgmt_Permit_Joining_req:
            return self._zdo_reply(zdo_t.ZDOCmd.Mgmt_Permit_Joining_rsp, tsn, [success])
        if command == zdo_t.ZDOCmd.IEEE_addr_req and node is not None:
            return self._zdo_reply(
                zdo_t.ZDOCmd.IEEE_addr_rsp,
                tsn,
                [success, node.spec.eui64, node.nwk, None, None, None],
            )
        if command & 0x8000:
            return None
        response = zdo_t.ZDOCmd(command | 0x8000)
        if response in zdo_t.CLUSTERS and len(zdo_t.CLUSTERS[response][1]) >= 1:
            schema = zdo_t.CLUSTERS[response][1]
            return command | 0x8000, t.uint8_t(tsn).serialize() + t.serialize(
                [zdo_t.Status.NOT_SUPPORTED], schema[:1]
            )
        return None

    def _energy_scan(self, channels: list[int], count: int) -> list[int]:
        """`count` energy samples of each channel, reported as the highest of them."""
        first = self._energy_samples_taken
        self._energy_samples_taken += count
        return [
            max(self.scenario.energy_sample(channel, first + index) for index in range(count))
            for channel in channels
        ]

    def _simple_descriptor(
        self, node: VirtualNode | None, endpoint_id: int
    ) -> zdo_t.SizePrefixedSimpleDescriptor | None:
        if node is None:
            registered = self.coordinator_endpoints.get(endpoint_id)
            if registered is None:
                return None
            return zdo_t.SizePrefixedSimpleDescriptor(**registered.as_dict())
        for endpoint in node.spec.endpoints:
            if endpoint.endpoint_id == endpoint_id:
                return zdo_t.SizePrefixedSimpleDescriptor(
                    endpoint=endpoint.endpoint_id,
                    profile=endpoint.profile_id,
                    device_type=endpoint.device_type,
                    device_version=0,
                    input_clusters=list(endpoint.input_clusters),
                    output_clusters=list(endpoint.output_clusters),
                )
        return None

    # ZCL -------------------------------------------------------------------------------

    def _attribute_values(self, node: VirtualNode | None, cluster_id: int) -> dict[int, object]:
        if cluster_id == Basic.cluster_id:
            if node is None:
                return {
                    Basic.AttributeDefs.zcl_version.id: 3,
                    Basic.AttributeDefs.manufacturer.id: self.coordinator.manufacturer,
                    Basic.AttributeDefs.model.id: self.coordinator.model,
                    Basic.AttributeDefs.power_source.id: Basic.PowerSource.Mains_single_phase,
                    Basic.AttributeDefs.sw_build_id.id: self.coordinator.sw_build_id,
                }
            spec = node.spec
            return {
                Basic.AttributeDefs.zcl_version.id: 3,
                Basic.AttributeDefs.manufacturer.id: spec.manufacturer,
                Basic.AttributeDefs.model.id: spec.model,
                Basic.AttributeDefs.power_source.id: (
                    Basic.PowerSource.Mains_single_phase
                    if spec.power_source == "mains"
                    else Basic.PowerSource.Battery
                ),
                Basic.AttributeDefs.sw_build_id.id: spec.sw_build_id,
            }
        if (
            cluster_id == Ota.cluster_id
            and node is not None
            and node.spec.ota_file_version is not None
        ):
            return {
                Ota.AttributeDefs.current_file_version.id: node.spec.ota_file_version,
                Ota.AttributeDefs.image_upgrade_status.id: Ota.ImageUpgradeStatus.Normal,
            }
        return {}

    def _has_cluster(self, node: VirtualNode, endpoint_id: int, cluster_id: int) -> bool:
        for endpoint in node.spec.endpoints:
            if endpoint.endpoint_id == endpoint_id and (
                cluster_id in endpoint.input_clusters or cluster_id in endpoint.output_clusters
            ):
                return True
        return False

    def _answer_zcl(self, node: VirtualNode | None, packet: t.ZigbeePacket) -> list[t.ZigbeePacket]:
        data = packet.data.serialize()
        header, payload = foundation.ZCLHeader.deserialize(data)
        endpoint_id = int(packet.dst_ep or 1)
        cluster_id = int(packet.cluster_id)
        if node is not None and not self._has_cluster(node, endpoint_id, cluster_id):
            return []
        profile_id = (
            zigbee_ids.SMART_ENERGY_PROFILE_ID if node is None else self._profile(node, endpoint_id)
        )
        reply_direction = header.frame_control.direction.flip()
        # A Smart Energy device holds an APS link key with the Trust Center: it answers in kind
        # what came APS-encrypted, and drops Smart Energy traffic that came without APS security.
        smart_energy_device = profile_id == zigbee_ids.SMART_ENERGY_PROFILE_ID
        encrypted = t.TransmitOptions.APS_Encryption in t.TransmitOptions(packet.tx_options)
        plain_smart_energy = cluster_id in zigbee_ids.SMART_ENERGY_CLUSTER_IDS and not encrypted
        if node is not None and smart_energy_device and plain_smart_energy:
            return []

        def frame(reply_header: foundation.ZCLHeader, body: bytes) -> t.ZigbeePacket:
            return self._packet_from(
                node,
                endpoint_id,
                profile_id,
                cluster_id,
                reply_header.serialize() + body,
                aps_encrypted=encrypted and (node is None or smart_energy_device),
            )

        if header.frame_control.is_general:
            if header.command_id == foundation.GeneralCommand.Read_Attributes:
                return [
                    frame(
                        foundation.ZCLHeader.general(
                            header.tsn,
                            foundation.GeneralCommand.Read_Attributes_rsp,
                            direction=reply_direction,
                        ),
                        self._read_attributes(node, cluster_id, payload),
                    )
                ]
            return []
        replies: list[t.ZigbeePacket] = []
        if not header.frame_control.disable_default_response:
            replies.append(
                frame(
                    foundation.ZCLHeader.general(
                        header.tsn,
                        foundation.GeneralCommand.Default_Response,
                        direction=reply_direction,
                    ),
                    foundation.DefaultResponse(
                        command_id=header.command_id, status=foundation.Status.SUCCESS
                    ).serialize(),
                )
            )
        if node is not None:
            acknowledgement = self._smart_energy_acknowledgement(node, cluster_id, header, payload)
            if acknowledgement is not None:
                replies.append(frame(*acknowledgement))
        return replies

    def _profile(self, node: VirtualNode, endpoint_id: int) -> int:
        for endpoint in node.spec.endpoints:
            if endpoint.endpoint_id == endpoint_id:
                return endpoint.profile_id
        return node.spec.profile_id

    def _read_attributes(self, node: VirtualNode | None, cluster_id: int, payload: bytes) -> bytes:
        request: Any
        request, _ = foundation.GENERAL_COMMANDS[
            foundation.GeneralCommand.Read_Attributes
        ].schema.deserialize(payload)
        values = self._attribute_values(node, cluster_id)
        cluster_class = Cluster._registry.get(cluster_id)
        records: list[foundation.ReadAttributeRecord] = []
        for attribute_id in request.attribute_ids:
            if attribute_id not in values or cluster_class is None:
                records.append(
                    foundation.ReadAttributeRecord(
                        attrid=attribute_id, status=foundation.Status.UNSUPPORTED_ATTRIBUTE
                    )
                )
                continue
            definition = cluster_class.attributes[attribute_id]
            value = definition.type(values[attribute_id])
            records.append(
                foundation.ReadAttributeRecord(
                    attrid=attribute_id,
                    status=foundation.Status.SUCCESS,
                    value=foundation.TypeValue(
                        type=foundation.DataType.from_python_type(definition.type).type_id,
                        value=value,
                    ),
                )
            )
        response: bytes = (
            foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes_rsp]
            .schema(status_records=records)
            .serialize()
        )
        return response

    def _smart_energy_acknowledgement(
        self,
        node: VirtualNode,
        cluster_id: int,
        header: foundation.ZCLHeader,
        payload: bytes,
    ) -> tuple[foundation.ZCLHeader, bytes] | None:
        """The Smart Energy answer a device gives to a meter's command, if it gives one."""
        if header.frame_control.direction != foundation.Direction.Server_to_Client:
            return None
        found = _check_exchange(cluster_id, header.command_id)
        if found is None or found[0] not in node.spec.acknowledges:
            return None
        check, exchange = found
        command: Any
        command, _ = exchange.command.schema.deserialize(payload)
        answer = exchange.acknowledgement.schema(
            **{exchange.id_field: getattr(command, exchange.id_field)},
            **_acknowledgement_fields(check, command),
        )
        return (
            foundation.ZCLHeader.cluster(
                tsn=(header.tsn + 1) % 256,
                command_id=exchange.acknowledgement.id,
                direction=foundation.Direction.Client_to_Server,
            ),
            answer.serialize(),
        )


def _check_exchange(cluster_id: int, command_id: int) -> tuple[str, smart_energy.Exchange] | None:
    """The operational check a meter's command belongs to, and its exchange, if it is one."""
    for check, exchange in smart_energy.EXCHANGES.items():
        if (cluster_id, command_id) == (exchange.cluster_id, exchange.command.id):
            return check, exchange
    return None


def _acknowledgement_fields(check: str, command: Any) -> dict[str, Any]:
    """What a device that takes part in `check` says when it acknowledges `command`, besides
    the command's id."""
    now = t.UTCTime(int(time.time()) - 946_684_800)  # seconds since 2000-01-01
    if check == "message":
        return {"confirmation_time": now}
    return {
        "event_status": smart_energy.EventStatus.Load_Control_Event_command_received,
        "event_status_time": now,
        "criticality_level_applied": command.criticality_level,
        "cooling_temperature_set_point_applied": smart_energy.TEMPERATURE_SET_POINT_UNUSED,
        "heating_temperature_set_point_applied": smart_energy.TEMPERATURE_SET_POINT_UNUSED,
        "average_load_adjustment_percentage_applied": smart_energy.LOAD_ADJUSTMENT_UNUSED,
        "duty_cycle_applied": smart_energy.DUTY_CYCLE_UNUSED,
        "event_control": 0,
        "signature_type": 0,
        "signature": smart_energy.UNSIGNED_EVENT_SIGNATURE,
    }
