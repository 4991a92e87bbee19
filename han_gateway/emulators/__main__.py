"""Command line of the radio emulators.

``python -m han_gateway.emulators znp|ezsp --scenario NAME_OR_FILE [--host H] [--port P]
[--coordinator-eui64 EUI64]`` serves an emulated Z-Stack (znp) or EmberZNet (ezsp)
coordinator whose network is the scenario's; point a ``radio: znp`` or ``radio: ezsp``
interface at ``socket://H:P``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from pathlib import Path
from typing import Any

import zigpy.types as t

from han_gateway.radio.virtual_han import CoordinatorIdentity
from han_gateway.scenarios import ScenarioError, resolve_scenario

DEFAULT_PORT = 8471

# Each emulator: its module, emulator class, what it emulates and the library it needs.
EMULATORS = {
    "znp": ("han_gateway.emulators.znp", "ZnpEmulator", "Z-Stack", "zigpy-znp"),
    "ezsp": ("han_gateway.emulators.ezsp", "EzspEmulator", "EmberZNet", "bellows"),
}
HELP = {
    "znp": "a TI Z-Stack 3.30 coordinator for zigpy-znp",
    "ezsp": "a Silicon Labs EmberZNet 7.4 coordinator (EZSP 13) for bellows",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m han_gateway.emulators", description=__doc__)
    radios = parser.add_subparsers(dest="radio", required=True)
    for radio in EMULATORS:
        sub = radios.add_parser(radio, help=HELP[radio])
        sub.add_argument("--scenario", required=True, help="library scenario name or scenario file")
        sub.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
        sub.add_argument("--port", type=int, default=DEFAULT_PORT, help="listen port (0: any free)")
        sub.add_argument("--coordinator-eui64", help="the coordinator's IEEE address")
        sub.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    return parser


async def serve(arguments: argparse.Namespace) -> None:
    module_name, class_name, stack, package = EMULATORS[arguments.radio]
    try:
        module: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise SystemExit(
            f"The {stack} emulator needs {package} ({error}); install the project's 'radios'"
            " extra (uv sync --extra radios)"
        ) from None
    default_coordinator = module.default_coordinator
    scenario = resolve_scenario(arguments.scenario, relative_to=Path.cwd())
    coordinator = default_coordinator(scenario)
    if arguments.coordinator_eui64:
        coordinator = CoordinatorIdentity(
            eui64=t.EUI64.convert(arguments.coordinator_eui64),
            manufacturer=coordinator.manufacturer,
            model=coordinator.model,
            sw_build_id=coordinator.sw_build_id,
        )
    emulator = getattr(module, class_name)(scenario, coordinator)
    port = await emulator.start(arguments.host, arguments.port)
    print(
        f"{stack} emulator of scenario {scenario.name!r}, coordinator {coordinator.eui64},"
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
        asyncio.run(serve(arguments))
    except ScenarioError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
