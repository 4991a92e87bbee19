"""OTA file versions: read as an administrator types them, written as the manufacturer does."""

import pytest

from han_gateway.firmware import OtaVersionError, ota_version_from_text, ota_version_text


@pytest.mark.parametrize(
    ("text", "scheme", "value"),
    [
        ("2.1.7", "bytes", 0x02010700),
        ("1.2", "bytes", 0x01020000),
        ("1.2.0", "bytes", 0x01020000),  # the same release as "1.2", not a newer one
        ("1.2.0.9", "bytes", 0x01020009),
        ("0x02010700", "bytes", 0x02010700),
        ("33621760", "bytes", 0x02010700),
        ("app 2.1, stack 7.0", "stack", 0x02010700),
        ("82", "number", 82),
        (" 0xFFFFFFFF ", "number", 0xFFFFFFFF),
    ],
)
def test_a_typed_version_reads_as_its_file_version(text, scheme, value):
    assert ota_version_from_text(text, scheme) == value


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("1.256.0", "bytes"),
        ("1.2.3.4.5", "bytes"),
        ("0x100000000", "number"),
        ("4294967296", "number"),
        ("LCR6601S-1.6.2", "bytes"),
        ("", "bytes"),
        ("app 2.1", "stack"),
        ("2.1.7", "number"),
    ],
)
def test_text_that_is_not_a_file_version_is_refused_with_the_expected_form(text, scheme):
    with pytest.raises(OtaVersionError, match="not an OTA file version"):
        ota_version_from_text(text, scheme)


@pytest.mark.parametrize(
    ("value", "scheme", "text"),
    [
        (0x02010700, "bytes", "2.1.7 (0x02010700)"),
        (0x01020009, "bytes", "1.2.0.9 (0x01020009)"),
        (0x02010700, "stack", "app 2.1, stack 7.0 (0x02010700)"),
        (82, "number", "82 (0x00000052)"),
    ],
)
def test_a_file_version_is_written_in_the_manufacturers_scheme_with_its_number(value, scheme, text):
    assert ota_version_text(value, scheme) == text
