"""The environment picks the mode: embedded by default, PostgreSQL and Redis when configured."""

import json
import os
import subprocess
import sys
from typing import Any

from django.conf import settings

PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'name': str(settings.DATABASES['default']['NAME']), "
    "'init': settings.DATABASES['default'].get('OPTIONS', {}).get('init_command', ''), "
    "'broker': settings.CELERY_BROKER_URL, 'embedded': settings.EMBEDDED_WORKER, "
    "'layer': settings.CHANNEL_LAYERS['default']['BACKEND']}))"
)


def _settings_under(environment: dict[str, str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(environment)
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    output = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=settings.BASE_DIR,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    chosen: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return chosen


def test_no_environment_gives_the_embedded_default(tmp_path):
    chosen = _settings_under({"PORTAL_VAR_DIR": str(tmp_path)})
    assert chosen["engine"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in chosen["init"]
    assert chosen["broker"].startswith("memory://")
    assert chosen["embedded"] is True
    assert chosen["layer"] == "channels.layers.InMemoryChannelLayer"


def test_database_and_redis_urls_switch_to_postgresql_and_redis():
    chosen = _settings_under(
        {
            "DATABASE_URL": "postgres://han:pw@db.internal:5432/han",
            "REDIS_URL": "redis://cache.internal:6379/0",
        }
    )
    assert chosen["engine"] == "django.db.backends.postgresql"
    assert chosen["name"] == "han"
    assert chosen["broker"] == "redis://cache.internal:6379/0"
    assert chosen["embedded"] is False
    assert chosen["layer"] == "channels_redis.core.RedisChannelLayer"


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
