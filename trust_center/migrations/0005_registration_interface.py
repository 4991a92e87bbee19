"""A registration names the HAN interface its device is to join."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("trust_center", "0004_approved_image_ota_file_version")]

    operations = [
        migrations.AddField(
            "deviceregistration",
            "interface",
            models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="The gateway's HAN interface the device is to join; empty: its first.",
                max_length=32,
            ),
        ),
    ]
