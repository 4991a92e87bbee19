"""A run that ends early still ends cleanly: its outcome recorded, no step left running.

The fault tests (tests/faults) show these against a real stack; here each is one quick check.
"""

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, OperationalError, transaction
from django.utils import timezone

from han_gateway.protocol import Identity, InterfaceInfo, ScanErrorEvent, ScanEvent
from portal.models import HanTestRun, Premise, RunStep, User
from portal.test_runs import execute
from portal.test_runs.execute import han_test_run_execute, run_finish
from portal.test_runs.reaper import han_test_runs_reap
from portal.test_runs.recorder import RunEnded, RunRecorder
from portal.test_runs.start import han_test_start
from tests.conftest import gateway_identity, one_interface

pytestmark = pytest.mark.django_db


class _Gateway:
    """Answers like a gateway whose scan stops at the time it was given."""

    def __enter__(self) -> "_Gateway":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def identify(self) -> Identity:
        return gateway_identity("MTR-100001")

    def interfaces(self) -> list[InterfaceInfo]:
        return [one_interface(device_count=2)]

    def scan(self, interface_id: str, *, timeout_s: float) -> Iterator[ScanEvent]:
        yield ScanErrorEvent(
            event="error",
            scan_id="s1",
            code="scan_timeout",
            message=f"The scan did not finish within {timeout_s:g} s.",
        )


def _start(demo_world) -> HanTestRun:
    premise = Premise.objects.get(premises_gateway__meter_number="MTR-100001")
    return han_test_start(premise=premise, user=User.objects.get(username="rep"))


def _run_against(demo_world, gateway: Any) -> HanTestRun:
    """Start a run at the demo's MTR-100001 and execute it against ``gateway``, a stand-in
    for its GatewayClient; the run as it ended."""
    run = _start(demo_world)
    han_test_run_execute(run.pk, client_factory=lambda premises_gateway: gateway)
    run.refresh_from_db()
    return run


def test_gateway_stopping_at_its_deadline_ends_the_run_with_the_time_limit(
    demo_world, no_enqueue, settings
):
    settings.HAN_RUN_TIME_LIMIT_S = 8
    run = _run_against(demo_world, _Gateway())
    assert run.status == HanTestRun.Status.FAILED
    assert run.error_message == "The gateway did not finish within 8 s."
    assert run.findings.get().rule == "gateway_unreachable"
    scan = run.steps.get(key="scan:han0")
    assert (scan.status, scan.detail) == (RunStep.Status.FAILED, "Stopped before it finished.")
    assert not run.steps.filter(status=RunStep.Status.RUNNING).exists()


def test_reaped_run_shows_no_step_still_running(demo_world, no_enqueue, settings):
    settings.HAN_RUN_STALE_AFTER_S = 30
    run = _start(demo_world)
    HanTestRun.objects.filter(pk=run.pk).update(
        status="running", heartbeat_at=timezone.now() - timedelta(seconds=31)
    )
    RunStep.objects.create(run=run, key="scan:han0", title="Scan interface han0")
    assert han_test_runs_reap() == 1
    step = run.steps.get()
    assert step.status == RunStep.Status.FAILED
    assert step.finished_at is not None


# The retry closes the broken connection: the test cannot sit inside a transaction.
@pytest.mark.django_db(transaction=True)
def test_outcome_is_recorded_once_the_database_is_back(
    demo_world, no_enqueue, settings, monkeypatch
):
    settings.HAN_RUN_STALE_AFTER_S = 10
    settings.HAN_RUN_TIME_LIMIT_S = 8
    monkeypatch.setattr(execute, "DATABASE_RETRY_EVERY_S", 0)
    finish = run_finish
    calls = []

    def finish_after_an_outage(*args: Any) -> None:
        calls.append(args)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        finish(*args)

    monkeypatch.setattr(execute, "run_finish", finish_after_an_outage)
    run = _run_against(demo_world, _Gateway())
    assert len(calls) == 2
    assert run.status == HanTestRun.Status.FAILED
    assert run.error_message == "The gateway did not finish within 8 s."


class _GatewayTheReaperGaveUpOn(_Gateway):
    """A gateway so slow that the reaper declares the worker lost while the scan still runs."""

    def scan(self, interface_id: str, *, timeout_s: float) -> Iterator[ScanEvent]:
        run = HanTestRun.objects.get()
        HanTestRun.objects.filter(pk=run.pk).update(
            heartbeat_at=timezone.now() - timedelta(seconds=31)
        )
        assert han_test_runs_reap() == 1
        yield from super().scan(interface_id, timeout_s=timeout_s)


def test_the_reapers_verdict_stands_when_the_worker_finishes_later(
    demo_world, no_enqueue, settings
):
    settings.HAN_RUN_STALE_AFTER_S = 30
    run = _run_against(demo_world, _GatewayTheReaperGaveUpOn())
    assert run.status == HanTestRun.Status.ERROR
    assert "the worker running it was lost" in run.error_message
    assert not run.findings.exists()  # no "gateway unreachable" diagnosis written over it
    assert run.case.status == run.case.Status.OPEN


@pytest.mark.parametrize("ended", ["passed", "failed", "error", "cancelled"])
def test_the_database_refuses_to_relabel_a_run_that_ended(demo_world, no_enqueue, ended):
    run = _start(demo_world)
    HanTestRun.objects.filter(pk=run.pk).update(status=ended)
    other = "error" if ended != "error" else "passed"
    refused = pytest.raises(DatabaseError, match="a run that has ended keeps its outcome")
    with refused, transaction.atomic():
        HanTestRun.objects.filter(pk=run.pk).update(status=other)
    run.refresh_from_db()
    assert run.status == ended
    run.phase = "Shown again"
    run.save()  # everything else about an ended run may still be written


def test_a_worker_stops_at_its_next_step_once_its_run_was_reaped(demo_world, no_enqueue, settings):
    settings.HAN_RUN_STALE_AFTER_S = 30
    run = _start(demo_world)
    HanTestRun.objects.filter(pk=run.pk).update(
        status="running", heartbeat_at=timezone.now() - timedelta(seconds=31)
    )
    assert han_test_runs_reap() == 1
    recorder = RunRecorder(run=run, deadline=time.monotonic() + 60)
    with pytest.raises(RunEnded):
        recorder.checkpoint()
    run.refresh_from_db()
    assert run.status == HanTestRun.Status.ERROR


class _SilentWhileASleepyDevicePolls(_Gateway):
    """A scan that says nothing, as one waiting for a sleepy device's next poll does, until
    the run's heartbeat has moved without it."""

    heartbeat_moved = False

    def scan(self, interface_id: str, *, timeout_s: float) -> Iterator[ScanEvent]:
        run = HanTestRun.objects.get()
        deadline = time.monotonic() + 15
        while HanTestRun.objects.get(pk=run.pk).heartbeat_at == run.heartbeat_at:
            assert time.monotonic() < deadline, "no heartbeat while the gateway was silent"
            time.sleep(0.1)
        self.heartbeat_moved = True
        yield from super().scan(interface_id, timeout_s=timeout_s)


# The heartbeat writes on a connection of its own: the run's rows must be committed.
@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_moves_while_the_gateway_is_silent(demo_world, no_enqueue, settings):
    settings.HAN_RUN_TIME_LIMIT_S = 30
    gateway = _SilentWhileASleepyDevicePolls()
    run = _run_against(demo_world, gateway)
    assert gateway.heartbeat_moved
    assert run.error_message == "The gateway did not finish within 30 s."


def test_a_run_far_past_its_time_limit_is_reaped_even_with_a_fresh_heartbeat(
    demo_world, no_enqueue, settings
):
    settings.HAN_RUN_STALE_AFTER_S = 30
    settings.HAN_RUN_TIME_LIMIT_S = 60
    run = _start(demo_world)
    now = timezone.now()
    HanTestRun.objects.filter(pk=run.pk).update(
        status="running", heartbeat_at=now, started_at=now - timedelta(seconds=89)
    )
    assert han_test_runs_reap() == 0  # within its limit and the reaper's margin
    HanTestRun.objects.filter(pk=run.pk).update(started_at=now - timedelta(seconds=91))
    assert han_test_runs_reap() == 1
    run.refresh_from_db()
    assert run.status == HanTestRun.Status.ERROR
    assert "did not finish in time" in run.error_message
