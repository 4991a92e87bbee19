"""The approved list holds the approved image as an OTA file version, with the manufacturer's
scheme for writing it; the free-text firmware name stays, shown only."""

import django.core.validators
from django.db import migrations, models


def minimum_image_from_firmware_name(apps, schema_editor):
    """An approved minimum written as "2.1.0" becomes the file version 0x02010000 (one byte a
    part), so the list keeps judging devices as it did; anything else is left for an
    administrator to enter."""
    approved_device = apps.get_model("trust_center", "ApprovedDevice")
    for approved in approved_device.objects.exclude(minimum_firmware=""):
        parts = approved.minimum_firmware.strip().split(".")
        if not 1 <= len(parts) <= 4 or not all(p.isdigit() and int(p) <= 0xFF for p in parts):
            continue
        first, second, third, fourth = [*(int(p) for p in parts), 0, 0, 0][:4]
        approved.minimum_ota_file_version = (first << 24) | (second << 16) | (third << 8) | fourth
        approved.save(update_fields=["minimum_ota_file_version"])


MINIMUM_OTA_FILE_VERSION = models.PositiveBigIntegerField(
    blank=True,
    help_text="The OTA Upgrade cluster file version of the approved image: a device reporting "
    "an older one is told to upgrade.",
    null=True,
    validators=[django.core.validators.MaxValueValidator(4294967295)],
)
OTA_VERSION_SCHEME = models.CharField(
    choices=[
        ("bytes", "bytes: 0x02010700 reads 2.1.7"),
        ("stack", "stack: 0x02010700 reads app 2.1, stack 7.0"),
        ("number", "number: 0x02010700 reads 33621760"),
    ],
    default="bytes",
    help_text="How this manufacturer writes an OTA file version for people.",
    max_length=8,
)
MINIMUM_FIRMWARE = models.CharField(
    blank=True,
    help_text="The approved firmware as the manufacturer names it, e.g. 2.1.0: shown to reps, "
    "never compared (devices report it as free text).",
    max_length=32,
)


class Migration(migrations.Migration):
    dependencies = [("trust_center", "0003_gateway_service_url_audit")]

    operations = [
        migrations.AddField("approveddevice", "minimum_ota_file_version", MINIMUM_OTA_FILE_VERSION),
        migrations.AddField("approveddevice", "ota_version_scheme", OTA_VERSION_SCHEME),
        migrations.AlterField("approveddevice", "minimum_firmware", MINIMUM_FIRMWARE),
        migrations.RunPython(minimum_image_from_firmware_name, migrations.RunPython.noop),
    ]
