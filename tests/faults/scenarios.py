"""The demo's library scenarios as the fault tests change them and check against them."""

from pathlib import Path
from typing import Any

import yaml

from han_gateway.scenarios import LIBRARY_DIRECTORY


def slow(scenario: str, per_hop_latency_ms: int, concurrency_limit: int = 1) -> dict[str, Any]:
    """A library scenario with a slower radio, so that a scan lasts long enough to break."""
    document: dict[str, Any] = yaml.safe_load(
        Path(LIBRARY_DIRECTORY, f"{scenario}.yaml").read_text()
    )
    document["radio"]["per_hop_latency_ms"] = per_hop_latency_ms
    document["radio"]["concurrency_limit"] = concurrency_limit
    return document


def scenario_devices(scenario: str) -> set[str]:
    """The EUI-64s of the devices the gateway's scenario puts on the HAN."""
    document = yaml.safe_load(Path(LIBRARY_DIRECTORY, f"{scenario}.yaml").read_text())
    return {str(device["eui64"]).lower() for device in document["devices"]}
