# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""Scan one HAN interface: find every device through neighbour tables and interview it.

The scan is zigpy's own machinery — ZDO Mgmt_Lqi / Mgmt_Rtg requests, the device
interview (`schedule_initialize`), Basic and OTA attribute reads — driven concurrently.
Pacing comes from the radio: every frame passes through the application's concurrency
limit, so as many requests are in flight as the radio allows and none wait on a timer.
zigpy's own topology scanner instead sleeps `zigpy.topology.REQUEST_DELAY` (1-1.5 s) after
every table page and walks devices one at a time; `pacing="zigpy_default"` runs that code
path unchanged, for comparison.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import zigpy.application
import zigpy.exceptions
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.const import APS_REPLY_TIMEOUT
from zigpy.device import ZigbeeDevice
from zigpy.zcl.clusters.general import Basic

from han_gateway.protocol import (
    DeviceReport,
    DeviceType,
    Pacing,
    ScanDeviceEvent,
    ScanProgressEvent,
    ScanSummary,
    StackCounters,
    TableLink,
    TableRelationship,
    short_address,
)
from han_gateway.radio.profile import SmartEnergyProfileMixin
from han_gateway.service.join_log import JoinLog
from han_gateway.service.reports import device_report
from han_gateway.zigbee_ids import MAC_TRANSACTION_PERSISTENCE_S

LOGGER = logging.getLogger(__name__)

Emit = Callable[[ScanDeviceEvent | ScanProgressEvent], Awaitable[None]]

_TABLE_ERRORS = (TimeoutError, zigpy.exceptions.ZigbeeException)
# Beyond the parent's holding time, for the device's answer to come back.
SLEEPY_ANSWER_MARGIN_S = 1.5
# A device whose receiver stays on answers within zigpy's reply timeout, after the route
# discovery (1.3 s) a Z-Stack coordinator runs first when it has no route to it. Z-Stack never
# tells the host of a ZDO frame it could not deliver: unbounded, zigpy waits its extended
# timeout, three times over, for any device it has not interviewed yet.
AWAKE_ANSWER_S = APS_REPLY_TIMEOUT + SLEEPY_ANSWER_MARGIN_S
# One EZSP command: the radio answers at once or is in trouble, and the scan stands without.
STACK_COUNTERS_TIMEOUT_S = 5.0


class ScanFailed(Exception):
    """The scan could not finish; `code` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclasses.dataclass
class _Found:
    eui64: t.EUI64
    nwk: t.NWK
    device_type_hint: DeviceType | None
    sleepy: bool = False  # its parent's table says its receiver is off when idle


_HINTS: dict[int, DeviceType] = {
    zdo_t.Neighbor.DeviceType.Coordinator: "coordinator",
    zdo_t.Neighbor.DeviceType.Router: "router",
    zdo_t.Neighbor.DeviceType.EndDevice: "end_device",
}
# A neighbour-table entry's relationship as the summary names it; a value the standard leaves
# undefined is "none of the above".
_TABLE_RELATIONSHIP: dict[int, TableRelationship] = {
    zdo_t.Neighbor.Relationship.Parent: "parent",
    zdo_t.Neighbor.Relationship.Child: "child",
    zdo_t.Neighbor.Relationship.Sibling: "sibling",
    zdo_t.Neighbor.Relationship.NoneOfTheAbove: "noneoftheabove",
    zdo_t.Neighbor.Relationship.PreviousChild: "previouschild",
}


class HanScan:
    """One scan of one interface. Call `run()` once."""

    def __init__(
        self,
        app: zigpy.application.ControllerApplication,
        emit: Emit,
        *,
        pacing: Pacing = "radio",
        join_log: JoinLog | None = None,
    ) -> None:
        self.app = app
        self._emit = emit
        self.pacing = pacing
        # How each device joined comes from the join log, never from the key table: real
        # stacks report derived or erased keys there. Without a log, every join is unknown.
        self._join_log = join_log or JoinLog()
        self.neighbour_tables: dict[t.EUI64, list[zdo_t.Neighbor]] = {}
        self.route_tables: dict[t.EUI64, list[zdo_t.Route]] = {}
        self.reports: dict[t.EUI64, DeviceReport] = {}
        self._found: dict[t.EUI64, _Found] = {}
        self._tables_read = 0
        self._stored_tables: dict[t.EUI64, list[zdo_t.Neighbor]] = {}

    @property
    def coordinator_eui64(self) -> t.EUI64:
        return self.app.state.node_info.ieee

    async def run(self) -> ScanSummary:
        started = time.monotonic()
        try:
            await self.app.load_network_info(load_devices=True)
        except Exception as error:
            raise ScanFailed(
                "radio_error", f"The radio did not report its network: {error}"
            ) from error
        self._forget_previous_devices()
        await self._read_and_clear_stack_counters()  # from here on, they count this scan
        coordinator = self.app._device
        await self._interview(coordinator)
        if coordinator.node_desc is None:
            raise ScanFailed("radio_error", "The coordinator did not answer its own interview")
        if self.pacing == "radio":
            async with self.app.request_priority(t.PacketPriority.HIGH):
                await self._scan_with_radio_pacing(coordinator)
        else:
            await self._scan_with_zigpy_pacing(coordinator)
        counted = await self._read_and_clear_stack_counters()
        return self._summary(time.monotonic() - started, counted)

    # -- shared steps -------------------------------------------------------------------

    def _forget_previous_devices(self) -> None:
        """Drop what an earlier scan learned, so every device is asked again."""
        for eui64, device in list(self.app.devices.items()):
            if eui64 == self.coordinator_eui64:
                continue
            if isinstance(device, ZigbeeDevice):
                device.cancel_initialization()
            device.on_remove()
            self.app.devices.pop(eui64, None)
        # The tables the coordinator stored at its last scan stay until this scan reads them
        # again: a router that does not answer keeps its earlier table, which tells whose
        # parent it was.
        self._stored_tables = {
            owner: list(table) for owner, table in self.app.topology.neighbors.items()
        }
        self.app.topology.routes.clear()
        if isinstance(self.app, SmartEnergyProfileMixin):
            self.app.forget_aps_security()

    async def _read_and_clear_stack_counters(self) -> StackCounters | None:
        if not isinstance(self.app, SmartEnergyProfileMixin):
            return None
        try:
            async with asyncio.timeout(STACK_COUNTERS_TIMEOUT_S):
                counted = await self.app.read_and_clear_stack_counters()
        # Whatever the radio library raises (bellows has its own errors): the counters are
        # an extra, never a reason to fail the scan.
        except Exception as error:
            LOGGER.warning("The radio did not give its stack counters: %r", error)
            return None
        if counted is None:
            return None
        return StackCounters.model_validate(
            {name: counted.get(name, 0) for name in StackCounters.model_fields}
        )

    async def _interview(self, device: ZigbeeDevice) -> None:
        task = device.schedule_initialize()
        if task is not None:
            await task

    async def _answers(self, device: ZigbeeDevice, *, sleepy: bool) -> bool:
        """Ask a device for its node descriptor, the interview's first question, for no longer
        than it takes to answer: a sleepy end device as long as its parent holds the frame for
        it (one that does not poll in that time is asleep, and asking again only makes the scan
        longer), any other for zigpy's usual reply time (one that does not answer is out of
        reach, switched off or cut off)."""
        # zigpy waits far longer for any device it has not interviewed (an extended timeout,
        # and retries): bound it.
        if sleepy:
            bound, retries = MAC_TRANSACTION_PERSISTENCE_S + SLEEPY_ANSWER_MARGIN_S, 0
        else:
            bound, retries = AWAKE_ANSWER_S, None
        try:
            async with asyncio.timeout(bound):
                status, _nwk, descriptor = await device.zdo.Node_Desc_req(
                    device.nwk, retries=retries
                )
        except _TABLE_ERRORS:
            return False
        if status != zdo_t.Status.SUCCESS:
            return False
        device.node_desc = descriptor  # the interview goes on from there
        return True

    async def _read_basic_extras(self, device: ZigbeeDevice) -> dict[str, Any]:
        """Software build and power source from the Basic cluster (zigpy's interview skips them)."""
        for endpoint in device.non_zdo_endpoints:
            if Basic.cluster_id not in endpoint.in_clusters:
                continue
            try:
                success, _ = await endpoint.in_clusters[Basic.cluster_id].read_attributes(
                    [Basic.AttributeDefs.sw_build_id.name, Basic.AttributeDefs.power_source.name]
                )
            except _TABLE_ERRORS:
                return {}
            return dict(success)
        return {}

    async def _read_table(
        self, device: ZigbeeDevice, *, routes: bool, retries: int = 2
    ) -> list[Any] | None:
        """Read every page of a device's neighbour (or routing) table; None if unsupported."""
        request = device.zdo.Mgmt_Rtg_req if routes else device.zdo.Mgmt_Lqi_req
        entries: list[Any] = []
        index = 0
        while True:
            status, response = await request(index, retries=retries, retry_delay=0.05)
            if status != zdo_t.Status.SUCCESS or response is None:
                return None
            page = response.RoutingTableList if routes else response.NeighborTableList
            entries.extend(page)
            index += len(page)
            self._tables_read += 1
            if index >= response.Entries or not page:
                return entries

    async def _emit_progress(self, phase: Literal["neighbour_table"]) -> None:
        await self._emit(
            ScanProgressEvent(
                event="progress",
                phase=phase,
                devices_found=len(self._found),
                devices_reported=len(self.reports),
                tables_read=self._tables_read,
            )
        )

    async def _report(
        self, device: ZigbeeDevice, hint: DeviceType | None, extras: dict[str, Any]
    ) -> None:
        reachable = device.last_seen is not None
        report = device_report(
            self.app,
            device,
            neighbour_tables=self.neighbour_tables,
            stored_tables=self._stored_tables,
            join_method=self._join_log.join_method(device.ieee),
            device_type_hint=hint,
            reachable=reachable,
            basic_extras=extras,
        )
        self.reports[device.ieee] = report
        await self._emit(ScanDeviceEvent(event="device", device=report))

    def _record_neighbours(self, owner: t.EUI64, table: list[zdo_t.Neighbor]) -> list[_Found]:
        self.neighbour_tables[owner] = table
        self.app.topology.neighbors[owner] = table
        new: list[_Found] = []
        for entry in table:
            if entry.ieee == self.coordinator_eui64 or entry.ieee in self._found:
                continue
            if entry.ieee in (t.EUI64.convert("00" * 8), t.EUI64.convert("ff" * 8)):
                continue
            found = _Found(
                entry.ieee,
                entry.nwk,
                _HINTS.get(entry.device_type),
                sleepy=entry.rx_on_when_idle == zdo_t.Neighbor.RxOnWhenIdle.Off,
            )
            self._found[entry.ieee] = found
            new.append(found)
        return new

    # -- pacing by the radio ------------------------------------------------------------

    async def _scan_with_radio_pacing(self, coordinator: ZigbeeDevice) -> None:
        await self._report(coordinator, "coordinator", await self._read_basic_extras(coordinator))
        async with asyncio.TaskGroup() as tasks:

            async def explore(device: ZigbeeDevice) -> None:
                """Read a router's tables and start a visit for every new neighbour."""
                try:
                    table = await self._read_table(device, routes=False)
                except _TABLE_ERRORS:
                    table = None
                if table is not None:
                    for found in self._record_neighbours(device.ieee, table):
                        tasks.create_task(visit(found))
                    await self._emit_progress("neighbour_table")
                try:
                    routes = await self._read_table(device, routes=True)
                except _TABLE_ERRORS:
                    routes = None
                if routes is not None:
                    self.route_tables[device.ieee] = routes
                    self.app.topology.routes[device.ieee] = routes

            async def visit(found: _Found) -> None:
                device = self.app.add_device(found.eui64, found.nwk)
                if not await self._answers(device, sleepy=found.sleepy):
                    # Asleep, or out of reach: report what the tables say of it.
                    await self._report(device, found.device_type_hint, {})
                    return
                exploring = None
                if found.device_type_hint in ("router", "coordinator"):
                    exploring = tasks.create_task(explore(device))
                await self._interview(device)
                extras: dict[str, Any] = {}
                if device.node_desc is not None:
                    extras = await self._read_basic_extras(device)
                    if device.node_desc.is_end_device:
                        # The end device's own view of its parent: the inbound half of the link.
                        try:
                            table = await self._read_table(device, routes=False, retries=0)
                        except _TABLE_ERRORS:
                            table = None
                        if table is not None:
                            self._record_neighbours(device.ieee, table)
                if exploring is not None:
                    await exploring
                await self._report(device, found.device_type_hint, extras)

            tasks.create_task(explore(coordinator))

        # Devices the coordinator knows (address and key tables) that no table listed.
        missing = [
            _Found(eui64, nwk, None)
            for eui64, nwk in self.app.state.network_info.nwk_addresses.items()
            if eui64 not in self._found and eui64 != self.coordinator_eui64
        ]
        if missing:
            async with asyncio.TaskGroup() as tasks:
                for found in missing:
                    self._found[found.eui64] = found
                    tasks.create_task(visit(found))

    # -- pacing as zigpy's own topology scanner does it --------------------------------

    async def _scan_with_zigpy_pacing(self, coordinator: ZigbeeDevice) -> None:
        await self._report(coordinator, "coordinator", await self._read_basic_extras(coordinator))
        pending_routers: list[ZigbeeDevice] = [coordinator]
        scanned: set[t.EUI64] = set()
        while pending_routers:
            router = pending_routers.pop(0)
            scanned.add(router.ieee)
            before = set(self.app.devices)
            self.app.topology.neighbors.pop(router.ieee, None)  # this scan's table, or none
            # zigpy's scanner: sequential table pages, each followed by REQUEST_DELAY, then
            # an IEEE address broadcast (and another REQUEST_DELAY) per unknown neighbour.
            await self.app.topology.scan(devices=[router])
            table = list(self.app.topology.neighbors.get(router.ieee, []))
            self._record_neighbours(router.ieee, table)
            self._tables_read += 1
            await self._emit_progress("neighbour_table")
            for eui64 in set(self.app.devices) - before:
                device = self.app.devices[eui64]
                if not isinstance(device, ZigbeeDevice):
                    continue
                await self._interview(device)
                extras = await self._read_basic_extras(device) if device.node_desc else {}
                found = self._found.get(eui64)
                await self._report(device, found.device_type_hint if found else None, extras)
                if (
                    device.node_desc is not None
                    and device.node_desc.is_router
                    and eui64 not in scanned
                ):
                    pending_routers.append(device)

    # -- summary ------------------------------------------------------------------------

    def _summary(self, duration_s: float, counted: StackCounters | None) -> ScanSummary:
        devices = [
            report for eui64, report in self.reports.items() if eui64 != self.coordinator_eui64
        ]
        links = [
            TableLink(
                measured_by=str(owner),
                neighbor=str(entry.ieee),
                neighbor_nwk=short_address(entry.nwk),
                relationship=_TABLE_RELATIONSHIP.get(entry.relationship, "noneoftheabove"),
                lqi=int(entry.lqi),
            )
            for owner, table in self.neighbour_tables.items()
            for entry in table
        ]
        return ScanSummary(
            device_count=len(devices),
            reachable_count=sum(1 for report in devices if report.reachable),
            unreachable_count=sum(1 for report in devices if not report.reachable),
            tables_read=self._tables_read,
            duration_ms=round(duration_s * 1000, 1),
            pacing=self.pacing,
            links=links,
            join_decisions=self._join_log.decisions(),
            stack_counters=counted,
        )
