"""Drop the table knox's own migrations create for its AuthToken model.

``KNOX_TOKEN_MODEL`` swaps that model for ``portal.ApiToken``, but knox's migrations create its
table anyway. Left there, empty, it still references the users table, and PostgreSQL refuses to
empty that table (as Django's test flush does) while another table points at it.

It stands apart from 0001 because knox's migrations depend on the users table that 0001 makes.
On a database that had the former 0010 (the same statement), it finds nothing to drop.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_squashed_0016_language_and_work_orders"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS knox_authtoken", migrations.RunSQL.noop),
    ]
