"""The diagnosis engine: what a run saw, against what the utility expects, becomes findings.

Plain functions over plain data, no ORM: each rule takes a ``DiagnosisInput`` and returns the
problems it is responsible for, in words; its ``@rule`` line gives them their rule id, severity
and action. ``diagnose`` runs every rule and adds the pass verdict when nothing needs attention.
Thresholds are documented in ``docs/DIAGNOSIS.md`` and configurable through the
``HAN_DIAGNOSIS_THRESHOLDS`` setting.
"""

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import astuple, dataclass, field, fields, replace
from typing import Any

from django.utils.translation import gettext_noop

from han_gateway.eui64 import mask_eui64
from han_gateway.firmware import OtaVersionScheme, ota_version_name, ota_version_text
from han_gateway.radio.lqi import CHIP_LIMITS
from han_gateway.zigbee_ids import MAC_TRANSACTION_PERSISTENCE_S, SMART_ENERGY_PROFILE_ID
from portal.diagnosis import channels as channel_health
from portal.diagnosis.wording import customer_words


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"
    PASS = "pass"  # noqa: S105 - a verdict, not a password


class RuleId(enum.StrEnum):
    """What each finding is about: stored with findings and reviews, and in history filters'
    addresses, so a value never changes once runs have used it."""

    GATEWAY_UNREACHABLE = "gateway_unreachable"
    BEYOND_REACH = "beyond_reach"
    WEAK_LINK = "weak_link"
    OUTDATED_FIRMWARE = "outdated_firmware"
    INSECURE_JOIN = "insecure_join"
    REGISTERED_DEVICE_MISSING = "registered_device_missing"
    JOIN_WINDOW_EXPIRED = "join_window_expired"
    UNKNOWN_DEVICE = "unknown_device"
    CHANNEL_INTERFERENCE = "channel_interference"
    OPERATIONAL_CHECK_FAILED = "operational_check_failed"
    OVER_CAPACITY = "over_capacity"
    EMPTY_HAN = "empty_han"
    JOINED_ELSEWHERE = "joined_elsewhere"
    MESSAGE_NOT_DELIVERED = "message_not_delivered"
    DEVICE_ASLEEP = "device_asleep"
    INSTALL_CODE_MISMATCH = "install_code_mismatch"
    DEFAULT_KEY_POLICY = "default_key_policy"
    ROUTER_DOWN = "router_down"
    CUSTOMER_ROUTER_DEPENDENCY = "customer_router_dependency"
    HEALTHY = "healthy"  # the verdict when no rule found a problem


# Within a severity, root causes before their consequences: an unreachable gateway explains
# everything else; an insecure network comes before any comfort; a device cut off or missing
# before a busy channel, which itself explains weak links; the rest last.
ROOT_CAUSE_ORDER: tuple[RuleId, ...] = (
    RuleId.GATEWAY_UNREACHABLE,
    RuleId.INSECURE_JOIN,
    RuleId.DEFAULT_KEY_POLICY,
    RuleId.ROUTER_DOWN,
    RuleId.BEYOND_REACH,
    RuleId.JOINED_ELSEWHERE,
    RuleId.INSTALL_CODE_MISMATCH,
    RuleId.REGISTERED_DEVICE_MISSING,
    RuleId.JOIN_WINDOW_EXPIRED,
    RuleId.EMPTY_HAN,
    RuleId.CHANNEL_INTERFERENCE,
    RuleId.OVER_CAPACITY,
    RuleId.WEAK_LINK,
    RuleId.DEVICE_ASLEEP,
    RuleId.MESSAGE_NOT_DELIVERED,
    # Firmware below the approved image is the first suspect when a device ignores a utility
    # message: upgrade, then retest, before looking at its program enrolment.
    RuleId.OUTDATED_FIRMWARE,
    RuleId.OPERATIONAL_CHECK_FAILED,
    RuleId.UNKNOWN_DEVICE,
    RuleId.CUSTOMER_ROUTER_DEPENDENCY,
)


class Action(enum.StrEnum):
    """The recommended actions, as the use case names them."""

    CHANGE_RANGE = "change_range"
    INSTALL_ADDITIONAL_DEVICE = "install_additional_device"
    UPGRADE_DEVICE = "upgrade_device"
    CHANGE_SECURITY_SETTINGS = "change_security_settings"
    REOPEN_JOIN_WINDOW = "reopen_join_window"
    INVESTIGATE_DEVICE = "investigate_device"
    CHANGE_CHANNEL = "change_channel"
    CHECK_DEVICE_PROGRAMS = "check_device_programs"
    REDUCE_DEVICES = "reduce_devices"
    ESCALATE_TO_AMI_NETWORK = "escalate_to_ami_network"
    REGISTER_DEVICE = "register_device"
    REJOIN_DEVICE = "rejoin_device"
    WAKE_DEVICE = "wake_device"
    RECHECK_INSTALL_CODE = "recheck_install_code"
    RESTORE_ROUTER = "restore_router"
    NONE = "none"


ACTION_LABELS: dict[Action, str] = {
    Action.CHANGE_RANGE: "Move the device closer to the meter (change range)",
    Action.INSTALL_ADDITIONAL_DEVICE: "Install an additional device (router or range extender)",
    Action.UPGRADE_DEVICE: "Upgrade the device's firmware",
    Action.CHANGE_SECURITY_SETTINGS: (
        "Change security settings: make the device leave, allow only install code joins, "
        "rotate the network key, rejoin it with its install code"
    ),
    Action.REOPEN_JOIN_WINDOW: "Check the device's power, then reopen its join window",
    Action.INVESTIGATE_DEVICE: "Investigate the unknown device",
    Action.CHANGE_CHANNEL: "Move the HAN to a quieter channel",
    Action.CHECK_DEVICE_PROGRAMS: "Check the device is enrolled and acting on utility messages",
    Action.REDUCE_DEVICES: "Remove devices: the meter is over its HAN capacity",
    Action.ESCALATE_TO_AMI_NETWORK: "Escalate to the AMI network team",
    Action.REGISTER_DEVICE: "Register the device with its install code, then pair it",
    Action.WAKE_DEVICE: "Wake the device (press a button) or change its batteries, then retest",
    Action.RECHECK_INSTALL_CODE: (
        "Re-check the install code on the device's label or QR code, then register it again"
    ),
    Action.RESTORE_ROUTER: (
        "Switch the router the devices depend on back on; if it is on, fit a utility range extender"
    ),
    Action.REJOIN_DEVICE: (
        "Make the device leave the network it joined, then reopen its join window on its own"
    ),
    Action.NONE: "No action needed",
}

# Each rule's name as people read it: pages, charts, filters and reports show these, never ids.
RULE_LABELS: dict[RuleId, str] = {
    RuleId.GATEWAY_UNREACHABLE: "Meter's HAN interface unreachable",
    RuleId.BEYOND_REACH: "Device beyond reach",
    RuleId.WEAK_LINK: "Weak link",
    RuleId.OUTDATED_FIRMWARE: "Outdated firmware",
    RuleId.INSECURE_JOIN: "Insecure join",
    RuleId.REGISTERED_DEVICE_MISSING: "Registered device not found",
    RuleId.JOIN_WINDOW_EXPIRED: "Join window expired",
    RuleId.UNKNOWN_DEVICE: "Device not on record",
    RuleId.CHANNEL_INTERFERENCE: "Channel interference",
    RuleId.OPERATIONAL_CHECK_FAILED: "Utility message not acknowledged",
    RuleId.OVER_CAPACITY: "Meter over its HAN capacity",
    RuleId.EMPTY_HAN: "No devices on the HAN",
    RuleId.JOINED_ELSEWHERE: "Joined another network",
    RuleId.MESSAGE_NOT_DELIVERED: "Utility message not delivered",
    RuleId.DEVICE_ASLEEP: "Battery device asleep",
    RuleId.INSTALL_CODE_MISMATCH: "Install code does not match",
    RuleId.DEFAULT_KEY_POLICY: "Default key accepted",
    RuleId.ROUTER_DOWN: "Router down",
    RuleId.CUSTOMER_ROUTER_DEPENDENCY: "Depends on a customer-owned router",
    RuleId.HEALTHY: "Healthy",
}


def action_label(action: str, *, unknown: str | None = None) -> str:
    """A stored action as people read it; one no longer known (or "other"): ``unknown``, or the
    id in words."""
    try:
        return ACTION_LABELS[Action(action)]
    except ValueError:
        return action.replace("_", " ").capitalize() if unknown is None else unknown


def rule_label(rule: str) -> str:
    """A stored rule id as people read it; an id no longer known, in words all the same."""
    try:
        return RULE_LABELS[RuleId(rule)]
    except ValueError:
        return rule.replace("_", " ").capitalize()


# What customers can do themselves, in their own words: the "What did you do?" list they see
# (in English here; pages say them in the customer's language).
CUSTOMER_ACTION_LABELS: dict[Action, str] = {
    Action.CHANGE_RANGE: gettext_noop("I moved the device closer to the meter"),
    Action.RESTORE_ROUTER: gettext_noop("I switched a plug or range extender back on"),
    Action.WAKE_DEVICE: gettext_noop("I pressed a button on the device or changed its batteries"),
    Action.INSTALL_ADDITIONAL_DEVICE: gettext_noop("I added a range extender"),
    Action.UPGRADE_DEVICE: gettext_noop("I updated the device's software"),
}


# Several findings of one rule, said once: "{count}" is how many (rules not listed do not group).
GROUPED_WORDS: dict[str, str] = {
    RuleId.BEYOND_REACH: "{count} devices are beyond the gateway's reach",
    RuleId.WEAK_LINK: "{count} devices have weak links",
    RuleId.OUTDATED_FIRMWARE: "{count} devices run outdated firmware",
    RuleId.INSECURE_JOIN: "{count} devices joined without their install-code key",
    RuleId.REGISTERED_DEVICE_MISSING: "{count} registered devices were not found",
    RuleId.JOIN_WINDOW_EXPIRED: "{count} join windows expired without a join",
    RuleId.UNKNOWN_DEVICE: "{count} devices on the HAN are not this premise's",
    RuleId.OPERATIONAL_CHECK_FAILED: "{count} devices did not acknowledge a utility message",
    RuleId.JOINED_ELSEWHERE: "{count} registered devices joined a network other than their own",
    RuleId.MESSAGE_NOT_DELIVERED: "{count} devices did not receive a utility message",
    RuleId.DEVICE_ASLEEP: "{count} battery devices were asleep during the test",
    RuleId.INSTALL_CODE_MISMATCH: "{count} registered devices' install codes do not match them",
    RuleId.DEFAULT_KEY_POLICY: "{count} interfaces accept the default key",
    RuleId.ROUTER_DOWN: "{count} routers that other devices depend on do not answer",
    RuleId.CUSTOMER_ROUTER_DEPENDENCY: (
        "{count} utility devices reach the meter only through customer-owned routers"
    ),
}


@dataclass(frozen=True)
class LinkLimits:
    """Link quality limits on one radio's LQI scale: below ``weak`` a link is unreliable,
    below ``unreachable`` (or not answering) beyond reach."""

    weak: int
    unreachable: int


# Radio chip families scale LQI differently (802.15.4 leaves the scale to the vendor): links a
# few metres long read 240-255 on Silicon Labs EFR32 (EZSP) coordinators and 80-195 on TI
# CC26xx/CC13xx (Z-Stack) ones. Limits for a radio not listed are the general ones.
DEFAULT_LINK_LIMITS_BY_RADIO: Mapping[str, LinkLimits] = {
    radio: LinkLimits(weak=limits.weak, unreachable=limits.unreachable)
    for radio, limits in CHIP_LIMITS.items()
}


@dataclass(frozen=True)
class Thresholds:
    """Limits the rules use. Link quality is the Zigbee LQI, 0-255."""

    weak_link_quality: int = 100  # below: unreliable, move closer
    unreachable_link_quality: int = 40  # below, or not answering: beyond the gateway's reach
    channel_energy: int = 191  # 75 % of 255: the channel is busy with other radio traffic
    quiet_channel_energy: int = 102  # 40 % of 255: at or below, quiet enough to move to
    # Of the coordinator's clear-channel assessments during the scan (its stack's counters), the
    # share that found the channel busy above which it is, out of at least the given number.
    channel_access_failure_share: float = 0.1
    channel_access_min_assessments: int = 20
    low_tx_power_dbm: int = 0  # below: the radio reports a reduced transmit power
    uniformly_weak_share: float = 0.75  # this share of links weak on a power-cut channel
    capacity_warning_ratio: float = 1.0  # device count / capacity above which to warn
    # The link limits of each radio (the gateway's ``radio``: ezsp, znp, deconz, simulated)
    # whose chip family scales LQI its own way; others take the two limits above.
    link_quality_by_radio: Mapping[str, LinkLimits] = field(
        default_factory=lambda: dict(DEFAULT_LINK_LIMITS_BY_RADIO)
    )

    def link_limits(self, radio: str = "") -> LinkLimits:
        """The link limits on the LQI scale of ``radio`` (the general ones when unknown)."""
        general = LinkLimits(self.weak_link_quality, self.unreachable_link_quality)
        return self.link_quality_by_radio.get(radio, general)

    @classmethod
    def from_settings(cls, overrides: Mapping[str, Any] | None) -> "Thresholds":
        """Thresholds with ``overrides`` (the ``HAN_DIAGNOSIS_THRESHOLDS`` setting); a radio's
        link limits are given as ``{"znp": {"weak": 50, "unreachable": 20}}`` and replace the
        default ones of that radio only."""
        overrides = dict(overrides or {})
        known = {item.name for item in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown diagnosis thresholds: {', '.join(sorted(unknown))}")
        by_radio = overrides.pop("link_quality_by_radio", {})
        if not isinstance(by_radio, Mapping):
            raise ValueError("link_quality_by_radio: give an object of radios")
        limits = dict(DEFAULT_LINK_LIMITS_BY_RADIO)
        for radio, given in by_radio.items():
            limits[radio] = _link_limits_from(radio, given)
        return replace(cls(), **overrides, link_quality_by_radio=limits)


def _link_limits_from(radio: str, given: Any) -> LinkLimits:
    try:
        weak, unreachable = int(given["weak"]), int(given["unreachable"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"link_quality_by_radio.{radio}: give whole numbers weak and unreachable"
        ) from None
    if not 0 <= unreachable <= weak <= 255:
        raise ValueError(f"link_quality_by_radio.{radio}: need 0 <= unreachable <= weak <= 255")
    return LinkLimits(weak, unreachable)


@dataclass(frozen=True)
class InterfaceObservation:
    identifier: str
    channel: int | None
    energy_by_channel: Mapping[int, int] = field(default_factory=dict)  # each channel's peak
    mean_energy_by_channel: Mapping[int, int] = field(default_factory=dict)  # mean of samples
    energy_samples: int = 1
    tx_power_dbm: int | None = None  # the coordinator's, when its radio says
    # The Trust Center's join policy the gateway reports: install_code_only |
    # default_key_allowed | unknown
    join_policy: str = "unknown"
    radio: str = ""  # the gateway's radio type (ezsp, znp, ...): its LQI scale
    # What the coordinator's stack counted during the scan (EmberZNet's counter names); None
    # when its radio keeps no counters the host can read.
    stack_counters: Mapping[str, int] | None = None


@dataclass(frozen=True)
class JoinDecision:
    """One Trust Center join decision from the gateway's join log."""

    eui64: str
    decision: str  # joined | refused_key_mismatch | refused_no_window | refused_policy
    at: str = ""  # ISO 8601, UTC
    interface: str = ""


@dataclass(frozen=True)
class DeviceObservation:
    """One device as a scan saw it, and what the portal knows about it."""

    eui64: str
    interface: str
    name: str = ""
    category_label: str = ""
    manufacturer: str = ""
    model: str = ""
    firmware_version: str = ""
    ota_file_version: int | None = None
    reachable: bool = True
    link_quality: int | None = None  # the worse direction of its link towards the gateway
    rssi: int | None = None
    join_method: str = "unknown"  # install_code | default_key | unknown
    profile_id: int | None = None
    registered: bool = False
    registered_elsewhere: bool = False
    customer_owned: bool = False
    sleepy: bool = False  # its receiver is off when idle: it hears frames only when it polls
    last_heard: str = ""  # ISO 8601: when the coordinator last heard it, if it did
    # Its parent's EUI-64 as the scan placed it (the meter's, or a router's); "" unknown
    parent: str = ""
    # acknowledged | not_acknowledged (delivered, no confirmation) | not_delivered | "" not run
    operational_check: str = ""

    @property
    def label(self) -> str:
        what = self.name or self.category_label or "Device"
        return f"{what} ({self.eui64})"

    @property
    def what(self) -> str:
        """Its kind in lower case, for sentences."""
        return self.category_label.lower() or "device"

    @property
    def named(self) -> str:
        """How findings name it: a customer's device by kind and masked address, as lists
        show it to staff without the customer's consent."""
        if self.customer_owned:
            return f"the customer's {self.what} ({mask_eui64(self.eui64)})"
        return self.label


@dataclass(frozen=True)
class ExpectedDevice:
    """A device the utility registered for this premise's gateway."""

    eui64: str
    category_label: str = ""
    manufacturer: str = ""
    model: str = ""
    registration_status: str = ""  # the Trust Center's, when it holds a registration
    interface: str = ""  # the HAN interface it belongs on, when the records say
    seen_elsewhere: str = ""  # where a recent run at another meter found it, e.g. "meter …"


@dataclass(frozen=True)
class ApprovedModel:
    """An approved device model and its approved image: the OTA file version compared, the
    manufacturer's name for that firmware shown."""

    manufacturer: str
    model: str
    minimum_ota_file_version: int | None = None
    minimum_firmware: str = ""
    ota_version_scheme: str = OtaVersionScheme.BYTES


@dataclass(frozen=True)
class DiagnosisInput:
    gateway_reached: bool = True
    gateway_error: str = ""
    interfaces: tuple[InterfaceObservation, ...] = ()
    devices: tuple[DeviceObservation, ...] = ()
    expected: tuple[ExpectedDevice, ...] = ()
    approved: tuple[ApprovedModel, ...] = ()
    capacity: int | None = None
    thresholds: Thresholds = Thresholds()
    subject_eui64: str = ""  # the device the call is about: its findings come first
    join_decisions: tuple[JoinDecision, ...] = ()  # the gateways' join logs, every interface


@dataclass(frozen=True)
class Finding:
    rule: RuleId
    severity: Severity
    action: Action
    title: str  # for the rep: technical
    evidence: str  # for the rep: the figures behind it
    customer_text: str  # for the customer: plain words, no internals
    eui64: str = ""

    @property
    def action_label(self) -> str:
        return ACTION_LABELS[self.action]

    def key(self) -> tuple[str, str]:
        """What identifies the same finding in two runs (for the retest comparison)."""
        return (self.rule, self.eui64)


@dataclass(frozen=True)
class Problem:
    """What a rule found, in words; the rule that found it completes it into a ``Finding``."""

    title: str
    evidence: str
    customer_text: str
    eui64: str = ""

    @classmethod
    def about(
        cls, device: DeviceObservation, words: str, *, title: str, evidence: str
    ) -> "Problem":
        """A problem with one device found, told to its customer in the sentence ``words``."""
        return cls(title, evidence, customer_words(words, what=device.what), device.eui64)


Find = Callable[[DiagnosisInput], list[Problem]]


@dataclass(frozen=True)
class Rule:
    """A rule's id, severity and action, declared once, and the function that finds problems."""

    id: RuleId
    severity: Severity
    action: Action
    find: Find

    def __call__(self, data: DiagnosisInput) -> list[Finding]:
        return [
            Finding(
                rule=self.id,
                severity=self.severity,
                action=self.action,
                title=problem.title,
                evidence=problem.evidence,
                customer_text=problem.customer_text,
                eui64=problem.eui64,
            )
            for problem in self.find(data)
        ]


RULES: list[Rule] = []


def rule(rule_id: RuleId, severity: Severity, action: Action) -> Callable[[Find], Rule]:
    """Register a rule whose findings all take this id, severity and action.

    An id belongs to one rule only, and ``healthy`` to none: it is ``diagnose``'s verdict.
    """

    def register(find: Find) -> Rule:
        if rule_id == RuleId.HEALTHY or any(known.id == rule_id for known in RULES):
            raise ValueError(f"the rule id {rule_id} is already taken")
        registered = Rule(rule_id, severity, action, find)
        RULES.append(registered)
        return registered

    return register


@rule(RuleId.GATEWAY_UNREACHABLE, Severity.CRITICAL, Action.ESCALATE_TO_AMI_NETWORK)
def gateway_unreachable(data: DiagnosisInput) -> list[Problem]:
    if data.gateway_reached:
        return []
    return [
        Problem(
            title="The meter's HAN interface could not be reached over the AMI",
            evidence=data.gateway_error or "No answer from the gateway service.",
            customer_text=customer_words("gateway_unreachable"),
        )
    ]


def _found_devices(data: DiagnosisInput) -> tuple[DeviceObservation, ...]:
    """The utility's devices the run found that are this premise's to look after: a
    customer-owned device is its owner's, and one registered to another premise's meter is
    that premise's (this premise is told only that it does not belong here)."""
    if not data.gateway_reached:
        return ()
    return tuple(
        device
        for device in data.devices
        if not device.customer_owned and not device.registered_elsewhere
    )


def _route(data: DiagnosisInput, device: DeviceObservation) -> list[DeviceObservation]:
    """The routers between the device and the meter, its parent first, as the scan placed
    them (a parent the run did not see is the meter, or unknown: the route ends there)."""
    by_eui64 = {each.eui64: each for each in data.devices}
    route: list[DeviceObservation] = []
    current = by_eui64.get(device.parent)
    while current is not None and current is not device and current not in route:
        route.append(current)
        current = by_eui64.get(current.parent)
    return route


def _cut_off(data: DiagnosisInput) -> dict[str, list[DeviceObservation]]:
    """Routers that do not answer, each with the devices that do not answer either and whose
    route runs through it: the router nearest the meter on a route is the cause."""
    if not data.gateway_reached:
        return {}
    routers: dict[str, list[DeviceObservation]] = {}
    for device in data.devices:
        if device.reachable:
            continue
        silent = [router for router in _route(data, device) if not router.reachable]
        if silent:
            routers.setdefault(silent[-1].eui64, []).append(device)
    return routers


def _outage(data: DiagnosisInput) -> dict[str, list[DeviceObservation]]:
    """The cut-off routers the utility must act on: the router or a device it cut off is one
    of the utility's (a customer's router with only customer devices behind it is theirs)."""
    utility = {device.eui64 for device in _found_devices(data)}
    return {
        router: devices
        for router, devices in _cut_off(data).items()
        if router in utility or any(device.eui64 in utility for device in devices)
    }


def _explained_by_outage(data: DiagnosisInput) -> set[str]:
    """Devices another finding already explains: the silent routers and what they cut off."""
    outage = _outage(data)
    return set(outage) | {device.eui64 for devices in outage.values() for device in devices}


@rule(RuleId.ROUTER_DOWN, Severity.CRITICAL, Action.RESTORE_ROUTER)
def router_down(data: DiagnosisInput) -> list[Problem]:
    """A router that does not answer (switched off, unplugged, or itself out of range) and the
    devices whose only route runs through it, which cannot answer either: one finding names
    the router, the hop at fault, and lists the devices it cut off."""
    by_eui64 = {device.eui64: device for device in data.devices}
    problems = []
    for eui64, devices in _outage(data).items():
        router = by_eui64[eui64]
        devices = sorted(devices, key=lambda device: device.customer_owned)  # the utility's first
        behind = ", ".join(device.named for device in devices)
        owner = "the customer's" if router.customer_owned else "the utility's"
        one = len(devices) == 1
        cut = (
            f"{devices[0].named} is cut off: its only route"
            if one
            else f"{len(devices)} devices cut off: their only route"
        )
        problems.append(
            Problem(
                title=f"{cut} to the meter is through {router.named}, which does not answer",
                evidence=(
                    f"{router.named} does not answer (switched off, unplugged, or out of "
                    f"range itself); {behind} {'reaches' if one else 'reach'} the meter only "
                    f"through it ({'its' if one else 'their'} parent when the meter last mapped "
                    f"the network) and {'does' if one else 'do'} not answer either. Switch it "
                    "back on; "
                    f"if it is on, fit a utility range extender so the devices do not depend "
                    f"on {owner} {router.what}"
                ),
                customer_text=(
                    customer_words("router_down.one", router=router.what, what=devices[0].what)
                    if one
                    else customer_words("router_down.many", router=router.what, count=len(devices))
                ),
                eui64=mask_eui64(eui64) if router.customer_owned else eui64,
            )
        )
    return problems


@rule(RuleId.CUSTOMER_ROUTER_DEPENDENCY, Severity.INFO, Action.INSTALL_ADDITIONAL_DEVICE)
def customer_router_dependency(data: DiagnosisInput) -> list[Problem]:
    """A utility device that answers, but only through a customer-owned router: it works
    today and fails the day the customer unplugs it."""
    problems = []
    for device in _found_devices(data):
        if not device.reachable:
            continue
        customers = [router for router in _route(data, device) if router.customer_owned]
        if not customers:
            continue
        router = customers[0]
        problems.append(
            Problem(
                title=(f"{device.label} reaches the meter only through {router.named}"),
                evidence=(
                    f"its route to the meter runs through {router.named}, which the customer "
                    "may switch off or unplug at any time; a utility range extender keeps the "
                    "device on the network whatever the customer does"
                ),
                customer_text=customer_words(
                    "customer_router_dependency", what=device.what, router=router.what
                ),
                eui64=device.eui64,
            )
        )
    return problems


def _link_limits(data: DiagnosisInput, interface: str) -> LinkLimits:
    """The link limits on the LQI scale of the radio behind ``interface``."""
    radio = next((each.radio for each in data.interfaces if each.identifier == interface), "")
    return data.thresholds.link_limits(radio)


def _parent_of(data: DiagnosisInput, device: DeviceObservation) -> DeviceObservation | None:
    """Its parent when that is a router the run saw; None when it is the meter."""
    route = _route(data, device)
    return route[0] if route else None


@rule(RuleId.BEYOND_REACH, Severity.CRITICAL, Action.INSTALL_ADDITIONAL_DEVICE)
def beyond_reach(data: DiagnosisInput) -> list[Problem]:
    """Listed by the network but not answering, or barely heard on its own hop: a router must
    bridge the gap (to its parent, for a device that reaches the meter through a router)."""
    explained = _explained_by_outage(data)
    problems = []
    for device in _found_devices(data):
        limit = _link_limits(data, device.interface).unreachable
        too_weak = device.link_quality is not None and device.link_quality < limit
        if device.reachable and not too_weak:
            continue
        if not device.reachable and device.sleepy:
            continue  # asleep, not out of reach: the asleep rule speaks
        if device.eui64 in explained:
            continue  # a router on its route does not answer: the router finding speaks
        heard = f"link quality {device.link_quality}" if device.link_quality is not None else ""
        rssi = f", RSSI {device.rssi} dBm" if device.rssi is not None else ""
        evidence = ", ".join(
            part
            for part in (
                "does not answer" if not device.reachable else "answers intermittently",
                f"{heard}{rssi}" if heard else "",
                f"limit {limit}",
            )
            if part
        )
        parent = _parent_of(data, device)
        if parent is not None:
            evidence += f"; on its hop to its parent, {parent.named}"
        problems.append(
            Problem(
                title=(
                    f"{device.label} is beyond the gateway's reach"
                    if parent is None
                    else f"{device.label} is beyond the reach of its parent, {parent.named}"
                ),
                evidence=evidence,
                customer_text=(
                    customer_words("beyond_reach.meter", what=device.what)
                    if parent is None
                    else customer_words("beyond_reach.parent", what=device.what, parent=parent.what)
                ),
                eui64=device.eui64,
            )
        )
    return problems


@rule(RuleId.WEAK_LINK, Severity.WARNING, Action.CHANGE_RANGE)
def weak_link(data: DiagnosisInput) -> list[Problem]:
    short_of_power = _links_short_of_power(data)
    problems = []
    for device in _found_devices(data):
        weak, unreachable = astuple(_link_limits(data, device.interface))
        quality = device.link_quality
        if not device.reachable or quality is None or not unreachable <= quality < weak:
            continue
        if device.interface in short_of_power:
            continue  # the channel's power cut, not distance: channel_interference says so once
        rssi = f", RSSI {device.rssi} dBm" if device.rssi is not None else ""
        parent = _parent_of(data, device)
        if parent is None:
            title = f"{device.label} has a weak link to the gateway"
            hop = ""
            customer_text = customer_words("weak_link.meter", what=device.what)
        else:
            title = f"{device.label} has a weak link to its parent, {parent.named}"
            hop = f" on its hop to its parent, {parent.named}"
            customer_text = customer_words("weak_link.parent", what=device.what, parent=parent.what)
        problems.append(
            Problem(
                title=title,
                evidence=f"link quality {quality} (weak below {weak}){rssi}{hop}",
                customer_text=customer_text,
                eui64=device.eui64,
            )
        )
    return problems


def _approved_for(data: DiagnosisInput, device: DeviceObservation) -> ApprovedModel | None:
    for approved in data.approved:
        if (
            approved.manufacturer.casefold() == device.manufacturer.casefold()
            and approved.model.casefold() == device.model.casefold()
        ):
            return approved
    return None


def _outdated_image(
    data: DiagnosisInput, device: DeviceObservation
) -> tuple[ApprovedModel, int, int] | None:
    """The approved model, and the file versions running and approved, when the device's OTA
    file version is below the approved image's (an OTA server offers an image when its file
    version is greater: compared so); None when not, or not judged without both versions."""
    approved = _approved_for(data, device)
    if approved is None:
        return None
    running, minimum = device.ota_file_version, approved.minimum_ota_file_version
    if running is None or minimum is None or running >= minimum:
        return None
    return approved, running, minimum


@rule(RuleId.OUTDATED_FIRMWARE, Severity.WARNING, Action.UPGRADE_DEVICE)
def outdated_firmware(data: DiagnosisInput) -> list[Problem]:
    """The image a device runs (its OTA Upgrade cluster's file version) is older than the
    approved one. A device that reports no file version is not judged: its free-text build
    id is only shown."""
    problems = []
    for device in _found_devices(data):
        outdated = _outdated_image(data, device)
        if outdated is None:
            continue
        approved, running, minimum = outdated
        scheme = approved.ota_version_scheme
        named = {ota_version_name(running, scheme), ota_version_name(minimum, scheme), ""}
        build = (
            f' (its build id reads "{device.firmware_version}")'
            if device.firmware_version not in named
            else ""
        )
        release = (
            f", released as {approved.minimum_firmware}"
            if approved.minimum_firmware not in named
            else ""
        )
        problems.append(
            Problem.about(
                device,
                "outdated_firmware",
                title=f"{device.label} runs outdated firmware",
                evidence=(
                    f"{device.manufacturer} {device.model} runs OTA image "
                    f"{ota_version_text(running, scheme)}{build}; the approved image is "
                    f"{ota_version_text(minimum, scheme)}{release}"
                ),
            )
        )
    return problems


@rule(RuleId.INSECURE_JOIN, Severity.CRITICAL, Action.CHANGE_SECURITY_SETTINGS)
def insecure_join(data: DiagnosisInput) -> list[Problem]:
    """A device that joined with the well-known default Trust Center link key, whoever owns
    it: the network key reached it encrypted under a public key, so the whole HAN's traffic
    is readable to anyone who recorded the join. Or a registered device that joined by some
    other way than its install-code key."""
    if not data.gateway_reached:
        return []
    problems = []
    for device in data.devices:
        what = device.category_label.lower() or "device"
        if device.join_method == "default_key":
            evidence = (
                "joined with the well-known default Trust Center link key (ZigBeeAlliance09): "
                "the network key reached it under a public key. Remedy: make the device leave "
                "the HAN, set the Trust Center to install-code-only joins, rotate the network "
                "key, then rejoin the device with its install code"
            )
        elif (
            not device.customer_owned
            and device.registered
            and device.join_method not in {"install_code", "unknown"}
        ):
            evidence = f"registered with an install code but joined by {device.join_method}"
        else:
            continue
        if device.customer_owned:
            # Its words name it as the device lists do for staff without consent.
            title = (
                f"Customer-owned {what} ({mask_eui64(device.eui64)}) joined with the default key"
            )
            customer_text = customer_words("insecure_join.customer", what=what)
            eui64 = mask_eui64(device.eui64)
        else:
            title = f"{device.label} did not join with its install-code key"
            customer_text = customer_words("insecure_join.utility", what=what)
            eui64 = device.eui64
        problems.append(
            Problem(title=title, evidence=evidence, customer_text=customer_text, eui64=eui64)
        )
    return problems


def _latest_join_decisions(data: DiagnosisInput) -> dict[str, JoinDecision]:
    """Each device's latest Trust Center join decision."""
    latest: dict[str, JoinDecision] = {}
    for decision in sorted(data.join_decisions, key=lambda each: each.at):
        latest[decision.eui64] = decision
    return latest


def _key_mismatches(data: DiagnosisInput) -> dict[str, JoinDecision]:
    """Registered devices not found here whose latest join the Trust Center refused because
    their key is not the one their registered install code gives."""
    if not data.gateway_reached:
        return {}
    seen = {device.eui64 for device in data.devices}
    latest = _latest_join_decisions(data)
    return {
        expected.eui64: decision
        for expected in data.expected
        if expected.eui64 not in seen
        and not expected.seen_elsewhere
        and (decision := latest.get(expected.eui64)) is not None
        and decision.decision == "refused_key_mismatch"
    }


def _not_found(data: DiagnosisInput, *, window_expired: bool) -> list[ExpectedDevice]:
    """Registered devices no interface reported, whose join window did or did not expire (a
    device refused for its key is the install-code rule's)."""
    if not data.gateway_reached:
        return []
    seen = {device.eui64 for device in data.devices}
    mismatched = _key_mismatches(data)
    return [
        expected
        for expected in data.expected
        if expected.eui64 not in seen
        and expected.eui64 not in mismatched
        and not expected.seen_elsewhere
        and (expected.registration_status == "expired") == window_expired
    ]


def _when(decision: JoinDecision) -> str:
    where = f" on {decision.interface}" if decision.interface else ""
    return f"{where} at {decision.at}" if decision.at else where


# What the Trust Center's refusal of a device's latest join adds to "not found".
_REFUSAL_WORDS: dict[str, str] = {
    "refused_no_window": "no join window was open for it",
    "refused_policy": (
        "its join policy admits install-code keys only and the device offered the default key"
    ),
}


# What each rule about a registered device that was not found says: title, evidence, and the
# customer's words. {what} is the device's kind, {eui64} {maker} its identity.
_NOT_FOUND_WORDS: dict[bool, tuple[str, str, str]] = {
    False: (
        "Registered {what} ({eui64}) was not found",
        "{maker} is registered for this gateway but no interface reported it",
        "registered_device_missing",
    ),
    True: (
        "The join window for {what} ({eui64}) expired without a join",
        "the Trust Center opened a join window with the device's install-code key; the "
        "device never joined",
        "join_window_expired",
    ),
}


def _not_found_problems(data: DiagnosisInput, *, window_expired: bool) -> list[Problem]:
    title, evidence, customer_text = _NOT_FOUND_WORDS[window_expired]
    latest = _latest_join_decisions(data)
    problems = []
    for expected in _not_found(data, window_expired=window_expired):
        words = {
            "what": expected.category_label.lower() or "device",
            "eui64": expected.eui64,
            "maker": f"{expected.manufacturer} {expected.model}".strip() or "It",
        }
        refused = ""
        decision = latest.get(expected.eui64)
        if decision is not None and decision.decision in _REFUSAL_WORDS:
            refused = (
                f"; the Trust Center refused its latest join{_when(decision)}: "
                f"{_REFUSAL_WORDS[decision.decision]}"
            )
        problems.append(
            Problem(
                title=title.format(**words),
                evidence=evidence.format(**words) + refused,
                customer_text=customer_words(customer_text, what=words["what"]),
                eui64=expected.eui64,
            )
        )
    return problems


@rule(RuleId.REGISTERED_DEVICE_MISSING, Severity.CRITICAL, Action.REOPEN_JOIN_WINDOW)
def registered_device_missing(data: DiagnosisInput) -> list[Problem]:
    return _not_found_problems(data, window_expired=False)


@rule(RuleId.JOIN_WINDOW_EXPIRED, Severity.CRITICAL, Action.REOPEN_JOIN_WINDOW)
def join_window_expired(data: DiagnosisInput) -> list[Problem]:
    """A registered device whose join window closed before it joined."""
    return _not_found_problems(data, window_expired=True)


@rule(RuleId.UNKNOWN_DEVICE, Severity.WARNING, Action.INVESTIGATE_DEVICE)
def unknown_device(data: DiagnosisInput) -> list[Problem]:
    """A device on this HAN that is not this premise's: registered to another premise's meter
    (it is told nothing else: its own premise's runs look after it), or an unregistered
    Smart Energy device."""
    if not data.gateway_reached:
        return []
    problems = []
    for device in data.devices:
        if device.registered or device.customer_owned:
            continue
        if device.registered_elsewhere:
            title = f"{device.label} is registered to another premise's meter"
            evidence = (
                "its registration belongs to a different gateway: make it leave this HAN "
                "(the other premise reopens its join window at its own meter)"
            )
        elif device.profile_id == SMART_ENERGY_PROFILE_ID:
            title = f"Unknown Smart Energy device {device.label} on the Utility HAN"
            evidence = (
                f"{device.manufacturer} {device.model} speaks the Smart Energy profile but "
                "is not registered"
            ).strip()
        else:
            continue
        problems.append(
            Problem(
                title=title,
                evidence=evidence,
                customer_text=customer_words("unknown_device"),
                eui64=device.eui64,
            )
        )
    return problems


def _links_short_of_power(data: DiagnosisInput) -> dict[str, list[int]]:
    """The link qualities of the utility devices on each interface whose radios must cut their
    transmit power (channel 26) and whose links are uniformly weak: the channel explains them,
    not distance."""
    thresholds = data.thresholds
    explained: dict[str, list[int]] = {}
    for interface in data.interfaces:
        if interface.channel is None or not channel_health.power_limited(
            interface.channel, interface.tx_power_dbm, low_tx_power_dbm=thresholds.low_tx_power_dbm
        ):
            continue
        qualities = [
            device.link_quality
            for device in _found_devices(data)
            if device.interface == interface.identifier
            and device.reachable
            and device.link_quality is not None
        ]
        weak = thresholds.link_limits(interface.radio).weak
        if channel_health.uniformly_weak(
            qualities, weak=weak, share=thresholds.uniformly_weak_share
        ):
            explained[interface.identifier] = qualities
    return explained


def _busy_on_air(thresholds: Thresholds, interface: InterfaceObservation) -> str | None:
    """The evidence, when the coordinator's radio found its channel busy often during the scan:
    interference when devices were being asked, whatever the energy scan caught."""
    counted = channel_health.access_failures(interface.stack_counters)
    if counted is None:
        return None
    failed, assessments = counted
    if (
        assessments < thresholds.channel_access_min_assessments
        or failed <= thresholds.channel_access_failure_share * assessments
    ):
        return None
    return (
        f"during the scan the coordinator's radio found channel {interface.channel} busy in "
        f"{failed} of {assessments} clear-channel assessments ({failed / assessments:.0%}; "
        f"busy above {thresholds.channel_access_failure_share:.0%}) and had to back off"
    )


@rule(RuleId.CHANNEL_INTERFERENCE, Severity.WARNING, Action.CHANGE_CHANNEL)
def channel_interference(data: DiagnosisInput) -> list[Problem]:
    """The HAN's channel, or a neighbour bleeding into it, is busy at its peak sample (bursts
    count), or its radios must cut their power and links are uniformly weak: move it to a quiet
    Smart Energy preferred channel, named with the Wi-Fi channels around it."""
    busy = data.thresholds.channel_energy
    short_of_power = _links_short_of_power(data)
    problems = []
    for interface in data.interfaces:
        channel = interface.channel
        if channel is None:
            continue
        peak = interface.energy_by_channel
        mean = {**peak, **interface.mean_energy_by_channel}  # one sample: the peak is the mean
        crowded = channel_health.busy_near(channel, peak, busy=busy)
        qualities = short_of_power.get(interface.identifier)
        on_air = _busy_on_air(data.thresholds, interface)
        if not crowded and qualities is None and on_air is None:
            continue
        # The HAN's own channel first, even when only a neighbour is busy.
        reasons = [
            f"{'channel' if each == channel else 'neighbouring channel'} {each} "
            f"({channel_health.wifi_position(each)}): "
            + channel_health.energy_reading(
                peak[each], mean[each], interface.energy_samples, busy=busy
            )
            for each in dict.fromkeys([channel, *crowded] if channel in peak else crowded)
        ]
        if crowded:
            reasons[-1] += f" (busy above {busy})"
        if qualities is not None:
            weak = data.thresholds.link_limits(interface.radio).weak
            power = interface.tx_power_dbm
            reasons.append(
                f"channel {channel}: North American radios must cut transmit power"
                f"{f' (the radio reports {power} dBm)' if power is not None else ''}; "
                f"{sum(quality < weak for quality in qualities)} of {len(qualities)} devices "
                f"have weak links (link quality {min(qualities)}-{max(qualities)}, weak below "
                f"{weak}), whatever their distance"
            )
        if on_air is not None:
            reasons.append(on_air)
        suggested = channel_health.quiet_preferred_channels(
            channel,
            peak,
            quiet=data.thresholds.quiet_channel_energy,
            busy=busy,
            avoid=channel_health.OFTEN_POWER_CUT_CHANNELS if qualities is not None else (),
        )
        if suggested:
            reasons.append(
                "quiet Smart Energy preferred channels: "
                + ", ".join(
                    f"{each} ({channel_health.wifi_position(each)}, peak {peak[each]})"
                    for each in suggested
                )
            )
        elif peak:
            reasons.append("no Smart Energy preferred channel is quiet: survey the site")
        if qualities is not None:
            title = f"move the HAN off channel {channel}: its radios must cut transmit power"
        elif not crowded:
            title = f"channel {channel} was busy while the HAN was scanned"
        elif crowded[0] != channel:
            title = f"channel {crowded[0]}, next to the HAN's channel {channel}, is busy"
        elif mean[channel] <= busy:
            title = f"channel {channel} is busy in bursts"
        else:
            title = f"channel {channel} is busy"
        problems.append(
            Problem(
                title=f"Interface {interface.identifier}: {title}",
                evidence="; ".join(reasons),
                customer_text=customer_words(
                    "channel_interference.power"
                    if qualities is not None
                    else "channel_interference.busy"
                ),
            )
        )
    return problems


@rule(RuleId.OPERATIONAL_CHECK_FAILED, Severity.WARNING, Action.CHECK_DEVICE_PROGRAMS)
def operational_check_failed(data: DiagnosisInput) -> list[Problem]:
    return [
        Problem.about(
            device,
            "operational_check_failed",
            title=f"{device.label} did not acknowledge a utility message",
            evidence=(
                "the Smart Energy test message reached it (the radio delivered it) but it sent "
                "no confirmation: a set-up matter, not the radio. "
                + (
                    "It runs firmware below the approved image: upgrade it first, retest, and "
                    "check its enrolment in the utility's program only if it still ignores the "
                    "message"
                    if _outdated_image(data, device) is not None
                    else "Check it is enrolled in the utility's program"
                )
            ),
        )
        for device in _found_devices(data)
        if device.reachable and device.operational_check == "not_acknowledged"
    ]


@rule(RuleId.OVER_CAPACITY, Severity.WARNING, Action.REDUCE_DEVICES)
def over_capacity(data: DiagnosisInput) -> list[Problem]:
    if data.capacity is None or not data.gateway_reached:
        return []
    utility_devices = [device for device in data.devices if not device.customer_owned]
    if len(utility_devices) <= data.capacity * data.thresholds.capacity_warning_ratio:
        return []
    return [
        Problem(
            title="The meter has more Utility HAN devices than it supports",
            evidence=f"{len(utility_devices)} utility devices; this meter takes {data.capacity}",
            customer_text=customer_words("over_capacity"),
        )
    ]


@rule(RuleId.EMPTY_HAN, Severity.WARNING, Action.REGISTER_DEVICE)
def empty_han(data: DiagnosisInput) -> list[Problem]:
    """Nothing has joined the HAN and nothing is on record: a call about a device that never
    paired, never a healthy network. (With devices on record, the missing-device rule speaks.)"""
    if not data.gateway_reached or data.devices or data.expected:
        return []
    channels = ", ".join(str(each.channel) for each in data.interfaces if each.channel)
    return [
        Problem(
            title="No device has joined the meter's HAN",
            evidence=(
                f"the meter answered{f' on channel {channels}' if channels else ''} but its "
                "HAN has no devices, and none are registered for this premise"
            ),
            customer_text=customer_words("empty_han"),
        )
    ]


@rule(RuleId.JOINED_ELSEWHERE, Severity.CRITICAL, Action.REJOIN_DEVICE)
def joined_elsewhere(data: DiagnosisInput) -> list[Problem]:
    """A registered device that joined the meter's other HAN interface, or another premise's
    meter: not missing, and no power check will bring it back."""
    if not data.gateway_reached:
        return []
    found = {device.eui64: device for device in data.devices}
    return [
        problem
        for expected in data.expected
        if (problem := _where_it_joined(expected, found.get(expected.eui64))) is not None
    ]


def _where_it_joined(expected: ExpectedDevice, here: DeviceObservation | None) -> Problem | None:
    what = expected.category_label.lower() or "device"
    if here is not None and expected.interface and here.interface != expected.interface:
        return Problem(
            title=(
                f"Registered {what} ({expected.eui64}) joined interface {here.interface}, "
                f"not its own {expected.interface}"
            ),
            evidence=(
                f"on record for {expected.interface}; the scan found it on {here.interface}, "
                f"where its utility programs do not reach it. Fix: make it leave "
                f"{here.interface}, then reopen its join window on {expected.interface}"
            ),
            customer_text=customer_words("joined_elsewhere.interface", what=what),
            eui64=expected.eui64,
        )
    if here is None and expected.seen_elsewhere:
        return Problem(
            title=f"Registered {what} ({expected.eui64}) joined another meter's HAN",
            evidence=(
                f"not found on this meter; a run at {expected.seen_elsewhere} found it there. "
                "Fix: make it leave that HAN, then reopen its join window here with the "
                "device near this meter"
            ),
            customer_text=customer_words("joined_elsewhere.meter", what=what),
            eui64=expected.eui64,
        )
    return None


@rule(RuleId.MESSAGE_NOT_DELIVERED, Severity.WARNING, Action.CHANGE_RANGE)
def message_not_delivered(data: DiagnosisInput) -> list[Problem]:
    """The device answered the scan, but a utility message to it was not delivered even with
    the stack's retries: its radio path is marginal, whatever its set-up."""
    return [
        Problem.about(
            device,
            "message_not_delivered",
            title=f"{device.label} did not receive a utility message",
            evidence=(
                "the Smart Energy test message was not delivered (no APS acknowledgement after "
                "retries) although the device answered the scan: its radio path is marginal"
            ),
        )
        for device in _found_devices(data)
        if device.reachable and device.operational_check == "not_delivered"
    ]


@rule(RuleId.DEVICE_ASLEEP, Severity.WARNING, Action.WAKE_DEVICE)
def device_asleep(data: DiagnosisInput) -> list[Problem]:
    """A sleepy end device (receiver off when idle) that did not poll its parent while the scan
    asked: its parent holds a frame for it only 7.68 s (IEEE 802.15.4 transaction persistence),
    so a device that polls less often, or whose batteries are flat, does not answer. Not a
    radio or gateway fault, but not checked either: the run does not pass on it."""
    explained = _explained_by_outage(data)
    return [
        Problem.about(
            device,
            "device_asleep",
            title=f"{device.label} is asleep",
            evidence=(
                f"a sleepy end device (receiver off when idle) that did not poll its parent "
                f"during the scan; {_last_heard(device)}. Its parent holds frames for it only "
                f"{MAC_TRANSACTION_PERSISTENCE_S:g} s"
            ),
        )
        for device in _found_devices(data)
        # Not one that is awake, nor one whose parent is silent: the router finding speaks.
        if not device.reachable and device.sleepy and device.eui64 not in explained
    ]


def _last_heard(device: DeviceObservation) -> str:
    if device.last_heard:
        return f"last heard at {device.last_heard}"
    return "not heard from while the gateway has been running"


@rule(RuleId.INSTALL_CODE_MISMATCH, Severity.CRITICAL, Action.RECHECK_INSTALL_CODE)
def install_code_mismatch(data: DiagnosisInput) -> list[Problem]:
    """A registered device that is not found and whose latest join the Trust Center refused
    because its key does not match the registered install code: it is powered and in range,
    so checking its power or reopening the window would fail again."""
    mismatched = _key_mismatches(data)
    return [
        _install_code_mismatch(expected, mismatched[expected.eui64])
        for expected in data.expected
        if expected.eui64 in mismatched
    ]


def _install_code_mismatch(expected: ExpectedDevice, refusal: JoinDecision) -> Problem:
    what = expected.category_label.lower() or "device"
    return Problem(
        title=(
            f"The install code does not match registered {what} ({expected.eui64}): "
            "re-check the label or QR code"
        ),
        evidence=(
            f"the Trust Center refused its join{_when(refusal)}: the key it offered is not the "
            "one derived from the registered install code, so the device is powered and in "
            "range. Re-check the install code on its label or QR code and register it again"
        ),
        customer_text=customer_words("install_code_mismatch", what=what),
        eui64=expected.eui64,
    )


@rule(RuleId.DEFAULT_KEY_POLICY, Severity.CRITICAL, Action.CHANGE_SECURITY_SETTINGS)
def default_key_policy(data: DiagnosisInput) -> list[Problem]:
    """An interface whose Trust Center accepts the well-known default key: any device may
    join with it, and the network key then reaches it under a public key."""
    if not data.gateway_reached:
        return []
    return [
        Problem(
            title=f"Interface {interface.identifier}: the Trust Center accepts the default key",
            evidence=(
                "the gateway reports the join policy default_key_allowed: a device may join with "
                "the well-known default Trust Center link key (ZigBeeAlliance09) and receive the "
                "network key under it. Smart Energy 1.x requires install-code-only joins: set "
                "the Trust Center to allow only install code joins"
            ),
            customer_text=customer_words("default_key_policy"),
        )
        for interface in data.interfaces
        if interface.join_policy == "default_key_allowed"
    ]


def many_words(rule_id: str) -> str:
    """How a rule words several of its findings at once, ``{count}`` standing for their number
    (e.g. "{count} devices run outdated firmware"); empty for a rule that does not group."""
    return GROUPED_WORDS.get(rule_id, "")


def many_title(rule_id: str, count: int) -> str:
    return many_words(rule_id).format(count=count)


def diagnose(data: DiagnosisInput, rules: Iterable[Rule] = RULES) -> list[Finding]:
    """Every rule's findings: those about the device the call is about first, then the most
    severe, root causes before consequences; a single pass finding when all is well."""
    findings = [finding for each in rules for finding in each(data)]
    order = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2, Severity.PASS: 3}
    rank = {rule_id: index for index, rule_id in enumerate(ROOT_CAUSE_ORDER)}
    findings.sort(
        key=lambda finding: (
            not data.subject_eui64 or finding.eui64 != data.subject_eui64,
            order[finding.severity],
            rank.get(finding.rule, len(rank)),
            finding.rule,
            finding.eui64,
        )
    )
    if not any(finding.severity in {Severity.CRITICAL, Severity.WARNING} for finding in findings):
        count = len(data.devices)
        findings.insert(
            0,
            Finding(
                rule=RuleId.HEALTHY,
                severity=Severity.PASS,
                action=Action.NONE,
                title="The Utility HAN is healthy",
                evidence=f"{count} device{'s' if count != 1 else ''} found, no problem seen",
                customer_text=customer_words("healthy"),
            ),
        )
    return findings


def passed(findings: Iterable[Finding]) -> bool:
    return all(finding.severity in {Severity.PASS, Severity.INFO} for finding in findings)
