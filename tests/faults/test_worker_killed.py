"""A Celery worker SIGKILLed mid-run: the reaper fails the run; a redelivery changes nothing.

What the design promises (portal/test_runs/execute.py, portal/test_runs/reaper.py): the task is
acknowledged late, so the broker still holds its message, but only the delivery that moves a
run from queued to running acts. A run whose worker died while running it stays "running"
without heartbeats, and the reaper (sent by Celery beat every HAN_REAPER_INTERVAL_S) fails it
once HAN_RUN_STALE_AFTER_S have passed. A later redelivery of the same message finds the run
no longer queued and does nothing.
"""

import time

import pytest

from tests.faults.conftest import SOUTH_QUEUE, assert_retest_ends, assert_run_left_clean
from tests.faults.scenarios import scenario_devices, slow
from tests.stack import wait_until

pytestmark = pytest.mark.realservices

WORKER_LOST = "The test stopped unexpectedly: the worker running it was lost. Please retest."


def test_worker_killed_mid_run_is_reaped_once_and_a_redelivery_changes_nothing(
    stack, rep, record_timing
):
    doomed = stack.add_worker("doomed", queues=[SOUTH_QUEUE])
    stack.replace_scenario("MTR-100007", slow("unregistered_device", per_hop_latency_ms=60))
    try:
        run_id = rep.start_run(stack.premise_id("MTR-100007"))
        found_before = stack.wait_for_devices(run_id, 1, timeout_s=30)
        killed_at = time.monotonic()
        doomed.kill()
        devices_at_kill = stack.devices(run_id)
        assert stack.run(run_id).status == "running"

        run = stack.wait_for_run_end(run_id, timeout_s=40)
        reaped_after_s = time.monotonic() - killed_at
        assert run.status == "error"
        assert run.error_message == WORKER_LOST
        assert stack.devices(run_id) == devices_at_kill  # nothing lost, nothing added
        assert set(found_before) <= set(devices_at_kill) <= scenario_devices("unregistered_device")
        assert_run_left_clean(stack, run_id)

        # The broker redelivers the unacknowledged message (here: sent again by hand, as its
        # visibility timeout would after an hour). The surviving worker takes it and does nothing.
        log = stack.workers["w1"].log_path
        stack.send_task("portal.execute_han_test_run", run_id, queue="default")
        wait_until(
            lambda: f"run {run_id} is not queued any more" in log.read_text(errors="replace"),
            timeout_s=15,
            what="the surviving worker to take the redelivered task",
        )
        after = stack.run(run_id)
        assert (after.status, after.error_message, after.finished_at) == (
            run.status,
            run.error_message,
            run.finished_at,
        )
        assert stack.devices(run_id) == devices_at_kill
        assert_run_left_clean(stack, run_id)

        # A new worker for the region, and the retest runs to its end: failed, for the
        # scenario's unregistered device, found and reported.
        stack.replace_scenario("MTR-100007", "unregistered_device")
        stack.add_worker("doomed", queues=[SOUTH_QUEUE])
        assert_retest_ends(stack, rep, run_id, status="failed", scenario="unregistered_device")
    finally:
        stack.replace_scenario("MTR-100007", "unregistered_device")
        stack.remove_worker("doomed")
    record_timing(
        "worker_killed",
        devices_at_kill=len(devices_at_kill),
        reaped_after_kill_s=round(reaped_after_s, 2),
        stale_after_s=stack.env["HAN_RUN_STALE_AFTER_S"],
        reaper_interval_s=stack.env["HAN_REAPER_INTERVAL_S"],
    )
