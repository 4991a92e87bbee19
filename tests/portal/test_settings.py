"""The environment picks the mode: embedded by default, PostgreSQL and Redis when configured."""

import os
import subprocess
import sys

from django.conf import settings

from tests.portal.settings_probe import settings_under

PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'name': str(settings.DATABASES['default']['NAME']), "
    "'init': settings.DATABASES['default'].get('OPTIONS', {}).get('init_command', ''), "
    "'broker': settings.CELERY_BROKER_URL, 'embedded': settings.EMBEDDED_WORKER, "
    "'live': settings.LIVE_EVENTS_REDIS_URL}))"
)


def test_no_environment_gives_the_embedded_default(tmp_path):
    chosen = settings_under(PROBE, {"PORTAL_VAR_DIR": str(tmp_path)})
    assert chosen["engine"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in chosen["init"]
    assert chosen["broker"].startswith("memory://")
    assert chosen["embedded"] is True
    assert chosen["live"] == ""  # live events stay in the process


def test_database_and_redis_urls_switch_to_postgresql_and_redis():
    chosen = settings_under(
        PROBE,
        {
            "DATABASE_URL": "postgres://han:pw@db.internal:5432/han",
            "REDIS_URL": "redis://cache.internal:6379/0",
        },
    )
    assert chosen["engine"] == "django.db.backends.postgresql"
    assert chosen["name"] == "han"
    assert chosen["broker"] == "redis://cache.internal:6379/0"
    assert chosen["embedded"] is False
    assert chosen["live"] == "redis://cache.internal:6379/0"


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env.update({"DJANGO_DEBUG": "0", "DJANGO_SETTINGS_MODULE": "portal.settings"})
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
