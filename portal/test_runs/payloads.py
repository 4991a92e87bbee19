"""What a run looks like on the wire and on the page, for each kind of viewer.

Live events carry the full payload; the consumer and the pages pass each one through
``for_viewer`` so that a representative never receives a customer-owned device's identity
and a customer gets plain words instead of technical evidence, in the active language (their
own: the pages' middleware and the consumer activate it).
"""

from datetime import datetime
from typing import Any

from django.utils.translation import gettext

from han_gateway.eui64 import mask_eui64
from han_gateway.models import HanDevice
from portal.access.viewers import Viewer
from portal.diagnosis.rules import (
    ACTION_LABELS,
    CUSTOMER_ACTION_LABELS,
    Action,
    RuleId,
    action_label,
    many_words,
)
from portal.diagnosis.wording import customer_text_translated
from portal.drawing.link_quality import link_quality_label
from portal.models import (
    Finding,
    HanTestCase,
    HanTestRun,
    ObservedDevice,
    ObservedInterface,
    RecordedAction,
    RunStep,
)
from portal.runtime.local_time import moment_text
from portal.test_runs.customer_words import (
    device_for_customer,
    run_state_for_customer,
    step_for_customer,
)
from portal.test_runs.observations import device_details
from portal.test_runs.selectors import case_timeline

Payload = dict[str, Any]


JOIN_METHOD_LABELS = {
    "install_code": "Install code key",
    "default_key": "Default key (insecure)",
    "unknown": "Unknown",
}


def step_payload(step: RunStep) -> Payload:
    return {
        "key": step.key,
        "title": step.title,
        "status": step.status,
        "detail": step.detail,
    }


def observed_device_payload(device: ObservedDevice, radio: str = "") -> Payload:
    """A device as pages and live events show it; its signal words on the LQI scale of the
    ``radio`` of its interface."""
    return {
        "key": f"{device.interface}/{device.eui64}",
        "sequence": device.sequence,
        "interface": device.interface,
        "eui64": device.eui64,
        "network_address": None
        if device.network_address is None
        else f"0x{device.network_address:04X}",
        "device_type": device.device_type,
        "category": device.category,
        "category_label": device.get_category_display() or "Unknown device",
        "network": device.network,
        "manufacturer": device.manufacturer,
        "model": device.model,
        "firmware_version": device.firmware_version,
        "power_source": device.power_source,
        "reachable": device.reachable,
        "link_quality": device.link_quality,
        "link_quality_label": link_quality_label(device.link_quality, radio),
        "rssi": device.rssi,
        "join_method": device.join_method,
        "join_method_label": JOIN_METHOD_LABELS.get(device.join_method, device.join_method),
        # Whether its answers came APS-encrypted with its link key (None: no ZCL answer).
        "aps_encrypted": device_details(device).aps_encrypted,
        "registered": device.registered,
        "operational_check": device.operational_check,
    }


def interface_radios(run: HanTestRun) -> dict[str, str]:
    """Each interface of a run with its radio type (the LQI scale of its links)."""
    return {interface.identifier: interface.radio for interface in run.interfaces.all()}


def finding_payload(finding: Finding) -> Payload:
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "action": finding.action,
        "action_label": action_label(finding.action, unknown=finding.action),
        "title": finding.title,
        "evidence": finding.evidence,
        "customer_text": finding.customer_text,
        "eui64": finding.eui64,
        # Several findings of the rule in a row are shown as one, in these words.
        "group_words": many_words(finding.rule),
    }


CUSTOMER_DEVICE_FIELDS = (
    "key",
    "sequence",
    "category_label",
    "manufacturer",
    "model",
    "reachable",
    "link_quality_label",
    "network",
    "eui64",
    "operational_check",
)


def device_for_viewer(payload: Payload, *, viewer: Viewer) -> Payload:
    if not viewer.staff:
        return device_for_customer({name: payload[name] for name in CUSTOMER_DEVICE_FIELDS})
    if payload["network"] != HanDevice.Network.CUSTOMER or viewer.sees_customer_han:
        return payload
    # Customer HAN: category and vendor only, with a masked identifier.
    masked = dict(payload)
    masked.update(
        eui64=mask_eui64(payload["eui64"]),
        key=f"{payload['interface']}/{mask_eui64(payload['eui64'])}#{payload['sequence']}",
        model="",
        firmware_version="",
        network_address=None,
        masked=True,
    )
    return masked


def finding_for_viewer(payload: Payload, *, viewer: Viewer) -> Payload:
    if viewer.staff:
        return payload
    return {
        "rule": payload["rule"],
        "severity": payload["severity"],
        "customer_text": customer_text_translated(payload["customer_text"]),
    }


def run_state_for_viewer(run: Payload, *, viewer: Viewer) -> Payload:
    return run if viewer.staff else run_state_for_customer(run)


def step_for_viewer(step: Payload, *, viewer: Viewer) -> Payload:
    return step if viewer.staff else step_for_customer(step)


def event_for_viewer(event: Payload, *, viewer: Viewer) -> Payload:
    kind = event.get("kind")
    if kind == "run":
        return {**event, "run": run_state_for_viewer(event["run"], viewer=viewer)}
    if kind == "step":
        return {**event, "step": step_for_viewer(event["step"], viewer=viewer)}
    if kind == "device":
        device = device_for_viewer(event["device"], viewer=viewer)
        return {"kind": "device", "device": device}
    if kind == "findings":
        return {
            "kind": "findings",
            "findings": [finding_for_viewer(item, viewer=viewer) for item in event["findings"]],
        }
    return event


def run_comparison(run: HanTestRun) -> Payload | None:
    """What changed since the case's previous run: devices, link quality, findings."""
    previous = (
        HanTestRun.objects.filter(case_id=run.case_id, number__lt=run.number)
        .exclude(status__in=[*HanTestRun.ACTIVE, HanTestRun.Status.CANCELLED])
        .order_by("-number")
        .first()
    )
    if previous is None or run.is_active:
        return None
    before = {(d.interface, d.eui64): d for d in previous.devices.all()}
    after = {(d.interface, d.eui64): d for d in run.devices.all()}
    radios = {**interface_radios(previous), **interface_radios(run)}

    def shown(device: ObservedDevice) -> Payload:
        return observed_device_payload(device, radios.get(device.interface, ""))

    link_changes = []
    for key in sorted(before.keys() & after.keys()):
        old, new = before[key].link_quality, after[key].link_quality
        if old is not None and new is not None and abs(new - old) >= 10:
            link_changes.append({"device": shown(after[key]), "before": old, "after": new})
    old_findings = {(f.rule, f.eui64): f for f in previous.findings.all()}
    new_findings = {(f.rule, f.eui64): f for f in run.findings.all()}
    return {
        "previous_run": {"id": previous.pk, "number": previous.number, "status": previous.status},
        "devices_found": [shown(after[k]) for k in sorted(after.keys() - before.keys())],
        "devices_lost": [shown(before[k]) for k in sorted(before.keys() - after.keys())],
        "link_quality_changes": link_changes,
        "findings_resolved": [
            finding_payload(old_findings[k])
            for k in sorted(old_findings.keys() - new_findings.keys())
            if old_findings[k].rule != RuleId.HEALTHY
        ],
        "findings_new": [
            finding_payload(new_findings[k])
            for k in sorted(new_findings.keys() - old_findings.keys())
            if new_findings[k].rule != RuleId.HEALTHY
        ],
    }


def comparison_for_viewer(comparison: Payload | None, *, viewer: Viewer) -> Payload | None:
    if comparison is None:
        return None

    def device_for(device: Payload) -> Payload:
        return device_for_viewer(device, viewer=viewer)

    return {
        **comparison,
        "devices_found": [device_for(d) for d in comparison["devices_found"]],
        "devices_lost": [device_for(d) for d in comparison["devices_lost"]],
        "link_quality_changes": [
            {**change, "device": device_for(change["device"])}
            for change in comparison["link_quality_changes"]
        ],
        "findings_resolved": [
            finding_for_viewer(f, viewer=viewer) for f in comparison["findings_resolved"]
        ],
        "findings_new": [finding_for_viewer(f, viewer=viewer) for f in comparison["findings_new"]],
    }


def run_state(run: HanTestRun) -> Payload:
    """The run's own fields as pushed live (JSON only)."""
    return {
        "id": run.pk,
        "number": run.number,
        "status": run.status,
        "status_label": run.get_status_display(),
        "active": run.is_active,
        "cancel_requested": run.cancel_requested and run.is_active,
        "progress": run.progress,
        "phase": run.phase,
        "estimated_seconds": run.estimated_seconds,
        "error": run.error_message,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def recorded_action_payload(action: RecordedAction, *, customer_words: bool = False) -> Payload:
    """An action as the case shows it; ``customer_words``: as a customer would say it."""
    try:
        chosen = Action(action.action)
    except ValueError:
        label = gettext("Something else") if customer_words else "Other"
    else:
        label = ACTION_LABELS[chosen]
        if customer_words:
            label = gettext(CUSTOMER_ACTION_LABELS.get(chosen, label))
    who = action.recorded_by
    return {
        "action": action.action,
        "action_label": label,
        "note": action.note,
        "recorded_by": (who.get_full_name() or who.username) if who else "",
        "recorded_at": action.recorded_at.isoformat(),
        "recorded_at_text": moment_text(action.recorded_at),
    }


def timeline_payload(case: HanTestCase) -> list[Payload]:
    """Who did what in the case, oldest first: staff only (it names the people)."""
    return [
        {
            "at": event.at.isoformat(),
            "at_text": moment_text(event.at),
            "who": event.who,
            "what": event.what,
            "run_id": event.run_id,
        }
        for event in case_timeline(case=case)
    ]


JOIN_POLICY_WORDS = {
    "install_code_only": "joins with an install code only",
    "default_key_allowed": "joins with the default key allowed",
    "closed": "joining closed",
}


def interface_summary(interface: ObservedInterface) -> str:
    """What the gateway said of the interface beyond its table row, as a head-end shows it."""
    reported = interface.reported or {}
    version = reported.get("smart_energy_version")
    parts = [f"Zigbee Smart Energy {version}" if version else "Zigbee"]
    coordinator = " ".join(
        part
        for part in (reported.get("coordinator_stack"), reported.get("coordinator_firmware"))
        if part
    )
    if coordinator:
        parts.append(f"coordinator {coordinator}")
    if interface.radio:
        parts.append(f"radio {interface.radio}")
    if interface.extended_pan_id:
        parts.append(f"extended PAN id {interface.extended_pan_id}")
    if reported.get("trust_center_eui64"):
        parts.append(f"Trust Center {reported['trust_center_eui64']}")
    policy = reported.get("join_policy")
    if policy in JOIN_POLICY_WORDS:
        parts.append(JOIN_POLICY_WORDS[policy])
    if "join_windows" in reported:
        windows = [
            datetime.fromisoformat(window["closes_at"]) for window in reported["join_windows"]
        ]
        parts.append(
            f"{len(windows)} join window(s) open, the first until {moment_text(min(windows))}"
            if windows
            else "no join window open"
        )
    counted = reported.get("stack_counters")
    if isinstance(counted, dict):
        parts.append(stack_counters_text(counted))
    return " · ".join(parts)


def stack_counters_text(counted: dict[str, Any]) -> str:
    """What the coordinator's stack counted during the scan, e.g. "during the scan the radio
    sent 42 frames, 1 undelivered after 3 retries, and backed off 0 times from a busy channel"."""
    sent = sum(
        int(counted.get(name, 0))
        for name in ("mac_tx_broadcast", "mac_tx_unicast_success", "mac_tx_unicast_failed")
    )
    return (
        f"during the scan the radio sent {sent} frames, "
        f"{int(counted.get('mac_tx_unicast_failed', 0))} undelivered after "
        f"{int(counted.get('mac_tx_unicast_retry', 0))} retries, and backed off "
        f"{int(counted.get('phy_cca_fail_count', 0))} times from a busy channel"
    )


def interface_payload(interface: ObservedInterface) -> Payload:
    """An interface as the run page's table shows it (to staff only)."""
    capacity = (interface.reported or {}).get("max_devices")
    return {
        "identifier": interface.identifier,
        "channel": interface.channel,
        "pan_id": interface.pan_id,
        "device_count": interface.device_count,
        "max_devices": capacity,
        "security_level": interface.security_level,
        "summary": interface_summary(interface),
    }


def run_snapshot(run: HanTestRun, *, viewer: Viewer) -> Payload:
    """The full state of a run, as a late or reconnecting viewer needs it."""
    radios = interface_radios(run)
    return {
        "kind": "snapshot",
        "run": run_state_for_viewer(run_state(run), viewer=viewer),
        "steps": [step_for_viewer(step_payload(step), viewer=viewer) for step in run.steps.all()],
        "interfaces": [interface_payload(interface) for interface in run.interfaces.all()],
        "devices": [
            device_for_viewer(
                observed_device_payload(device, radios.get(device.interface, "")), viewer=viewer
            )
            for device in run.devices.all()
        ],
        "findings": [
            finding_for_viewer(finding_payload(finding), viewer=viewer)
            for finding in run.findings.all()
        ],
        "actions": [
            recorded_action_payload(action, customer_words=not viewer.staff)
            for action in run.actions.all()
        ],
        "comparison": comparison_for_viewer(run_comparison(run), viewer=viewer),
        "timeline": timeline_payload(run.case) if viewer.staff else [],
    }
