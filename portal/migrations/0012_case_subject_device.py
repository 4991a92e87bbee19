"""A case may name the device the call is about."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("portal", "0011_run_outcome_is_final")]

    operations = [
        migrations.AddField(
            "hantestcase",
            "subject_eui64",
            models.CharField(blank=True, db_default="", default="", max_length=23),
        ),
    ]
