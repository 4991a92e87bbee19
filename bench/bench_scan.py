"""Benchmark: full HAN scans of generated networks against the radio's own lower bound.

Run:  .venv/bin/python bench/bench_scan.py [--quick] [--latency-ms 5] [--concurrency 4]

For each network size the scan runs twice on the simulated radio:
- paced by the radio (the gateway service's scan), and
- with zigpy's default topology pacing (`zigpy.topology.REQUEST_DELAY`, 1-1.5 s per table
  page and per unknown device), run through zigpy's own `Topology.scan`.

The lower bound is the larger of
- the simulator's count of round trips, each weighted by its hops x per-hop latency,
  divided by the concurrency limit (the radio cannot carry more), and
- the longest chain of round trips that must follow one another: the neighbour-table pages
  of every ancestor before a device is known, then the device's own interview.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zigpy.types as t

from han_gateway.protocol import Pacing
from han_gateway.radio.factory import start_simulated_radio
from han_gateway.radio.simulated import SimulatedApplication
from han_gateway.radio.virtual_han import (
    CoordinatorIdentity,
    VirtualHan,
    VirtualNode,
)
from han_gateway.scenarios import Scenario, parse_scenario
from han_gateway.scenarios.generate import generated_scenario_document
from han_gateway.service.scan import HanScan

COORDINATOR = CoordinatorIdentity(
    t.EUI64.convert("00:13:50:ff:fe:00:00:01"), "Itron", "OpenWay Riva CENTRON", "4.2.1"
)


async def _start(scenario: Scenario) -> SimulatedApplication:
    app = await start_simulated_radio(scenario, COORDINATOR)
    deadline = time.monotonic() + 10
    while not app._device.is_initialized:
        if time.monotonic() > deadline:
            raise RuntimeError("coordinator did not initialise")
        await asyncio.sleep(0.001)
    return app


async def _scan(app: SimulatedApplication, pacing: Pacing) -> tuple[float, int]:
    async def discard(_event: object) -> None:
        return None

    app.han.stats.reset()
    started = time.monotonic()
    summary = await HanScan(app, discard, pacing=pacing).run()
    return time.monotonic() - started, summary.device_count


def _lower_bound_s(han: VirtualHan, concurrency: int) -> float:
    latency_s = han.scenario.radio.per_hop_latency_ms / 1000
    page_size = han.scenario.radio.table_page_size
    coordinator = han.coordinator.eui64

    def hops(eui64: t.EUI64) -> int:
        node = han.nodes.get(eui64)
        return han.hops_to(node)

    trips = han.stats.round_trips_by_device
    radio_time = sum(count * hops(eui64) * latency_s for eui64, count in trips.items())

    def table_pages(node: VirtualNode | None) -> int:
        return max(1, math.ceil(len(han._neighbours(node)) / page_size))

    def discovery_chain(node: VirtualNode) -> float:
        """Round trips that must finish before `node` is known: its ancestors' table pages."""
        chain = table_pages(None) * 1 * latency_s
        ancestors: list[VirtualNode] = []
        parent = han.node_by_nwk(node.parent_nwk)
        while parent is not None:
            ancestors.append(parent)
            parent = han.node_by_nwk(parent.parent_nwk)
        for ancestor in ancestors:
            chain += table_pages(ancestor) * ancestor.depth * latency_s
        return chain

    longest_chain = 0.0
    for eui64, node in han.nodes.items():
        own = trips.get(eui64, 0)
        if node.spec.is_router:
            # A router's own table pages run alongside its interview, not after it.
            own = max(0, own - table_pages(node))
        longest_chain = max(longest_chain, discovery_chain(node) + own * node.depth * latency_s)
    coordinator_trips = trips.get(coordinator, 0) * latency_s
    return max(radio_time / concurrency, longest_chain, coordinator_trips)


async def bench(sizes: list[int], latency_ms: float, concurrency: int, baseline: bool) -> None:
    rows: list[dict[str, object]] = []
    scenarios = {
        size: parse_scenario(
            generated_scenario_document(
                size, per_hop_latency_ms=latency_ms, concurrency_limit=concurrency
            )
        )
        for size in sizes
    }
    for size in sizes:
        app = await _start(scenarios[size])
        try:
            await _scan(app, "radio")  # warm-up: imports, caches
            measured_s, found = await _scan(app, "radio")
            round_trips = app.han.stats.round_trips
            bound_s = _lower_bound_s(app.han, concurrency)
        finally:
            await app.shutdown()
        rows.append(
            {
                "size": size,
                "found": found,
                "round_trips": round_trips,
                "measured_s": measured_s,
                "bound_s": bound_s,
            }
        )
        print(f"  scanned {size} devices paced by the radio", file=sys.stderr)

    async def zigpy_default(size: int) -> tuple[float, int]:
        app = await _start(scenarios[size])
        try:
            elapsed, found = await _scan(app, "zigpy_default")
        finally:
            await app.shutdown()
        print(f"  scanned {size} devices with zigpy's default pacing", file=sys.stderr)
        return elapsed, found

    # zigpy's pacing is almost all sleeping, so the sizes run side by side.
    defaults = (
        await asyncio.gather(*(zigpy_default(size) for size in sizes))
        if baseline
        else [(math.nan, 0)] * len(sizes)
    )

    print()
    print(
        f"Full HAN scan, simulated radio: {latency_ms:g} ms per hop, concurrency limit"
        f" {concurrency}"
    )
    header = (
        f"{'devices':>7} {'found':>5} {'round trips':>11} {'measured ms':>11}"
        f" {'bound ms':>9} {'ratio':>6} {'zigpy default ms':>16} {'found':>5} {'speed-up':>8}"
    )
    print(header)
    print("-" * len(header))
    for row, (default_s, default_found) in zip(rows, defaults, strict=True):
        measured_s = float(row["measured_s"])  # type: ignore[arg-type]
        bound_s = float(row["bound_s"])  # type: ignore[arg-type]
        print(
            f"{row['size']:>7} {row['found']:>5} {row['round_trips']:>11}"
            f" {measured_s * 1000:>11.0f} {bound_s * 1000:>9.0f}"
            f" {measured_s / bound_s:>6.2f} {default_s * 1000:>16.0f} {default_found:>5}"
            f" {default_s / measured_s:>7.0f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only 5 and 10 devices")
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip zigpy's default pacing (slow)"
    )
    arguments = parser.parse_args()
    sizes = [5, 10] if arguments.quick else [5, 10, 25, 50, 100]
    asyncio.run(
        bench(sizes, arguments.latency_ms, arguments.concurrency, not arguments.no_baseline)
    )


if __name__ == "__main__":
    main()
