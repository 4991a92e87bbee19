"""Fault tests: a private stack (tests/stack.py) whose parts the tests kill and restart.

They run in real-services mode only (``PORTAL_REAL_SERVICES=1``, as CI's second pass); the
shared PostgreSQL and Redis of the machine are never touched, only the private stack's own.
"""

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from han_gateway.scenarios import LIBRARY_DIRECTORY
from tests.stack import ARTIFACTS, Stack, processes_of

# Runs of the demo's southern meters go to their own queue, so that a test can give them a
# worker of its own (a shorter time limit, or one to SIGKILL) while "w1" serves the rest.
SOUTH_QUEUE = "han-south"
REP_PASSWORD = "han-demo-rep"


@pytest.fixture(scope="session")
def private_stack():
    with Stack.create(region_queues={"south": SOUTH_QUEUE}) as stack:
        record_timing("stack_start", **stack.timings)
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


def slow(scenario: str, per_hop_latency_ms: int, concurrency_limit: int = 1) -> dict[str, Any]:
    """A library scenario with a slower radio, so that a scan lasts long enough to break."""
    document: dict[str, Any] = yaml.safe_load(
        Path(LIBRARY_DIRECTORY, f"{scenario}.yaml").read_text()
    )
    document["radio"]["per_hop_latency_ms"] = per_hop_latency_ms
    document["radio"]["concurrency_limit"] = concurrency_limit
    return document


def scenario_devices(scenario: str) -> set[str]:
    """The EUI-64s of the devices the gateway's scenario puts on the HAN."""
    document = yaml.safe_load(Path(LIBRARY_DIRECTORY, f"{scenario}.yaml").read_text())
    return {str(device["eui64"]).lower() for device in document["devices"]}


def record_timing(name: str, **figures: Any) -> None:
    """Append what a fault test observed to test-artifacts/faults/timings.jsonl."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    line = {"test": name, "at": time.time(), "session": os.getpid(), **figures}
    with open(ARTIFACTS / "timings.jsonl", "a") as log:
        log.write(json.dumps(line, default=str) + "\n")


def assert_nothing_twice(stack: Stack, run_id: int) -> None:
    duplicates = stack.duplicates(run_id)
    assert all(not rows for rows in duplicates.values()), duplicates


def assert_no_step_left_running(stack: Stack, run_id: int) -> None:
    """A run that ended shows no step as still under way."""
    running = [key for key, status in stack.steps(run_id).items() if status == "running"]
    assert running == [], f"run {run_id} ended with steps still running: {running}"
