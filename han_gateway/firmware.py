"""Firmware as the Zigbee OTA Upgrade cluster states it: a 32-bit file version.

A device's OTA Upgrade cluster (0x0019) reports ``CurrentFileVersion``, the version of the
image it runs; an OTA server offers an image when its file version is greater. That number is
what the diagnosis compares with the approved minimum. The Basic cluster's ``SWBuildID`` is
free text ("LCR6601S-1.6.2") and is only shown, never compared.

Manufacturers write the same 32 bits differently for people, so each approved model names a
scheme that turns the number into text and back:

- ``bytes``: the four bytes are major.minor.patch.build (0x02010700 is 2.1.7; a zero build is
  left out);
- ``stack``: the Zigbee specification's recommended layout, application release and build then
  stack release and build (0x02010700 is "app 2.1, stack 7.0");
- ``number``: one build number (0x00000052 is 82).

Imports no Django.
"""

import enum
import re

OTA_FILE_VERSION_MAX = 0xFFFF_FFFF
_NUMBER = re.compile(r"(?:0x[0-9a-f]{1,8}|\d{1,10})", re.IGNORECASE)
_PARTS = re.compile(r"\d{1,3}(?:\.\d{1,3}){0,3}")
_STACK = re.compile(r"app\s+(\d{1,3})\.(\d{1,3}),\s*stack\s+(\d{1,3})\.(\d{1,3})", re.IGNORECASE)


class OtaVersionScheme(enum.StrEnum):
    BYTES = "bytes"
    STACK = "stack"
    NUMBER = "number"

    @property
    def label(self) -> str:
        """The scheme shown by what it makes of one file version."""
        return f"{self.value}: 0x{_EXAMPLE:08X} reads {ota_version_name(_EXAMPLE, self)}"


_EXAMPLE = 0x02010700


class OtaVersionError(ValueError):
    """Text that is not an OTA file version in the scheme named."""


def _bytes_of(value: int) -> tuple[int, int, int, int]:
    return (value >> 24) & 0xFF, (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def ota_version_name(value: int, scheme: OtaVersionScheme | str = OtaVersionScheme.BYTES) -> str:
    """The file version as the manufacturer writes it for people."""
    first, second, third, fourth = _bytes_of(value)
    scheme = OtaVersionScheme(scheme)
    if scheme is OtaVersionScheme.BYTES:
        return ".".join(str(part) for part in [first, second, third] + ([fourth] if fourth else []))
    if scheme is OtaVersionScheme.STACK:
        return f"app {first}.{second}, stack {third}.{fourth}"
    return str(value)


def ota_version_text(value: int, scheme: OtaVersionScheme | str = OtaVersionScheme.BYTES) -> str:
    """The manufacturer's name for the file version, with the number itself in hex."""
    return f"{ota_version_name(value, scheme)} (0x{value:08X})"


def ota_version_from_text(text: str, scheme: OtaVersionScheme | str) -> int:
    """Read a version an administrator typed: the number itself (``0x02010700`` or decimal),
    or the scheme's own form (``2.1.7``, ``app 2.1, stack 7.0``, ``82``)."""
    cleaned = text.strip()
    scheme = OtaVersionScheme(scheme)
    value: int | None = None
    if scheme is OtaVersionScheme.BYTES and _PARTS.fullmatch(cleaned) and "." in cleaned:
        parts = [int(part) for part in cleaned.split(".")]
        if all(part <= 0xFF for part in parts):
            first, second, third, fourth = [*parts, 0, 0, 0][:4]
            value = (first << 24) | (second << 16) | (third << 8) | fourth
    elif scheme is OtaVersionScheme.STACK and (match := _STACK.fullmatch(cleaned)):
        parts = [int(part) for part in match.groups()]
        if all(part <= 0xFF for part in parts):
            value = (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]
    elif _NUMBER.fullmatch(cleaned):
        value = int(cleaned, 0) if cleaned.lower().startswith("0x") else int(cleaned)
    if value is None or not 0 <= value <= OTA_FILE_VERSION_MAX:
        raise OtaVersionError(
            f"{text!r} is not an OTA file version: give the number (e.g. 0x02010700) or "
            f"the scheme's form ({scheme.label})"
        )
    return value
