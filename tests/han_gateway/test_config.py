import hashlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jsonschema_rs
import pytest
import yaml

from han_gateway.__main__ import main
from han_gateway.service.config import (
    ConfigError,
    TlsConfig,
    load_service_config,
    parse_service_config,
    secret_sha256_hex,
)
from han_gateway.service.tls import self_signed_certificate

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "han_gateway" / "demo" / "gateways.yaml"
CONFIG_SCHEMA = ROOT / "docs" / "schemas" / "service-config.schema.json"
DEMO_GATEWAYS = {
    "MTR-100001": "healthy",
    "MTR-100002": "weak_link",
    "MTR-100003": "registered_device_missing",
    "MTR-100004": "needs_router",
    "MTR-100005": "outdated_firmware",
    "MTR-100006": "default_key_join",
    "MTR-100007": "unregistered_device",
    "MTR-100008": "channel_interference",
    "MTR-100009": "two_interfaces",
    "MTR-100010": "empty_han",
    "MTR-100011": "large_han",
}


def minimal(**gateway_fields):
    gateway = {
        "id": "MTR-1",
        "secret_sha256": secret_sha256_hex("s3cret"),
        "interfaces": [{"id": "han0", "radio": "simulated", "scenario": "healthy"}],
    }
    gateway.update(gateway_fields)
    return {"gateways": [gateway]}


def test_demo_config_serves_every_demo_meter_with_its_scenario_and_secret():
    config = load_service_config(DEMO_CONFIG)
    assert (config.host, config.port) == ("127.0.0.1", 8470)
    assert {g.gateway_id: g.interfaces[0].scenario for g in config.gateways} == DEMO_GATEWAYS
    for gateway in config.gateways:
        secret = f"demo-secret-{gateway.gateway_id.lower()}"
        assert gateway.secret_sha256 == hashlib.sha256(secret.encode()).digest()
    two = config.gateway("MTR-100009")
    assert two is not None and len(two.interfaces) == 2
    assert "demo-secret-mtr" not in DEMO_CONFIG.read_text()


def test_defaults():
    config = parse_service_config(minimal(), base_directory=Path())
    gateway = config.gateways[0]
    assert (config.host, config.port) == ("127.0.0.1", 8470)
    assert gateway.kind == "meter"
    assert "s3cret" not in repr(gateway)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (minimal(secret_sha256="abc"), "gateways[0].secret_sha256: must be the 64 hex digits"),
        (minimal(kind="tower"), "gateways[0].kind: must be one of meter, pole_top"),
        (minimal(id="bad id!"), "gateways[0].id: must be 1-64 letters"),
        (
            minimal(interfaces=[{"id": "han0", "radio": "xbee"}]),
            "gateways[0].interfaces[0].radio: must be one of",
        ),
        (
            minimal(interfaces=[{"id": "han0", "radio": "ezsp"}]),
            "gateways[0].interfaces[0].device.path: is required for a real radio",
        ),
        (
            minimal(interfaces=[{"id": "han0", "radio": "simulated"}]),
            "gateways[0].interfaces[0].scenario: is required",
        ),
        ({"gateways": []}, "gateways: must list at least one gateway"),
        ({}, "gateways: is required"),
        ({"gateways": [minimal()["gateways"][0]] * 2}, "gateways: gateway ids must be unique"),
        ({"listen": {"port": 70000}, **minimal()}, "listen.port: must be from 0 to 65535"),
        ({"listen": {"hots": "127.0.0.2"}, **minimal()}, "listen.hots: unknown field"),
        (
            minimal(interfaces=[{"id": "han0", "radio": "znp", "device": {"path": "/dev/x"}}] * 2),
            "gateways[0].interfaces: interface ids must be unique within a gateway",
        ),
        (
            minimal(interfaces=[{"id": "han0", "radio": "simulated", "scenario": "x", "lqi": 1}]),
            "gateways[0].interfaces[0].lqi: unknown field",
        ),
        (
            minimal(
                interfaces=[
                    {"id": "han0", "radio": "simulated", "scenario": "x", "scan_timeout_s": 0}
                ]
            ),
            "gateways[0].interfaces[0].scan_timeout_s: must be from 0.1 to 3600, not 0",
        ),
        ("gateways: []", "config: must be a mapping"),
    ],
)
def test_config_problems_name_the_field(document, expected):
    with pytest.raises(ConfigError) as raised:
        parse_service_config(document, base_directory=Path())
    assert any(problem.startswith(expected) for problem in raised.value.problems), raised.value


def test_a_bad_secret_in_a_config_file_names_the_file_and_the_field(tmp_path, capsys):
    document = minimal()
    document["gateways"].append({**minimal(id="MTR-2")["gateways"][0], "secret_sha256": "s3cret"})
    path = tmp_path / "gateways.yaml"
    path.write_text(yaml.safe_dump(document))

    with pytest.raises(ConfigError) as raised:
        load_service_config(path)
    assert raised.value.problems == [
        f"{path}: gateways[1].secret_sha256: must be the 64 hex digits of the SHA-256 of the"
        " gateway secret"
    ]
    assert main(["check-config", "--config", str(path)]) == 2
    assert f"config error: {path}: gateways[1].secret_sha256: must be" in capsys.readouterr().err


def test_a_missing_tls_file_in_a_config_file_names_the_file_and_the_path(tmp_path):
    (tmp_path / "certificate.pem").write_text("certificate")
    document = {**minimal(), "tls": {"certificate": "certificate.pem", "private_key": "tls/k.pem"}}
    path = tmp_path / "gateways.yaml"
    path.write_text(yaml.safe_dump(document))

    with pytest.raises(ConfigError) as raised:
        load_service_config(path)
    assert raised.value.problems == [f"{path}: tls.private_key: no such file: {tmp_path}/tls/k.pem"]


def test_committed_json_schema_is_the_one_the_models_generate(capsys):
    assert main(["schema", "config"]) == 0
    assert capsys.readouterr().out == CONFIG_SCHEMA.read_text(encoding="utf-8")


def test_committed_json_schema_takes_the_demo_config_and_refuses_what_the_parser_refuses():
    validator = jsonschema_rs.validator_for(json.loads(CONFIG_SCHEMA.read_text()))
    assert validator.is_valid(yaml.safe_load(DEMO_CONFIG.read_text()))
    for document in (
        minimal(interfaces=[{"id": "han0", "radio": "simulated"}]),
        minimal(interfaces=[{"id": "han0", "radio": "ezsp", "device": {"baudrate": 115200}}]),
        minimal(secret_sha256="abc"),
        {**minimal(), "listen": {"port": 70000}},
    ):
        assert not validator.is_valid(document), document
        with pytest.raises(ConfigError):
            parse_service_config(document, base_directory=Path())


def test_check_config_command_reports_a_broken_scenario(tmp_path, capsys):
    (tmp_path / "broken.yaml").write_text(
        yaml.safe_dump({"name": "broken", "devices": [{"eui64": "nope", "category": "pct"}]})
    )
    document = minimal(interfaces=[{"id": "han0", "radio": "simulated", "scenario": "broken.yaml"}])
    config_path = tmp_path / "gateways.yaml"
    config_path.write_text(yaml.safe_dump(document))

    assert main(["check-config", "--config", str(config_path)]) == 1
    error = capsys.readouterr().err
    assert "MTR-1/han0: broken.yaml: devices[0].eui64: not a valid EUI-64" in error


def test_check_config_command_accepts_the_demo_config(capsys):
    assert main(["check-config", "--config", str(DEMO_CONFIG)]) == 0
    assert "config ok" in capsys.readouterr().out


def test_serve_with_a_bad_config_exits_with_the_problem(tmp_path, capsys):
    config_path = tmp_path / "gateways.yaml"
    config_path.write_text("gateways: [")
    assert main(["serve", "--config", str(config_path)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_one_command_starts_the_service_on_127_0_0_1(tmp_path):
    """`python -m han_gateway serve` answers health checks and gateway calls."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config_path = tmp_path / "gateways.yaml"
    config_path.write_text(yaml.safe_dump(minimal()))
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-m",
            "han_gateway",
            "serve",
            "--config",
            str(config_path),
            "--port",
            str(port),
        ],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/health", timeout=1
                ) as answer:
                    assert json.loads(answer.read()) == {"status": "ok"}
                    break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "service did not start within 20 s"
                time.sleep(0.05)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/gateways/MTR-1",
            headers={"Authorization": "Bearer s3cret"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            assert json.loads(answer.read())["id"] == "MTR-1"
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- TLS ------------------------------------------------------------------------------------


def test_tls_paths_are_relative_to_the_config_file(tmp_path):
    certificate, key = self_signed_certificate(["127.0.0.1"], tmp_path / "tls")
    document = {**minimal(), "tls": {"certificate": "tls/certificate.pem", "private_key": str(key)}}
    config = parse_service_config(document, base_directory=tmp_path)
    assert config.tls == TlsConfig(certificate=certificate, private_key=key)
    assert parse_service_config(minimal(), base_directory=tmp_path).tls is None


@pytest.mark.parametrize(
    ("tls", "expected"),
    [
        (
            {"certificate": "missing.pem", "private_key": "key.pem"},
            "tls.certificate: no such file: {directory}/missing.pem",
        ),
        (
            {"certificate": "cert.pem", "private_key": "missing.pem"},
            "tls.private_key: no such file: {directory}/missing.pem",
        ),
        ({"certificate": "cert.pem", "private_key": "."}, "tls.private_key: no such file:"),
        ({"certificate": "cert.pem"}, "tls.private_key: is required"),
        ({"private_key": "key.pem"}, "tls.certificate: is required"),
        ({"certificate": 5, "private_key": "key.pem"}, "tls.certificate: must be text"),
        ({"certificate": "cert.pem", "private_key": "key.pem", "password": "x"}, "tls.password:"),
        ("cert.pem", "tls: must be a mapping"),
    ],
)
def test_tls_config_problems_name_the_field(tmp_path, tls, expected):
    (tmp_path / "cert.pem").write_text("certificate")
    (tmp_path / "key.pem").write_text("key")
    with pytest.raises(ConfigError) as raised:
        parse_service_config({**minimal(), "tls": tls}, base_directory=tmp_path)
    expected = expected.format(directory=tmp_path)
    assert any(problem.startswith(expected) for problem in raised.value.problems), raised.value


def _serve_failure(capsys, tmp_path, *flags, tls=None):
    config_path = tmp_path / "gateways.yaml"
    config_path.write_text(yaml.safe_dump({**minimal(), **({"tls": tls} if tls else {})}))
    assert main(["serve", "--config", str(config_path), "--port", "1", *flags]) == 2
    return capsys.readouterr().err


def test_serve_with_a_missing_certificate_file_names_it(tmp_path, capsys):
    _, key = self_signed_certificate(["127.0.0.1"], tmp_path)
    error = _serve_failure(
        capsys,
        tmp_path,
        "--tls-certificate",
        str(tmp_path / "nowhere.pem"),
        "--tls-private-key",
        str(key),
    )
    assert f"cannot read the TLS certificate {tmp_path / 'nowhere.pem'}" in error
    assert "No such file or directory" in error


def test_serve_needs_both_tls_flags(tmp_path, capsys):
    certificate, _ = self_signed_certificate(["127.0.0.1"], tmp_path)
    error = _serve_failure(capsys, tmp_path, "--tls-certificate", str(certificate))
    assert "--tls-certificate and --tls-private-key go together" in error


def test_tls_flags_override_the_config(tmp_path, capsys):
    in_config = self_signed_certificate(["127.0.0.1"], tmp_path / "a")
    other_certificate, _ = self_signed_certificate(["127.0.0.1"], tmp_path / "b")
    error = _serve_failure(
        capsys,
        tmp_path,
        "--tls-certificate",
        str(other_certificate),
        tls={"certificate": str(in_config[0]), "private_key": str(in_config[1])},
    )
    # The flag's certificate with the config's key: the pair does not match.
    assert f"{in_config[1]} does not belong to the certificate {other_certificate}" in error
