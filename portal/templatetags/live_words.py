"""The words the live run page's script writes, for the page to carry in its own language."""

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from portal.test_runs.customer_words import live_words

register = template.Library()


@register.simple_tag
def live_words_script() -> SafeString:
    """A JSON block (no inline script: the content security policy allows none) that
    run-live.js reads its words from."""
    return json_script(live_words(), "run-words")
