"""Findings store their customer sentence in English; pages and email say it again in the
reader's language, blanks and all."""

import pytest
from django.utils import translation
from django.utils.translation import gettext

from han_gateway.models import HanDevice
from portal.diagnosis.wording import (
    CUSTOMER_WORDS,
    DEVICE_KINDS,
    customer_text_translated,
    customer_words,
    device_kind_translated,
)


@pytest.mark.parametrize("key", sorted(CUSTOMER_WORDS))
@pytest.mark.parametrize("kind", [label for _, label in HanDevice.Category.choices] + ["Device"])
def test_every_stored_sentence_comes_back_in_spanish(key, kind):
    stored = customer_words(
        key, what=kind.lower(), router="smart plug", parent=kind.lower(), count=3
    )
    with translation.override("es"):
        shown = customer_text_translated(stored)
        expected = gettext(CUSTOMER_WORDS[key]).format(
            what=device_kind_translated(kind.lower()),
            router=gettext("Smart plug").lower(),
            parent=device_kind_translated(kind.lower()),
            count=3,
        )
    assert shown == expected
    assert shown != stored


def test_an_english_reader_gets_the_stored_sentence_back():
    stored = customer_words("weak_link.meter", what="in-home display")
    with translation.override("en"):
        assert customer_text_translated(stored) == stored


def test_a_sentence_no_template_knows_is_shown_as_stored():
    with translation.override("es"):
        assert customer_text_translated("Call us about your meter.") == "Call us about your meter."


def test_every_device_kind_the_gateways_name_is_in_the_vocabulary():
    labels = {str(label) for _, label in HanDevice.Category.choices}
    assert labels <= set(DEVICE_KINDS)
