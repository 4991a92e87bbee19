"""Redis (broker and channel layer) restarted during a run, losing everything it held.

Pages are rendered from PostgreSQL and keep working; the worker keeps committing and the run
ends; live events published during the outage are lost, and a viewer that connects again
afterwards is sent the full state from the database.
"""

import time

import pytest

from tests.faults.conftest import REP_PASSWORD, assert_run_left_clean, start_after_outage
from tests.faults.scenarios import scenario_devices, slow
from tests.stack import PortalSession, StackError

pytestmark = pytest.mark.realservices

OUTAGE_S = 2.5


def test_redis_restarted_mid_run_pages_work_run_ends_and_a_new_viewer_catches_up(
    stack, rep, record_timing
):
    worker = stack.workers["w1"]
    exits_before = len(worker.exits)
    stack.replace_scenario("MTR-100002", slow("weak_link", per_hop_latency_ms=60))
    run_id = rep.start_run(stack.premise_id("MTR-100002"))
    viewer = rep.viewer(run_id)
    try:
        stack.wait_for_devices(run_id, 1, timeout_s=30)
        stopped_at = time.monotonic()
        stack.redis.stop()

        page = rep.get(f"/runs/{run_id}/")
        assert page.status_code == 200, page.status_code
        assert "Bernard Okafor" in page.text or "88 Lakeview Drive" in page.text
        health_status, health = stack.health(worker=False)
        assert health_status == 503
        assert health["checks"] == {"database": "ok", "live_events": "failing"}
        # Signing in counts failures in the cache, which lives in Redis too: noted, not judged.
        sign_in_during_outage = _sign_in_status(stack)

        restarted_at = start_after_outage(stack.redis, stopped_at=stopped_at, outage_s=OUTAGE_S)
        run = stack.wait_for_run_end(run_id, timeout_s=60)
        ended_after_restart_s = time.monotonic() - restarted_at
    finally:
        stack.replace_scenario("MTR-100002", "weak_link")
        viewer.close()

    # The weak-link HAN was scanned to the end: nothing the worker committed was lost.
    assert run.status == "failed", run
    assert run.error_message == ""
    assert set(stack.devices(run_id)) == scenario_devices("weak_link")
    assert "weak_link" in [rule for rule, _, _ in stack.findings(run_id)]
    assert_run_left_clean(stack, run_id)

    # A viewer that (re)connects now is sent the whole run from the database.
    again = rep.viewer(run_id)
    try:
        snapshot = again.snapshot()
    finally:
        again.close()
    assert snapshot["run"]["status"] == "failed"
    # The rep sees the customer's own devices masked ("••:…:0a:12"); the utility's in full.
    shown = [device["eui64"] for device in snapshot["devices"]]
    assert len(shown) == len(stack.devices(run_id))
    assert {eui64 for eui64 in shown if "•" not in eui64} <= set(stack.devices(run_id))
    assert [f["rule"] for f in snapshot["findings"]] == [r for r, _, _ in stack.findings(run_id)]

    sign_in_after_restart = _sign_in_status(stack)
    stack.wait_healthy(timeout_s=60)  # the worker is back on the broker
    assert stack.active_runs() == []
    record_timing(
        "redis_restarted",
        outage_s=OUTAGE_S,
        run_ended_after_restart_s=round(ended_after_restart_s, 2),
        healthy_again_after_restart_s=round(time.monotonic() - restarted_at, 2),
        first_viewer_frames=len(viewer.frames),
        first_viewer_close_code=viewer.close_code,
        first_viewer_saw_end=any(
            f.get("kind") == "run" and not f["run"]["active"] for f in viewer.frames
        ),
        # Celery 5.7 stops a worker whose broker connection drops mid-task; the restart policy
        # (the stack's supervisor, Docker's unless-stopped) starts it again.
        worker_exits=len(worker.exits) - exits_before,
        sign_in_during_outage=sign_in_during_outage,
        sign_in_after_restart=sign_in_after_restart,
    )


def _sign_in_status(stack) -> str:
    """What a representative signing in now is answered: 'signed in', or the HTTP status."""
    session = PortalSession(stack.portal_url)
    try:
        session.sign_in("rep", REP_PASSWORD)
    except StackError as error:
        return str(error)
    finally:
        session.close()
    return "signed in"
