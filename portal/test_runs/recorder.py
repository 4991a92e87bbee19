"""Writes a run's progress as it happens, committing each piece before it is pushed live."""

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from han_gateway.protocol import DeviceReport, InterfaceInfo
from portal.models import (
    HanTestRun,
    ObservedDevice,
    ObservedInterface,
    RunStep,
    save_changes,
)
from portal.test_runs.events import publish_run_event
from portal.test_runs.observations import (
    PremiseRecords,
    device_fields,
    short_address_value,
)
from portal.test_runs.payloads import (
    interface_payload,
    observed_device_payload,
    run_state,
    step_payload,
)

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY_S = 2.0
CANCEL_CHECK_EVERY_S = 0.5


class RunCancelled(Exception):
    pass


class RunTimedOut(Exception):
    pass


class RunEnded(Exception):
    """The run ended without its worker (the reaper gave up on it): stop and write nothing."""


class WorkerHeartbeat:
    """Moves an active run's heartbeat every few seconds for as long as its worker is on it,
    also while the worker waits on the gateway: a sleepy device that polls every 30 s keeps a
    scan silent for a long time, and that must not read as a lost worker. The run's time
    limit, not the heartbeat, bounds a slow gateway.

    One thread per worker process beats for all the runs the process is on, in one statement
    on one database connection of its own; it ends when the process has no run left. A run is
    only added from outside a transaction (another connection could not see its uncommitted
    rows, and on SQLite would wait on the caller's lock).
    """

    _lock = threading.Lock()
    _runs: ClassVar[set[int]] = set()
    _thread: ClassVar[threading.Thread | None] = None

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.beating = False

    def __enter__(self) -> "WorkerHeartbeat":
        if connection.in_atomic_block:
            return self
        cls = type(self)
        with cls._lock:
            cls._runs.add(self.run_id)
            if cls._thread is None:
                cls._thread = threading.Thread(target=cls._beat, name="run-heartbeats", daemon=True)
                cls._thread.start()
        self.beating = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.beating:
            with type(self)._lock:
                type(self)._runs.discard(self.run_id)

    @classmethod
    def _beat(cls) -> None:
        try:
            while True:
                time.sleep(HEARTBEAT_EVERY_S)
                with cls._lock:
                    if not cls._runs:
                        cls._thread = None
                        return
                    runs = list(cls._runs)
                try:
                    HanTestRun.objects.filter(pk__in=runs, status__in=HanTestRun.ACTIVE).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError:
                    # The workers' own writes meet the same outage and deal with it.
                    logger.warning("heartbeat of runs %s not written", runs, exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection


@dataclass
class RunRecorder:
    """Writes a run's progress, committing each piece before it is pushed."""

    run: HanTestRun
    deadline: float
    last_heartbeat: float = 0.0
    last_cancel_check: float = 0.0
    device_sequence: int = 0
    planned_devices: int = 0
    found_devices: int = 0
    started: float = field(default_factory=time.monotonic)
    radios: dict[str, str] = field(default_factory=dict)  # each interface's radio type

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def checkpoint(self) -> None:
        """Heartbeat, and stop if the run was cancelled, ran out of time or was ended elsewhere.

        A cancel is looked for more often than the heartbeat is written: the person who asked
        is watching the page."""
        now = time.monotonic()
        if now > self.deadline:
            raise RunTimedOut
        active = HanTestRun.objects.filter(pk=self.run.pk, status__in=HanTestRun.ACTIVE)
        if now - self.last_cancel_check >= CANCEL_CHECK_EVERY_S:
            self.last_cancel_check = now
            if active.filter(cancel_requested=True).exists():
                raise RunCancelled
        if now - self.last_heartbeat < HEARTBEAT_EVERY_S:
            return
        self.last_heartbeat = now
        if not active.update(heartbeat_at=timezone.now()):
            raise RunEnded

    def progress(self, percent: int, phase: str) -> None:
        percent = max(self.run.progress, min(percent, 100))
        elapsed = time.monotonic() - self.started
        estimate = int(elapsed / percent * (100 - percent)) + 1 if 5 <= percent < 100 else None
        self.run.progress = percent
        self.run.phase = phase[:120]
        self.run.estimated_seconds = estimate
        self.run.heartbeat_at = timezone.now()
        with transaction.atomic():
            self.run.save(update_fields=["progress", "phase", "estimated_seconds", "heartbeat_at"])
            publish_run_event(self.run.pk, {"kind": "run", "run": run_state(self.run)})

    def step_start(self, key: str, title: str) -> RunStep:
        with transaction.atomic():
            step, _ = RunStep.objects.update_or_create(
                run=self.run,
                key=key,
                defaults={"title": title, "status": RunStep.Status.RUNNING, "detail": ""},
            )
            publish_run_event(self.run.pk, {"kind": "step", "step": step_payload(step)})
        return step

    def step_end(self, step: RunStep, status: str, detail: str = "") -> None:
        with transaction.atomic():
            save_changes(step, status=status, detail=detail[:300], finished_at=timezone.now())
            publish_run_event(self.run.pk, {"kind": "step", "step": step_payload(step)})

    def interface(
        self,
        reported: InterfaceInfo,
        energy: dict[int, int] | None = None,
        *,
        device_count: int | None = None,
        stack_counters: Mapping[str, int] | None = None,
    ) -> None:
        """Record an interface; ``device_count`` replaces the gateway's count when given, and
        ``stack_counters`` are what the coordinator's stack counted during its scan."""
        defaults: dict[str, Any] = {
            "technology": reported.technology,
            "radio": reported.radio,
            "channel": reported.channel,
            "pan_id": short_address_value(reported.pan_id),
            "extended_pan_id": reported.extended_pan_id or "",
            "security_level": reported.security_level,
            "device_count": device_count if device_count is not None else reported.device_count,
            "reported": reported.model_dump(
                mode="json",
                include={
                    "smart_energy_version",
                    "coordinator_stack",
                    "coordinator_firmware",
                    "trust_center_eui64",
                    "join_policy",
                    "join_windows",
                    "max_devices",
                },
            ),
        }
        if energy is not None:
            defaults["energy_by_channel"] = {str(k): v for k, v in energy.items()}
        if stack_counters is not None:
            defaults["reported"]["stack_counters"] = dict(stack_counters)
        self.radios[reported.id] = reported.radio
        with transaction.atomic():
            observed, _ = ObservedInterface.objects.update_or_create(
                run=self.run, identifier=reported.id, defaults=defaults
            )
            publish_run_event(
                self.run.pk, {"kind": "interface", "interface": interface_payload(observed)}
            )

    def device(self, interface_id: str, reported: DeviceReport, known: "PremiseRecords") -> None:
        eui64 = reported.eui64
        fields = device_fields(reported, known.for_device(eui64))
        with transaction.atomic():
            existing = ObservedDevice.objects.filter(
                run=self.run, interface=interface_id, eui64=eui64
            ).first()
            if existing is None:
                self.device_sequence += 1
                observed = ObservedDevice.objects.create(
                    run=self.run,
                    interface=interface_id,
                    eui64=eui64,
                    sequence=self.device_sequence,
                    **fields,
                )
            else:
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.save(update_fields=list(fields))
                observed = existing
            publish_run_event(
                self.run.pk,
                {
                    "kind": "device",
                    "device": observed_device_payload(observed, self.radios.get(interface_id, "")),
                },
            )
        self.found_devices += 1
