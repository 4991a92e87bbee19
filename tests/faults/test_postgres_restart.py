"""PostgreSQL restarted (fast shutdown, then start) while a run is scanning.

During the outage the portal answers with its short apology page (DEBUG is off, as in
production) and the health check with 503; the run ends, clearly, once the database is back;
then pages and a new run work again.
"""

import signal
import time

import pytest

from tests.faults.conftest import assert_retest_ends, assert_run_left_clean, start_after_outage
from tests.faults.scenarios import scenario_devices, slow

pytestmark = pytest.mark.realservices

OUTAGE_S = 2.0
APOLOGY = "Sorry, something went wrong on our side"


def test_postgres_restarted_mid_run_clean_errors_then_recovery(stack, rep, record_timing):
    stack.replace_scenario("MTR-100008", slow("channel_interference", per_hop_latency_ms=60))
    run_id = rep.start_run(stack.premise_id("MTR-100008"))
    try:
        found_before = stack.wait_for_devices(run_id, 1, timeout_s=30)
        stopped_at = time.monotonic()
        # What `pg_ctl restart -m fast` does: SIGINT (fast shutdown), then start again.
        stack.postgres.stop(signum=signal.SIGINT)
        devices_when_stopped = len(found_before)

        page = rep.get(f"/runs/{run_id}/")
        assert page.status_code == 500, page.status_code
        assert APOLOGY in page.text
        assert "Traceback" not in page.text and "OperationalError" not in page.text
        health_status, health = stack.health(worker=False)
        assert health_status == 503
        assert health["checks"]["database"] == "failing"

        restarted_at = start_after_outage(stack.postgres, stopped_at=stopped_at, outage_s=OUTAGE_S)
        run = stack.wait_for_run_end(run_id, timeout_s=60)
        ended_after_restart_s = time.monotonic() - restarted_at
    finally:
        stack.replace_scenario("MTR-100008", "channel_interference")

    devices = stack.devices(run_id)
    assert len(devices) >= devices_when_stopped  # nothing committed was lost
    assert set(devices) <= scenario_devices("channel_interference")
    assert_run_left_clean(stack, run_id)
    if run.status == "error":
        # The worker's own verdict, with a reference to its log, not the reaper's "worker lost".
        assert run.error_message.startswith("Sorry, the test failed on our side (reference ")
    else:
        assert run.status == "failed", run  # the scan finished after all
        assert set(devices) == scenario_devices("channel_interference")

    # Afterwards: pages answer, the health check is green, and a new run works end to end.
    back = rep.get(f"/runs/{run_id}/")
    assert back.status_code == 200
    stack.wait_healthy(timeout_s=60)
    retest = assert_retest_ends(
        stack, rep, run_id, status="failed", scenario="channel_interference"
    )
    assert "channel_interference" in [rule for rule, _, _ in stack.findings(retest.id)]
    record_timing(
        "postgres_restarted",
        outage_s=OUTAGE_S,
        run_status=run.status,
        run_error=run.error_message,
        devices_before=devices_when_stopped,
        devices_kept=len(devices),
        run_ended_after_restart_s=round(ended_after_restart_s, 2),
    )
