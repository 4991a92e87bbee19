from portal.celery import app
from portal.commissioning import join_window_open, join_windows_expire
from portal.han_test_execution import han_test_run_execute
from portal.han_tests import han_test_runs_reap


@app.task(name="portal.ping", acks_late=False, ignore_result=False)
def ping() -> str:
    """Answers the health check: proves a worker is consuming the broker."""
    return "pong"


@app.task(name="portal.execute_han_test_run", ignore_result=True)
def execute_han_test_run(run_id: int) -> None:
    han_test_run_execute(run_id)


@app.task(name="portal.reap_stale_han_test_runs", ignore_result=True, acks_late=False)
def reap_stale_han_test_runs() -> int:
    return han_test_runs_reap()


@app.task(name="portal.open_join_window", ignore_result=True)
def open_join_window(registration_id: int) -> None:
    join_window_open(registration_id)


@app.task(name="portal.expire_join_windows", ignore_result=True, acks_late=False)
def expire_join_windows() -> int:
    return join_windows_expire()
