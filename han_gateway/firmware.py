"""Firmware versions as devices report them and the utility's approved list writes them.

One comparison for the whole project: by the numbers in each version, missing trailing parts
counting as zero, so "1.2" is the same release as "1.2.0". Imports no Django.
"""

import re

_VERSION_PARTS = re.compile(r"\d+")


def firmware_meets_minimum(*, firmware_version: str, minimum_firmware: str) -> bool | None:
    """Whether the firmware is at least the minimum; None when either has no numbers."""
    have = [int(part) for part in _VERSION_PARTS.findall(firmware_version)]
    need = [int(part) for part in _VERSION_PARTS.findall(minimum_firmware)]
    if not have or not need:
        return None
    width = max(len(have), len(need))
    return have + [0] * (width - len(have)) >= need + [0] * (width - len(need))
