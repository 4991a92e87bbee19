"""Install codes and QR texts from hostile hands: only ``InvalidInstallCode``, never a crash.

What the Trust Center accepts must also be what zigpy accepts, with the same link key: a code
that passes here and fails at the radio would strand a device at the meter.
"""

import time
from collections.abc import Callable
from typing import TypeVar

import pytest
import zigpy.types as zigpy_types
import zigpy.util
from hypothesis import given
from hypothesis import strategies as st

from han_gateway.install_code_crc import crc16_x25, install_code_with_crc
from tests.conftest import repeatable_examples
from trust_center.install_codes import (
    VALID_LENGTHS_IN_BYTES,
    InstallCode,
    InvalidInstallCode,
    ScannedInstallCode,
    parse_install_code,
    parse_install_code_qr_text,
)

T = TypeVar("T")
FUZZ = repeatable_examples(400)

TYPED_CHECKS = {"characters", "length", "crc"}
QR_CHECKS = TYPED_CHECKS | {"qr_format"}

# Text as it arrives from a label, a scanner or a paste: look-alike letters, full-width and
# other scripts' digits, control characters, NUL and lone surrogates included.
hostile_text = st.text(max_size=80) | st.text(
    st.characters(categories=["Nd", "Cs", "Cc", "Zs", "Lu", "Ll"])
    | st.sampled_from("0123456789abcdefABCDEF:-.$|OolIS\x00\uff10\uff21"),
    max_size=60,
)
not_text = st.none() | st.integers() | st.binary(max_size=20) | st.lists(st.integers(), max_size=3)
payloads = st.sampled_from([length - 2 for length in VALID_LENGTHS_IN_BYTES]).flatmap(
    lambda size: st.binary(min_size=size, max_size=size)
)
eui64s = st.binary(min_size=8, max_size=8)


def _written(code: bytes, draw_style: tuple[str, int, bool]) -> str:
    """A code as a person or a label might write it: grouped, separated, in either case."""
    separator, group, upper = draw_style
    digits = code.hex().upper() if upper else code.hex()
    groups = [digits[start : start + group] for start in range(0, len(digits), group)]
    return separator.join(groups)


styles = st.tuples(
    st.sampled_from(["", " ", "-", ":", ".", "  "]), st.sampled_from([2, 4, 8]), st.booleans()
)


def _parsed_or_refused(parse: Callable[[str], T], text: str, checks: set[str]) -> T | None:
    """What ``parse`` makes of ``text``, or None when it refused it as it may: with an
    InvalidInstallCode naming one of ``checks`` and saying why in a few words."""
    try:
        return parse(text)
    except InvalidInstallCode as error:
        assert error.check in checks
        assert error.message and len(error.message) < 400
        return None


# -- typed install codes -----------------------------------------------------------------------


def _a_whole_install_code(parsed: object) -> bool:
    return isinstance(parsed, InstallCode) and len(parsed.code) in VALID_LENGTHS_IN_BYTES


def _a_scanned_install_code(parsed: object) -> bool:
    return isinstance(parsed, ScannedInstallCode)


@pytest.mark.parametrize(
    ("parse", "checks", "is_whole"),
    [
        (parse_install_code, TYPED_CHECKS, _a_whole_install_code),
        (parse_install_code_qr_text, QR_CHECKS, _a_scanned_install_code),
    ],
    ids=["typed", "qr"],
)
@FUZZ
@given(text=hostile_text)
def test_any_text_is_parsed_whole_or_refused_with_invalid_install_code(
    parse, checks, is_whole, text
):
    parsed = _parsed_or_refused(parse, text, checks)
    assert parsed is None or is_whole(parsed), parsed


@pytest.mark.parametrize(
    ("parse", "check"),
    [(parse_install_code, "characters"), (parse_install_code_qr_text, "qr_format")],
    ids=["typed", "qr"],
)
@FUZZ
@given(value=not_text)
def test_anything_but_text_is_invalid_install_code(parse, check, value):
    with pytest.raises(InvalidInstallCode) as error:
        parse(value)
    assert error.value.check == check


@FUZZ
@given(payload=payloads, style=styles)
def test_a_valid_code_written_any_way_gives_zigpys_link_key(payload, style):
    code = install_code_with_crc(payload)
    parsed = parse_install_code(_written(code, style))
    assert parsed.code == code
    assert parsed.link_key == zigpy.util.convert_install_code(code)


@FUZZ
@given(payload=payloads, checksum=st.binary(min_size=2, max_size=2))
def test_the_checksum_check_agrees_with_zigpys(payload, checksum):
    code = payload + checksum
    try:
        zigpy_key = zigpy.util.convert_install_code(code)
    except ValueError:
        with pytest.raises(InvalidInstallCode) as error:
            parse_install_code(code.hex())
        assert error.value.check == "crc"
        return
    assert parse_install_code(code.hex()).link_key == zigpy_key


@FUZZ
@given(size=st.integers(min_value=0, max_value=40), filler=st.sampled_from("0aF"))
def test_a_code_of_any_length_is_accepted_only_at_the_valid_lengths(size, filler):
    try:
        parse_install_code(filler * size)
    except InvalidInstallCode as error:
        assert error.check in {"length", "crc"}
        assert (error.check == "crc") == (size in (2 * n for n in VALID_LENGTHS_IN_BYTES))


@pytest.mark.parametrize("text", ["F" * 1_000_000, "Z" * 1_000_000, "0" * 999_999])
def test_a_huge_code_is_refused_quickly_with_a_short_message(text):
    started = time.monotonic()
    with pytest.raises(InvalidInstallCode) as error:
        parse_install_code(text)
    assert time.monotonic() - started < 2
    assert len(error.value.message) < 400


@FUZZ
@given(payload=payloads)
def test_the_error_never_repeats_the_code(payload):
    code = install_code_with_crc(payload)
    broken = code[:-1] + bytes([code[-1] ^ 0x01])
    with pytest.raises(InvalidInstallCode) as error:
        parse_install_code(broken.hex())
    assert broken.hex() not in error.value.message.lower()
    assert crc16_x25(payload) != int.from_bytes(broken[-2:], "little")


# -- QR code text ------------------------------------------------------------------------------


def _qr_texts(eui64: bytes, code: bytes) -> list[str]:
    """Each vendor layout zigpy knows, for one device."""
    ieee = eui64.hex().upper()
    digits = code.hex().upper()
    return [
        f"{ieee}|{digits}",
        f"Z:{ieee}$I:{digits}",
        f"Z:{ieee}$I:{digits}%G$M:EXAMPLE-1",
        f"X:FOO$A:{ieee}$I:{digits}",
        f"RB01SG{'0' * 34}{ieee}DLK{digits}",
        f"HUE:Z:{digits} M:{ieee} D:XYZ",
    ]


@FUZZ
@given(eui64=eui64s, payload=st.binary(min_size=16, max_size=16), layout=st.integers(0, 5))
def test_qr_text_in_any_layout_gives_what_zigpy_reads(eui64, payload, layout):
    code = install_code_with_crc(payload)
    text = _qr_texts(eui64, code)[layout]
    scanned = parse_install_code_qr_text(text)
    zigpy_eui64, zigpy_key = zigpy.util.parse_install_code_qr(text)
    assert scanned.eui64 == zigpy_eui64
    assert scanned.link_key == zigpy_key
    assert scanned.install_code == code


@FUZZ
@given(
    eui64=eui64s,
    payload=st.sampled_from([6, 8, 12]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    layout=st.integers(0, 5),
)
def test_qr_text_with_a_shorter_code_gives_zigpys_link_key_for_it(eui64, payload, layout):
    code = install_code_with_crc(payload)
    scanned = parse_install_code_qr_text(_qr_texts(eui64, code)[layout])
    assert scanned.install_code == code
    assert scanned.link_key == zigpy.util.convert_install_code(code)
    assert bytes(scanned.eui64) in (eui64[::-1], eui64)  # EUI64 holds its bytes reversed
    assert scanned.eui64 == zigpy_types.EUI64.convert(eui64.hex())


@FUZZ
@given(
    eui64=eui64s,
    payload=payloads,
    layout=st.integers(0, 5),
    prefix=hostile_text,
    suffix=hostile_text,
)
def test_garbage_around_a_qr_text_is_scanned_or_invalid_install_code(
    eui64, payload, layout, prefix, suffix
):
    text = prefix + _qr_texts(eui64, install_code_with_crc(payload))[layout] + suffix
    scanned = _parsed_or_refused(parse_install_code_qr_text, text, QR_CHECKS)
    if scanned is not None:
        assert len(scanned.link_key_bytes) == 16


@pytest.mark.parametrize(
    "text",
    [
        "Z:" + "0" * 16 + "$I:" + "F" * 1_000_000,
        "$A:" * 300_000,
        "RB01SG" + "0" * 1_000_000,
        "HUE:Z:" + "A" * 1_000_000 + " M:" + "0" * 16,
        ("0" * 16 + "|") * 60_000,
    ],
)
def test_a_huge_qr_text_is_answered_quickly(text):
    started = time.monotonic()
    with pytest.raises(InvalidInstallCode):
        parse_install_code_qr_text(text)
    assert time.monotonic() - started < 2
