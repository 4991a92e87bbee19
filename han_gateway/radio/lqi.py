"""Link quality (LQI, 0-255) on each chip family's scale.

The 802.15.4 standard leaves LQI to the chip: a Silicon Labs EFR32 (EmberZNet, ``ezsp``) reports
a link it still carries reliably far higher than a TI CC26xx (Z-Stack, ``znp``) does. Each family
has the two limits the diagnosis uses (below ``weak``: unreliable; below ``unreachable``: beyond
reach); the generic scale (100 and 40) is the one scenarios are written on and other radios use.
An emulated coordinator reports a scenario's link quality on its chip's scale, piecewise linear
through 0, the two limits and 255, so a link is weak, or out of reach, on every radio alike.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from typing import Final


@dataclasses.dataclass(frozen=True)
class LqiLimits:
    weak: int  # below: an unreliable link
    unreachable: int  # below: beyond reach


GENERIC_LIMITS: Final = LqiLimits(weak=100, unreachable=40)
CHIP_LIMITS: Final[Mapping[str, LqiLimits]] = {
    "ezsp": LqiLimits(weak=150, unreachable=60),
    "znp": LqiLimits(weak=50, unreachable=20),
}


def on_chip_scale(radio: str, lqi: int) -> int:
    """``lqi`` on the generic scale as ``radio``'s chip family reports the same link."""
    chip = CHIP_LIMITS.get(radio)
    if chip is None:
        return lqi
    anchors = (
        (0, 0),
        (GENERIC_LIMITS.unreachable, chip.unreachable),
        (GENERIC_LIMITS.weak, chip.weak),
        (255, 255),
    )
    for (low, low_chip), (high, high_chip) in itertools.pairwise(anchors):
        if lqi <= high:
            # Rounded down: a link just below a limit stays below the chip's.
            return low_chip + (lqi - low) * (high_chip - low_chip) // (high - low)
    return 255
