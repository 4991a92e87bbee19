"""The utility's time zone (``TIME_ZONE``): every time a page, the live view or an email shows
is in it and says which it is, so a rep and a customer in another zone read the same clock."""

from datetime import datetime

from django.utils import dateformat, timezone

MOMENT_FORMAT = "M j, Y H:i T"


def moment_text(at: datetime) -> str:
    """``Dec 4, 2026 09:15 CST``."""
    return dateformat.format(timezone.localtime(at), MOMENT_FORMAT)
