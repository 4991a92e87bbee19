"""Command line of the radio emulators.

``python -m han_gateway.emulators znp --scenario NAME_OR_FILE [--host H] [--port P]
[--coordinator-eui64 EUI64]`` serves an emulated Z-Stack coordinator whose network is the
scenario's; point a ``radio: znp`` interface at ``socket://H:P``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import zigpy.types as t

from han_gateway.radio.virtual_han import CoordinatorIdentity
from han_gateway.scenarios import ScenarioError, resolve_scenario

DEFAULT_PORT = 8471


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m han_gateway.emulators", description=__doc__)
    radios = parser.add_subparsers(dest="radio", required=True)
    znp = radios.add_parser("znp", help="a TI Z-Stack 3.30 coordinator for zigpy-znp")
    znp.add_argument("--scenario", required=True, help="library scenario name or scenario file")
    znp.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    znp.add_argument("--port", type=int, default=DEFAULT_PORT, help="listen port (0: any free)")
    znp.add_argument("--coordinator-eui64", help="the coordinator's IEEE address")
    znp.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    return parser


async def serve_znp(arguments: argparse.Namespace) -> None:
    try:
        from han_gateway.emulators.znp import ZnpEmulator, default_coordinator
    except ModuleNotFoundError as error:
        raise SystemExit(
            f"The Z-Stack emulator needs zigpy-znp ({error}); install the project's 'radios'"
            " extra (uv sync --extra radios)"
        ) from None
    scenario = resolve_scenario(arguments.scenario, relative_to=Path.cwd())
    coordinator = default_coordinator(scenario)
    if arguments.coordinator_eui64:
        coordinator = CoordinatorIdentity(
            eui64=t.EUI64.convert(arguments.coordinator_eui64),
            manufacturer=coordinator.manufacturer,
            model=coordinator.model,
            sw_build_id=coordinator.sw_build_id,
        )
    emulator = ZnpEmulator(scenario, coordinator)
    port = await emulator.start(arguments.host, arguments.port)
    print(
        f"Z-Stack emulator of scenario {scenario.name!r}, coordinator {coordinator.eui64},"
        f" at socket://{arguments.host}:{port}",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.close()


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    logging.basicConfig(
        level=arguments.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(serve_znp(arguments))
    except ScenarioError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
