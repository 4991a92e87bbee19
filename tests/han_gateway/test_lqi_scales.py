"""A link's quality on each chip family's LQI scale: weak, or out of reach, on every radio alike."""

import pytest

from han_gateway.radio.lqi import CHIP_LIMITS, GENERIC_LIMITS, on_chip_scale


@pytest.mark.parametrize("radio", sorted(CHIP_LIMITS))
def test_the_limits_of_a_link_fall_on_the_chips_limits(radio):
    chip = CHIP_LIMITS[radio]
    assert on_chip_scale(radio, GENERIC_LIMITS.weak) == chip.weak
    assert on_chip_scale(radio, GENERIC_LIMITS.unreachable) == chip.unreachable
    assert on_chip_scale(radio, 0) == 0 and on_chip_scale(radio, 255) == 255
    scaled = [on_chip_scale(radio, lqi) for lqi in range(256)]
    assert scaled == sorted(scaled)  # a better link never reads worse
    for lqi in range(256):
        assert (lqi < GENERIC_LIMITS.weak) == (scaled[lqi] < chip.weak)
        assert (lqi < GENERIC_LIMITS.unreachable) == (scaled[lqi] < chip.unreachable)


def test_a_radio_of_no_known_family_reports_the_generic_scale():
    assert on_chip_scale("simulated", 77) == on_chip_scale("deconz", 77) == 77
