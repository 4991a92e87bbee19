"""The Celery application shared by the web process and the worker processes."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each part of the portal keeps its tasks in its own ``tasks`` module, imported by
# ``PortalConfig.ready``; their names are in portal/task_names.py.
