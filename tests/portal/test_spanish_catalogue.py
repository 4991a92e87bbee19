"""The Spanish catalogue is complete, and the compiled catalogue the portal loads is the one in
the source: no untranslated or fuzzy entry, the same blanks in both languages, and every label
the customer's pages translate at run time present."""

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from han_gateway.models import HanDevice
from portal.customers.selectors import CUSTOMER_NETWORK_WORDS
from portal.diagnosis.rules import CUSTOMER_ACTION_LABELS
from portal.diagnosis.wording import CUSTOMER_WORDS, DEVICE_KINDS
from portal.models import HanTestCase, HanTestRun, User
from portal.test_runs.customer_words import CHOICE_LABELS, STEP_TITLES

CATALOGUE = Path(settings.BASE_DIR, "locale", "es", "LC_MESSAGES")


@dataclass
class Entry:
    msgid: str = ""
    plural: str | None = None
    translations: dict[int, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


def _entries() -> list[Entry]:
    """The .po file's entries (without its header): enough of the format for makemessages'."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] = ("msgid", 0)
    for line in [*(CATALOGUE / "django.po").read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry is not None and entry.msgid:
                entries.append(entry)
            entry = None
            continue
        entry = entry or Entry()
        if line.startswith("#,"):
            entry.flags += [flag.strip() for flag in line[2:].split(",")]
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural "):
            target, entry.plural = ("plural", 0), ast.literal_eval(line[13:])
        elif line.startswith("msgid "):
            target, entry.msgid = ("msgid", 0), ast.literal_eval(line[6:])
        elif line.startswith("msgstr"):
            number = int(line[7]) if line.startswith("msgstr[") else 0
            target = ("msgstr", number)
            entry.translations[number] = ast.literal_eval(line.split(" ", 1)[1])
        elif line.startswith('"'):
            more = ast.literal_eval(line)
            if target[0] == "msgstr":
                entry.translations[target[1]] += more
            elif target[0] == "plural":
                entry.plural = (entry.plural or "") + more
            else:
                entry.msgid += more
    return entries


ENTRIES = _entries()
BLANKS = re.compile(r"%\(\w+\)s|\{\w+\}")


def test_every_entry_is_translated_and_none_is_fuzzy():
    assert len(ENTRIES) > 100
    for entry in ENTRIES:
        assert "fuzzy" not in entry.flags, entry.msgid
        assert entry.translations and all(entry.translations.values()), entry.msgid


def test_translations_keep_their_blanks():
    for entry in ENTRIES:
        for translated in entry.translations.values():
            assert set(BLANKS.findall(translated)) == set(BLANKS.findall(entry.msgid)), entry.msgid


def test_the_compiled_catalogue_matches_the_source():
    with (CATALOGUE / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    for entry in ENTRIES:
        if entry.plural is None:
            assert catalogue.gettext(entry.msgid) == entry.translations[0], entry.msgid
        else:
            assert catalogue.ngettext(entry.msgid, entry.plural, 1) == entry.translations[0]
            assert catalogue.ngettext(entry.msgid, entry.plural, 5) == entry.translations[1]


@pytest.mark.parametrize(
    "words",
    [
        pytest.param(list(CUSTOMER_WORDS.values()), id="findings' customer words"),
        pytest.param(list(DEVICE_KINDS), id="device kinds"),
        pytest.param(list(CHOICE_LABELS), id="statuses"),
        pytest.param(list(STEP_TITLES.values()), id="steps"),
        pytest.param(list(CUSTOMER_ACTION_LABELS.values()), id="what customers did"),
        pytest.param(list(CUSTOMER_NETWORK_WORDS.values()), id="whose device"),
        # The models' own labels, which pages translate as stored: a renamed label fails here.
        pytest.param([str(label) for _, label in HanDevice.Category.choices], id="categories"),
        pytest.param([str(label) for _, label in HanTestRun.Status.choices], id="run statuses"),
        pytest.param([str(label) for _, label in HanTestCase.Status.choices], id="case statuses"),
        pytest.param([str(User.Role.CUSTOMER.label)], id="the customer's role"),
    ],
)
def test_every_label_translated_at_run_time_is_in_the_catalogue(words):
    translated = {entry.msgid for entry in ENTRIES}
    assert set(words) <= translated, set(words) - translated
