# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""The meter's coordinator as a Smart Energy Energy Service Interface on every radio: its endpoint,
APS-secured Smart Energy traffic, ZCL frames zigpy can decode, and when the radio took a permit.

zigpy registers Home Automation, Light Link and Green Power endpoints on every coordinator. A
meter's HAN coordinator is an ESI: it registers the endpoints its zigpy configuration names
(``CONF_ADDITIONAL_ENDPOINTS``, the ESI by default) and no others. A stack delivers a frame only
to an endpoint it registered, on that endpoint's profile (Z-Stack's AF drops the rest).

Smart Energy requires APS security with the link key for its traffic: every unicast ZCL frame on
the Smart Energy profile goes out APS-encrypted, and what each device answered with is kept, so
a scan can say per device whether its replies were APS-encrypted (the radio libraries mark an
incoming frame's APS security in ``tx_options``).

zigpy parses ZCL only on the Home Automation and Light Link profiles and drops every other
frame as "custom profile, ignoring", so a Smart Energy device (profile 0x0109) never
finishes its interview. ZCL framing is identical on every public profile, so the radio
layer presents inbound Smart Energy frames to zigpy as Home Automation frames. Endpoints
keep the profile id from their simple descriptor, so outbound frames and scan reports still
carry the real profile.

zigpy-znp's ``permit_with_link_key`` asks Z-Stack to permit joining and then waits out the whole
window before it returns (bellows' returns at once). The gateway service holds each join window
in the background and answers as soon as the radio has taken the permit: ``next_permit`` is done
then, whichever library sends it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import zigpy.config as zigpy_config
import zigpy.types as t

from han_gateway import zigbee_ids
from han_gateway.zigbee_ids import HOME_AUTOMATION_PROFILE_ID, SMART_ENERGY_PROFILE_ID

ZDO_ENDPOINT = 0
ESI_ENDPOINT: Final = 1
ESI_DEVICE_TYPE: Final = 0x0500  # Energy Service Interface (Smart Energy 1.x device id)
# The ESI's simple descriptor, as zigpy's configuration takes it: Basic, Identify and Time,
# the Smart Energy servers a meter offers its HAN, Key Establishment both ways (every Smart
# Energy device is client and server), and OTA upgrades for the HAN devices.
ESI_DESCRIPTOR: Final[dict[str, Any]] = {
    "endpoint": ESI_ENDPOINT,
    "profile": SMART_ENERGY_PROFILE_ID,
    "device_type": ESI_DEVICE_TYPE,
    "device_version": 0,
    "input_clusters": [
        zigbee_ids.BASIC,
        zigbee_ids.IDENTIFY,
        zigbee_ids.TIME,
        zigbee_ids.PRICE_CLUSTER_ID,
        zigbee_ids.DRLC_CLUSTER_ID,
        zigbee_ids.METERING_CLUSTER_ID,
        zigbee_ids.MESSAGING_CLUSTER_ID,
        zigbee_ids.KEY_ESTABLISHMENT_CLUSTER_ID,
        zigbee_ids.OTA,
    ],
    "output_clusters": [zigbee_ids.KEY_ESTABLISHMENT_CLUSTER_ID],
}


def smart_energy_endpoints() -> dict[str, Any]:
    """zigpy configuration registering the ESI endpoint."""
    return {zigpy_config.CONF_ADDITIONAL_ENDPOINTS: [dict(ESI_DESCRIPTOR)]}


def aps_encrypted(packet: t.ZigbeePacket) -> bool:
    return t.TransmitOptions.APS_Encryption in t.TransmitOptions(packet.tx_options)


def as_zigpy_decodable(packet: t.ZigbeePacket) -> t.ZigbeePacket:
    """The packet zigpy should see: Smart Energy ZCL relabelled as Home Automation."""
    if packet.profile_id == SMART_ENERGY_PROFILE_ID and packet.src_ep != ZDO_ENDPOINT:
        relabelled: t.ZigbeePacket = packet.replace(profile_id=HOME_AUTOMATION_PROFILE_ID)
        return relabelled
    return packet


# bellows' name for the counter group its watchdog keeps the EZSP counters in.
EZSP_COUNTERS_GROUP: Final = "ezsp_counters"


class SmartEnergyProfileMixin:
    """Mix into a zigpy ControllerApplication before the radio's own class."""

    async def register_endpoints(self) -> None:
        """Only the configured endpoints: none of zigpy's Home Automation, Light Link or Green
        Power defaults."""
        app: Any = self
        for descriptor in app.config[zigpy_config.CONF_ADDITIONAL_ENDPOINTS]:
            await app.add_endpoint(descriptor)

    @staticmethod
    def with_smart_energy_security(packet: t.ZigbeePacket) -> t.ZigbeePacket:
        """The packet to send: APS-encrypted when it is unicast ZCL on the Smart Energy
        profile."""
        if (
            packet.profile_id == SMART_ENERGY_PROFILE_ID
            and packet.dst_ep != ZDO_ENDPOINT
            and packet.dst is not None
            and packet.dst.addr_mode in (t.AddrMode.NWK, t.AddrMode.IEEE)
        ):
            secured: t.ZigbeePacket = packet.replace(
                tx_options=t.TransmitOptions(packet.tx_options) | t.TransmitOptions.APS_Encryption
            )
            return secured
        return packet

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        parent: Any = super()
        await parent.send_packet(self.with_smart_energy_security(packet))

    def packet_received(self, packet: t.ZigbeePacket) -> None:
        if packet.src_ep != ZDO_ENDPOINT and packet.src is not None:
            self.__dict__.setdefault("_aps_secured", {})[packet.src.address] = aps_encrypted(packet)
        parent: Any = super()
        parent.packet_received(as_zigpy_decodable(packet))

    def replies_aps_encrypted(self, address: t.EUI64 | t.NWK) -> bool | None:
        """Whether the last ZCL frame from a device (by NWK or EUI-64 address) was APS-encrypted;
        None if none came since ``forget_aps_security``."""
        secured: dict[Any, bool] = self.__dict__.get("_aps_secured", {})
        return secured.get(address)

    def forget_aps_security(self) -> None:
        self.__dict__.pop("_aps_secured", None)

    async def read_and_clear_stack_counters(self) -> dict[str, int] | None:
        """The coordinator stack's counters since they were last cleared, named as EmberZNet
        names them (``phy_cca_fail_count``...), and cleared; None when the stack keeps none the
        host can read (Z-Stack, deCONZ)."""
        return None

    def next_permit(self) -> asyncio.Future[None]:
        """Done when the radio next takes a request to permit joining."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.__dict__.setdefault("_permit_waiters", []).append(future)
        return future

    async def permit(self, time_s: int = 60, node: t.EUI64 | str | None = None) -> None:
        parent: Any = super()
        await parent.permit(time_s, node)
        for future in self.__dict__.pop("_permit_waiters", []):
            if not future.done():
                future.set_result(None)


class EmberStackCountersMixin:
    """Mix into bellows' ControllerApplication, before ``SmartEnergyProfileMixin``: the EZSP
    stack's counters, read and cleared, without losing them from bellows' own account (its
    watchdog reads them every period and keeps ever-increasing totals)."""

    async def read_and_clear_stack_counters(self) -> dict[str, int] | None:
        app: Any = self
        values = await app._ezsp.read_and_clear_counters()
        # As bellows' watchdog does when it clears them.
        totals = app.state.counters[EZSP_COUNTERS_GROUP]
        for kind, value in values.items():
            totals[kind.name.removeprefix("COUNTER_")].update(int(value))
        totals.reset()
        return {
            kind.name.removeprefix("COUNTER_").lower(): int(value) for kind, value in values.items()
        }
