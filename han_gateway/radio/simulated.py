# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""A zigpy radio whose network is a `VirtualHan` built from a scenario.

zigpy's own interview, topology and energy-scan code runs unmodified against it: every
request leaves zigpy as a serialised frame through `send_packet`, and every answer comes
back as a serialised frame through `packet_received`.
"""

from __future__ import annotations

import math
from typing import Any, Final, cast

import zigpy.application
import zigpy.config as zigpy_config
import zigpy.exceptions
import zigpy.state
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.device import ZigbeeDevice

from han_gateway.protocol import JoinDecisionKind, JoinPolicy
from han_gateway.radio.events import JOIN_REFUSED
from han_gateway.radio.profile import SmartEnergyProfileMixin, smart_energy_endpoints
from han_gateway.radio.virtual_han import (
    COORDINATOR_NWK,
    CoordinatorIdentity,
    VirtualHan,
    channel_mask,
)
from han_gateway.scenarios.schema import Scenario
from han_gateway.smart_energy import DEFAULT_TRUST_CENTER_LINK_KEY

# Keys of the zigpy config dict that carry the simulation (zigpy allows extra keys).
CONF_SCENARIO: Final = "han_gateway_scenario"
CONF_COORDINATOR: Final = "han_gateway_coordinator"


def quiet_zigpy_config(**extra: Any) -> dict[str, Any]:
    """zigpy settings for a gateway service: the meter's ESI endpoint; no database, backups, OTA
    or background scans."""
    return {
        **smart_energy_endpoints(),
        zigpy_config.CONF_DATABASE: None,
        zigpy_config.CONF_NWK_BACKUP_ENABLED: False,
        zigpy_config.CONF_TOPO_SCAN_ENABLED: False,
        zigpy_config.CONF_WATCHDOG_ENABLED: False,
        zigpy_config.CONF_OTA: {
            zigpy_config.CONF_OTA_ENABLED: False,
            zigpy_config.CONF_OTA_BROADCAST_ENABLED: False,
            zigpy_config.CONF_OTA_DISABLE_DEFAULT_PROVIDERS: [
                "ikea",
                "ledvance",
                "salus",
                "sonoff",
                "inovelli",
                "thirdreality",
            ],
        },
        **extra,
    }


def simulated_config(scenario: Scenario, coordinator: CoordinatorIdentity) -> dict[str, Any]:
    return quiet_zigpy_config(
        **{
            zigpy_config.CONF_DEVICE: {zigpy_config.CONF_DEVICE_PATH: "simulated://"},
            # zigpy splits its request limit into priority tiers and wants a multiple of 4;
            # the virtual radio enforces the scenario's own limit on frames in flight.
            zigpy_config.CONF_MAX_CONCURRENT_REQUESTS: 4
            * math.ceil(scenario.radio.concurrency_limit / 4),
            CONF_SCENARIO: scenario,
            CONF_COORDINATOR: coordinator,
        }
    )


class SimulatedApplication(SmartEnergyProfileMixin, zigpy.application.ControllerApplication):
    """Coordinator of a virtual HAN. Create with `await SimulatedApplication.new(config)`."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._scenario: Scenario = config[CONF_SCENARIO]
        self._coordinator: CoordinatorIdentity = config[CONF_COORDINATOR]
        self.virtual_han: VirtualHan | None = None
        self.permit_ncp_seconds = 0

    @property
    def han(self) -> VirtualHan:
        if self.virtual_han is None:
            raise zigpy.exceptions.ControllerException("The simulated radio is not connected")
        return self.virtual_han

    @property
    def join_policy(self) -> JoinPolicy:
        """The simulated Trust Center's join policy (the scenario's)."""
        return cast(JoinPolicy, self._scenario.gateway.join_policy)

    async def connect(self) -> None:
        self.virtual_han = VirtualHan(
            self._scenario, self._coordinator, self.packet_received, refused=self._join_refused
        )

    def _join_refused(self, eui64: t.EUI64, decision: JoinDecisionKind) -> None:
        self.listener_event(JOIN_REFUSED, eui64, decision)

    async def disconnect(self) -> None:
        if self.virtual_han is not None:
            self.virtual_han.close()
        self.virtual_han = None

    async def load_network_info(self, *, load_devices: bool = False) -> None:
        gateway = self._scenario.gateway
        han = self.han
        key_table: list[zigpy.state.Key] = []
        nwk_addresses: dict[t.EUI64, t.NWK] = {}
        children: list[t.EUI64] = []
        if load_devices:
            for eui64, link_key in han.link_keys().items():
                key_table.append(
                    zigpy.state.Key(
                        key=link_key,
                        tx_counter=t.uint32_t(0),
                        rx_counter=t.uint32_t(0),
                        seq=t.uint8_t(0),
                        partner_ieee=eui64,
                    )
                )
            for eui64, node in han.nodes.items():
                nwk_addresses[eui64] = node.nwk
                if node.parent_nwk == COORDINATOR_NWK:
                    children.append(eui64)
        self.state.network_info = zigpy.state.NetworkInfo(
            extended_pan_id=gateway.extended_pan_id,
            pan_id=t.PanId(gateway.pan_id),
            nwk_update_id=t.uint8_t(0),
            nwk_manager_id=t.NWK(0x0000),
            channel=t.uint8_t(gateway.channel),
            channel_mask=channel_mask([gateway.channel]),
            tx_power=self._scenario.tx_power_dbm,
            security_level=t.uint8_t(gateway.security_level),
            network_key=zigpy.state.Key(
                key=t.KeyData(bytes(gateway.extended_pan_id) * 2),
                tx_counter=t.uint32_t(0),
                rx_counter=t.uint32_t(0),
                seq=t.uint8_t(0),
                partner_ieee=t.EUI64.convert("ff:ff:ff:ff:ff:ff:ff:ff"),
            ),
            tc_link_key=zigpy.state.Key(
                key=DEFAULT_TRUST_CENTER_LINK_KEY,
                tx_counter=t.uint32_t(0),
                rx_counter=t.uint32_t(0),
                seq=t.uint8_t(0),
                partner_ieee=self._coordinator.eui64,
            ),
            key_table=key_table,
            children=children,
            nwk_addresses=nwk_addresses,
            stack_specific={},
        )
        self.state.node_info = zigpy.state.NodeInfo(
            nwk=t.NWK(0x0000),
            ieee=self._coordinator.eui64,
            logical_type=zdo_t.LogicalType.Coordinator,
            model=self._coordinator.model,
            manufacturer=self._coordinator.manufacturer,
            version=self._coordinator.sw_build_id,
        )

    async def write_network_info(
        self, *, network_info: zigpy.state.NetworkInfo, node_info: zigpy.state.NodeInfo
    ) -> None:
        # The virtual network's settings come from the scenario and are not writable.
        return None

    async def reset_network_info(self) -> None:
        return None

    async def start_network(self) -> None:
        await self.load_network_info(load_devices=True)
        await self.register_endpoints()
        coordinator = self.add_device(self._coordinator.eui64, COORDINATOR_NWK)
        for endpoint_id in self.han.coordinator_endpoints:
            coordinator.add_endpoint(endpoint_id)  # its descriptor comes from the interview
        coordinator.schedule_initialize()
        # The topology stored from the coordinator's last scan, as zigpy loads it from its
        # database at start-up: where each device sat when every router answered.
        self.topology.neighbors.update(self.han.formed_neighbour_tables())

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        # The radio itself, so the mixin's security is applied here, as before a real one.
        packet = self.with_smart_energy_security(packet)
        async with self._limit_concurrency(priority=packet.priority):
            await self.han.transmit(packet)

    async def permit_ncp(self, time_s: int = 60) -> None:
        self.permit_ncp_seconds = time_s

    async def permit_with_link_key(
        self, node: t.EUI64, link_key: t.KeyData, time_s: int = 60
    ) -> None:
        self.han.open_join_window(node, link_key, time_s)

    async def force_remove(self, dev: ZigbeeDevice) -> None:
        self.han.remove(dev.ieee)

    async def read_and_clear_stack_counters(self) -> dict[str, int] | None:
        """Counted by the virtual HAN as an EmberZNet stack counts them."""
        return self.han.read_stack_counters(clear=True)

    async def add_endpoint(self, descriptor: zdo_t.SimpleDescriptor) -> None:
        self.han.register_endpoint(descriptor)
