"""Celery tasks of commissioning: open a device's join window, expire lapsed ones."""

from portal import task_names
from portal.celery import app
from portal.commissioning.services import join_window_open, join_windows_expire


@app.task(name=task_names.OPEN_JOIN_WINDOW, ignore_result=True)
def open_join_window(registration_id: int) -> None:
    join_window_open(registration_id)


@app.task(name=task_names.EXPIRE_JOIN_WINDOWS, ignore_result=True, acks_late=False)
def expire_join_windows() -> int:
    return join_windows_expire()
