"""Command line of the HAN gateway service.

``python -m han_gateway serve --config FILE [--host H] [--port P]
[--tls-certificate PEM --tls-private-key PEM]``, ``check-config --config FILE``,
``make-certificate --host H [--host H ...] --out DIR`` and ``schema scenario|config`` (the JSON
Schema of scenario files or of the config file, as committed in docs/schemas/).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Final

from han_gateway.scenarios.schema import scenario_json_schema
from han_gateway.service.config import (
    ConfigError,
    ServiceConfig,
    TlsConfig,
    load_service_config,
    service_config_json_schema,
)

SCHEMAS: Final = {"scenario": scenario_json_schema, "config": service_config_json_schema}


def schema_text(document: str) -> str:
    """The JSON Schema of a document as ``schema`` prints it and docs/schemas/ holds it."""
    return json.dumps(SCHEMAS[document](), indent=2, ensure_ascii=False) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m han_gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway service")
    serve.add_argument("--config", required=True, type=Path, help="service config (YAML)")
    serve.add_argument("--host", help="listen address (default from config, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default from config, else 8470)")
    serve.add_argument(
        "--tls-certificate",
        type=Path,
        help="serve HTTPS with this PEM certificate (and chain); overrides the config's tls",
    )
    serve.add_argument(
        "--tls-private-key",
        type=Path,
        help="the certificate's unencrypted PEM private key; overrides the config's tls",
    )
    serve.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    check = commands.add_parser("check-config", help="validate a config and its scenarios")
    check.add_argument("--config", required=True, type=Path)
    certificate = commands.add_parser(
        "make-certificate",
        help="write a self-signed certificate and key for demos and tests",
    )
    certificate.add_argument(
        "--host",
        action="append",
        required=True,
        help="an IP address or DNS name the certificate is for (repeat for more)",
    )
    certificate.add_argument(
        "--out", required=True, type=Path, help="directory for certificate.pem, private_key.pem"
    )
    certificate.add_argument("--days", type=int, default=365, help="validity (default 365)")
    schema = commands.add_parser("schema", help="print the JSON Schema of a document")
    schema.add_argument("document", choices=sorted(SCHEMAS), help="which document")
    return parser


def _check_config(config: ServiceConfig) -> int:
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


def _make_certificate(arguments: argparse.Namespace) -> int:
    from han_gateway.service.tls import self_signed_certificate

    if not 1 <= arguments.days <= 3650:
        print("error: --days must be from 1 to 3650", file=sys.stderr)
        return 2
    try:
        certificate, key = self_signed_certificate(
            arguments.host, arguments.out, days=arguments.days
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write to {arguments.out}: {error.strerror}", file=sys.stderr)
        return 2
    print(f"certificate: {certificate}")
    print(f"private key: {key}")
    return 0


def _with_cli_tls(config: ServiceConfig, arguments: argparse.Namespace) -> ServiceConfig:
    """The config with --tls-certificate / --tls-private-key in place of its own tls paths."""
    certificate: Path | None = arguments.tls_certificate
    private_key: Path | None = arguments.tls_private_key
    if config.tls is not None:
        certificate = certificate or config.tls.certificate
        private_key = private_key or config.tls.private_key
    if certificate is None and private_key is None:
        return config
    if certificate is None or private_key is None:
        raise ConfigError(
            [
                "--tls-certificate and --tls-private-key go together"
                " (or set both in the config's tls section)"
            ]
        )
    return dataclasses.replace(
        config, tls=TlsConfig(certificate=certificate, private_key=private_key)
    )


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.command == "make-certificate":
        return _make_certificate(arguments)
    if arguments.command == "schema":
        sys.stdout.write(schema_text(arguments.document))
        return 0
    try:
        config = load_service_config(arguments.config)
        if arguments.command == "serve":
            config = _with_cli_tls(config, arguments)
    except ConfigError as error:
        for problem in error.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    if arguments.command == "check-config":
        return _check_config(config)
    if arguments.host:
        config = dataclasses.replace(config, host=arguments.host)
    if arguments.port is not None:
        config = dataclasses.replace(config, port=arguments.port)
    ssl_context = None
    if config.tls is not None:
        from han_gateway.service.tls import TlsSetupError, server_ssl_context

        try:
            ssl_context = server_ssl_context(config.tls)
        except TlsSetupError as error:
            print(f"config error: {error}", file=sys.stderr)
            return 2
    logging.basicConfig(
        level=arguments.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # zigpy logs every frame at DEBUG and chatty notices at INFO; keep the service's own logs.
    logging.getLogger("zigpy").setLevel(max(logging.WARNING, logging.getLogger().level))

    from han_gateway.service.server import serve

    asyncio.run(serve(config, ssl_context=ssl_context))
    return 0


if __name__ == "__main__":
    sys.exit(main())
