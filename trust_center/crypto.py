"""Encryption at rest for install codes, link keys and gateway secrets.

Keys come from ``HAN_ENCRYPTION_KEYS``: comma-separated Fernet keys, newest first. New values
are encrypted with the first key; any listed key decrypts, so a key can be rotated in by
putting it first, running ``manage.py rotate_encryption_key``, then dropping the old one.

With the variable unset and ``DJANGO_DEBUG`` on (the embedded default) a development key is
derived from ``SECRET_KEY`` so that ``make run`` needs no set-up; with ``DJANGO_DEBUG`` off
the portal refuses to encrypt or decrypt anything until keys are configured.
"""

import base64
import functools
import hashlib
import hmac
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEYS_VARIABLE = "HAN_ENCRYPTION_KEYS"
_DEVELOPMENT_KEY_SALT = b"utility-han-test-tool/trust_center"
_DEVELOPMENT_KEY_INFO = b"development encryption key for secrets at rest"


class SecretUnreadable(Exception):
    """A stored secret decrypts with none of the configured keys (wrong or missing key)."""


def _debug_flag_from_environment() -> bool:
    # The operator's DJANGO_DEBUG, parsed as portal.settings parses it. settings.DEBUG is not
    # used because test runners force it off; what matters is how the portal was deployed.
    value = os.environ.get("DJANGO_DEBUG")
    if value is None or value == "":
        return True
    return value.strip().lower() in {"1", "true", "yes", "on"}


def development_key(secret_key: str) -> bytes:
    """The Fernet key derived from ``SECRET_KEY`` when no keys are configured in development."""
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=_DEVELOPMENT_KEY_SALT,
        info=_DEVELOPMENT_KEY_INFO,
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


@functools.lru_cache(maxsize=8)
def _fernets(keys_text: str, secret_key: str, debug: bool) -> tuple[Fernet, ...]:
    written_keys = [key.strip() for key in keys_text.split(",") if key.strip()]
    if not written_keys:
        if not debug:
            raise ImproperlyConfigured(
                f"{KEYS_VARIABLE} must be set when DJANGO_DEBUG is off: comma-separated Fernet "
                "keys, newest first. Make one with: python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())'"
            )
        return (Fernet(development_key(secret_key)),)
    fernets = []
    for position, key in enumerate(written_keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError as error:
            # The key itself is never echoed: the message may end up in a log.
            raise ImproperlyConfigured(
                f"{KEYS_VARIABLE}: key {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from error
    return tuple(fernets)


def _configured_fernets() -> tuple[Fernet, ...]:
    # Read on every call (and cached by value) so a changed environment takes effect at once.
    return _fernets(
        os.environ.get(KEYS_VARIABLE, ""), settings.SECRET_KEY, _debug_flag_from_environment()
    )


def keyring() -> MultiFernet:
    """All configured keys; raises ``ImproperlyConfigured`` when production has none."""
    return MultiFernet(list(_configured_fernets()))


def newest_key() -> Fernet:
    """The key new values are encrypted with (the first configured one)."""
    return _configured_fernets()[0]


def configuration_problem() -> str | None:
    """Why secrets cannot be encrypted with the current environment, or None when they can."""
    try:
        keyring()
    except ImproperlyConfigured as error:
        return str(error)
    return None


def encrypt_text(plaintext: str) -> str:
    """Encrypt with the newest key; the result is an ASCII Fernet token, safe to store."""
    return keyring().encrypt(plaintext.encode()).decode("ascii")


def decrypt_text(ciphertext: str) -> str:
    """Decrypt a token made by ``encrypt_text`` with any configured key."""
    try:
        return keyring().decrypt(ciphertext.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as error:
        raise SecretUnreadable(
            f"A stored secret cannot be decrypted with the keys in {KEYS_VARIABLE}."
        ) from error


def encrypt_bytes(plaintext: bytes) -> str:
    """Encrypt binary secrets (install codes, link keys) as their hex text."""
    return encrypt_text(plaintext.hex())


def decrypt_bytes(ciphertext: str) -> bytes:
    return bytes.fromhex(decrypt_text(ciphertext))


def ciphertext_is_current(ciphertext: str) -> bool:
    """True when the token was made with the newest key, so rotating it would change nothing."""
    try:
        newest_key().decrypt(ciphertext.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def ciphertext_rotate(ciphertext: str) -> str:
    """Re-encrypt a token under the newest key; raises ``SecretUnreadable`` if no key reads it."""
    try:
        return keyring().rotate(ciphertext.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as error:
        raise SecretUnreadable(
            f"A stored secret cannot be decrypted with the keys in {KEYS_VARIABLE}."
        ) from error


def secret_sha256(secret: str) -> str:
    """The SHA-256 hex of a gateway secret: all the gateway service's configuration holds."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches_sha256(secret: str, expected_sha256: str) -> bool:
    """Compare a presented secret with a stored SHA-256 hex in constant time."""
    return hmac.compare_digest(secret_sha256(secret), expected_sha256.strip().lower())
