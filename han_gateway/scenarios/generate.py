"""Generate scenario documents of any size, for the large_han scenario and the benchmark."""

from __future__ import annotations

import random
from typing import Any

from han_gateway.firmware import OtaVersionScheme, ota_version_from_text

_PRODUCTS: dict[str, list[tuple[str, str]]] = {
    "pct": [("Honeywell", "UtilityPRO UP8000"), ("Radio Thermostat", "CT-50 RTZB-01")],
    "in_home_display": [("Rainforest Automation", "EMU-2"), ("Ambient Devices", "Energy Joule SE")],
    "load_control_switch": [("Eaton", "Yukon LCR-6601S"), ("Comverge", "DCU 2.0 SE")],
    "smart_plug": [("Third Reality", "3RSP019BZ"), ("Jasco", "GE 45853 Smart Plug")],
    "ems": [("Rainforest Automation", "EAGLE-200")],
}
_END_DEVICE_CATEGORIES = ("pct", "in_home_display", "ems")
_ROUTER_CATEGORIES = ("load_control_switch", "smart_plug")


def generated_scenario_document(
    device_count: int,
    *,
    name: str | None = None,
    per_hop_latency_ms: float = 5.0,
    concurrency_limit: int = 4,
    seed: int = 7,
) -> dict[str, Any]:
    """A plausible HAN: about one router in six, half the end devices behind a router."""
    # Not for security: a fixed seed gives the same document every time.
    rng = random.Random(seed)  # noqa: S311
    router_count = max(1, device_count // 6) if device_count > 1 else 0
    devices: list[dict[str, Any]] = []
    routers: list[str] = []
    for index in range(device_count):
        eui64 = f"00:0d:6f:00:10:{index // 256:02x}:{index % 256:02x}:{(index * 37) % 256:02x}"
        is_router = index < router_count
        category = rng.choice(_ROUTER_CATEGORIES if is_router else _END_DEVICE_CATEGORIES)
        manufacturer, model = rng.choice(_PRODUCTS[category])
        parent = "coordinator"
        if not is_router and routers and rng.random() < 0.5:
            parent = rng.choice(routers)
        link_quality = rng.randint(150, 250)
        reverse_link_quality = max(0, link_quality - rng.randint(0, 20))
        build_id = f"{rng.randint(2, 4)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}"
        device: dict[str, Any] = {
            "eui64": eui64,
            "name": f"{category.replace('_', ' ')} {index + 1}",
            "category": category,
            "han": "customer" if category == "smart_plug" else "utility",
            "device_type": "router" if is_router else "end_device",
            "parent": parent,
            "link_quality": link_quality,
            "reverse_link_quality": reverse_link_quality,
            "manufacturer": manufacturer,
            "model": model,
            "sw_build_id": build_id,
            # The OTA file version of that release, as makers number it (one byte a part).
            "ota_file_version": ota_version_from_text(build_id, OtaVersionScheme.BYTES),
        }
        devices.append(device)
        if is_router:
            routers.append(eui64)
    return {
        "name": name or f"generated_{device_count}",
        "description": f"Generated HAN of {device_count} devices.",
        "gateway": {
            "channel": 15,
            "pan_id": 0x2B51,
            "extended_pan_id": "00:13:50:04:00:00:2b:51",
            "security_level": 5,
            "max_devices": max(10, device_count),
        },
        "radio": {
            "per_hop_latency_ms": per_hop_latency_ms,
            "concurrency_limit": concurrency_limit,
        },
        "devices": devices,
    }
