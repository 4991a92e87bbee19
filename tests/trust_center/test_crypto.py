import hashlib

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from trust_center import crypto
from trust_center.crypto import KEYS_VARIABLE


def test_encrypted_text_is_a_token_that_decrypts_to_the_plaintext():
    ciphertext = crypto.encrypt_text("gateway-secret-value")
    assert "gateway-secret-value" not in ciphertext
    assert ciphertext.startswith("gAAAAA")  # a Fernet token
    assert crypto.decrypt_text(ciphertext) == "gateway-secret-value"


def test_the_same_plaintext_encrypts_differently_each_time():
    assert crypto.encrypt_text("same") != crypto.encrypt_text("same")


def test_bytes_round_trip():
    link_key = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
    assert crypto.decrypt_bytes(crypto.encrypt_bytes(link_key)) == link_key


def test_the_first_key_encrypts_and_any_listed_key_decrypts(monkeypatch, encryption_key):
    old_token = crypto.encrypt_text("made with the old key")
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv(KEYS_VARIABLE, f"{new_key}, {encryption_key}")

    assert crypto.decrypt_text(old_token) == "made with the old key"
    new_token = crypto.encrypt_text("made with the new key")
    assert Fernet(new_key).decrypt(new_token.encode()) == b"made with the new key"
    assert crypto.ciphertext_is_current(new_token)
    assert not crypto.ciphertext_is_current(old_token)


def test_a_token_from_a_key_no_longer_listed_is_unreadable(monkeypatch):
    token = crypto.encrypt_text("hunter2-plaintext")
    monkeypatch.setenv(KEYS_VARIABLE, Fernet.generate_key().decode())
    with pytest.raises(crypto.SecretUnreadable) as raised:
        crypto.decrypt_text(token)
    assert "hunter2" not in str(raised.value)
    assert KEYS_VARIABLE in str(raised.value)


def test_development_key_is_derived_from_the_secret_key_when_none_is_configured(
    monkeypatch, settings
):
    monkeypatch.delenv(KEYS_VARIABLE)
    monkeypatch.delenv("DJANGO_DEBUG", raising=False)
    token = crypto.encrypt_text("works with no set-up")

    # Deterministic: another process with the same SECRET_KEY reads it.
    assert Fernet(crypto.development_key(settings.SECRET_KEY)).decrypt(token.encode()) == (
        b"works with no set-up"
    )
    assert crypto.development_key(settings.SECRET_KEY) == crypto.development_key(
        settings.SECRET_KEY
    )
    assert crypto.development_key("another secret key") != crypto.development_key(
        settings.SECRET_KEY
    )


def test_production_without_keys_refuses_clearly(monkeypatch):
    monkeypatch.delenv(KEYS_VARIABLE)
    monkeypatch.setenv("DJANGO_DEBUG", "0")
    with pytest.raises(ImproperlyConfigured, match=f"{KEYS_VARIABLE} must be set"):
        crypto.encrypt_text("anything")
    assert KEYS_VARIABLE in (crypto.configuration_problem() or "")


def test_deploy_check_reports_missing_keys_in_production(monkeypatch):
    monkeypatch.delenv(KEYS_VARIABLE)
    monkeypatch.setenv("DJANGO_DEBUG", "off")
    errors = [m for m in run_checks(include_deployment_checks=True) if m.id == "trust_center.E001"]
    assert len(errors) == 1


def test_deploy_check_passes_with_keys_configured():
    errors = [m for m in run_checks(include_deployment_checks=True) if m.id == "trust_center.E001"]
    assert errors == []


def test_production_with_keys_needs_no_debug(monkeypatch, encryption_key):
    monkeypatch.setenv("DJANGO_DEBUG", "0")
    assert crypto.decrypt_text(crypto.encrypt_text("ok")) == "ok"


def test_a_malformed_key_is_refused_without_echoing_it(monkeypatch, encryption_key):
    monkeypatch.setenv(KEYS_VARIABLE, f"{encryption_key},not-a-real-fernet-key")
    with pytest.raises(ImproperlyConfigured) as raised:
        crypto.encrypt_text("anything")
    assert "key 2 is not a Fernet key" in str(raised.value)
    assert "not-a-real-fernet-key" not in str(raised.value)


def test_secret_sha256_is_the_hex_digest_the_gateway_service_stores():
    assert crypto.secret_sha256("abc") == hashlib.sha256(b"abc").hexdigest()
    assert crypto.secret_matches_sha256("abc", hashlib.sha256(b"abc").hexdigest().upper())
    assert not crypto.secret_matches_sha256("abd", hashlib.sha256(b"abc").hexdigest())
