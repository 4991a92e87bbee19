"""EUI-64 (IEEE MAC) parsing shared by forms, the API and the models. Imports no Django."""

import re
from typing import Final, Literal

import zigpy.types as zigpy_types

EUI64_SEPARATORS: Final = r"\s:.\-"
"""What may stand between an EUI-64's digits (the inside of a regular expression's character
class)."""
_SEPARATORS = re.compile(f"[{EUI64_SEPARATORS}]")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_LOOKALIKES = {"O": "0", "o": "0", "I": "1", "l": "1", "S": "5", "G": "6", "B": "8"}


Problem = Literal["not_text", "empty", "characters", "length"]


class InvalidEUI64(ValueError):
    """The text is not an EUI-64; the message says why in words a person can act on.

    ``problem`` names the test that failed, and ``character``, ``count`` and ``lookalikes``
    hold its facts, so that a caller with a translation catalogue can say the same in the
    reader's language.
    """

    def __init__(
        self,
        message: str,
        *,
        problem: Problem,
        character: str = "",
        count: int = 0,
        lookalikes: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.problem: Problem = problem
        self.character = character
        self.count = count
        self.lookalikes = lookalikes


def parse_eui64(text: str) -> zigpy_types.EUI64:
    """Parse an EUI-64 written with or without ``:``, ``-``, ``.`` or spaces between bytes."""
    if not isinstance(text, str):
        raise InvalidEUI64("An EUI-64 must be text.", problem="not_text")
    digits = _SEPARATORS.sub("", text.strip())
    if not digits:
        raise InvalidEUI64(
            "Enter the device's EUI-64 (MAC): 16 hexadecimal digits.", problem="empty"
        )
    bad = [character for character in digits if character not in _HEX_DIGITS]
    if bad:
        lookalikes = tuple(sorted({(c, _LOOKALIKES[c]) for c in bad if c in _LOOKALIKES}))
        message = f"An EUI-64 uses only the digits 0-9 and letters A-F; found {bad[0]!r}."
        if lookalikes:
            message += " Check for look-alike characters: " + ", ".join(
                f"'{typed}' looks like '{meant}'" for typed, meant in lookalikes
            )
            message += "."
        raise InvalidEUI64(message, problem="characters", character=bad[0], lookalikes=lookalikes)
    if len(digits) != 16:
        missing = " (is a pair missing?)" if len(digits) < 16 else ""
        raise InvalidEUI64(
            f"An EUI-64 has 16 hexadecimal digits; this has {len(digits)}{missing}.",
            problem="length",
            count=len(digits),
        )
    return zigpy_types.EUI64.convert(digits)


def normalise_eui64(text: str) -> str:
    """The canonical form stored and shown everywhere: lower-case bytes joined by colons."""
    return str(parse_eui64(text))


def mask_eui64(eui64: str) -> str:
    """Keep only the last two bytes: enough to tell a customer's devices apart on the phone."""
    return ":".join(["••"] * 6 + eui64.split(":")[6:])
