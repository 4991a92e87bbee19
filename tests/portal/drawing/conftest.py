import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _settings_language():
    """Drawings use the active language; a request in an earlier test (a Spanish customer's)
    leaves its language active in the thread, so each test here starts from the settings'."""
    translation.deactivate()
    yield
    translation.deactivate()
