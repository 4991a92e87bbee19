"""Words for a link quality, on the same limits the diagnosis uses. No ORM: pictures use it."""

from django.conf import settings

from portal.diagnosis.rules import Thresholds

# ZHA's and Zigbee2MQTT's "good" starts here; below it a link is fair until the diagnosis's
# weak limit.
GOOD_LINK_QUALITY = 192
# Every word link_quality_label answers, best first.
LINK_QUALITY_LABELS = ("good", "fair", "poor", "bad", "unknown")


def link_quality_label(link_quality: int | None, radio: str = "") -> str:
    """Words for a link quality, on the same limits the diagnosis uses for the LQI scale of
    ``radio`` (the gateway's radio type; the general limits when unknown)."""
    if link_quality is None:
        return "unknown"
    limits = Thresholds.from_settings(settings.HAN_DIAGNOSIS_THRESHOLDS).link_limits(radio)
    if link_quality < limits.unreachable:
        return "bad"
    if link_quality < limits.weak:
        return "poor"
    # "Good" sits as far above the weak limit, on the radio's scale, as it does on the general.
    if link_quality < limits.weak + (GOOD_LINK_QUALITY - Thresholds().weak_link_quality):
        return "fair"
    return "good"
