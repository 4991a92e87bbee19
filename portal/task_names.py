"""The Celery task names, one copy for the tasks that bear them and the services that send them.

Services enqueue by name, so they never import ``portal.tasks`` (which imports the services):
the names are also the contract with messages already queued, so they never change.
"""

PING = "portal.ping"
EXECUTE_HAN_TEST_RUN = "portal.execute_han_test_run"
REAP_STALE_HAN_TEST_RUNS = "portal.reap_stale_han_test_runs"
OPEN_JOIN_WINDOW = "portal.open_join_window"
EXPIRE_JOIN_WINDOWS = "portal.expire_join_windows"
