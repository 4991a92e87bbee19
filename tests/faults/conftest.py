"""Fault tests: a private stack (tests/stack.py) whose parts the tests kill and restart.

They run in real-services mode only (``PORTAL_REAL_SERVICES=1``, as CI's second pass); the
shared PostgreSQL and Redis of the machine are never touched, only the private stack's own.
"""

import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.faults.scenarios import scenario_devices
from tests.stack import ARTIFACTS, PortalSession, RunRow, Service, Stack, processes_of

# Runs of the demo's southern meters go to their own queue, so that a test can give them a
# worker of its own (a shorter time limit, or one to SIGKILL) while "w1" serves the rest.
SOUTH_QUEUE = "han-south"
REP_PASSWORD = "han-demo-rep"


@pytest.fixture(scope="session")
def private_stack():
    with Stack.create(region_queues={"south": SOUTH_QUEUE}) as stack:
        _append_timing("stack_start", **stack.timings)
        yield stack
        pids = stack.pids()
    # Nothing the stack started may outlive it.
    assert processes_of(pids) == [], f"processes left behind: {processes_of(pids)}"


@pytest.fixture
def stack(private_stack):
    """The private stack, every part running and /health/?worker=1 answering 200."""
    private_stack.ensure_running()
    yield private_stack
    private_stack.keep_logs()


@pytest.fixture(scope="session")
def rep(private_stack):
    """The demo representative, signed in through the real sign-in form."""
    session = private_stack.sign_in("rep", REP_PASSWORD)
    yield session
    session.close()


def _append_timing(name: str, **figures: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    line = {"test": name, "at": time.time(), "session": os.getpid(), **figures}
    with open(ARTIFACTS / "timings.jsonl", "a") as log:
        log.write(json.dumps(line, default=str) + "\n")


@pytest.fixture
def record_timing() -> Callable[..., None]:
    """``record_timing(name, **figures)``: append what the test observed to
    test-artifacts/faults/timings.jsonl."""
    return _append_timing


def assert_run_left_clean(stack: Stack, run_id: int) -> None:
    """A run that ended recorded nothing twice and shows no step as still under way."""
    duplicates = stack.duplicates(run_id)
    assert all(not rows for rows in duplicates.values()), duplicates
    running = [key for key, status in stack.steps(run_id).items() if status == "running"]
    assert running == [], f"run {run_id} ended with steps still running: {running}"


def assert_retest_ends(
    stack: Stack, rep: PortalSession, run_id: int, *, status: str, scenario: str
) -> RunRow:
    """Retest the run: the retest ends ``status``, having found every device of ``scenario``
    and recorded nothing twice, and no run is left active."""
    retest_id = rep.retest(run_id)
    retest = stack.wait_for_run_end(retest_id, timeout_s=60)
    assert retest.status == status, retest
    assert set(stack.devices(retest_id)) == scenario_devices(scenario)
    assert_run_left_clean(stack, retest_id)
    assert stack.active_runs() == []
    return retest


def start_after_outage(service: Service, *, stopped_at: float, outage_s: float) -> float:
    """Start the stopped service once it has been down ``outage_s`` seconds; when it started
    (``time.monotonic()``)."""
    time.sleep(max(0.0, outage_s - (time.monotonic() - stopped_at)))
    service.start()
    return time.monotonic()
