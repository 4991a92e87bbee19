import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.forms.boundfield import BoundField
from django.utils.translation import gettext, gettext_lazy

from han_gateway.models import HanDevice
from trust_center.install_codes import InvalidInstallCode, parse_install_code

# Anything but letters and digits: people write install codes with spaces, dashes, colons, dots.
_NOT_LETTER_OR_DIGIT = re.compile(r"[^0-9A-Za-z]")
# 12 hexadecimal digits are 6 bytes, the shortest install code without its checksum; a longer
# run may hold a whole code (18 bytes with the checksum) with other text around it.
_INSTALL_CODE_LIKE = re.compile(r"[0-9A-Fa-f]{12,}")


def looks_like_install_code(text: str) -> bool:
    """Whether the text holds 12 or more hexadecimal digits in a row, separators aside."""
    return _INSTALL_CODE_LIKE.search(_NOT_LETTER_OR_DIGIT.sub("", text)) is not None


def _is_an_eui64_but_no_install_code(text: str) -> bool:
    """16 hexadecimal digits and nothing else, the last four not a checksum of the others.

    A 48-bit install code is as long as an EUI-64, but one pasted whole ends in its checksum,
    which an EUI-64 matches once in 65,536: such an address is held back too.
    """
    digits = _NOT_LETTER_OR_DIGIT.sub("", text)
    if len(digits) != 16 or not _INSTALL_CODE_LIKE.fullmatch(digits):
        return False
    try:
        parse_install_code(digits)
    except InvalidInstallCode:
        return True
    return False


class _InstallCodeSafeBoundField(BoundField):
    """A field whose typed value is written back into the page unless it could be a secret."""

    def value(self) -> Any:
        if self.held_back:
            return None
        return super().value()

    @property
    def held_back(self) -> bool:
        """Typed, but not to be written back into the page."""
        if not self.form.is_bound:
            return False
        typed = self.data
        if not isinstance(typed, str) or not typed.strip():
            return False
        if self.name in DeviceRegistrationForm.NEVER_WRITTEN_BACK:
            return True
        # The EUI-64 typed comes back after an error elsewhere (a mistyped install code is the
        # usual one), unless it could itself be an install code.
        if self.name == "eui64" and _is_an_eui64_but_no_install_code(typed):
            return False
        return looks_like_install_code(typed)


class DeviceRegistrationForm(forms.Form):
    """Register a Utility HAN device by EUI-64 and install code, or by its QR text.

    Redisplayed after an error, it writes back no install code: never the install code or the
    QR text, and no other field whose value could be one pasted into the wrong box (12 or more
    hexadecimal digits), except an EUI-64 that cannot be an install code.
    """

    NEVER_WRITTEN_BACK = frozenset({"install_code", "qr_text"})
    bound_field_class = _InstallCodeSafeBoundField

    eui64 = forms.CharField(
        label=gettext_lazy("EUI-64 (MAC address)"),
        required=False,
        max_length=64,
        help_text=gettext_lazy(
            "16 characters 0-9 and A-F, printed on the device, e.g. 00:0D:6F:00:0A:90:69:E7."
        ),
    )
    install_code = forms.CharField(
        label=gettext_lazy("Install code"),
        required=False,
        max_length=80,
        help_text=gettext_lazy(
            "12, 16, 24 or 32 characters plus a 4-character checksum, printed on the device."
        ),
    )
    qr_text = forms.CharField(
        label=gettext_lazy("Or paste the text of the device's QR code"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    category = forms.ChoiceField(
        label=gettext_lazy("Kind of device"),
        choices=HanDevice.Category.choices,
        # Django's own message repeats the value sent.
        error_messages={"invalid_choice": gettext_lazy("Choose the kind of device from the list.")},
    )
    manufacturer = forms.CharField(
        label=gettext_lazy("Manufacturer"), required=False, max_length=64
    )
    model = forms.CharField(label=gettext_lazy("Model"), required=False, max_length=64)

    def __init__(self, *args: Any, interfaces: Sequence[str] = (), **kwargs: Any) -> None:
        """``interfaces``: the meter's HAN interfaces; with more than one, the device's is
        asked for (with one, it is that one)."""
        super().__init__(*args, **kwargs)
        if len(interfaces) > 1:
            self.fields["interface"] = forms.ChoiceField(
                label=gettext_lazy("HAN interface"),
                choices=[(name, name) for name in interfaces],
                help_text=gettext_lazy(
                    "The meter's HAN the device is to join (the Utility HAN is the first)."
                ),
                error_messages={
                    "invalid_choice": gettext_lazy("Choose one of the meter's HAN interfaces.")
                },
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("qr_text") and not data.get("install_code"):
            self.add_error(
                "install_code", gettext("Enter the install code, or paste the QR code text.")
            )
        if not data.get("qr_text") and not data.get("eui64"):
            self.add_error(
                "eui64", gettext("Enter the device's EUI-64, or paste the QR code text.")
            )
        return data
