"""Fixtures for the gateway service tests: simulated radios and a live service on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import zigpy.application
import zigpy.state
import zigpy.types as t
from aiohttp import web

from han_gateway.radio.factory import start_real_radio, start_simulated_radio
from han_gateway.radio.simulated import SimulatedApplication
from han_gateway.radio.virtual_han import CoordinatorIdentity
from han_gateway.scenarios import Scenario, load_library_scenario, parse_scenario
from han_gateway.service.app import REGISTRY, create_app
from han_gateway.service.config import parse_service_config
from han_gateway.service.runtime import GatewayRegistry
from han_gateway.service.server import GatewayRunner

COORDINATOR = CoordinatorIdentity(
    eui64=t.EUI64.convert("00:13:50:ff:fe:00:00:01"),
    manufacturer="Itron",
    model="OpenWay Riva CENTRON",
    sw_build_id="4.2.1",
)

SECRETS = {
    "MTR-200001": "secret-for-200001",
    "MTR-200002": "secret-for-200002",
    "MTR-200003": "secret-for-200003",
}


async def wait_for(condition: Callable[[], bool], *, timeout_s: float = 5.0) -> None:
    """Wait until `condition()` holds, failing the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.005)


async def raw_request(
    base_url: str, request: bytes, *, ssl_context: ssl.SSLContext | None = None
) -> tuple[int, bytes, bytes]:
    """Send bytes as they are (no client library tidying them) and read the whole answer."""
    host, port = base_url.split("://")[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port), ssl=ssl_context)
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head, body


def raw_get(path: str, *headers: bytes) -> bytes:
    lines = [f"GET /api/v1{path} HTTP/1.1".encode(), b"Host: 127.0.0.1", *headers]
    return b"\r\n".join([*lines, b"Connection: close", b"", b""])


def small_scenario(**overrides: Any) -> dict[str, Any]:
    """A three-device HAN document: thermostat, in-home display, load control switch."""
    document: dict[str, Any] = {
        "name": "small",
        "description": "Three devices.",
        "gateway": {"channel": 20, "pan_id": 0x1234, "extended_pan_id": "00:13:50:04:00:00:12:34"},
        "radio": {"per_hop_latency_ms": 1, "concurrency_limit": 4},
        "devices": [
            {
                "eui64": "00:0d:6f:00:0a:00:00:01",
                "category": "pct",
                "device_type": "router",
                "manufacturer": "Honeywell",
                "model": "UtilityPRO UP8000",
                "sw_build_id": "3.4.2",
                "ota_file_version": 0x03040200,
            },
            {
                "eui64": "00:0d:6f:00:0a:00:00:02",
                "category": "in_home_display",
                "manufacturer": "Rainforest Automation",
                "model": "EMU-2",
                "parent": "00:0d:6f:00:0a:00:00:01",
                "link_quality": 140,
                "reverse_link_quality": 120,
            },
            {
                "eui64": "00:0d:6f:00:0a:00:00:03",
                "category": "load_control_switch",
                "manufacturer": "Eaton",
                "model": "Yukon LCR-6601S",
                "join_method": "default_key",
            },
        ],
    }
    document.update(overrides)
    return document


@pytest.fixture
def small() -> Scenario:
    return parse_scenario(small_scenario())


@pytest.fixture
def small_with_unreachable_switch() -> Scenario:
    """The small HAN with its load control switch (``devices[2]``) out of radio reach."""
    document = small_scenario()
    document["devices"][2]["reachable"] = False
    return parse_scenario(document)


@pytest_asyncio.fixture
async def simulated() -> AsyncIterator[Callable[[Scenario], Awaitable[SimulatedApplication]]]:
    """Start simulated radios for scenarios; every one is shut down after the test."""
    started: list[SimulatedApplication] = []

    async def start(scenario: Scenario) -> SimulatedApplication:
        app = await start_simulated_radio(scenario, COORDINATOR)
        started.append(app)
        await wait_for(lambda: app._device.is_initialized)
        return app

    yield start
    for app in started:
        await app.shutdown()


def service_document(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "small.json").write_text(json.dumps(small_scenario()))
    return {
        "listen": {"host": "127.0.0.1", "port": 0},
        "max_body_bytes": 4096,
        "gateways": [
            {
                "id": "MTR-200001",
                "kind": "meter",
                "manufacturer": "Itron",
                "model": "OpenWay Riva CENTRON",
                "firmware": "4.2.1",
                "secret_sha256": hashlib.sha256(SECRETS["MTR-200001"].encode()).hexdigest(),
                "interfaces": [{"id": "han0", "radio": "simulated", "scenario": "small.json"}],
            },
            {
                "id": "MTR-200002",
                "kind": "pole_top",
                "secret_sha256": hashlib.sha256(SECRETS["MTR-200002"].encode()).hexdigest(),
                "interfaces": [
                    {
                        "id": "han0",
                        "radio": "simulated",
                        "scenario": "registered_device_missing",
                        "smart_energy_version": "1.2a",
                    },
                    {"id": "han1", "radio": "simulated", "scenario": "weak_link"},
                ],
            },
            {
                "id": "MTR-200003",
                "secret_sha256": hashlib.sha256(SECRETS["MTR-200003"].encode()).hexdigest(),
                "interfaces": [
                    {
                        "id": "han0",
                        "radio": "znp",
                        "device": {"path": "/dev/ttyACM0"},
                        "max_devices": 10,
                    },
                ],
            },
        ],
    }


class Service:
    def __init__(self, base_url: str, session: aiohttp.ClientSession, app: web.Application):
        self.base_url = base_url
        self.session = session
        self.app = app

    @property
    def registry(self) -> GatewayRegistry:
        return self.app[REGISTRY]

    def url(self, path: str) -> str:
        return f"{self.base_url}/api/v1{path}"

    @staticmethod
    def auth(gateway_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {SECRETS[gateway_id]}"}

    async def request(
        self, method: str, path: str, gateway_id: str | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = kwargs.pop("headers", {})
        if gateway_id is not None:
            headers.update(self.auth(gateway_id))
        async with self.session.request(
            method, self.url(path), headers=headers, **kwargs
        ) as response:
            return response.status, await response.json()

    async def scan(
        self, gateway_id: str, interface_id: str, body: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        async with self.session.post(
            self.url(f"/gateways/{gateway_id}/interfaces/{interface_id}/scan"),
            headers=self.auth(gateway_id),
            json=body or {},
        ) as response:
            assert response.status == 200, await response.text()
            assert response.headers["Content-Type"].startswith("application/x-ndjson")
            return [json.loads(line) async for line in response.content if line.strip()]


@contextlib.asynccontextmanager
async def running_service(document: dict[str, Any], directory: Path) -> AsyncIterator[Service]:
    """The service for a config document, on a free port of 127.0.0.1, with a client session."""
    config = parse_service_config(document, base_directory=directory)
    app = create_app(config)
    runner = GatewayRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with aiohttp.ClientSession() as session:
            yield Service(f"http://127.0.0.1:{port}", session, app)
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    async with running_service(service_document(tmp_path), tmp_path) as running:
        yield running


@pytest_asyncio.fixture
async def service_with_default_limits(tmp_path: Path) -> AsyncIterator[Service]:
    """As `service`, but taking bodies up to the default `max_body_bytes` (64 KiB)."""
    document = service_document(tmp_path)
    del document["max_body_bytes"]
    async with running_service(document, tmp_path) as running:
        yield running


# Each radio: the library it needs, the emulator's module and class.
EMULATORS = {
    "znp": ("zigpy_znp", "han_gateway.emulators.znp", "ZnpEmulator"),
    "ezsp": ("bellows", "han_gateway.emulators.ezsp", "EzspEmulator"),
}


def radio_served(name: str) -> Any:
    """A test module's ``radio`` fixture: which emulated radio the fixtures below serve."""

    @pytest.fixture
    def radio() -> str:
        return name

    return radio


@pytest.fixture
def scenario_name() -> str:
    """The library scenario an emulator serves; a test parametrises it to change it."""
    return "healthy"


@pytest_asyncio.fixture
async def emulator(radio: str, scenario_name: str) -> AsyncIterator[Any]:
    """The emulated coordinator of ``radio`` (a test module's fixture) serving a scenario."""
    library, module, class_name = EMULATORS[radio]
    pytest.importorskip(library, reason="needs the project's 'radios' extra")
    emulator_class = getattr(importlib.import_module(module), class_name)
    async with emulator_class(load_library_scenario(scenario_name)) as running:
        yield running


async def network_of(app: zigpy.application.ControllerApplication) -> zigpy.state.NetworkInfo:
    """The network as the radio reports it now, its device and key tables included."""
    await app.load_network_info(load_devices=True)
    return app.state.network_info


@pytest_asyncio.fixture
async def radio_app(
    radio: str, emulator: Any
) -> AsyncIterator[zigpy.application.ControllerApplication]:
    """The radio library's application, unmodified, started on the emulator."""
    app = await start_real_radio(radio, {"path": emulator.url}, {})
    try:
        yield app
    finally:
        await app.shutdown()
