import pytest
from cryptography.fernet import Fernet

from trust_center.crypto import KEYS_VARIABLE


@pytest.fixture(autouse=True)
def encryption_key(monkeypatch):
    """A fresh key for each test, so no test depends on the development fallback by accident."""
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(KEYS_VARIABLE, key)
    return key
