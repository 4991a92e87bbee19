"""Running one HAN test: reach the gateway, enumerate, scan, check, diagnose (steps 5.2-5.4).

Every step and device is committed, then published to the run's viewers. The task that calls
``han_test_run_execute`` may be delivered twice: only the delivery that moves the run from
queued to running does anything, and every row it writes is keyed so that nothing is recorded
twice.
"""

import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from han_gateway.client import SCAN_GRACE_S, GatewayClient, GatewayError, GatewayUnreachable
from han_gateway.eui64 import InvalidEUI64, normalise_eui64
from han_gateway.models import HanDevice, NetworkInterface, PremisesGateway
from han_gateway.zigbee_ids import (
    DRLC_CLUSTER_ID,
    HOME_AUTOMATION_PROFILE_ID,
    MESSAGING_CLUSTER_ID,
    METERING_CLUSTER_ID,
    ON_OFF,
    THERMOSTAT,
)
from portal import diagnosis
from portal.attribution import InterfaceAttribution, Placement, PremiseOwnership
from portal.commissioning import registrations_follow_run
from portal.gateway_clients import gateway_client_for
from portal.han_tests import run_steps_stop
from portal.live import publish_run_event
from portal.models import (
    Finding,
    HanTestCase,
    HanTestRun,
    ObservedDevice,
    ObservedInterface,
    RunStep,
)
from portal.presentation import (
    finding_payload,
    observed_device_payload,
    run_state,
    step_payload,
)
from portal.selectors import premise_device_ownership, premise_expectations
from trust_center.models import DeviceRegistration

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY_S = 2.0
OPERATIONAL_CHECK_TIMEOUT_S = 5.0
DATABASE_RETRY_EVERY_S = 1.0
FINISHED_PHASES: dict[str, str] = {
    HanTestRun.Status.PASSED: "Passed",
    HanTestRun.Status.FAILED: "Problems found",
    HanTestRun.Status.CANCELLED: "Cancelled",
}

GatewayClientFactory = Callable[[PremisesGateway], GatewayClient]


class RunCancelled(Exception):
    pass


class RunTimedOut(Exception):
    pass


@dataclass
class _Recorder:
    """Writes a run's progress, committing each piece before it is pushed."""

    run: HanTestRun
    deadline: float
    last_heartbeat: float = 0.0
    device_sequence: int = 0
    planned_devices: int = 0
    found_devices: int = 0
    started: float = field(default_factory=time.monotonic)

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def checkpoint(self) -> None:
        """Heartbeat, and stop if the run was cancelled or ran out of time."""
        now = time.monotonic()
        if now > self.deadline:
            raise RunTimedOut
        if now - self.last_heartbeat < HEARTBEAT_EVERY_S:
            return
        self.last_heartbeat = now
        HanTestRun.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now())
        if HanTestRun.objects.filter(pk=self.run.pk, cancel_requested=True).exists():
            raise RunCancelled

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
        step.status = status
        step.detail = detail[:300]
        step.finished_at = timezone.now()
        with transaction.atomic():
            step.save(update_fields=["status", "detail", "finished_at"])
            publish_run_event(self.run.pk, {"kind": "step", "step": step_payload(step)})

    def interface(
        self,
        reported: dict[str, Any],
        energy: dict[int, int] | None = None,
        *,
        device_count: int | None = None,
    ) -> None:
        """Record an interface; ``device_count`` replaces the gateway's count when given."""
        defaults: dict[str, Any] = {
            "technology": _text(reported.get("technology"), 16) or "zigbee",
            "channel": _int_in(reported.get("channel"), 0, 255),
            "pan_id": _pan_id(reported.get("pan_id")),
            "extended_pan_id": _eui64_or_blank(reported.get("extended_pan_id")),
            "security_level": _int_in(reported.get("security_level"), 0, 7),
            "device_count": device_count
            if device_count is not None
            else _int_in(reported.get("device_count"), 0, 0xFFFF),
        }
        if energy is not None:
            defaults["energy_by_channel"] = {str(k): v for k, v in energy.items()}
        with transaction.atomic():
            observed, _ = ObservedInterface.objects.update_or_create(
                run=self.run, identifier=str(reported["id"])[:32], defaults=defaults
            )
            publish_run_event(
                self.run.pk,
                {
                    "kind": "interface",
                    "interface": {
                        "identifier": observed.identifier,
                        "channel": observed.channel,
                        "pan_id": observed.pan_id,
                        "device_count": observed.device_count,
                        "security_level": observed.security_level,
                    },
                },
            )

    def device(self, interface_id: str, reported: dict[str, Any], known: "_Expectations") -> None:
        eui64 = normalise_eui64(reported["eui64"])
        fields = _device_fields(reported, known.for_device(eui64))
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
                self.run.pk, {"kind": "device", "device": observed_device_payload(observed)}
            )
        self.found_devices += 1


@dataclass(frozen=True)
class _Known:
    registered: bool
    customer_owned: bool
    category: str
    registered_elsewhere: bool = False


@dataclass
class _Expectations:
    gateway_id: int
    utility: dict[str, HanDevice]
    customer: dict[str, HanDevice]
    ownership: PremiseOwnership

    def for_device(self, eui64: str) -> _Known:
        if eui64 in self.utility:
            return _Known(True, False, self.utility[eui64].category)
        if eui64 in self.customer:
            return _Known(False, True, self.customer[eui64].category)
        elsewhere = (
            DeviceRegistration.objects.filter(eui64=eui64)
            .exclude(premises_gateway_id=self.gateway_id)
            .exclude(status__in=DeviceRegistration.ENDED_STATUSES)
            .exists()
        )
        return _Known(False, False, "", registered_elsewhere=elsewhere)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            return None
    return None


def _int_in(value: Any, low: int, high: int) -> int | None:
    """A reported integer, or None (unknown) when it is not one or lies outside [low, high]."""
    number = _int_or_none(value)
    return number if number is not None and low <= number <= high else None


def _pan_id(value: Any) -> int | None:
    return _int_in(value, 0, 0xFFFF)


def _eui64_or_none(value: Any) -> str | None:
    return _eui64_or_blank(value) or None


def _eui64_or_blank(value: Any) -> str:
    try:
        return normalise_eui64(value) if isinstance(value, str) else ""
    except InvalidEUI64:
        return ""


def _storable_text(text: str) -> str:
    """Text every database stores: no NUL (PostgreSQL refuses it), no lone surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _text(value: Any, limit: int) -> str:
    return _storable_text(value)[:limit] if isinstance(value, str) else ""


_MAX_DETAIL_DEPTH = 8


def _storable_json(value: Any, depth: int = 0) -> Any:
    """A reported JSON value as the database will take it.

    Python's json accepts NaN and Infinity, which no database's JSON does; nesting is cut off
    at a depth no honest report reaches.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, list | dict) and depth >= _MAX_DETAIL_DEPTH:
        return None
    if isinstance(value, list):
        return [_storable_json(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            _storable_text(str(key)): _storable_json(item, depth + 1) for key, item in value.items()
        }
    return value


def _clusters(endpoint: Any, key: str) -> set[int]:
    """The cluster ids an endpoint lists under `key`, ignoring anything that is not one."""
    listed = endpoint.get(key) if isinstance(endpoint, dict) else None
    if not isinstance(listed, list):
        return set()
    return {c for c in listed if isinstance(c, int) and not isinstance(c, bool) and c >= 0}


def _link_quality(reported: dict[str, Any]) -> int | None:
    """The worse direction of the device's link towards its parent (or the gateway)."""
    parent = reported.get("parent")
    links = reported.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("neighbor") == parent:
            values = [
                value
                for value in (link.get("lqi_inbound"), link.get("lqi_outbound"))
                if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255
            ]
            if values:
                return min(values)
    lqi = reported.get("lqi")
    return lqi if isinstance(lqi, int) and not isinstance(lqi, bool) and 0 <= lqi <= 255 else None


def _infer_category(reported: dict[str, Any]) -> str:
    """A best guess for a device the utility has no record of, from its clusters."""
    clusters: set[int] = set()
    endpoints = reported.get("endpoints")
    for endpoint in endpoints if isinstance(endpoints, list) else []:
        clusters |= _clusters(endpoint, "input_clusters") | _clusters(endpoint, "output_clusters")
    if THERMOSTAT in clusters:
        return HanDevice.Category.PCT
    if MESSAGING_CLUSTER_ID in clusters and METERING_CLUSTER_ID in clusters:
        return HanDevice.Category.IN_HOME_DISPLAY
    if DRLC_CLUSTER_ID in clusters:
        return HanDevice.Category.LOAD_CONTROL_SWITCH
    if ON_OFF in clusters:
        return HanDevice.Category.SMART_PLUG
    return HanDevice.Category.OTHER_CUSTOMER_INTERFACE


def _device_fields(reported: dict[str, Any], known: _Known) -> dict[str, Any]:
    profile_id = _int_in(reported.get("profile_id"), 0, 0xFFFF)
    customer_owned = known.customer_owned or (
        not known.registered and profile_id == HOME_AUTOMATION_PROFILE_ID
    )
    links = reported.get("links")
    endpoints = reported.get("endpoints")
    return {
        "network_address": _int_in(reported.get("nwk"), 0, 0xFFFF),
        "device_type": _text(reported.get("device_type"), 16),
        "category": known.category or _infer_category(reported),
        "network": HanDevice.Network.CUSTOMER if customer_owned else HanDevice.Network.UTILITY,
        "manufacturer": _text(reported.get("manufacturer"), 64),
        "model": _text(reported.get("model"), 64),
        "firmware_version": _text(reported.get("sw_build_id"), 32),
        "ota_file_version": _int_in(reported.get("ota_file_version"), 0, 0xFFFFFFFF),
        "power_source": _text(reported.get("power_source"), 32),
        "profile_id": profile_id,
        "reachable": reported.get("reachable") is not False,
        "link_quality": _link_quality(reported),
        "rssi": _int_in(reported.get("rssi"), -128, 127),
        "join_method": _text(reported.get("join_method"), 16) or "unknown",
        "registered": known.registered,
        "details": {
            "parent": _storable_json(reported.get("parent")),
            "depth": _storable_json(reported.get("depth")),
            "interview": _storable_json(reported.get("interview")),
            "links": _storable_json(links) if isinstance(links, list) else [],
            "endpoints": _storable_json(endpoints) if isinstance(endpoints, list) else [],
            "registered_elsewhere": known.registered_elsewhere,
        },
    }


def _check_for(device: ObservedDevice) -> str | None:
    """Which Smart Energy check the device can take: it must have the client cluster."""
    if not device.reachable or device.network != HanDevice.Network.UTILITY:
        return None
    output_clusters: set[int] = set()
    endpoints = device.details.get("endpoints") if isinstance(device.details, dict) else None
    for endpoint in endpoints if isinstance(endpoints, list) else []:
        output_clusters |= _clusters(endpoint, "output_clusters")
    if DRLC_CLUSTER_ID in output_clusters and device.category != HanDevice.Category.IN_HOME_DISPLAY:
        return "drlc"
    if MESSAGING_CLUSTER_ID in output_clusters:
        return "message"
    return None


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
    recorder = _Recorder(run=run, deadline=time.monotonic() + settings.HAN_RUN_TIME_LIMIT_S)
    publish_run_event(run.pk, {"kind": "run", "run": run_state(run)})
    gateway = run.premise.premises_gateway
    assert gateway is not None  # noqa: S101 - a run is only started for a premise with one
    outcome: tuple[str, str] = (HanTestRun.Status.ERROR, "")
    try:
        try:
            client = client_factory(gateway)
        except GatewayError as error:
            observations = _Observations(reached=False, error=_gateway_error_text(error))
        else:
            with client:
                observations = _scan_everything(recorder, client, gateway)
        outcome = _diagnose(recorder, observations)
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
    _finish_despite_database_outage(recorder, *outcome)
    try:
        registrations_follow_run(run=run)
    except Exception:
        logger.exception("run %s: registrations not updated", run_id)


@dataclass
class _Observations:
    reached: bool
    error: str = ""
    interfaces: list[diagnosis.InterfaceObservation] = field(default_factory=list)


def _scan_everything(
    recorder: _Recorder, client: GatewayClient, gateway: PremisesGateway
) -> _Observations:
    known = _expectations(recorder.run)
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
        _remember_interface(gateway, reported)
    recorder.planned_devices = sum(_int_or_none(i.get("device_count")) or 0 for i in interfaces)
    recorder.step_end(
        step, RunStep.Status.DONE, ", ".join(str(i["id"]) for i in interfaces) or "none"
    )
    recorder.progress(10, "Interfaces enumerated")

    observations = _Observations(reached=True)
    share = 70 / max(len(interfaces), 1)
    for index, reported in enumerate(interfaces):
        interface_id = str(reported["id"])
        base = 10 + share * index
        recorder.checkpoint()
        step = recorder.step_start(f"scan:{interface_id}", f"Scan interface {interface_id}")
        attribution = InterfaceAttribution(
            known.ownership, coordinator=_eui64_or_none(reported.get("coordinator_eui64"))
        )
        try:
            found = _scan_interface(recorder, client, interface_id, known, attribution, base, share)
        except GatewayError as error:
            recorder.step_end(step, RunStep.Status.FAILED, error.message)
            if isinstance(error, GatewayUnreachable):
                return _Observations(reached=False, error=_gateway_error_text(error))
            return _Observations(reached=False, error=error.message)
        recorder.step_end(step, RunStep.Status.DONE, f"{found} device(s) found")

        recorder.checkpoint()
        step = recorder.step_start(f"energy:{interface_id}", f"Energy scan on {interface_id}")
        energy: dict[int, int] = {}
        try:
            energy = client.energy_scan(interface_id)
            busiest = max(energy.items(), key=lambda item: item[1]) if energy else None
            detail = f"busiest channel {busiest[0]} ({busiest[1]}/255)" if busiest else ""
            recorder.step_end(step, RunStep.Status.DONE, detail)
        except GatewayError as error:
            recorder.step_end(step, RunStep.Status.FAILED, error.message)
        recorder.interface(reported, energy, device_count=found if shared else None)
        observations.interfaces.append(
            diagnosis.InterfaceObservation(
                identifier=interface_id,
                channel=_int_in(reported.get("channel"), 0, 255),
                energy_by_channel=energy,
            )
        )
    recorder.progress(82, "Checking devices act on utility messages")
    _operational_checks(recorder, client)
    return observations


def _scan_interface(
    recorder: _Recorder,
    client: GatewayClient,
    interface_id: str,
    known: _Expectations,
    attribution: InterfaceAttribution,
    base: float,
    share: float,
) -> int:
    """Record the devices of this premise the scan finds; returns how many."""
    seen = 0
    planned = max(recorder.planned_devices, 1)
    timeout_s = max(recorder.remaining_s() - SCAN_GRACE_S - 1, 1)
    reports: dict[str, dict[str, Any]] = {}
    for event in client.scan(interface_id, timeout_s=timeout_s):
        recorder.checkpoint()
        kind = event["event"]
        if kind == "device":
            reported = event["device"]
            eui64 = _eui64_or_none(reported.get("eui64"))
            if eui64 is None:
                logger.warning("run %s: device with a bad EUI-64 skipped", recorder.run.pk)
                continue
            if reported.get("device_type") == "coordinator":
                attribution.coordinator = eui64  # the gateway itself, not a device on its HAN
                continue
            reported = _with_normalised_addresses(reported)
            reports[eui64] = reported
            seen += 1
            if attribution.arrive(eui64, _eui64_or_none(reported.get("parent"))) is Placement.HERE:
                recorder.device(interface_id, attribution.without_other_premises(reported), known)
            done = min(seen / planned, 1.0)
            found = len(attribution.kept())
            recorder.progress(int(base + share * done), f"Scanning {interface_id}: {found} found")
        elif kind == "error":
            if event.get("code") == "scan_timeout":
                # The gateway stopped at the time it was given: what was left of the run's limit.
                raise RunTimedOut
            message = str(event.get("message") or "The scan failed.")[:300]
            raise GatewayError(str(event.get("code") or "scan_failed"), message)
    _record_settled(recorder, interface_id, known, attribution, reports)
    return sum(1 for eui64 in reports if attribution.placed.get(eui64) is Placement.HERE)


def _record_settled(
    recorder: _Recorder,
    interface_id: str,
    known: _Expectations,
    attribution: InterfaceAttribution,
    reports: dict[str, dict[str, Any]],
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


def _mentions(reported: dict[str, Any], eui64s: set[str]) -> bool:
    neighbours = {link["neighbor"] for link in reported["links"]}
    return bool(neighbours & eui64s) or reported["parent"] in eui64s


def _with_normalised_addresses(reported: dict[str, Any]) -> dict[str, Any]:
    """The report with its parent and neighbours in the stored EUI-64 form, so they compare."""
    links = reported.get("links")
    return {
        **reported,
        "parent": _eui64_or_none(reported.get("parent")),
        "links": [
            {**link, "neighbor": neighbour}
            for link in (links if isinstance(links, list) else [])
            if isinstance(link, dict)
            and (neighbour := _eui64_or_none(link.get("neighbor"))) is not None
        ],
    }


def _operational_checks(recorder: _Recorder, client: GatewayClient) -> None:
    devices = [
        (device, check)
        for device in ObservedDevice.objects.filter(run=recorder.run)
        if (check := _check_for(device)) is not None
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
            result = "acknowledged" if answer.get("acknowledged") is True else "not_acknowledged"
        except GatewayError as error:
            if error.code == "check_not_supported":
                continue
            result = "not_acknowledged"
        acknowledged += result == "acknowledged"
        with transaction.atomic():
            device.operational_check = result
            device.save(update_fields=["operational_check"])
            publish_run_event(
                recorder.run.pk, {"kind": "device", "device": observed_device_payload(device)}
            )
    recorder.step_end(step, RunStep.Status.DONE, f"{acknowledged} of {len(devices)} acknowledged")


def _gateway_error_text(error: GatewayError) -> str:
    if error.code == "unauthorised":
        return "The gateway refused the portal's credentials."
    return error.message


def _remember_interface(gateway: PremisesGateway, reported: dict[str, Any]) -> None:
    """Keep the gateway's interface list current for the customer page."""
    NetworkInterface.objects.update_or_create(
        premises_gateway=gateway,
        identifier=str(reported["id"])[:32],
        defaults={
            "channel": _int_in(reported.get("channel"), 0, 255),
            "pan_id": _pan_id(reported.get("pan_id")),
            "extended_pan_id": _eui64_or_blank(reported.get("extended_pan_id")),
            "security_level": _int_in(reported.get("security_level"), 0, 7),
        },
    )


def _expectations(run: HanTestRun) -> _Expectations:
    expected = premise_expectations(premise=run.premise)
    return _Expectations(
        gateway_id=run.premise.premises_gateway_id or 0,
        utility={device.eui64: device for device in expected.utility_devices},
        customer={device.eui64: device for device in expected.customer_devices},
        ownership=premise_device_ownership(premise=run.premise),
    )


def device_observation(device: ObservedDevice) -> diagnosis.DeviceObservation:
    """A device as the run recorded it, as the diagnosis takes it."""
    return diagnosis.DeviceObservation(
        eui64=device.eui64,
        interface=device.interface,
        category_label=device.get_category_display(),
        manufacturer=device.manufacturer,
        model=device.model,
        firmware_version=device.firmware_version,
        ota_file_version=device.ota_file_version,
        reachable=device.reachable,
        link_quality=device.link_quality,
        rssi=device.rssi,
        join_method=device.join_method,
        profile_id=device.profile_id,
        registered=device.registered,
        registered_elsewhere=bool(device.details.get("registered_elsewhere")),
        customer_owned=device.network == HanDevice.Network.CUSTOMER,
        operational_check=device.operational_check,
    )


def _diagnose(recorder: _Recorder, observations: _Observations) -> tuple[str, str]:
    run = recorder.run
    step = recorder.step_start("diagnose", "Diagnose")
    expected = premise_expectations(premise=run.premise)
    devices = tuple(device_observation(device) for device in ObservedDevice.objects.filter(run=run))
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
            )
            for device in expected.utility_devices
        ),
        approved=expected.approved,
        capacity=expected.capacity,
        thresholds=diagnosis.Thresholds.from_settings(settings.HAN_DIAGNOSIS_THRESHOLDS),
    )
    findings = diagnosis.diagnose(data)
    with transaction.atomic():
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


def _finish_despite_database_outage(recorder: _Recorder, status: str, error: str) -> None:
    """Record the outcome, waiting out a short database outage (a restart, a fail-over).

    A run whose connection broke mid-scan could not record its failure on that connection and
    stayed "running" until the reaper failed it as if its worker had died. Give up in half the
    reaper's time, so the reaper's verdict never overwrites this one or the other way round.
    """
    give_up_at = time.monotonic() + settings.HAN_RUN_STALE_AFTER_S / 2
    while True:
        try:
            _finish(recorder, status, error)
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() > give_up_at:
                raise
            logger.warning(
                "run %s: database unavailable; recording its outcome again", recorder.run.pk
            )
            connection.close()  # a broken connection is never reused; the next query reconnects
            time.sleep(DATABASE_RETRY_EVERY_S)


def _finish(recorder: _Recorder, status: str, error: str) -> None:
    run = recorder.run
    now = timezone.now()
    with transaction.atomic():
        run.status = status
        run.finished_at = now
        run.error_message = error[:300]
        if status in {HanTestRun.Status.PASSED, HanTestRun.Status.FAILED}:
            run.progress = 100
        run.estimated_seconds = None
        run.phase = FINISHED_PHASES.get(status, "Could not complete")
        run_steps_stop(run=run, moment=now)
        run.save(
            update_fields=[
                "status",
                "finished_at",
                "error_message",
                "progress",
                "estimated_seconds",
                "phase",
            ]
        )
        if status == HanTestRun.Status.PASSED:
            HanTestCase.objects.filter(pk=run.case_id, status=HanTestCase.Status.OPEN).update(
                status=HanTestCase.Status.RESOLVED, resolved_at=now
            )
        publish_run_event(run.pk, {"kind": "run", "run": run_state(run)})
