# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""Let zigpy decode ZCL frames sent on the Smart Energy profile, and tell when the radio took a
permit to join.

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
from typing import Any

import zigpy.types as t

from han_gateway.zigbee_ids import HOME_AUTOMATION_PROFILE_ID, SMART_ENERGY_PROFILE_ID

ZDO_ENDPOINT = 0


def as_zigpy_decodable(packet: t.ZigbeePacket) -> t.ZigbeePacket:
    """The packet zigpy should see: Smart Energy ZCL relabelled as Home Automation."""
    if packet.profile_id == SMART_ENERGY_PROFILE_ID and packet.src_ep != ZDO_ENDPOINT:
        relabelled: t.ZigbeePacket = packet.replace(profile_id=HOME_AUTOMATION_PROFILE_ID)
        return relabelled
    return packet


class SmartEnergyProfileMixin:
    """Mix into a zigpy ControllerApplication before the radio's own class."""

    def packet_received(self, packet: t.ZigbeePacket) -> None:
        parent: Any = super()
        parent.packet_received(as_zigpy_decodable(packet))

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
