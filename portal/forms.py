from typing import Any

from django import forms

from han_gateway.models import HanDevice


class DeviceRegistrationForm(forms.Form):
    """Register a Utility HAN device by EUI-64 and install code, or by its QR text."""

    eui64 = forms.CharField(
        label="EUI-64 (MAC address)",
        required=False,
        max_length=64,
        help_text="16 characters 0-9 and A-F, printed on the device, e.g. 00:0D:6F:00:0A:90:69:E7.",
    )
    install_code = forms.CharField(
        label="Install code",
        required=False,
        max_length=80,
        help_text="12, 16, 24 or 32 characters plus a 4-character checksum, printed on the device.",
    )
    qr_text = forms.CharField(
        label="Or paste the text of the device's QR code",
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    category = forms.ChoiceField(label="Kind of device", choices=HanDevice.Category.choices)
    manufacturer = forms.CharField(required=False, max_length=64)
    model = forms.CharField(required=False, max_length=64)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("qr_text") and not data.get("install_code"):
            self.add_error("install_code", "Enter the install code, or paste the QR code text.")
        if not data.get("qr_text") and not data.get("eui64"):
            self.add_error("eui64", "Enter the device's EUI-64, or paste the QR code text.")
        return data
