"""The customer's words for each finding, kept once: the rules fill them in English (findings
store that text), and pages and email put the stored sentence back into the reader's language.

A stored sentence is matched against the templates below, its blanks read back, and the same
template said in the active language with the blanks translated too. A sentence that matches
no template (one stored before its rule's wording changed) is shown as it was stored.
"""

import re
from functools import cache

from django.utils.translation import gettext, gettext_noop

# Blanks: {what} and {router} and {parent} are a device's kind in lower case ("thermostat"),
# {count} a number.
CUSTOMER_WORDS: dict[str, str] = {
    "gateway_unreachable": gettext_noop(
        "We could not reach your meter's home network connection right now. Our network team "
        "will look into it; you do not need to do anything."
    ),
    "router_down.one": gettext_noop(
        "Your {router} seems to be switched off or unplugged, and your {what} connects to the "
        "meter through it. Please switch it back on and leave it on; if it is on, we will fit "
        "a range extender so they no longer depend on it."
    ),
    "router_down.many": gettext_noop(
        "Your {router} seems to be switched off or unplugged, and {count} of your devices "
        "connect to the meter through it. Please switch it back on and leave it on; if it is "
        "on, we will fit a range extender so they no longer depend on it."
    ),
    "customer_router_dependency": gettext_noop(
        "Your {what} connects to the meter through your {router}. Please keep your {router} "
        "plugged in and switched on; we can fit a range extender so it no longer depends on it."
    ),
    "beyond_reach.meter": gettext_noop(
        "Your {what} is too far from the meter to stay connected. A range extender placed "
        "between them will fix this."
    ),
    "beyond_reach.parent": gettext_noop(
        "Your {what} is too far from the {parent} it connects through to stay connected. A "
        "range extender placed between them will fix this."
    ),
    "weak_link.meter": gettext_noop(
        "Your {what} has a weak signal. Move it closer to the meter (within about 75 feet), "
        "away from metal and appliances."
    ),
    "weak_link.parent": gettext_noop(
        "Your {what} has a weak signal. Move it closer to the {parent} it connects through, "
        "away from metal and appliances."
    ),
    "outdated_firmware": gettext_noop(
        "Your {what} needs a software update to work with the utility's programs."
    ),
    "insecure_join.customer": gettext_noop(
        "Your {what} connected to the meter without a secure key, which could let others read "
        "your home network. We will remove it from the meter's network; to use it again, pair "
        "it with the install code on its label."
    ),
    "insecure_join.utility": gettext_noop(
        "Your {what} connected without the utility's security key. We will disconnect it; "
        "then it needs to be paired again with the install code printed on it."
    ),
    "registered_device_missing": gettext_noop(
        "We could not find your {what}. Check that it is plugged in or has fresh batteries; "
        "we will then let it connect again."
    ),
    "join_window_expired": gettext_noop(
        "Your {what} did not connect in the time allowed. Make sure it is powered and near "
        "the meter; we will let it connect again."
    ),
    "unknown_device": gettext_noop(
        "A device we do not recognise is connected to your meter. If it is yours, register "
        "it; if not, we will look into it."
    ),
    "channel_interference.power": gettext_noop(
        "Your meter's home network uses a radio channel where the meter and your devices must "
        "transmit quietly, so every device's signal is weak. We will move it to another "
        "channel; your devices follow it, nothing needs moving."
    ),
    "channel_interference.busy": gettext_noop(
        "Other wireless equipment in your home (often Wi-Fi) is crowding the meter's radio "
        "channel. We will move it to a quieter one."
    ),
    "operational_check_failed": gettext_noop(
        "Your {what} is connected but did not respond to a test message from the utility."
    ),
    "over_capacity": gettext_noop(
        "More devices are connected to your meter than it can serve. Some may need to be removed."
    ),
    "empty_han": gettext_noop(
        "None of your devices is connected to the meter yet. We need the install code printed "
        "on the device (or its QR code) to register it; then put the device in pairing mode "
        "near the meter."
    ),
    "joined_elsewhere.interface": gettext_noop(
        "Your {what} connected to the wrong one of your meter's networks. We will move it; "
        "you may be asked to put it in pairing mode again."
    ),
    "joined_elsewhere.meter": gettext_noop(
        "Your {what} connected to a neighbouring meter instead of yours. We will disconnect it "
        "there; then put it in pairing mode near your meter."
    ),
    "message_not_delivered": gettext_noop(
        "Your {what} answers the meter but misses some of its messages. Moving it closer to "
        "the meter, or away from metal and appliances, should fix this."
    ),
    "device_asleep": gettext_noop(
        "Your {what} is asleep to save its batteries, so we could not check it. Press a button "
        "on it to wake it (or put in fresh batteries), then we will test again."
    ),
    "install_code_mismatch": gettext_noop(
        "Your {what} tried to connect, but the install code registered for it does not match "
        "the device. Please read us the install code on its label again (or scan its QR code) "
        "so we can register it again."
    ),
    "default_key_policy": gettext_noop(
        "Your meter's home network lets devices connect without a secure key. We will change "
        "the meter's settings so that only devices registered with their install code can "
        "connect."
    ),
    "healthy": gettext_noop("Everything is working: your devices are talking to the meter."),
}

# The kinds of device as the Trust Center and the gateways name them (their categories), and
# the word a sentence uses when the kind is not known.
DEVICE_KINDS: tuple[str, ...] = (
    gettext_noop("Programmable communicating thermostat"),
    gettext_noop("In-home display"),
    gettext_noop("Load control switch"),
    gettext_noop("Smart plug"),
    gettext_noop("Energy management system"),
    gettext_noop("Other customer interface"),
    gettext_noop("Unknown device"),
    gettext_noop("Device"),
)


def customer_words(key: str, **blanks: object) -> str:
    """The customer's sentence ``key`` in English, its blanks filled: what findings store."""
    return CUSTOMER_WORDS[key].format(**blanks)


_BLANK = re.compile(r"\{(\w+)\}")


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """The template as a pattern reading its blanks back ({count} a number, a blank used twice
    the same words twice)."""
    parts: list[str] = []
    seen: set[str] = set()
    position = 0
    for blank in _BLANK.finditer(template):
        parts.append(re.escape(template[position : blank.start()]))
        name = blank[1]
        if name in seen:
            parts.append(f"(?P={name})")
        else:
            seen.add(name)
            parts.append(rf"(?P<{name}>\d+)" if name == "count" else rf"(?P<{name}>[^.;]+?)")
        position = blank.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts))


def device_kind_translated(kind: str) -> str:
    """A device's kind in the active language, in the case it was given in ("In-home display"
    for a label, "in-home display" inside a sentence); an unknown kind as it was."""
    for known in DEVICE_KINDS:
        if kind == known:
            return gettext(known)
        if kind == known.lower():
            return gettext(known).lower()
    return kind


def customer_text_translated(text: str) -> str:
    """A finding's stored customer sentence in the active language."""
    for template in CUSTOMER_WORDS.values():
        match = _pattern(template).fullmatch(text)
        if match is None:
            continue
        blanks = {
            name: value if name == "count" else device_kind_translated(value)
            for name, value in match.groupdict().items()
        }
        return gettext(template).format(**blanks)
    return text
