"""Words for a link quality, on the same limits the diagnosis uses. No ORM: pictures use it."""

from django.conf import settings

from portal.diagnosis.rules import Thresholds

# ZHA's and Zigbee2MQTT's "good" starts here; below it a link is fair until the diagnosis's
# weak limit.
GOOD_LINK_QUALITY = 192
# Every word link_quality_label answers, best first.
LINK_QUALITY_LABELS = ("good", "fair", "poor", "bad", "unknown")


def link_quality_label(link_quality: int | None) -> str:
    """Words for a link quality, on the same limits the diagnosis uses."""
    if link_quality is None:
        return "unknown"
    thresholds = Thresholds.from_settings(settings.HAN_DIAGNOSIS_THRESHOLDS)
    if link_quality < thresholds.unreachable_link_quality:
        return "bad"
    if link_quality < thresholds.weak_link_quality:
        return "poor"
    if link_quality < GOOD_LINK_QUALITY:
        return "fair"
    return "good"
