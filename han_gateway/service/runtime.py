# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""Running HAN interfaces: one zigpy application each, started and stopped with the service."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import math
import time
from asyncio import FIRST_COMPLETED
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

import zigpy.application
import zigpy.exceptions
import zigpy.state
import zigpy.types as t

from han_gateway.protocol import (
    API_VERSION,
    Identity,
    InterfaceInfo,
    JoinWindowOpened,
    OpenJoinWindow,
    short_address,
)
from han_gateway.radio.factory import (
    RadioUnavailable,
    start_real_radio,
    start_simulated_radio,
)
from han_gateway.radio.profile import SmartEnergyProfileMixin
from han_gateway.radio.simulated import SimulatedApplication
from han_gateway.radio.virtual_han import CoordinatorIdentity
from han_gateway.scenarios import Scenario, ScenarioError, resolve_scenario
from han_gateway.service.config import GatewayConfig, InterfaceConfig, ServiceConfig
from han_gateway.service.join_log import JoinListener, JoinLog, PolicyInForce

LOGGER = logging.getLogger(__name__)

# zigpy's permit request carries a duration of at most 254 s; longer join windows are
# kept open by asking again before each permit runs out.
MAX_PERMIT_SECONDS = 254
PERMIT_RENEW_MARGIN_S = 14
# How long a join-window request waits for the radio to take the permit.
PERMIT_TAKEN_TIMEOUT_S = 15
# How long describing an interface waits for the radio's tables before answering without them.
NETWORK_INFO_TIMEOUT_S = 10
# The service admits devices only through zigpy's permit_with_link_key, which bellows (EZSP:
# ALLOW_JOINS | JOINS_USE_INSTALL_CODE_KEY) and Z-Stack (BDBSetJoinUsesInstallCodeKey) run as
# install-code-only windows; what zigpy-deconz's Trust Center accepts is not known.
REAL_RADIO_JOIN_POLICY: Final[dict[str, PolicyInForce]] = {
    "ezsp": "install_code_only",
    "znp": "install_code_only",
}


@dataclasses.dataclass
class JoinWindow:
    eui64: t.EUI64
    opened_at: datetime
    closes_at: datetime
    task: asyncio.Task[None] | None = None

    def answer(self) -> JoinWindowOpened:
        return JoinWindowOpened(
            eui64=str(self.eui64),
            opened_at=self.opened_at,
            closes_at=self.closes_at,
            duration_s=round((self.closes_at - self.opened_at).total_seconds()),
        )


def coordinator_eui64_for(gateway_id: str, interface_id: str) -> t.EUI64:
    """A stable coordinator address for a simulated interface that names none."""
    digest = hashlib.sha256(f"{gateway_id}/{interface_id}".encode()).digest()
    return t.EUI64(bytes(reversed(b"\x00\x13\x50" + digest[:5])))


def _coordinator_facts(
    node: zigpy.state.NodeInfo, network: zigpy.state.NetworkInfo
) -> dict[str, Any]:
    """What the radio says of itself and of its Trust Center."""
    stack = " ".join(
        part for part in (node.manufacturer, node.model) if part and part.lower() != "unknown"
    )
    firmware = node.version if node.version and node.version.lower() != "unknown" else None
    trust_center = network.tc_link_key.partner_ieee
    unknown = {
        t.EUI64.convert("ff:ff:ff:ff:ff:ff:ff:ff"),
        t.EUI64.convert("00:00:00:00:00:00:00:00"),
    }
    return {
        "coordinator_stack": stack or None,
        "coordinator_firmware": firmware,
        "trust_center_eui64": None if trust_center in unknown else str(trust_center),
    }


class HanInterface:
    """One HAN interface of a Premises Gateway and its radio."""

    def __init__(
        self, gateway: GatewayConfig, config: InterfaceConfig, service: ServiceConfig
    ) -> None:
        self.gateway = gateway
        self.config = config
        self._service = service
        self.app: zigpy.application.ControllerApplication | None = None
        self.scenario: Scenario | None = None
        self.status = "stopped"
        self.error_message: str | None = None
        self.scan_lock = asyncio.Lock()
        self.join_windows: dict[t.EUI64, JoinWindow] = {}
        self.join_log = JoinLog()

    @property
    def interface_id(self) -> str:
        return self.config.interface_id

    @property
    def is_simulated(self) -> bool:
        return self.config.radio == "simulated"

    @property
    def join_policy(self) -> PolicyInForce:
        """The Trust Center's join policy in force."""
        simulated = self.simulated_app
        if simulated is not None:
            return simulated.join_policy
        return REAL_RADIO_JOIN_POLICY.get(self.config.radio, "unknown")

    def _join_window_open(self, eui64: t.EUI64, at: datetime) -> bool:
        window = self.join_windows.get(eui64)
        return window is not None and window.opened_at <= at <= window.closes_at

    def _start_join_log(self, app: zigpy.application.ControllerApplication) -> None:
        """A new log for a radio that just started; a simulated HAN's devices that joined
        before are in it as the scenario says the log observed them."""
        self.join_log = JoinLog()
        app.add_listener(
            JoinListener(
                self.join_log, policy=lambda: self.join_policy, window_open=self._join_window_open
            )
        )
        if self.is_simulated and self.scenario is not None:
            started = datetime.now(UTC)
            for spec in self.scenario.devices:
                method = spec.logged_join_method
                if not spec.pending_join and method is not None:
                    self.join_log.record(spec.eui64, "joined", at=started, join_method=method)

    def _coordinator_identity(self) -> CoordinatorIdentity:
        return CoordinatorIdentity(
            eui64=self.config.coordinator_eui64
            or coordinator_eui64_for(self.gateway.gateway_id, self.interface_id),
            manufacturer=self.gateway.manufacturer,
            model=self.gateway.model,
            sw_build_id=self.gateway.firmware,
        )

    async def start(self, scenario: Scenario | None = None) -> None:
        """Start the radio; a failure leaves the interface in status "error", not the service."""
        self.status = "starting"
        self.error_message = None
        try:
            if self.is_simulated:
                if scenario is None:
                    scenario = resolve_scenario(
                        self.config.scenario or "", relative_to=self._service.base_directory
                    )
                self.scenario = scenario
                self.app = await start_simulated_radio(scenario, self._coordinator_identity())
            else:
                self.app = await start_real_radio(
                    self.config.radio, self.config.device, self.config.zigpy
                )
        except (RadioUnavailable, ScenarioError) as error:
            self.status = "error"
            self.error_message = str(error)
            LOGGER.error(
                "Interface %s/%s unavailable: %s", self.gateway.gateway_id, self.interface_id, error
            )
            return
        except Exception as error:
            self.status = "error"
            self.error_message = f"The radio did not start: {error}"
            LOGGER.exception(
                "Interface %s/%s failed to start", self.gateway.gateway_id, self.interface_id
            )
            return
        self._start_join_log(self.app)
        self.status = "ready"

    async def stop(self) -> None:
        for window in self.join_windows.values():
            if window.task is not None:
                window.task.cancel()
        self.join_windows.clear()
        app, self.app = self.app, None
        if app is not None:
            try:
                await app.shutdown()
            except Exception:
                LOGGER.exception("Interface %s failed to shut down", self.interface_id)
        self.status = "stopped"

    async def replace_scenario(self, scenario: Scenario) -> None:
        await self.stop()
        await self.start(scenario)

    async def open_join_window(
        self, eui64: t.EUI64, link_key: t.KeyData, duration_s: int
    ) -> JoinWindow:
        """Open a join window for one device and answer once the radio has taken it; the window
        is held, and renewed past the stack's limit, in the background."""
        app = self.app
        if app is None:
            raise zigpy.exceptions.ControllerException("The radio is not running")
        now = datetime.now(UTC)
        previous = self.join_windows.pop(eui64, None)
        if previous is not None and previous.task is not None:
            previous.task.cancel()
        window = JoinWindow(eui64, now, now + timedelta(seconds=duration_s))
        taken = cast(SmartEnergyProfileMixin, app).next_permit()
        window.task = asyncio.get_running_loop().create_task(
            self._hold_join_window(app, window, link_key, time.monotonic() + duration_s, taken)
        )
        done, _ = await asyncio.wait(
            {window.task, taken}, timeout=PERMIT_TAKEN_TIMEOUT_S, return_when=FIRST_COMPLETED
        )
        if window.task in done and window.task.exception() is not None:
            taken.cancel()
            raise cast(BaseException, window.task.exception())
        if not done:
            window.task.cancel()
            raise TimeoutError(f"no answer from the radio in {PERMIT_TAKEN_TIMEOUT_S} s")
        self.join_windows[eui64] = window
        return window

    async def _hold_join_window(
        self,
        app: zigpy.application.ControllerApplication,
        window: JoinWindow,
        link_key: t.KeyData,
        closes_at: float,
        taken: asyncio.Future[None],
    ) -> None:
        """Permit the device to join until ``closes_at``, asking again before each permit runs
        out. A library that waits out the permit (zigpy-znp) comes back as it ends and is asked
        again at once."""
        first = True
        while first or (self.app is app and closes_at - time.monotonic() > 0):
            asked = time.monotonic()
            try:
                await app.permit_with_link_key(
                    node=window.eui64,
                    link_key=link_key,
                    time_s=max(1, min(math.ceil(closes_at - asked), MAX_PERMIT_SECONDS)),
                )
            except Exception:
                if first:
                    raise
                LOGGER.warning(
                    "Could not renew the join window for %s", window.eui64, exc_info=True
                )
            first = False
            if not taken.done():
                taken.set_result(None)
            renew_at = asked + MAX_PERMIT_SECONDS - PERMIT_RENEW_MARGIN_S
            await asyncio.sleep(max(0.0, min(renew_at, closes_at) - time.monotonic()))

    def known_devices(self) -> dict[t.EUI64, t.NWK]:
        """Devices the coordinator knows: zigpy's device list and the radio's address table."""
        if self.app is None:
            return {}
        known: dict[t.EUI64, t.NWK] = dict(self.app.state.network_info.nwk_addresses)
        coordinator = self.app.state.node_info.ieee
        for eui64, device in self.app.devices.items():
            nwk = getattr(device, "nwk", None)
            if eui64 != coordinator and nwk is not None:
                known[eui64] = nwk
        known.pop(coordinator, None)
        return known

    def known_eui64s(self) -> set[t.EUI64]:
        """Every device the coordinator knows, with or without its network address: EmberZNet
        gives the host the addresses of its own children only, but a link key for every
        device admitted with an install code."""
        if self.app is None:
            return set()
        keys = {key.partner_ieee for key in self.app.state.network_info.key_table}
        return (set(self.known_devices()) | keys) - {self.app.state.node_info.ieee}

    async def describe(self) -> InterfaceInfo:
        description: dict[str, Any] = {
            "id": self.interface_id,
            "technology": "zigbee",
            "radio": self.config.radio,
            "status": self.status,
            "channel": None,
            "pan_id": None,
            "extended_pan_id": None,
            "security_level": None,
            "device_count": 0,
            "join_policy": self.join_policy,
            "coordinator_stack": None,
            "coordinator_firmware": None,
            "trust_center_eui64": None,
        }
        if self.is_simulated and self.scenario is not None:
            description["scenario"] = self.scenario.name
            description["max_devices"] = self.scenario.gateway.max_devices
        elif self.config.max_devices is not None:
            description["max_devices"] = self.config.max_devices
        description["smart_energy_version"] = self.config.smart_energy_version
        now = datetime.now(UTC)
        description["join_windows"] = [
            OpenJoinWindow(eui64=str(window.eui64), closes_at=window.closes_at)
            for window in sorted(self.join_windows.values(), key=lambda w: w.closes_at)
            if window.closes_at > now
        ]
        if self.error_message is not None:
            description["error"] = self.error_message
        if self.app is not None:
            # The radio's own tables: the devices it knows, for the capacity used.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(NETWORK_INFO_TIMEOUT_S):
                    await self.app.load_network_info(load_devices=True)
            network = self.app.state.network_info
            description.update(
                {
                    "channel": int(network.channel),
                    "pan_id": short_address(int(network.pan_id)),
                    "extended_pan_id": str(network.extended_pan_id),
                    "security_level": int(network.security_level),
                    "device_count": len(self.known_eui64s()),
                    "coordinator_eui64": str(self.app.state.node_info.ieee),
                    **_coordinator_facts(self.app.state.node_info, network),
                }
            )
        return InterfaceInfo.model_validate(description)

    @property
    def simulated_app(self) -> SimulatedApplication | None:
        return self.app if isinstance(self.app, SimulatedApplication) else None


class GatewayRuntime:
    def __init__(self, config: GatewayConfig, service: ServiceConfig) -> None:
        self.config = config
        self.interfaces = {
            interface.interface_id: HanInterface(config, interface, service)
            for interface in config.interfaces
        }

    def identity(self) -> Identity:
        return Identity.model_validate(
            {
                "id": self.config.gateway_id,
                "kind": self.config.kind,
                "manufacturer": self.config.manufacturer,
                "model": self.config.model,
                "firmware": self.config.firmware,
                "interface_count": len(self.interfaces),
                "api_version": API_VERSION,
            }
        )


class GatewayRegistry:
    """Every gateway the service fronts, by gateway id."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.gateways = {
            gateway.gateway_id: GatewayRuntime(gateway, config) for gateway in config.gateways
        }

    def all_interfaces(self) -> list[HanInterface]:
        return [
            interface
            for gateway in self.gateways.values()
            for interface in gateway.interfaces.values()
        ]

    async def start(self) -> None:
        await asyncio.gather(*(interface.start() for interface in self.all_interfaces()))

    async def stop(self) -> None:
        await asyncio.gather(*(interface.stop() for interface in self.all_interfaces()))
