"""Celery tasks: thin, load by id and call a service. The only module that imports services
for the worker; services send tasks by name (``portal.task_names``).
"""

from portal import task_names
from portal.celery import app
from portal.commissioning import join_window_open, join_windows_expire
from portal.han_test_execution import han_test_run_execute
from portal.han_tests import han_test_runs_reap


@app.task(name=task_names.PING, acks_late=False, ignore_result=False)
def ping() -> str:
    """Answers the health check: proves a worker is consuming the broker."""
    return "pong"


@app.task(name=task_names.EXECUTE_HAN_TEST_RUN, ignore_result=True)
def execute_han_test_run(run_id: int) -> None:
    han_test_run_execute(run_id)


@app.task(name=task_names.REAP_STALE_HAN_TEST_RUNS, ignore_result=True, acks_late=False)
def reap_stale_han_test_runs() -> int:
    return han_test_runs_reap()


@app.task(name=task_names.OPEN_JOIN_WINDOW, ignore_result=True)
def open_join_window(registration_id: int) -> None:
    join_window_open(registration_id)


@app.task(name=task_names.EXPIRE_JOIN_WINDOWS, ignore_result=True, acks_late=False)
def expire_join_windows() -> int:
    return join_windows_expire()
