"""A run's interface keeps the gateway's radio type: the LQI scale of its links."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("portal", "0012_case_subject_device")]

    operations = [
        migrations.AddField(
            "observedinterface",
            "radio",
            models.CharField(blank=True, db_default="", default="", max_length=16),
        ),
    ]
