"""The worker's health task."""

from portal import task_names
from portal.celery import app


@app.task(name=task_names.PING, acks_late=False, ignore_result=False)
def ping() -> str:
    """Answers the health check: proves a worker is consuming the broker."""
    return "pong"
