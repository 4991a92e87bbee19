"""TLS for the gateway service: its server context, and self-signed certificates for demos.

Production gateways present a certificate from the utility's PKI; `self_signed_certificate`
is for demos and tests, where the client is given the certificate itself as its CA file.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import ssl
import stat
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from han_gateway.service.config import TlsConfig

LOGGER = logging.getLogger(__name__)

CERTIFICATE_FILE: Final = "certificate.pem"
PRIVATE_KEY_FILE: Final = "private_key.pem"
DEFAULT_VALIDITY_DAYS: Final = 365
_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


class TlsSetupError(ValueError):
    """The certificate or private key cannot be used; the message says which and why."""


def _subject_alternative_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not _DNS_NAME.match(host):
        raise ValueError(f"{host!r} is neither an IP address nor a DNS name")
    return x509.DNSName(host.lower())


def self_signed_certificate(
    hosts: Sequence[str], directory: Path, *, days: int = DEFAULT_VALIDITY_DAYS
) -> tuple[Path, Path]:
    """Write a self-signed certificate for `hosts` and its key; return both paths.

    Each host (an IP address or a DNS name) becomes a subjectAltName. Writes
    `directory/certificate.pem` and `directory/private_key.pem` (mode 0600), creating the
    directory and replacing earlier files. A client trusts the service by taking
    `certificate.pem` as its CA file. Raises ValueError for an empty or malformed host.
    """
    if not hosts:
        raise ValueError("at least one host is needed")
    names = [_subject_alternative_name(host) for host in hosts]
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, hosts[0][:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Utility HAN Test Tool (self-signed)"),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))  # tolerate clocks a little behind
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    certificate_path = directory / CERTIFICATE_FILE
    key_path = directory / PRIVATE_KEY_FILE
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created 0600 rather than narrowed afterwards, so the key is never readable by others.
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        os.fchmod(key_file.fileno(), 0o600)  # an existing file keeps its mode on O_CREAT
        key_file.write(key_pem)
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate_path, key_path


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TlsSetupError(f"cannot read the TLS {what} {path}: {error.strerror}") from None
    except ValueError:  # a name no file can have, e.g. with a NUL in it
        raise TlsSetupError(f"cannot read the TLS {what} {path!r}: not a valid file name") from None


def _refuse_key_password() -> bytes:
    # OpenSSL would otherwise ask for the password on the terminal of a background service.
    raise TlsSetupError("the private key is encrypted")


def server_ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """A TLS 1.2+ server context presenting `tls`'s certificate; TlsSetupError if unusable."""
    certificate_pem = _read(tls.certificate, "certificate")
    key_pem = _read(tls.private_key, "private key")
    try:
        certificates = x509.load_pem_x509_certificates(certificate_pem)
    except ValueError:
        raise TlsSetupError(
            f"the TLS certificate {tls.certificate} is not a PEM certificate"
        ) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise TlsSetupError(
            f"the TLS private key {tls.private_key} is encrypted; the service needs it"
            " unencrypted, readable only by the service's user"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsSetupError(
            f"the TLS private key {tls.private_key} is not a PEM private key"
        ) from None
    if certificates[0].public_key() != key.public_key():
        raise TlsSetupError(
            f"the TLS private key {tls.private_key} does not belong to the certificate"
            f" {tls.certificate}"
        )
    if certificates[0].not_valid_after_utc < datetime.now(UTC):
        LOGGER.warning(
            "The TLS certificate %s expired on %s",
            tls.certificate,
            certificates[0].not_valid_after_utc.isoformat(),
        )
    mode = tls.private_key.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        LOGGER.warning(
            "The TLS private key %s is readable by other users (mode %o); use 0600",
            tls.private_key,
            stat.S_IMODE(mode),
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(tls.certificate, tls.private_key, password=_refuse_key_password)
    except (ssl.SSLError, OSError) as error:
        raise TlsSetupError(
            f"the TLS certificate {tls.certificate} and key {tls.private_key} cannot be loaded:"
            f" {getattr(error, 'reason', None) or error}"
        ) from None
    return context
