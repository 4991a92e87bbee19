"""The portal's settings as a fresh process reads them from a given environment."""

import json
import os
import subprocess
import sys
from typing import Any

from django.conf import settings


def settings_under(probe: str, environment: dict[str, str]) -> dict[str, Any]:
    """What ``probe`` prints as its last line (JSON) in a new process with the portal's settings.

    The process gets this one's environment without DATABASE_URL and REDIS_URL, so that only
    ``environment`` chooses the database and Redis.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(environment)
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    output = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe],
        env=env,
        cwd=settings.BASE_DIR,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    chosen: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return chosen
