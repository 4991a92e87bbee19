from celery import shared_task

from portal.han_test_execution import han_test_run_execute
from portal.han_tests import han_test_runs_reap


@shared_task(name="portal.ping", acks_late=False, ignore_result=False)
def ping() -> str:
    """Answers the health check: proves a worker is consuming the broker."""
    return "pong"


@shared_task(name="portal.execute_han_test_run", ignore_result=True)
def execute_han_test_run(run_id: int) -> None:
    han_test_run_execute(run_id)


@shared_task(name="portal.reap_stale_han_test_runs", ignore_result=True, acks_late=False)
def reap_stale_han_test_runs() -> int:
    return han_test_runs_reap()
