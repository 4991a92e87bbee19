import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS

DRF_TOKEN_TABLE = "authtoken_token"
# Long enough for each integration to be given a new token, short enough that the old keys,
# which were stored in clear until now, stop working soon.
CONVERTED_TOKEN_TTL = datetime.timedelta(days=90)


def drf_tokens_to_api_tokens(apps, schema_editor):
    """Keep every DRF token working as a hashed API token with the same key, then drop the table.

    DRF's authtoken app is no longer installed, so its table is read with plain SQL; a database
    made after it was removed has no such table.
    """
    connection = schema_editor.connection
    if DRF_TOKEN_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("portal", "ApiToken")
    now = timezone.now()
    quote = schema_editor.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote('key')}, {quote('user_id')} FROM {quote(DRF_TOKEN_TABLE)}")
        rows = cursor.fetchall()
    ApiToken.objects.bulk_create(
        ApiToken(
            digest=hash_token(key),
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
            user_id=user_id,
            name=f"Token issued before {now:%Y-%m-%d}",
            expiry=now + CONVERTED_TOKEN_TTL,
        )
        for key, user_id in rows
    )
    schema_editor.execute(f"DROP TABLE {quote(DRF_TOKEN_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0007_review_run"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token_key", models.CharField(db_index=True, max_length=25)),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("expiry", models.DateTimeField(blank=True, null=True)),
                ("digest", models.CharField(max_length=128, unique=True)),
                (
                    "name",
                    models.CharField(
                        help_text="What uses the token, e.g. “CRM production”.", max_length=100
                    ),
                ),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="auth_token_set",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "API token",
                "ordering": ["-created"],
            },
        ),
        # The clear keys cannot be brought back: migrating back drops the converted tokens.
        migrations.RunPython(drf_tokens_to_api_tokens, migrations.RunPython.noop),
    ]
