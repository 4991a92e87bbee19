"""What the emulated coordinators share: a TCP server for one host at a time, and the
scenario's `VirtualHan` as the network behind the radio."""

from __future__ import annotations

import abc
import asyncio
import hashlib
import logging
from collections.abc import Coroutine
from typing import Any, Generic, Protocol, Self, TypeVar, cast

import zigpy.types as zigpy_t

from han_gateway.radio.virtual_han import CoordinatorIdentity, VirtualHan
from han_gateway.scenarios.schema import Scenario

LOGGER = logging.getLogger(__name__)


def emulated_coordinator(
    scenario: Scenario, oui: bytes, maker: str, chip: str, firmware: str
) -> CoordinatorIdentity:
    """The coordinator an emulator plays for a scenario: a stable address under the chip
    maker's OUI."""
    digest = hashlib.sha256(f"{chip}/{scenario.name}".encode()).digest()
    return CoordinatorIdentity(
        eui64=zigpy_t.EUI64(bytes(reversed(oui + digest[:5]))),
        manufacturer=maker,
        model=chip,
        sw_build_id=firmware,
    )


class HostConnection(Protocol):
    def close(self) -> None: ...


ConnectionT = TypeVar("ConnectionT", bound=HostConnection)


class EmulatorServer(abc.ABC, Generic[ConnectionT]):
    """A coordinator whose network is a scenario's virtual HAN, on a TCP port."""

    STACK: str  # what the emulator is, for the log
    RADIO: str  # the zigpy radio type that drives it, whose chip's LQI scale it reports on

    def __init__(self, scenario: Scenario, coordinator: CoordinatorIdentity) -> None:
        self.scenario = scenario
        self.coordinator = coordinator
        self.han: VirtualHan | None = None
        self._server: asyncio.Server | None = None
        self._host = "127.0.0.1"
        self._client: ConnectionT | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @abc.abstractmethod
    def _new_connection(self) -> asyncio.Protocol:
        """The protocol that serves one host."""

    @abc.abstractmethod
    def _deliver(self, packet: zigpy_t.ZigbeePacket) -> None:
        """A frame the virtual HAN sends to the coordinator."""

    def _han_started(self) -> None:
        """Called once the virtual HAN exists, before the first host connects."""

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The emulator is not serving")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """The device path the radio library connects to."""
        return f"socket://{self._host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on `host`:`port` (0: a free port) and answer the port listened on."""
        self._host = host
        self.han = VirtualHan(self.scenario, self.coordinator, self._deliver, radio=self.RADIO)
        self._han_started()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._new_connection, host, port)
        LOGGER.info(
            "%s emulator for scenario %s on %s:%d", self.STACK, self.scenario.name, host, self.port
        )
        return self.port

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self.han is not None:
            self.han.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def connected(self, connection: ConnectionT) -> None:
        if self._client is not None:
            self._client.close()
        self._client = connection

    def disconnected(self, connection: ConnectionT) -> None:
        if self._client is connection:
            self._client = None

    @property
    def virtual_han(self) -> VirtualHan:
        if self.han is None:
            raise RuntimeError("The emulator is not serving")
        return self.han

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


EmulatorT = TypeVar("EmulatorT", bound=EmulatorServer[Any])


class StreamConnection(asyncio.Protocol, Generic[EmulatorT]):
    """One host connected to an emulator: bytes in, frames of the stack's protocol out."""

    def __init__(self, emulator: EmulatorT) -> None:
        self._emulator = emulator
        self._buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._emulator.connected(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._emulator.disconnected(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
