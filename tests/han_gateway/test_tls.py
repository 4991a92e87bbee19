"""The gateway service over TLS: certificates, the server context, and the client end to end.

The end-to-end tests start the real service process (`python -m han_gateway serve` with
`--tls-certificate` and `--tls-private-key`) and talk to it with the portal's real client.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from han_gateway.__main__ import main
from han_gateway.client import GatewayClient, GatewayError, GatewayUnreachable, _verify_context
from han_gateway.protocol import ScanFinishedEvent
from han_gateway.service.config import TlsConfig, secret_sha256_hex
from han_gateway.service.tls import TlsSetupError, self_signed_certificate, server_ssl_context
from tests.commands import free_port, gateway_service_argv, stop_process
from tests.han_gateway.conftest import SECRETS, raw_get, raw_request, small_scenario

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = "MTR-200001"
TLS_FAILED = "TLS handshake with the gateway service failed: "
MARKER = b"HEADER-CONTENT-5c9e"


# -- certificates and the server context ---------------------------------------------------------


def test_a_self_signed_certificate_names_every_host_and_keeps_its_key_private(tmp_path):
    certificate_path, key_path = self_signed_certificate(
        ["127.0.0.1", "gateways", "::1", "Gateways.Example.NET"], tmp_path / "new"
    )
    assert (certificate_path.name, key_path.name) == ("certificate.pem", "private_key.pem")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["gateways", "gateways.example.net"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert certificate.issuer == certificate.subject
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert key.public_key() == certificate.public_key()


def test_a_new_certificate_replaces_the_old_and_narrows_a_loose_key_file(tmp_path):
    key_path = tmp_path / "private_key.pem"
    key_path.write_text("old")
    key_path.chmod(0o644)
    certificate_path, written = self_signed_certificate(["127.0.0.1"], tmp_path)
    assert written == key_path
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key_path.read_bytes()
    assert server_ssl_context(TlsConfig(certificate_path, key_path)).minimum_version == (
        ssl.TLSVersion.TLSv1_2
    )


@pytest.mark.parametrize("hosts", [[], [""], ["bad host"], ["under_score"], ["-leading"]])
def test_a_certificate_needs_real_host_names(tmp_path, hosts):
    with pytest.raises(ValueError, match=r"neither an IP address nor a DNS name|at least one"):
        self_signed_certificate(hosts, tmp_path)
    assert not (tmp_path / "private_key.pem").exists()


def test_the_make_certificate_command_writes_both_files(tmp_path, capsys):
    out = tmp_path / "tls"
    assert (
        main(["make-certificate", "--host", "127.0.0.1", "--host", "gateways", "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert str(out / "certificate.pem") in printed and str(out / "private_key.pem") in printed
    server_ssl_context(TlsConfig(out / "certificate.pem", out / "private_key.pem"))
    assert main(["make-certificate", "--host", "no such host", "--out", str(out)]) == 2
    assert "'no such host' is neither an IP address nor a DNS name" in capsys.readouterr().err


def _write_encrypted_key(path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"password"),
        )
    )


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (lambda c, k: c.write_text("not a certificate"), "is not a PEM certificate"),
        (lambda c, k: k.write_text("not a key"), "is not a PEM private key"),
        (lambda c, k: _write_encrypted_key(k), "is encrypted; the service needs it unencrypted"),
        (
            lambda c, k: k.write_bytes(
                self_signed_certificate(["x"], k.parent / "other")[1].read_bytes()
            ),
            "does not belong to the certificate",
        ),
        (lambda c, k: k.unlink(), "cannot read the TLS private key"),
    ],
)
def test_an_unusable_certificate_or_key_is_named(tmp_path, break_it, expected):
    certificate, key = self_signed_certificate(["127.0.0.1"], tmp_path)
    break_it(certificate, key)
    with pytest.raises(TlsSetupError, match=expected):
        server_ssl_context(TlsConfig(certificate, key))


def test_a_key_readable_by_others_is_warned_about(tmp_path, caplog):
    certificate, key = self_signed_certificate(["127.0.0.1"], tmp_path)
    key.chmod(0o644)
    server_ssl_context(TlsConfig(certificate, key))
    assert "readable by other users (mode 644)" in caplog.text


# -- the real service over https -------------------------------------------------------------------


@dataclass
class TlsService:
    url: str
    certificate: Path
    log: Path
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def tls_service(tmp_path_factory) -> Iterator[TlsService]:
    directory = tmp_path_factory.mktemp("tls-service")
    certificate, key = self_signed_certificate(["127.0.0.1", "gateways"], directory / "tls")
    (directory / "small.json").write_text(json.dumps(small_scenario()))
    config = directory / "gateways.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "gateways": [
                    {
                        "id": GATEWAY,
                        "secret_sha256": secret_sha256_hex(SECRETS[GATEWAY]),
                        "interfaces": [
                            {"id": "han0", "radio": "simulated", "scenario": "small.json"}
                        ],
                    }
                ]
            }
        )
    )
    port = free_port()
    log = directory / "service.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            gateway_service_argv(config=config, port=port, tls=(certificate, key)),
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"https://127.0.0.1:{port}"
    trusting = ssl.create_default_context(cafile=str(certificate))
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", verify=trusting, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the TLS service did not start within 30 s"
            time.sleep(0.1)
        yield TlsService(url, certificate, log, process)
    finally:
        stop_process(process)


def _client(url: str, **kwargs) -> GatewayClient:
    return GatewayClient(base_url=url, gateway_id=GATEWAY, secret=SECRETS[GATEWAY], **kwargs)


def test_the_client_with_the_ca_file_identifies_and_scans_over_https(tls_service):
    with _client(tls_service.url, ca_file=str(tls_service.certificate)) as client:
        assert client.identify().id == GATEWAY
        events = list(client.scan("han0", timeout_s=30))
    assert events[0].event == "started"
    assert isinstance(events[-1], ScanFinishedEvent)
    assert events[-1].summary.device_count == 3
    assert f"Serving 1 gateway(s) on https://127.0.0.1:{tls_service.url.rsplit(':', 1)[1]}" in (
        tls_service.log.read_text()
    )


def _refused(client: GatewayClient) -> list[GatewayUnreachable]:
    refusals = []
    for call in (client.identify, lambda: list(client.scan("han0", timeout_s=5))):
        with pytest.raises(GatewayUnreachable) as raised:
            call()
        refusals.append(raised.value)
    return refusals


def test_a_client_without_the_ca_is_refused_with_a_tls_error(tls_service):
    with _client(tls_service.url) as client:  # the system's CA store
        refusals = _refused(client)
    for refusal in refusals:
        assert refusal.code == "tls_error"
        assert refusal.message.startswith(TLS_FAILED), refusal.message
        assert "self-signed certificate" in refusal.message
        assert SECRETS[GATEWAY] not in refusal.message


def test_a_client_trusting_another_ca_is_refused_with_a_tls_error(tls_service, tmp_path):
    other, _ = self_signed_certificate(["127.0.0.1"], tmp_path)
    with _client(tls_service.url, ca_file=str(other)) as client:
        refusals = _refused(client)
    for refusal in refusals:
        assert refusal.code == "tls_error"
        assert refusal.message.startswith(TLS_FAILED), refusal.message


def test_a_certificate_for_another_host_is_refused_with_a_tls_error(tls_service):
    # The certificate names 127.0.0.1 and "gateways", not "localhost".
    url = tls_service.url.replace("127.0.0.1", "localhost")
    with _client(url, ca_file=str(tls_service.certificate)) as client:
        refusals = _refused(client)
    for refusal in refusals:
        assert refusal.code == "tls_error"
        assert refusal.message.startswith(TLS_FAILED + "Hostname mismatch"), refusal.message


def test_plain_http_to_the_tls_port_gets_no_answer(tls_service):
    with (
        _client(tls_service.url.replace("https", "http")) as client,
        pytest.raises(GatewayUnreachable),
    ):
        client.identify()


def test_a_replaced_ca_file_is_trusted_by_the_next_client(tls_service, tmp_path):
    """Each CA store is loaded once per process, but a file the operator replaces is read again."""
    ca_file = tmp_path / "authority.pem"
    other, _ = self_signed_certificate(["127.0.0.1"], tmp_path / "other")
    ca_file.write_bytes(other.read_bytes())
    assert _verify_context(str(ca_file)) is _verify_context(str(ca_file))
    with (
        _client(tls_service.url, ca_file=str(ca_file)) as client,
        pytest.raises(GatewayUnreachable),
    ):
        client.identify()

    ca_file.write_bytes(tls_service.certificate.read_bytes())
    with _client(tls_service.url, ca_file=str(ca_file)) as client:
        assert client.identify().id == GATEWAY


def test_an_unusable_ca_file_is_a_gateway_error(tmp_path):
    (tmp_path / "garbage.pem").write_text("not a certificate")
    for ca_file, reason in [
        (tmp_path / "garbage.pem", "it holds no PEM certificate"),
        (tmp_path / "missing.pem", "No such file or directory"),
    ]:
        with pytest.raises(GatewayError) as raised:
            _client("https://127.0.0.1:1", ca_file=str(ca_file))
        assert raised.value.code == "tls_setup"
        assert reason in raised.value.message and str(ca_file) in raised.value.message


@pytest.mark.asyncio
async def test_https_to_a_plain_http_service_is_a_tls_error(service, tmp_path):
    certificate, _ = self_signed_certificate(["127.0.0.1"], tmp_path)
    url = service.base_url.replace("http", "https")

    def identify() -> None:
        with _client(url, ca_file=str(certificate)) as client:
            client.identify()

    with pytest.raises(GatewayUnreachable) as raised:
        await asyncio.to_thread(identify)
    assert raised.value.code == "tls_error"
    assert raised.value.message == TLS_FAILED + (
        "the service does not speak TLS here (is it serving plain HTTP?)."
    )


@pytest.mark.asyncio
async def test_an_oversized_header_over_tls_is_refused_without_logging_it(tls_service):
    trusting = ssl.create_default_context(cafile=str(tls_service.certificate))
    status, head, body = await raw_request(
        tls_service.url,
        raw_get(f"/gateways/{GATEWAY}", b"Authorization: Bearer " + MARKER + b"x" * 9000),
        ssl_context=trusting,
    )
    assert status == 431
    assert json.loads(body)["error"]["code"] == "header_too_large"
    assert MARKER not in head + body
    deadline = time.monotonic() + 5
    while "Refused a malformed request" not in tls_service.log.read_text():
        assert time.monotonic() < deadline, "the refusal was not logged"
        await asyncio.sleep(0.05)
    log = tls_service.log.read_text()
    assert MARKER.decode() not in log
    assert SECRETS[GATEWAY] not in log
    assert "Traceback" not in log
