"""Registrations removed or decommissioned before ending one deleted its keys lose them now.

Data only: the rows and their audit trail stay; the install code and link key of a device that
may never join again are of no use to anyone but someone who reads the database.
"""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# Literal values: a migration must not depend on the model class as it is today.
ENDED_STATUSES = ("removed", "decommissioned")


def delete_keys_of_ended_registrations(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    registrations = apps.get_model("trust_center", "DeviceRegistration")
    registrations.objects.using(schema_editor.connection.alias).filter(
        status__in=ENDED_STATUSES
    ).update(install_code_ciphertext="", link_key_ciphertext="")


class Migration(migrations.Migration):
    dependencies = [("trust_center", "0001_initial")]

    operations = [
        # Deleted keys cannot be put back; going backwards leaves the rows as they are.
        migrations.RunPython(delete_keys_of_ended_registrations, migrations.RunPython.noop),
    ]
