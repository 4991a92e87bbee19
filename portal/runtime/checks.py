"""A database part way through migrations that were since squashed cannot be brought up to date
by the squash (Django then skips it silently): ``migrate`` says so instead."""

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register
from django.db import connections
from django.db.migrations.loader import MigrationLoader


@register(Tags.database)
def no_squash_half_applied(
    app_configs: Any, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for alias in databases or ():
        loader = MigrationLoader(connections[alias], ignore_no_migrations=True)
        applied = loader.applied_migrations
        for (app, name), migration in sorted(loader.disk_migrations.items()):
            replaced = migration.replaces or []
            done = [key for key in replaced if key in applied]
            if done and len(done) < len(replaced) and (app, name) not in applied:
                errors.append(
                    Error(
                        f"The database ran {len(done)} of the {len(replaced)} migrations that "
                        f"{app}.{name} replaces, the last {done[-1][1]}.",
                        hint="Bring it up to date with an earlier release of the portal, or "
                        "start a new database (for the embedded default: remove var/).",
                        id="portal.E010",
                    )
                )
    return errors
