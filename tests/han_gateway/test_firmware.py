"""One firmware comparison for the diagnosis and the Trust Center."""

import pytest

from han_gateway.firmware import firmware_meets_minimum


@pytest.mark.parametrize(
    ("firmware", "minimum", "meets"),
    [
        ("1.1.7", "1.1.7", True),
        ("1.2", "1.1.7", True),
        ("1.2", "1.2.0", True),
        ("1.2.0", "1.2", True),
        ("1.2", "1.2.1", False),
        ("1.1.6", "1.1.7", False),
        ("2.0.0", "10.0", False),
        ("v3.4 build 12", "3.4", True),
        ("", "1.0", None),
    ],
)
def test_firmware_versions_compare_by_their_numbers(firmware, minimum, meets):
    assert firmware_meets_minimum(firmware_version=firmware, minimum_firmware=minimum) is meets
