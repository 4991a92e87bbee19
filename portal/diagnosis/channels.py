"""Channel health: is a HAN's channel busy, which quiet channels could it move to, and when are
its weak links the channel's power limit rather than distance.

Plain functions over plain numbers, no ORM. The figures come from an energy scan that samples
every channel several times: a channel's peak (its highest sample) catches bursty Wi-Fi that
one short sample misses; its mean tells a burst from a steady load. The words of the finding
are the rule's (``channel_interference`` in ``rules.py``); the thresholds are in
``docs/DIAGNOSIS.md``.
"""

from collections.abc import Collection, Mapping, Sequence
from typing import Final

from han_gateway.protocol import ZIGBEE_CHANNELS
from han_gateway.zigbee_ids import POWER_CUT_CHANNEL

# The channels the Smart Energy profile prefers for a HAN.
SMART_ENERGY_PREFERRED_CHANNELS: Final = (11, 14, 15, 19, 20, 24, 25)

# The Wi-Fi channels homes use (1, 6 and 11, 22 MHz wide) and the Zigbee channels under each.
WIFI_OVER_ZIGBEE: Final[Mapping[int, tuple[int, ...]]] = {
    1: (11, 12, 13, 14),
    6: (16, 17, 18, 19),
    11: (21, 22, 23, 24),
}

# Radios often cut their transmit power on channel 25 too: no place for a HAN that left 26.
OFTEN_POWER_CUT_CHANNELS: Final = (25,)


def wifi_over(channel: int) -> int | None:
    """The Wi-Fi channel (1, 6 or 11) over a Zigbee channel; None for one in a gap."""
    return next((wifi for wifi, covered in WIFI_OVER_ZIGBEE.items() if channel in covered), None)


def wifi_position(channel: int) -> str:
    """Where a Zigbee channel sits among Wi-Fi 1, 6 and 11, e.g. "under Wi-Fi 6"."""
    wifi = wifi_over(channel)
    if wifi is not None:
        return f"under Wi-Fi {wifi}"
    below = [wifi for wifi, covered in WIFI_OVER_ZIGBEE.items() if covered[-1] < channel]
    above = [wifi for wifi, covered in WIFI_OVER_ZIGBEE.items() if covered[0] > channel]
    if below and above:
        return f"between Wi-Fi {below[-1]} and {above[0]}"
    if below:
        return f"above Wi-Fi {below[-1]}"
    return f"below Wi-Fi {above[0]}"


def neighbours(channel: int) -> tuple[int, ...]:
    """The channels either side, 5 MHz away: strong traffic there bleeds into `channel`."""
    return tuple(other for other in (channel - 1, channel + 1) if other in ZIGBEE_CHANNELS)


def busy_near(channel: int, peak: Mapping[int, int], *, busy: int) -> list[int]:
    """The channel itself and its neighbours whose peak is above `busy`, the channel first."""
    return [each for each in (channel, *neighbours(channel)) if peak.get(each, 0) > busy]


def access_failures(counters: Mapping[str, int] | None) -> tuple[int, int] | None:
    """From the coordinator stack's counters over a scan (EmberZNet's names): how many of its
    clear-channel assessments found the channel busy, out of how many it made (one clear one per
    frame it put on the air, and each busy one); None when the radio keeps no counters."""
    if counters is None:
        return None
    failed = counters.get("phy_cca_fail_count", 0)
    frames = sum(
        counters.get(name, 0)
        for name in (
            "mac_tx_broadcast",
            "mac_tx_unicast_success",
            "mac_tx_unicast_retry",
            "mac_tx_unicast_failed",
        )
    )
    return failed, failed + frames


def energy_reading(peak: int, mean: int, samples: int, *, busy: int) -> str:
    """A channel's energy as sampled, e.g. "energy peak 232/255, mean 90 over 6 samples, in
    bursts" (busy at its peak only)."""
    if samples <= 1:
        return f"energy {peak}/255"
    bursts = ", in bursts" if mean <= busy < peak else ""
    return f"energy peak {peak}/255, mean {mean} over {samples} samples{bursts}"


def quiet_preferred_channels(
    current: int,
    peak: Mapping[int, int],
    *,
    quiet: int,
    busy: int,
    avoid: Collection[int] = (),
    count: int = 3,
) -> list[int]:
    """Up to `count` Smart Energy preferred channels to move to, quietest first (then those
    with quieter neighbours, then those between Wi-Fi channels): measured, other than `current`
    and `avoid`, peak at most `quiet`, and no neighbour busier than `busy`."""
    candidates = [
        channel
        for channel in SMART_ENERGY_PREFERRED_CHANNELS
        if channel != current
        and channel not in avoid
        and channel in peak
        and peak[channel] <= quiet
        and not busy_near(channel, peak, busy=busy)
    ]

    def loudness(channel: int) -> tuple[int, int, bool, int]:
        bleed = max((peak.get(other, 0) for other in neighbours(channel)), default=0)
        # Between equals, a channel in a gap between Wi-Fi channels stays quiet when a Wi-Fi
        # network moves in.
        return (peak[channel], bleed, wifi_over(channel) is not None, channel)

    return sorted(candidates, key=loudness)[:count]


def power_limited(channel: int, tx_power_dbm: int | None, *, low_tx_power_dbm: int) -> bool:
    """Whether the HAN's radios cannot transmit at full power on `channel`: North American
    radios must cut it on 26, and one that reports reduced power on 25 has cut it there."""
    if channel == POWER_CUT_CHANNEL:
        return True
    reduced = tx_power_dbm is not None and tx_power_dbm < low_tx_power_dbm
    return reduced and channel in OFTEN_POWER_CUT_CHANNELS


def uniformly_weak(link_qualities: Sequence[int], *, weak: int, share: float) -> bool:
    """Whether at least `share` of two or more links are below `weak`: one weak device may be
    far away, most of them weak at once is the radio's power."""
    if len(link_qualities) < 2:
        return False
    return sum(quality < weak for quality in link_qualities) >= share * len(link_qualities)
