"""Install codes typed or scanned at the utility, and the link keys derived from them.

Imports nothing of Django but its translation functions: the registration service and forms
can both use it. Every failure is an ``InvalidInstallCode`` whose ``check`` names the test that
failed, so a form can say exactly what to look at on the device's label; its message is in the
language active when it was raised (a customer's own, on their pages).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import zigpy.types as zigpy_types
import zigpy.util
from django.utils.translation import gettext

from han_gateway.install_code_crc import crc16_x25

# Sizes in bytes including the 2-byte CRC (Zigbee Smart Energy / Zigbee 3.0 install codes).
VALID_LENGTHS_IN_BYTES = (8, 10, 14, 18)
VALID_LENGTHS_IN_DIGITS = tuple(2 * length for length in VALID_LENGTHS_IN_BYTES)

_SEPARATORS = re.compile(r"[\s:\-.]")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# Characters people type when reading a printed label; B and D are real hex digits, so only
# characters that can never be hex get a hint.
_LOOKALIKES = {
    "O": "0",
    "o": "0",
    "Q": "0",
    "I": "1",
    "i": "1",
    "l": "1",
    "L": "1",
    "|": "1",
    "Z": "2",
    "z": "2",
    "S": "5",
    "s": "5",
    "G": "6",
    "T": "7",
    "g": "9",
    "q": "9",
}

Check = Literal["characters", "length", "crc", "qr_format"]


class InvalidInstallCode(ValueError):
    """The text is not a usable install code; ``check`` says which test failed.

    ``check`` is ``"characters"``, ``"length"`` or ``"crc"`` for a typed code, and
    ``"qr_format"`` for QR text this tool does not recognise.
    """

    def __init__(self, check: Check, message: str) -> None:
        super().__init__(message)
        self.check: Check = check
        self.message = message


@dataclass(frozen=True)
class InstallCode:
    """A checked install code and its link key. Neither appears in ``repr()``."""

    code: bytes = field(repr=False)
    link_key: zigpy_types.KeyData = field(repr=False)

    @property
    def link_key_bytes(self) -> bytes:
        return bytes(self.link_key)


@dataclass(frozen=True)
class ScannedInstallCode:
    """What a device's QR code carries: its EUI-64 and a link key.

    ``install_code`` is ``None`` for the formats that print the link key itself.
    """

    eui64: zigpy_types.EUI64
    install_code: bytes | None = field(repr=False)
    link_key: zigpy_types.KeyData = field(repr=False)

    @property
    def link_key_bytes(self) -> bytes:
        return bytes(self.link_key)


def _digits_of(text: str) -> str:
    return _SEPARATORS.sub("", text.strip())


def look_alike_advice(lookalikes: Iterable[tuple[str, str]]) -> str:
    """A sentence naming each character typed that looks like a hex digit, and that digit.

    Empty when there are none; otherwise it starts with a space, to follow another sentence.
    """
    hints = [
        gettext("'%(typed)s' looks like '%(meant)s'") % {"typed": typed, "meant": meant}
        for typed, meant in sorted(set(lookalikes))
    ]
    if not hints:
        return ""
    return " " + gettext("Check for look-alike characters: %(hints)s.") % {
        "hints": ", ".join(hints)
    }


def _check_characters(digits: str) -> None:
    bad = [(position, c) for position, c in enumerate(digits, start=1) if c not in _HEX_DIGITS]
    if not bad:
        return
    position, first = bad[0]
    message = gettext(
        "An install code uses only the digits 0-9 and the letters A-F; "
        "found %(character)s (digit %(position)s)."
    ) % {"character": repr(first), "position": position}
    message += look_alike_advice((c, _LOOKALIKES[c]) for _, c in bad if c in _LOOKALIKES)
    raise InvalidInstallCode("characters", message)


def _check_length(digits: str) -> None:
    count = len(digits)
    if count in VALID_LENGTHS_IN_DIGITS:
        return
    if count == 0:
        raise InvalidInstallCode(
            "length",
            gettext(
                "Enter the install code printed on the device: 16, 20, 28 or 36 hexadecimal digits."
            ),
        )
    message = gettext(
        "An install code has 16, 20, 28 or 36 hexadecimal digits, including the 4-digit "
        "checksum at the end; this has %(count)s."
    ) % {"count": count}
    if count + 2 in VALID_LENGTHS_IN_DIGITS:
        message += " " + gettext("Is a pair missing?")
    elif count - 2 in VALID_LENGTHS_IN_DIGITS:
        message += " " + gettext("Is a pair typed twice?")
    elif count % 2:
        message += " " + gettext("An odd count means a digit is missing or doubled.")
    raise InvalidInstallCode("length", message)


def parse_install_code(text: str) -> InstallCode:
    """Check a typed install code and derive its link key.

    Accepts hex in any case, with or without spaces, ``:``, ``-`` or ``.`` between groups.
    Raises ``InvalidInstallCode`` (never another exception) for anything else.
    """
    if not isinstance(text, str):
        raise InvalidInstallCode("characters", gettext("An install code must be text."))
    digits = _digits_of(text)
    _check_characters(digits)
    _check_length(digits)
    code = bytes.fromhex(digits)
    expected_crc = crc16_x25(code[:-2]).to_bytes(2, "little")
    if code[-2:] != expected_crc:
        raise InvalidInstallCode(
            "crc",
            gettext(
                "The last 4 digits of an install code are a checksum of the others, and they "
                "do not match: one of the digits is mistyped."
            ),
        )
    try:
        link_key = zigpy.util.convert_install_code(code)
    except ValueError as error:
        # Unreachable while the checks above agree with zigpy's; kept so a disagreement
        # still reaches the person as an install code problem, not a crash.
        raise InvalidInstallCode(
            "crc", gettext("The install code failed zigpy's check.")
        ) from error
    return InstallCode(code=code, link_key=link_key)


_ZIGPY_CODE_GROUP = "(?P<code>[0-9a-fA-F]{36})"


def _qr_formats() -> tuple[str, ...]:
    formats: tuple[str, ...] = zigpy.util.QR_CODE_FORMATS
    return formats


def _qr_formats_any_code_length() -> tuple[str, ...]:
    # zigpy's patterns accept only 18-byte codes; Smart Energy devices also print 8, 10 and
    # 14-byte ones in the same layouts.
    return tuple(
        pattern.replace(_ZIGPY_CODE_GROUP, "(?P<code>[0-9a-fA-F]{16,36})")
        for pattern in _qr_formats()
        if _ZIGPY_CODE_GROUP in pattern
    )


def _unrecognised_qr_text() -> InvalidInstallCode:
    return InvalidInstallCode(
        "qr_format",
        gettext(
            "This QR code text is not in a format this tool recognises (for example "
            "'Z:<EUI-64>$I:<install code>'). Type the EUI-64 and install code instead."
        ),
    )


def _parse_shorter_code_qr_text(text: str) -> ScannedInstallCode:
    for pattern in _qr_formats_any_code_length():
        match = re.search(pattern, text)
        if match is None:
            continue
        install_code = parse_install_code(match.group("code"))
        return ScannedInstallCode(
            eui64=zigpy_types.EUI64.convert(match.group("ieee")),
            install_code=install_code.code,
            link_key=install_code.link_key,
        )
    raise _unrecognised_qr_text()


def parse_install_code_qr_text(text: str) -> ScannedInstallCode:
    """Read the EUI-64, install code and link key from pasted or scanned QR code text.

    Understands the vendor formats zigpy knows (``Z:<eui64>$I:<code>``, Aqara, Bosch,
    Philips Hue, ``<eui64>|<code>``), with install codes of any valid length. Raises
    ``InvalidInstallCode``: ``check="qr_format"`` for text in no known format, or the install
    code's own check when the embedded code is bad.
    """
    if not isinstance(text, str):
        raise InvalidInstallCode("qr_format", gettext("QR code text must be text."))
    stripped = text.strip()
    if not stripped:
        raise InvalidInstallCode(
            "qr_format", gettext("Paste or scan the text of the device's QR code.")
        )

    install_code: bytes | None = None
    for pattern in _qr_formats():
        match = re.search(pattern, stripped)
        if match is None:
            continue
        embedded_code = match.groupdict().get("code")
        if embedded_code is not None:
            # Our own parse first, so a bad checksum is reported as such, not as "unknown".
            install_code = parse_install_code(embedded_code).code
        break
    else:
        return _parse_shorter_code_qr_text(stripped)

    try:
        eui64, link_key = zigpy.util.parse_install_code_qr(stripped)
    except (ValueError, AssertionError) as error:
        raise _unrecognised_qr_text() from error
    return ScannedInstallCode(eui64=eui64, install_code=install_code, link_key=link_key)
