"""``{{ run.created_at|moment }}``: a time as every page shows it (portal.runtime.local_time)."""

from datetime import datetime

from django import template

from portal.runtime.local_time import moment_text

register = template.Library()


@register.filter
def moment(at: datetime | None) -> str:
    return moment_text(at) if at is not None else ""
