"""Running one HAN test: reach the gateway, enumerate, scan, check, diagnose (steps 5.2-5.4).

Every step and device is committed, then published to the run's viewers. The task that calls
``han_test_run_execute`` may be delivered twice: only the delivery that moves the run from
queued to running does anything, and every row it writes is keyed so that nothing is recorded
twice.
"""

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from han_gateway.client import SCAN_GRACE_S, GatewayClient, GatewayError, GatewayUnreachable
from han_gateway.models import HanDevice, PremisesGateway
from han_gateway.protocol import (
    DeviceReport,
    EnergyScanResult,
    ScanDeviceEvent,
    ScanErrorEvent,
    ScanFinishedEvent,
    ScanSummary,
)
from portal.access.attribution import InterfaceAttribution, Placement
from portal.commissioning.services import registrations_follow_run
from portal.diagnosis import rules as diagnosis
from portal.gateway_clients import gateway_client_for
from portal.models import (
    Finding,
    HanTestCase,
    HanTestRun,
    ObservedDevice,
    RunStep,
    WorkOrder,
)
from portal.test_runs.events import publish_run_event
from portal.test_runs.expectations import (
    device_interface,
    last_known_parents,
    premise_expectations,
    seen_at_other_meters,
)
from portal.test_runs.observations import (
    PremiseRecords,
    check_for_device,
    device_observation,
    interface_remember,
    premise_records_for_run,
)
from portal.test_runs.payloads import (
    finding_payload,
    observed_device_payload,
    run_state,
)
from portal.test_runs.reaper import run_steps_stop
from portal.test_runs.recorder import (
    RunCancelled,
    RunEnded,
    RunRecorder,
    RunTimedOut,
    WorkerHeartbeat,
)
from portal.test_runs.work_orders import work_orders_end_with_case

logger = logging.getLogger(__name__)


OPERATIONAL_CHECK_TIMEOUT_S = 5.0


DATABASE_RETRY_EVERY_S = 1.0


FINISHED_PHASES: dict[str, str] = {
    HanTestRun.Status.PASSED: "Passed",
    HanTestRun.Status.FAILED: "Problems found",
    HanTestRun.Status.CANCELLED: "Cancelled",
}


GatewayClientFactory = Callable[[PremisesGateway], GatewayClient]


def han_test_run_execute(
    run_id: int, *, client_factory: GatewayClientFactory = gateway_client_for
) -> None:
    now = timezone.now()
    claimed = HanTestRun.objects.filter(pk=run_id, status=HanTestRun.Status.QUEUED).update(
        status=HanTestRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        phase="Starting",
    )
    if not claimed:
        logger.info("run %s is not queued any more; nothing to do", run_id)
        return
    run = HanTestRun.objects.select_related("case", "premise__premises_gateway").get(pk=run_id)
    recorder = RunRecorder(run=run, deadline=time.monotonic() + settings.HAN_RUN_TIME_LIMIT_S)
    publish_run_event(run.pk, {"kind": "run", "run": run_state(run)})
    gateway = run.premise.premises_gateway
    assert gateway is not None  # noqa: S101 - a run is only started for a premise with one
    with WorkerHeartbeat(run.pk):
        outcome = _run_outcome(recorder, gateway, client_factory)
    if outcome is None:
        return
    _finish_despite_database_outage(recorder, *outcome)
    try:
        registrations_follow_run(run=run)
    except Exception:
        logger.exception("run %s: registrations not updated", run_id)


def _run_outcome(
    recorder: RunRecorder, gateway: PremisesGateway, client_factory: GatewayClientFactory
) -> tuple[str, str] | None:
    """The run's status and error message; None when the run ended without this worker."""
    run_id = recorder.run.pk
    try:
        try:
            client = client_factory(gateway)
        except GatewayError as error:
            observations = _Observations(reached=False, error=_gateway_error_text(error))
        else:
            with client:
                observations = _scan_everything(recorder, client, gateway)
        outcome = _diagnose(recorder, observations)
    except RunEnded:
        logger.warning("run %s ended while its worker was still on it; stopping", run_id)
        return None
    except RunCancelled:
        outcome = (HanTestRun.Status.CANCELLED, "")
    except RunTimedOut:
        outcome = _diagnose(
            recorder,
            _Observations(
                reached=False,
                error=f"The gateway did not finish within {settings.HAN_RUN_TIME_LIMIT_S} s.",
            ),
        )
    except Exception:
        reference = secrets.token_hex(4)
        logger.exception("run %s failed (reference %s)", run_id, reference)
        outcome = (
            HanTestRun.Status.ERROR,
            f"Sorry, the test failed on our side (reference {reference}). Please retest.",
        )
    return outcome


@dataclass
class _Observations:
    reached: bool
    error: str = ""
    interfaces: list[diagnosis.InterfaceObservation] = field(default_factory=list)
    join_decisions: list[diagnosis.JoinDecision] = field(default_factory=list)


def _scan_everything(
    recorder: RunRecorder, client: GatewayClient, gateway: PremisesGateway
) -> _Observations:
    known = premise_records_for_run(recorder.run)
    step = recorder.step_start("connect", f"Reach meter {gateway.meter_number} over the AMI")
    recorder.progress(2, "Reaching the meter's HAN interface")
    try:
        client.identify()
        interfaces = client.interfaces()
    except GatewayError as error:
        recorder.step_end(step, RunStep.Status.FAILED, error.message)
        return _Observations(reached=False, error=_gateway_error_text(error))
    recorder.step_end(step, RunStep.Status.DONE, f"{len(interfaces)} HAN interface(s)")

    step = recorder.step_start("enumerate", "Enumerate HAN interfaces")
    shared = known.ownership.shared
    for reported in interfaces:
        # A shared gateway's count includes other premises' devices: counted after the scan.
        recorder.interface(reported, device_count=0 if shared else None)
        interface_remember(gateway, reported)
    recorder.planned_devices = sum(interface.device_count for interface in interfaces)
    recorder.step_end(
        step, RunStep.Status.DONE, ", ".join(interface.id for interface in interfaces) or "none"
    )
    recorder.progress(10, "Interfaces enumerated")

    observations = _Observations(reached=True)
    share = 70 / max(len(interfaces), 1)
    for index, reported in enumerate(interfaces):
        interface_id = reported.id
        base = 10 + share * index
        recorder.checkpoint()
        step = recorder.step_start(f"scan:{interface_id}", f"Scan interface {interface_id}")
        attribution = InterfaceAttribution(known.ownership, coordinator=reported.coordinator_eui64)
        finished: list[ScanSummary] = []
        try:
            found = _scan_interface(
                recorder, client, interface_id, known, attribution, base, share, finished
            )
        except GatewayError as error:
            recorder.step_end(step, RunStep.Status.FAILED, error.message)
            if isinstance(error, GatewayUnreachable):
                return _Observations(reached=False, error=_gateway_error_text(error))
            return _Observations(reached=False, error=error.message)
        recorder.step_end(step, RunStep.Status.DONE, f"{found} device(s) found")
        observations.join_decisions.extend(
            diagnosis.JoinDecision(
                eui64=decision.eui64,
                decision=decision.decision,
                at=decision.at.isoformat(timespec="seconds"),
                interface=interface_id,
            )
            for summary in finished
            for decision in summary.join_decisions
        )
        counted = finished[0].stack_counters if finished else None

        recorder.checkpoint()
        step = recorder.step_start(f"energy:{interface_id}", f"Energy scan on {interface_id}")
        channel_health = diagnosis.InterfaceObservation(
            interface_id,
            reported.channel,
            join_policy=reported.join_policy,
            radio=reported.radio,
            stack_counters=counted.model_dump() if counted is not None else None,
        )
        try:
            scanned = client.energy_scan(interface_id)
            channel_health = replace(
                channel_health,
                energy_by_channel=dict(scanned.energy),
                mean_energy_by_channel=dict(scanned.mean_energy),
                energy_samples=scanned.samples,
                tx_power_dbm=scanned.tx_power_dbm,
            )
            recorder.step_end(step, RunStep.Status.DONE, _energy_detail(scanned))
        except GatewayError as error:
            recorder.step_end(step, RunStep.Status.FAILED, error.message)
        # The record keeps each channel's peak: the sample that shows a burst.
        recorder.interface(
            reported,
            dict(channel_health.energy_by_channel),
            device_count=found if shared else None,
            stack_counters=channel_health.stack_counters,
        )
        observations.interfaces.append(channel_health)
    recorder.progress(82, "Checking devices act on utility messages")
    _operational_checks(recorder, client)
    return observations


def _energy_detail(scanned: EnergyScanResult) -> str:
    """The energy step's line: the busiest channel at its peak, and its mean when sampled."""
    if not scanned.energy:
        return ""
    channel, peak = max(scanned.energy.items(), key=lambda item: item[1])
    if scanned.samples == 1 or channel not in scanned.mean_energy:
        return f"busiest channel {channel} ({peak}/255)"
    mean = scanned.mean_energy[channel]
    return f"busiest channel {channel} (peak {peak}/255, mean {mean}, {scanned.samples} samples)"


def _scan_interface(
    recorder: RunRecorder,
    client: GatewayClient,
    interface_id: str,
    known: PremiseRecords,
    attribution: InterfaceAttribution,
    base: float,
    share: float,
    finished: list[ScanSummary],
) -> int:
    """Record the devices of this premise the scan finds; returns how many. The scan's summary
    (the gateway's join log, the stack's counters) is added to `finished`."""
    seen = 0
    planned = max(recorder.planned_devices, 1)
    timeout_s = max(recorder.remaining_s() - SCAN_GRACE_S - 1, 1)
    reports: dict[str, DeviceReport] = {}
    # Closed the moment the loop is left, a cancel included: the gateway then ends its scan
    # and the interface is free for the retest, instead of when the run's objects are freed.
    with contextlib.closing(client.scan(interface_id, timeout_s=timeout_s)) as events:
        for event in events:
            recorder.checkpoint()
            if isinstance(event, ScanDeviceEvent):
                reported = event.device
                eui64 = reported.eui64
                if reported.device_type == "coordinator":
                    # The gateway itself, not a device on its HAN.
                    attribution.coordinator = eui64
                    continue
                reports[eui64] = reported
                seen += 1
                if attribution.arrive(eui64, reported.parent) is Placement.HERE:
                    recorder.device(
                        interface_id, attribution.without_other_premises(reported), known
                    )
                done = min(seen / planned, 1.0)
                found = len(attribution.kept())
                recorder.progress(
                    int(base + share * done), f"Scanning {interface_id}: {found} found"
                )
            elif isinstance(event, ScanFinishedEvent):
                finished.append(event.summary)
            elif isinstance(event, ScanErrorEvent):
                if event.code == "scan_timeout":
                    # The gateway stopped at the time it was given: what was left of the
                    # run's limit.
                    raise RunTimedOut
                raise GatewayError(event.code, event.message[:300] or "The scan failed.")
    _record_settled(recorder, interface_id, known, attribution, reports)
    return sum(1 for eui64 in reports if attribution.placed.get(eui64) is Placement.HERE)


def _record_settled(
    recorder: RunRecorder,
    interface_id: str,
    known: PremiseRecords,
    attribution: InterfaceAttribution,
    reports: dict[str, DeviceReport],
) -> None:
    """Record the devices placed here once the scan ended, and the links that leads to them.

    A device recorded as it arrived lost its links to devices not yet placed; those that turn
    out to be this premise's are given back.
    """
    recorded_early = attribution.kept()
    settled = attribution.settle()
    newly_kept = {eui64 for eui64, place in settled.items() if place is Placement.HERE}
    if not newly_kept:
        return
    for eui64, reported in reports.items():
        linked = eui64 in recorded_early and _mentions(reported, newly_kept)
        if eui64 in newly_kept or linked:
            recorder.device(interface_id, attribution.without_other_premises(reported), known)


def _mentions(reported: DeviceReport, eui64s: set[str]) -> bool:
    neighbours = {link.neighbor for link in reported.links}
    return bool(neighbours & eui64s) or reported.parent in eui64s


def _operational_checks(recorder: RunRecorder, client: GatewayClient) -> None:
    devices = [
        (device, check)
        for device in ObservedDevice.objects.filter(run=recorder.run)
        if (check := check_for_device(device)) is not None
    ]
    if not devices:
        return
    step = recorder.step_start("operational", "Send a utility test message to each device")
    acknowledged = 0
    for device, check in devices:
        recorder.checkpoint()
        try:
            answer = client.operational_check(
                device.interface, device.eui64, check, timeout_s=OPERATIONAL_CHECK_TIMEOUT_S
            )
            if answer.acknowledged:
                result = "acknowledged"
            else:
                result = "not_acknowledged" if answer.delivered else "not_delivered"
        except GatewayError as error:
            # Not the device's answer (it cannot take the check, or the gateway failed): the
            # device is not judged on it.
            logger.info(
                "run %s: no operational check of %s: %s", recorder.run.pk, device.eui64, error.code
            )
            continue
        acknowledged += result == "acknowledged"
        with transaction.atomic():
            device.operational_check = result
            device.save(update_fields=["operational_check"])
            shown = observed_device_payload(device, recorder.radios.get(device.interface, ""))
            publish_run_event(recorder.run.pk, {"kind": "device", "device": shown})
    recorder.step_end(step, RunStep.Status.DONE, f"{acknowledged} of {len(devices)} acknowledged")


def _gateway_error_text(error: GatewayError) -> str:
    if error.code == "unauthorised":
        return "The gateway refused the portal's credentials."
    return error.message


def _with_earlier_map(
    run: HanTestRun,
    devices: tuple[diagnosis.DeviceObservation, ...],
    registered: Iterable[HanDevice],
) -> tuple[diagnosis.DeviceObservation, ...]:
    """The devices as the diagnosis takes them, with what the premise's earlier runs mapped.

    A real radio keeps no map of who joined through whom across a restart: behind a router
    that went silent before the gateway's first scan, its devices come without a parent (or,
    on EmberZNet, not at all). Placed where the latest earlier run found them, the silent router
    is the finding, not each device behind it.
    """
    unplaced = [device.eui64 for device in devices if not device.reachable and not device.parent]
    seen = {device.eui64 for device in devices}
    missing = [device for device in registered if device.eui64 not in seen]
    parents = last_known_parents(
        premise=run.premise, eui64s=[*unplaced, *(each.eui64 for each in missing)], before=run.pk
    )
    if not parents:
        return devices
    placed = tuple(
        replace(device, parent=parents[device.eui64])
        if device.eui64 in unplaced and device.eui64 in parents
        else device
        for device in devices
    )
    silent = {device.eui64: device for device in placed if not device.reachable}
    # A registered device the radio no longer knows, last found behind a router that is silent:
    # out of reach through it.
    cut_off = tuple(
        diagnosis.DeviceObservation(
            eui64=device.eui64,
            interface=silent[parents[device.eui64]].interface,
            category_label=device.get_category_display(),
            manufacturer=device.manufacturer,
            model=device.model,
            reachable=False,
            registered=True,
            parent=parents[device.eui64],
        )
        for device in missing
        if parents.get(device.eui64) in silent
    )
    return placed + cut_off


def _diagnose(recorder: RunRecorder, observations: _Observations) -> tuple[str, str]:
    run = recorder.run
    step = recorder.step_start("diagnose", "Diagnose")
    expected = premise_expectations(premise=run.premise)
    devices = _with_earlier_map(
        run,
        tuple(device_observation(device) for device in ObservedDevice.objects.filter(run=run)),
        expected.utility_devices,
    )
    seen = {device.eui64 for device in devices}
    elsewhere = seen_at_other_meters(
        premises_gateway_id=run.premise.premises_gateway_id or 0,
        eui64s=[each.eui64 for each in expected.utility_devices if each.eui64 not in seen],
    )
    data = diagnosis.DiagnosisInput(
        gateway_reached=observations.reached,
        gateway_error=observations.error,
        interfaces=tuple(observations.interfaces),
        devices=devices,
        expected=tuple(
            diagnosis.ExpectedDevice(
                eui64=device.eui64,
                category_label=device.get_category_display(),
                manufacturer=device.manufacturer,
                model=device.model,
                registration_status=expected.registration_status.get(device.eui64, ""),
                interface=device_interface(device),
                seen_elsewhere=elsewhere.get(device.eui64, ""),
            )
            for device in expected.utility_devices
        ),
        approved=expected.approved,
        capacity=expected.capacity,
        thresholds=diagnosis.Thresholds.from_settings(settings.HAN_DIAGNOSIS_THRESHOLDS),
        subject_eui64=run.case.subject_eui64,
        join_decisions=tuple(observations.join_decisions),
    )
    findings = diagnosis.diagnose(data)
    with transaction.atomic():
        active = HanTestRun.objects.select_for_update().filter(
            pk=run.pk, status__in=HanTestRun.ACTIVE
        )
        if not active.exists():
            # Ended without this worker (the reaper): findings would contradict its outcome.
            recorder.step_end(step, RunStep.Status.SKIPPED, "The run had already ended.")
            return HanTestRun.Status.ERROR, ""
        Finding.objects.filter(run=run).delete()
        rows = Finding.objects.bulk_create(
            Finding(
                run=run,
                rule=finding.rule,
                severity=finding.severity,
                action=finding.action,
                title=finding.title[:200],
                evidence=finding.evidence,
                customer_text=finding.customer_text,
                eui64=finding.eui64,
                position=position,
            )
            for position, finding in enumerate(findings)
        )
        publish_run_event(
            run.pk, {"kind": "findings", "findings": [finding_payload(row) for row in rows]}
        )
    recorder.step_end(step, RunStep.Status.DONE, f"{len(findings)} finding(s)")
    if diagnosis.passed(findings):
        return HanTestRun.Status.PASSED, ""
    return HanTestRun.Status.FAILED, observations.error


def _finish_despite_database_outage(recorder: RunRecorder, status: str, error: str) -> None:
    """Record the outcome, waiting out a short database outage (a restart, a fail-over).

    A run whose connection broke mid-scan could not record its failure on that connection and
    stayed "running" until the reaper failed it as if its worker had died. Give up in half the
    reaper's time, so the reaper's verdict never overwrites this one or the other way round.
    """
    give_up_at = time.monotonic() + settings.HAN_RUN_STALE_AFTER_S / 2
    while True:
        try:
            run_finish(recorder, status, error)
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() > give_up_at:
                raise
            logger.warning(
                "run %s: database unavailable; recording its outcome again", recorder.run.pk
            )
            connection.close()  # a broken connection is never reused; the next query reconnects
            time.sleep(DATABASE_RETRY_EVERY_S)


def run_finish(recorder: RunRecorder, status: str, error: str) -> None:
    """Record the run's outcome, unless it has ended already (the reaper, a cancel).

    The first terminal status stands: this update only moves an active run, and the database
    refuses any change to a run that has ended.
    """
    run = recorder.run
    now = timezone.now()
    fields: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "error_message": error[:300],
        "estimated_seconds": None,
        "phase": FINISHED_PHASES.get(status, "Could not complete"),
    }
    if status in {HanTestRun.Status.PASSED, HanTestRun.Status.FAILED}:
        fields["progress"] = 100
    with transaction.atomic():
        ended = HanTestRun.objects.filter(pk=run.pk, status__in=HanTestRun.ACTIVE).update(**fields)
        run.refresh_from_db()
        if not ended:
            logger.warning(
                "run %s had already ended as %s; its worker's outcome (%s) is not recorded",
                run.pk,
                run.status,
                status,
            )
            return
        run_steps_stop(run=run, moment=now)
        if status == HanTestRun.Status.PASSED:
            HanTestCase.objects.filter(pk=run.case_id, status=HanTestCase.Status.OPEN).update(
                status=HanTestCase.Status.RESOLVED, resolved_at=now
            )
            work_orders_end_with_case(
                case_id=run.case_id,
                status=WorkOrder.Status.DONE,
                outcome=f"The HAN passed run {run.number}.",
                moment=now,
            )
        publish_run_event(run.pk, {"kind": "run", "run": run_state(run)})
