"""Command line: ``python -m han_gateway serve --config FILE [--host H] [--port P]``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from aiohttp import web

from han_gateway.service.config import ConfigError, load_service_config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m han_gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway service")
    serve.add_argument("--config", required=True, type=Path, help="service config (YAML)")
    serve.add_argument("--host", help="listen address (default from config, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default from config, else 8470)")
    serve.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    check = commands.add_parser("check-config", help="validate a config and its scenarios")
    check.add_argument("--config", required=True, type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        config = load_service_config(arguments.config)
    except ConfigError as error:
        for problem in error.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    if arguments.command == "check-config":
        from han_gateway.scenarios import ScenarioError, resolve_scenario

        failed = False
        for gateway in config.gateways:
            for interface in gateway.interfaces:
                if interface.scenario is None:
                    continue
                try:
                    resolve_scenario(interface.scenario, relative_to=config.base_directory)
                except ScenarioError as error:
                    failed = True
                    for problem in error.problems:
                        print(
                            f"{gateway.gateway_id}/{interface.interface_id}: {problem}",
                            file=sys.stderr,
                        )
        print("config ok" if not failed else "config has errors")
        return 1 if failed else 0
    if arguments.host:
        config = dataclasses.replace(config, host=arguments.host)
    if arguments.port is not None:
        config = dataclasses.replace(config, port=arguments.port)
    logging.basicConfig(
        level=arguments.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # zigpy logs every frame at DEBUG and chatty notices at INFO; keep the service's own logs.
    logging.getLogger("zigpy").setLevel(max(logging.WARNING, logging.getLogger().level))

    from han_gateway.service.app import create_app

    web.run_app(create_app(config), host=config.host, port=config.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
