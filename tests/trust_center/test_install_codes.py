import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from han_gateway.install_code_crc import crc16_x25, install_code_with_crc
from trust_center.install_codes import (
    InvalidInstallCode,
    parse_install_code,
    parse_install_code_qr_text,
)


def reference_crc16_x25(data: bytes) -> int:
    # Written out bit by bit from the CRC catalogue's definition (poly 0x1021, reflected,
    # init 0xFFFF, xorout 0xFFFF) so the property tests do not check the code with itself.
    crc = 0xFFFF
    for byte in data:
        for bit in range(8):
            incoming = (byte >> bit) & 1
            top = crc & 1
            crc >>= 1
            if top ^ incoming:
                crc ^= 0x8408
    return crc ^ 0xFFFF


@pytest.mark.parametrize(
    ("install_code", "link_key"),
    [
        ("83FED3407A939723A5C639B26916D505C3B5", "66B6900981E1EE3CA4206B6B861C02BB"),
        ("11223344556677884AF7", "41618FC0C83B0E14A589954B16E31466"),
    ],
)
def test_published_vectors_give_their_link_keys(install_code, link_key):
    parsed = parse_install_code(install_code)
    assert parsed.code == bytes.fromhex(install_code)
    assert parsed.link_key_bytes == bytes.fromhex(link_key)


@pytest.mark.parametrize(
    "written",
    [
        "83fed3407a939723a5c639b26916d505c3b5",
        "83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5",
        "83-FE-D3-40-7A-93-97-23-A5-C6-39-B2-69-16-D5-05-C3-B5",
        "83:fe:d3:40:7a:93:97:23:a5:c6:39:b2:69:16:d5:05:c3:b5",
        "  83FED340.7A939723.A5C639B2.6916D505.C3B5\n",
    ],
)
def test_install_code_written_any_common_way_parses(written):
    assert parse_install_code(written).link_key_bytes.hex().upper() == (
        "66B6900981E1EE3CA4206B6B861C02BB"
    )


def test_wrong_checksum_is_reported_as_the_crc_check():
    with pytest.raises(InvalidInstallCode) as raised:
        parse_install_code("83FED3407A939723A5C639B26916D505C3B4")
    assert raised.value.check == "crc"
    assert "last 4 digits" in raised.value.message
    assert "checksum" in raised.value.message
    assert "mistyped" in raised.value.message


def test_one_mistyped_digit_in_the_payload_fails_the_crc():
    with pytest.raises(InvalidInstallCode) as raised:
        parse_install_code("83FED3407A939723A5C639B26916D515C3B5")
    assert raised.value.check == "crc"


@pytest.mark.parametrize(
    ("written", "lookalike_hint"),
    [
        ("83FED34O7A939723A5C639B26916D505C3B5", "'O' looks like '0'"),
        ("83FED3407A939723A5C639B26916D5O5C3B5", "found 'O' (digit 31)"),
        ("83FED3407A93972lA5C639B26916D505C3B5", "'l' looks like '1'"),
        ("83FED3407A93972IA5C639B26916D505C3B5", "'I' looks like '1'"),
        ("83FED3407A9397S3A5C639B26916D505C3B5", "'S' looks like '5'"),
    ],
)
def test_look_alike_characters_are_named_with_the_digit_they_resemble(written, lookalike_hint):
    with pytest.raises(InvalidInstallCode, match=re.escape(lookalike_hint)) as raised:
        parse_install_code(written)
    assert raised.value.check == "characters"


def test_other_non_hex_characters_are_reported_without_a_hint():
    with pytest.raises(InvalidInstallCode) as raised:
        parse_install_code("83FED3407A939723A5C639B26916D505C3B#")
    assert raised.value.check == "characters"
    assert "found '#'" in raised.value.message
    assert "looks like" not in raised.value.message


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("83FED3407A939723A5C639B26916D505C3", "this has 34. Is a pair missing?"),
        ("1122334455667788", None),  # 16 digits is a valid length: it fails the CRC instead
        ("11223344556677", "this has 14. Is a pair missing?"),
        ("83FED3407A939723A5C639B26916D505C3B5AA", "this has 38. Is a pair typed twice?"),
        ("83FED3407A939723A5C639B26916D505C3B", "this has 35. An odd count"),
        ("1122", "this has 4."),
        ("", "Enter the install code"),
        ("   ", "Enter the install code"),
    ],
)
def test_wrong_length_says_how_many_digits_were_found(written, expected):
    with pytest.raises(InvalidInstallCode) as raised:
        parse_install_code(written)
    if expected is None:
        assert raised.value.check == "crc"
    else:
        assert raised.value.check == "length"
        assert expected in raised.value.message
        assert "16, 20, 28 or 36" in raised.value.message


def test_the_message_never_repeats_the_code():
    typed = "83FED3407A939723A5C639B26916D505C3B4"
    with pytest.raises(InvalidInstallCode) as raised:
        parse_install_code(typed)
    assert typed.lower() not in str(raised.value).lower()


def test_repr_of_a_parsed_code_hides_the_code_and_key():
    parsed = parse_install_code("83FED3407A939723A5C639B26916D505C3B5")
    assert repr(parsed) == "InstallCode()"


def test_crc_matches_the_label_of_the_published_vector():
    assert install_code_with_crc(bytes.fromhex("1122334455667788")).hex().upper() == (
        "11223344556677884AF7"
    )
    assert crc16_x25(b"123456789") == 0x906E  # the CRC catalogue's check value


@given(payload=st.sampled_from([6, 8, 12, 16]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_any_payload_with_its_correct_crc_parses(payload):
    code = payload + reference_crc16_x25(payload).to_bytes(2, "little")
    parsed = parse_install_code(code.hex())
    assert parsed.code == code
    assert len(parsed.link_key_bytes) == 16


@given(
    payload=st.sampled_from([6, 8, 12, 16]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    flip=st.integers(min_value=1, max_value=0xFFFF),
)
def test_any_payload_with_a_wrong_crc_fails_the_crc_check(payload, flip):
    wrong_crc = reference_crc16_x25(payload) ^ flip
    with pytest.raises(InvalidInstallCode) as raised:
        parse_install_code((payload + wrong_crc.to_bytes(2, "little")).hex())
    assert raised.value.check == "crc"


@pytest.mark.parametrize(
    ("parse", "checks"),
    [
        (parse_install_code, {"characters", "length", "crc"}),
        (parse_install_code_qr_text, {"characters", "length", "crc", "qr_format"}),
    ],
    ids=["typed", "qr"],
)
@given(text=st.text())
def test_any_text_parses_or_raises_invalid_install_code(parse, checks, text):
    try:
        parse(text)
    except InvalidInstallCode as error:
        assert error.check in checks
        assert error.message


@given(text=st.text(alphabet="0123456789abcdefABCDEF :-.Oo", max_size=40))
def test_any_hex_like_text_parses_or_raises_invalid_install_code(text):
    try:
        parse_install_code(text)
    except InvalidInstallCode as error:
        assert error.check in {"characters", "length", "crc"}


# --- QR code text --------------------------------------------------------------------------


def test_qr_text_gives_eui64_install_code_and_link_key():
    scanned = parse_install_code_qr_text(
        "Z:000D6F0012345678$I:83FED3407A939723A5C639B26916D505C3B5"
    )
    assert str(scanned.eui64) == "00:0d:6f:00:12:34:56:78"
    assert scanned.install_code == bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
    assert scanned.link_key_bytes.hex().upper() == "66B6900981E1EE3CA4206B6B861C02BB"


def test_qr_text_in_the_pipe_format_parses():
    scanned = parse_install_code_qr_text("000D6F0012345678|83FED3407A939723A5C639B26916D505C3B5\n")
    assert str(scanned.eui64) == "00:0d:6f:00:12:34:56:78"
    assert scanned.link_key_bytes.hex().upper() == "66B6900981E1EE3CA4206B6B861C02BB"


def test_qr_text_carrying_the_link_key_itself_has_no_install_code():
    scanned = parse_install_code_qr_text(
        "RB01SG" + "0" * 34 + "000D6F0012345678" + "DLK" + "66B6900981E1EE3CA4206B6B861C02BB"
    )
    assert scanned.install_code is None
    assert scanned.link_key_bytes.hex().upper() == "66B6900981E1EE3CA4206B6B861C02BB"


@pytest.mark.parametrize("text", ["", "   ", "hello", "https://example.com/device/42", "Z:12$I:34"])
def test_unrecognised_qr_text_says_so(text):
    with pytest.raises(InvalidInstallCode) as raised:
        parse_install_code_qr_text(text)
    assert raised.value.check == "qr_format"
    assert raised.value.message


@pytest.mark.parametrize(
    "text",
    [
        "Z:000D6F0012345678$I:83FED3407A939723A5C639B26916D505C3B4",
        "Z:000D6F0012345678$I:11223344556677884AF8",
    ],
    ids=["128-bit code", "shorter code"],
)
def test_qr_text_with_a_bad_checksum_names_the_crc(text):
    with pytest.raises(InvalidInstallCode) as raised:
        parse_install_code_qr_text(text)
    assert raised.value.check == "crc"


@given(
    eui64=st.binary(min_size=8, max_size=8),
    payload=st.binary(min_size=16, max_size=16),
    suffix=st.text(max_size=20),
)
def test_any_well_formed_qr_text_parses_whatever_follows_it(eui64, payload, suffix):
    code = payload + reference_crc16_x25(payload).to_bytes(2, "little")
    scanned = parse_install_code_qr_text(f"Z:{eui64.hex()}$I:{code.hex()}{suffix}")
    assert scanned.install_code == code
    assert len(scanned.link_key_bytes) == 16


def test_qr_text_with_a_shorter_install_code_parses():
    scanned = parse_install_code_qr_text("Z:000D6F0012345678$I:11223344556677884AF7")
    assert str(scanned.eui64) == "00:0d:6f:00:12:34:56:78"
    assert scanned.install_code == bytes.fromhex("11223344556677884AF7")
    assert scanned.link_key_bytes.hex().upper() == "41618FC0C83B0E14A589954B16E31466"


@given(
    eui64=st.binary(min_size=8, max_size=8),
    payload=st.sampled_from([6, 8, 12]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
)
def test_any_qr_text_with_a_shorter_valid_code_parses(eui64, payload):
    code = payload + reference_crc16_x25(payload).to_bytes(2, "little")
    scanned = parse_install_code_qr_text(f"{eui64.hex()}|{code.hex()}")
    assert scanned.install_code == code
    assert scanned.link_key_bytes == parse_install_code(code.hex()).link_key_bytes
