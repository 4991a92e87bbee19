"""Celery tasks of a test run: thin, load by id and call a service. Services send them by name
(``portal.task_names``), so only this module imports the services it runs.
"""

from portal import task_names
from portal.celery import app
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.reaper import han_test_runs_reap


@app.task(name=task_names.EXECUTE_HAN_TEST_RUN, ignore_result=True)
def execute_han_test_run(run_id: int) -> None:
    han_test_run_execute(run_id)


@app.task(name=task_names.REAP_STALE_HAN_TEST_RUNS, ignore_result=True, acks_late=False)
def reap_stale_han_test_runs() -> int:
    return han_test_runs_reap()
