"""The gateway service dies mid-scan, is slower than the run's time limit, or talks garbage."""

import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

import pytest

from tests.conftest import answer_identify_and_one_interface, scan_device_line
from tests.faults.conftest import SOUTH_QUEUE, assert_retest_ends, assert_run_left_clean
from tests.faults.scenarios import scenario_devices, slow

pytestmark = pytest.mark.realservices

RUN_TIME_LIMIT_S = 8


def test_gateway_killed_mid_scan_fails_the_run_and_keeps_what_was_found(stack, rep, record_timing):
    stack.replace_scenario("MTR-100001", slow("healthy", per_hop_latency_ms=60))
    run_id = rep.start_run(stack.premise_id("MTR-100001"))
    viewer = rep.viewer(run_id)
    try:
        found_before = stack.wait_for_devices(run_id, 1, timeout_s=30)
        killed_at = time.monotonic()
        stack.gateway.kill()

        run = stack.wait_for_run_end(run_id, timeout_s=30)
        ended_after_s = time.monotonic() - killed_at
        assert run.status == "failed"
        assert "connection to the gateway failed" in run.error_message
        assert [rule for rule, _, _ in stack.findings(run_id)] == ["gateway_unreachable"]
        assert stack.steps(run_id)["scan:han0"] == "failed"
        devices = stack.devices(run_id)
        assert set(found_before) <= set(devices) <= scenario_devices("healthy")
        assert_run_left_clean(stack, run_id)
        # The viewer watching live was told, without reconnecting.
        viewer.wait_for(
            lambda frame: frame.get("kind") == "run" and frame["run"]["status"] == "failed",
            timeout_s=10,
            what="the failed run pushed to the viewer",
        )
    finally:
        viewer.close()

    restarted_at = time.monotonic()
    stack.gateway.start()
    gateway_back_s = time.monotonic() - restarted_at
    retest = assert_retest_ends(stack, rep, run_id, status="passed", scenario="healthy")
    record_timing(
        "gateway_killed",
        devices_before_kill=len(found_before),
        devices_kept=len(devices),
        run_ended_after_kill_s=round(ended_after_s, 2),
        gateway_restart_s=round(gateway_back_s, 2),
        retest_s=round((retest.finished_at - retest.started_at).total_seconds(), 2),
    )


def test_gateway_slower_than_the_time_limit_ends_the_run_within_the_limit(
    stack, rep, record_timing
):
    # Southern meters go to their own queue: this worker alone has the short time limit.
    stack.add_worker(
        "limited", queues=[SOUTH_QUEUE], env={"HAN_RUN_TIME_LIMIT_S": str(RUN_TIME_LIMIT_S)}
    )
    stack.replace_scenario("MTR-100004", slow("needs_router", per_hop_latency_ms=1000))
    try:
        started = time.monotonic()
        run_id = rep.start_run(stack.premise_id("MTR-100004"))
        run = stack.wait_for_run_end(run_id, timeout_s=RUN_TIME_LIMIT_S + 20)
        wall_s = time.monotonic() - started
    finally:
        stack.replace_scenario("MTR-100004", "needs_router")
        stack.remove_worker("limited")
    assert run.status == "failed"
    assert run.error_message == f"The gateway did not finish within {RUN_TIME_LIMIT_S} s."
    assert [rule for rule, _, _ in stack.findings(run_id)] == ["gateway_unreachable"]
    ran_for = run.finished_at - run.started_at
    assert ran_for <= timedelta(seconds=RUN_TIME_LIMIT_S + 2), ran_for
    assert_run_left_clean(stack, run_id)
    assert stack.active_runs() == []
    record_timing(
        "gateway_slower_than_limit",
        time_limit_s=RUN_TIME_LIMIT_S,
        run_s=round(ran_for.total_seconds(), 2),
        wall_s_from_click=round(wall_s, 2),
        error=run.error_message,
    )


def _garbage_mid_stream(handler: BaseHTTPRequestHandler) -> None:
    """A proper identify and interface list, then a scan stream that turns to garbage."""
    if answer_identify_and_one_interface(handler, "MTR-100006"):
        return
    handler.send_response(200)
    handler.send_header("Content-Type", "application/x-ndjson")
    handler.end_headers()
    handler.wfile.write(scan_device_line("00:0d:6f:00:0a:90:69:e7"))
    handler.wfile.flush()
    handler.wfile.write(b'{"event": "device", "dev\x00\xff ice": garbage\n')


def _garbage_from_the_start(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.end_headers()
    handler.wfile.write(b"\x00\xffnot json at all")


@pytest.mark.parametrize(
    ("behaviour", "evidence", "devices"),
    [
        (_garbage_mid_stream, "The gateway sent a malformed scan event", 1),
        (_garbage_from_the_start, "The gateway's identity is malformed", 0),
    ],
    ids=["mid-stream", "first-answer"],
)
def test_garbled_gateway_replies_fail_the_run_clearly(
    stack, rep, fake_gateway, behaviour, evidence, devices, record_timing
):
    stack.point_gateway_at("MTR-100006", fake_gateway(behaviour, tls=stack.tls))
    try:
        run_id = rep.start_run(stack.premise_id("MTR-100006"))
        run = stack.wait_for_run_end(run_id, timeout_s=30)
    finally:
        stack.point_gateway_at("MTR-100006", stack.gateway_url)
    assert run.status == "failed"
    findings = stack.findings(run_id)
    assert [rule for rule, _, _ in findings] == ["gateway_unreachable"]
    assert evidence in findings[0][2]
    assert len(stack.devices(run_id)) == devices  # committed before the garbage arrived
    assert_run_left_clean(stack, run_id)
    assert stack.active_runs() == []
    record_timing(
        f"garbled_{behaviour.__name__.strip('_')}",
        run_s=round((run.finished_at - run.started_at).total_seconds(), 2),
        error=run.error_message,
    )
