"""Generate a utility-sized, realistic history of HAN tests, for benchmarks and capacity checks.

    manage.py generate_history_data [--premises 1000000] [--runs 2000000] [--days 730]
        [--reps 300] [--seed 1] [--batch 50000] [--wipe-generated]

It makes customers (about 1 % own several premises), one premise per service point, the
premise's gateway (a smart meter; about 3 % of premises share a pole-top gateway with their
neighbours), the gateway's HAN interface and 0-4 HAN devices on record, representatives and a
few administrators, and the history: cases of 1-3 runs, each finished run with its observed
interface, 2-5 observed devices, findings from the real diagnosis rules, the actions recorded
before a retest, and an administrator's review of about 1 % of findings. Every run is finished
(passed, failed, error or cancelled), so the one-active-run-per-premise rule always holds.

A finding's words, severity and action are the diagnosis's own: each rule runs once per kind of
device and problem the history plants, with a placeholder for the device's EUI-64, and each run
fills it in.

Generated rows are recognisable, which is how the command refuses to run twice and how
``--wipe-generated`` finds what to delete: account numbers are 12 digits starting with 8,
service points start with ``SPG-``, meter numbers with ``MTR-G``, user names with ``gen-``.

Everything happens in one transaction: a failure or an interruption leaves the database as it
was. On PostgreSQL the rows are streamed with COPY, from a thread of their own, with explicit
ids; the filled tables' secondary indexes and foreign keys are set aside meanwhile and rebuilt
(and checked) at the end, which keeps those tables locked until the command commits: run it on
a database of its own. The sequences are then moved past the ids, so the ORM can keep
inserting, and the tables are vacuumed and analysed. Elsewhere (the embedded SQLite) the same
rows go through ``executemany``: fine for the small sizes tests use. Not generated: run steps,
Trust Center registrations and credentials, gateway credentials.
"""

import datetime as dt
import json
import queue
import random
import threading
import time
from array import array
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from itertools import accumulate
from typing import Any, Generic, TypeVar

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from han_gateway.firmware import OtaVersionScheme, ota_version_from_text
from han_gateway.models import HanDevice, NetworkInterface, PremisesGateway
from han_gateway.validators import service_url_refusal
from han_gateway.zigbee_ids import HOME_AUTOMATION_PROFILE_ID, SMART_ENERGY_PROFILE_ID
from portal.demo.premises import DEMO_SERVICE_URL
from portal.diagnosis import rules as diagnosis
from portal.diagnosis.rules import RULES, RuleId
from portal.models import (
    Customer,
    DiagnosisReview,
    Finding,
    HanTestCase,
    HanTestRun,
    ObservedDevice,
    ObservedInterface,
    Premise,
    RecordedAction,
    User,
)
from portal.test_runs.observations import DeviceDetails
from trust_center.models import DeviceRegistration

# What marks a row as generated (see the module docstring).
ACCOUNT_PREFIX = "8"
ACCOUNT_PATTERN = r"^8[0-9]{11}$"
SERVICE_POINT_PREFIX = "SPG-"
METER_PREFIX = "MTR-G"
AMI_PREFIX = "AMI-G"
USER_PREFIX = "gen-"
ADMINISTRATORS = 4

T = TypeVar("T")


class Weighted(Generic[T]):
    """Draws values with the given relative weights, faster than ``random.choices``."""

    def __init__(self, items: Sequence[tuple[T, float]]) -> None:
        self.values = [value for value, _ in items]
        self.cumulative = list(accumulate(weight for _, weight in items))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        return self.values[bisect(self.cumulative, rng.random() * self.total)]


def words(text: str) -> list[str]:
    return text.split()


# --- The utility's world ------------------------------------------------------------------------

FIRST_NAMES = words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew "
    "Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy "
    "Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob "
    "Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela "
    "Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine "
    "Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria "
    "Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia "
    "Zachary Victoria Douglas Kelly Peter Lauren Kyle Christina Noah Joan Ethan Evelyn Jeremy "
    "Judith Walter Megan Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Austin "
    "Martha Sean Gloria Gerald Teresa Carl Ann Harold Sara Dylan Madison Arthur Frances Lawrence "
    "Kathryn Jordan Janice Jesse Jean Bryan Abigail Billy Alice Bruce Judy Gabriel Sophia Joe "
    "Grace Logan Denise Alan Amber Juan Doris Albert Marilyn Willie Danielle Elijah Beverly "
    "Wayne Isabella Randy Theresa Vincent Diana Mason Natalie Roy Brittany Ralph Charlotte "
    "Bobby Marie Russell Kayla Bradley Alexis Philip Lori Eugene Chen Fatima Emeka Ivan Priya "
    "Wei Aisha Mohammed Yusuf Mei Hiroshi Sofia Mateo Lucia Omar Layla Ahmed Ngozi Dmitri Ana"
)

LAST_NAMES = words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales "
    "Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos "
    "Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes "
    "Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry "
    "Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons "
    "Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West "
    "Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro "
    "Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry "
    "Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez "
    "Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd "
    "Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols "
    "Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce "
    "Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson "
    "Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews "
    "Pena Richards Contreras Willis Carpenter Lawrence Sandoval Okafor Nwosu Haddad Lindqvist "
    "Schultz Petrov Whitfield Kowalski Novak Yamamoto Singh Kaur Osei Mensah Dubois Rossi"
)

STREETS = words(
    "Elm Oak Maple Cedar Pine Walnut Birch Willow Chestnut Hickory Spruce Sycamore Magnolia "
    "Dogwood Juniper Aspen Poplar Cherry Laurel Holly Lakeview Hillcrest Sunset Ridge Meadow "
    "Prairie Park Washington Lincoln Jefferson Madison Monroe Adams Jackson Franklin Grant "
    "Church Mill School Spring River Lake Forest Valley Highland Orchard Sunrise Country "
    "Harvest Liberty Union Main Market Center Broad Water Bridge Station Railroad Canal "
    "Cardinal Bluebird Heron Quail Fox Deer Eagle Hawk Prospect Summit Fairview Pleasant "
    "Greenwood Riverside Westwood Northgate Southgate Eastwood Brookside Stonegate Timber"
)
STREET_SUFFIXES = Weighted(
    [
        ("Street", 30),
        ("Avenue", 18),
        ("Road", 16),
        ("Drive", 12),
        ("Lane", 9),
        ("Court", 6),
        ("Way", 4),
        ("Place", 3),
        ("Boulevard", 1),
        ("Circle", 1),
    ]
)

REGIONS = Weighted([("north", 38), ("south", 24), ("east", 18), ("west", 12), ("central", 8)])
# city, state, first three digits of its postal codes
CITIES: dict[str, list[tuple[str, str, str]]] = {
    "north": [("Springfield", "IL", "627"), ("Bloomington", "IL", "617"), ("Peoria", "IL", "616")],
    "south": [("Carbondale", "IL", "629"), ("Mount Vernon", "IL", "628"), ("Marion", "IL", "629")],
    "east": [("Champaign", "IL", "618"), ("Danville", "IL", "618"), ("Decatur", "IL", "625")],
    "west": [("Quincy", "IL", "623"), ("Macomb", "IL", "614"), ("Hannibal", "MO", "634")],
    "central": [("Chatham", "IL", "626"), ("Petersburg", "IL", "626"), ("Lincoln", "IL", "626")],
}


@dataclass(frozen=True)
class GatewayModel:
    kind: str
    manufacturer: str
    model: str
    firmware: str


METER = PremisesGateway.Kind.METER
POLE_TOP = PremisesGateway.Kind.POLE_TOP
METER_MODELS = Weighted(
    [
        (GatewayModel(METER, "Itron", "OpenWay Riva CENTRON", "4.2.1"), 34),
        (GatewayModel(METER, "Landis+Gyr", "E470 Focus AXe-SD", "7.1.0"), 26),
        (GatewayModel(METER, "Landis+Gyr", "E350 FOCUS AXe-SD", "4.2.1"), 14),
        (GatewayModel(METER, "Aclara", "I-210+c", "3.11.2"), 12),
        (GatewayModel(METER, "Honeywell Elster", "REX2", "6.4.0"), 9),
        (GatewayModel(METER, "Sensus", "iConA", "2.8.1"), 5),
    ]
)
POLE_TOP_MODELS = Weighted(
    [
        (GatewayModel(POLE_TOP, "Itron", "Riva Pole-Top HAN Gateway", "2.3.0"), 3),
        (GatewayModel(POLE_TOP, "Landis+Gyr", "Gridstream HAN Router", "1.6.4"), 2),
    ]
)
SE_CHANNELS = Weighted([(11, 20), (15, 35), (20, 30), (25, 15)])


@dataclass(frozen=True)
class DeviceKind:
    category: str
    network: str
    manufacturer: str
    model: str
    firmware: str
    old_firmware: str  # below the approved minimum: what outdated_firmware reports
    device_type: str
    power_source: str
    oui: int
    names: tuple[str, ...]
    on_record: bool = True  # False: a customer's device the utility never hears about

    @cached_property
    def utility(self) -> bool:
        return self.network == HanDevice.Network.UTILITY

    @cached_property
    def profile_id(self) -> int:
        return SMART_ENERGY_PROFILE_ID if self.utility else HOME_AUTOMATION_PROFILE_ID

    @cached_property
    def category_label(self) -> str:
        return str(HanDevice.Category(self.category).label)


@cache
def _ota(firmware: str) -> int:
    """The OTA file version of a firmware the table names major.minor.patch."""
    return ota_version_from_text(firmware, OtaVersionScheme.BYTES)


Category = HanDevice.Category
UTILITY = HanDevice.Network.UTILITY
CUSTOMER = HanDevice.Network.CUSTOMER
# category | network | maker | model | firmware | firmware below the approved minimum |
# Zigbee role | power | the maker's EUI-64 prefix | weight | names a scan reports (";")
DEVICE_TABLE = """
pct | utility | Honeywell | UtilityPRO UP8000 | 3.4.2 | 3.1.0 | end_device | battery | 000d6f | 20 | Hallway thermostat;Upstairs thermostat;Thermostat
pct | utility | Radio Thermostat | CT-50 RTZB-01 | 1.9.4 | 1.7.2 | router | mains | 5ccf7f | 9 | Hallway thermostat;Thermostat
in_home_display | utility | Rainforest Automation | EMU-2 | 2.1.7 | 1.4.9 | end_device | mains | 001bc5 | 22 | Kitchen in-home display;In-home display
in_home_display | utility | Ambient Devices | Energy Joule SE | 1.2.0 | 1.0.3 | end_device | mains | 0022a3 | 5 | In-home display
load_control_switch | utility | Eaton | Yukon LCR-6601S | 1.8.0 | 1.5.2 | router | mains | 000d6f | 19 | Water heater load control switch;AC load control switch
load_control_switch | utility | Comverge | DCU 2.0 SE | 2.0.4 | 1.9.0 | router | mains | 0050c2 | 4 | Pool pump load control switch;AC load control switch
ems | utility | Rainforest Automation | EAGLE-200 | 4.0.3 | 3.2.1 | end_device | mains | 001bc5 | 12 | Home energy manager
smart_plug | customer | Third Reality | 3RSP019BZ | 1.00.52 | 1.00.52 | router | mains | 282c02 | 5 | Customer smart plug (TV);Smart plug
smart_plug | customer | Jasco | GE 45853 Smart Plug | 2.1.0 | 2.1.0 | router | mains | 0022a8 | 2 | Smart plug
other_customer_interface | customer | Ecolink | DWZB1-ECO | 2.0.1 | 2.0.1 | end_device | battery | 0015bc | 3 | Customer door sensor;Door sensor
smart_plug | unrecorded | IKEA of Sweden | TRADFRI control outlet | 2.3.089 | 2.3.089 | router | mains | 90fd9f | 1 | Smart plug
other_customer_interface | unrecorded | SmartThings | Multipurpose Sensor | 0.1.13 | 0.1.13 | end_device | battery | 286d97 | 1 | Multipurpose sensor
"""  # noqa: E501 - a table reads best one device per line


def _device_kinds() -> list[tuple[DeviceKind, float]]:
    kinds = []
    for line in DEVICE_TABLE.strip().splitlines():
        category, network, maker, model, firmware, old, role, power, oui, weight, names = (
            cell.strip() for cell in line.split("|")
        )
        kind = DeviceKind(
            category,
            CUSTOMER if network == "unrecorded" else network,
            maker,
            model,
            firmware,
            old,
            role,
            power,
            int(oui, 16),
            tuple(names.split(";")),
            on_record=network != "unrecorded",
        )
        kinds.append((kind, float(weight)))
    return kinds


UTILITY_DEVICES = Weighted([item for item in _device_kinds() if item[0].network == UTILITY])
CUSTOMER_DEVICES = Weighted(
    [item for item in _device_kinds() if item[0].network == CUSTOMER and item[0].on_record]
)
DEVICE_KINDS: list[DeviceKind] = UTILITY_DEVICES.values + CUSTOMER_DEVICES.values
KIND_INDEX = {kind: index for index, kind in enumerate(DEVICE_KINDS)}
# Devices on the customer's HAN the utility has no record of: seen by runs, never on record.
# Their makers' prefixes are used by no device on record, so they never collide with one.
UNRECORDED_DEVICES = [kind for kind, _ in _device_kinds() if not kind.on_record]
DEVICES_ON_RECORD = Weighted([(0, 8), (1, 17), (2, 30), (3, 27), (4, 18)])

# --- The history --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleShape:
    weight: float  # how often it is the problem a case is opened for
    needs_device: bool  # about one utility device of the premise


RULE_SHAPES: dict[RuleId, RuleShape] = {
    RuleId.GATEWAY_UNREACHABLE: RuleShape(4, False),
    RuleId.BEYOND_REACH: RuleShape(11, True),
    RuleId.WEAK_LINK: RuleShape(24, True),
    RuleId.OUTDATED_FIRMWARE: RuleShape(10, True),
    RuleId.INSECURE_JOIN: RuleShape(6, True),
    RuleId.REGISTERED_DEVICE_MISSING: RuleShape(17, True),
    RuleId.JOIN_WINDOW_EXPIRED: RuleShape(5, True),
    RuleId.UNKNOWN_DEVICE: RuleShape(8, False),
    RuleId.CHANNEL_INTERFERENCE: RuleShape(8, False),
    RuleId.OPERATIONAL_CHECK_FAILED: RuleShape(5, True),
    RuleId.OVER_CAPACITY: RuleShape(2, False),
    RuleId.JOINED_ELSEWHERE: RuleShape(2, True),
    RuleId.MESSAGE_NOT_DELIVERED: RuleShape(3, True),
    RuleId.DEVICE_ASLEEP: RuleShape(3, True),
    RuleId.INSTALL_CODE_MISMATCH: RuleShape(3, True),
    RuleId.DEFAULT_KEY_POLICY: RuleShape(1, False),
    RuleId.ROUTER_DOWN: RuleShape(3, True),
    # Never drawn: a flag beside a pass, never the problem a case is opened for.
    RuleId.CUSTOMER_ROUTER_DEPENDENCY: RuleShape(0, True),
    # Never drawn: every case at a premise whose HAN is empty is about that (see ``history``).
    RuleId.EMPTY_HAN: RuleShape(0, False),
}
RULES_BY_ID = {rule.id: rule for rule in RULES}
# Problems a premise without a utility device on record can still have.
DEVICELESS_PROBLEMS = Weighted(
    [
        (rule, RULE_SHAPES[rule].weight)
        for rule in (RuleId.GATEWAY_UNREACHABLE, RuleId.UNKNOWN_DEVICE, RuleId.CHANNEL_INTERFERENCE)
    ]
)
# Registered devices the scan does not see: the rule's finding is about one on record.
MISSING_DEVICE_PROBLEMS = (
    RuleId.REGISTERED_DEVICE_MISSING,
    RuleId.JOIN_WINDOW_EXPIRED,
    RuleId.JOINED_ELSEWHERE,
    RuleId.INSTALL_CODE_MISMATCH,
)
# Where the history says a device that joined another meter was found (it plants no run there).
NEIGHBOURS_METER = "a neighbouring meter"
INTERFACE = "han0"
DEFAULT_KEY_ALLOWED = "default_key_allowed"  # the join policy of a default_key_policy case
GATEWAY_SILENT = "The gateway did not answer within 30 s."

PROBLEMS_REPORTED = Weighted(
    [
        ("", 30),
        ("Thermostat shows no price signal", 12),
        ("In-home display says it cannot find the meter", 12),
        ("Load control switch did not cycle during the last event", 8),
        ("New thermostat will not join", 8),
        ("Energy manager app shows no usage data", 8),
        ("Display lost its connection after a power cut", 8),
        ("Customer reports stale prices on the display", 6),
        ("Customer enrolled in the demand response program", 8),
    ]
)
OTHER_ACTION_NOTES = (
    "Customer replaced the thermostat's batteries",
    "Customer moved the display to the kitchen",
    "Customer power-cycled the device",
    "Field technician visit booked",
)
WRONG_REVIEW_COMMENTS = (
    "The device was unplugged by the customer; not a range problem.",
    "The customer's Wi-Fi router was the interference, not a neighbour's.",
    "The meter was being exchanged that day.",
    "Firmware was current; the approved list was out of date.",
)

# run outcome codes, in the order of STATUS_VALUES
PASSED, FAILED, ERROR, CANCELLED = range(4)
STATUS_VALUES = [
    HanTestRun.Status.PASSED.value,
    HanTestRun.Status.FAILED.value,
    HanTestRun.Status.ERROR.value,
    HanTestRun.Status.CANCELLED.value,
]
PHASES = ["Passed", "Problems found", "Could not complete", "Cancelled"]
DAY_S = 86400.0
PICKUP_S = 1.2  # from pressing Test to a worker starting the run


def _eui64_text(value: int) -> str:
    return value.to_bytes(8, "big").hex(":")


def _spread(counter: int) -> int:
    """A counter's 40-bit, unique, random-looking serial (multiplying by an odd number)."""
    return (counter * 0x9E3779B97F) & 0xFF_FFFF_FFFF


def _rssi(link_quality: int | None) -> int | None:
    return None if link_quality is None else -100 + link_quality // 4


# --- The findings' words ------------------------------------------------------------------------
# Each rule runs once per variant (kind of device, what is wrong with it, channel scan, device
# count), on a device whose EUI-64 is a placeholder; a run's finding is that template with the
# EUI-64 filled in. The planted faults are chosen against the default thresholds.

EUI64_SLOT = "<eui64>"
ROUTER_SLOT = -3  # in a run's observed devices: the router a router_down case's device needs


def _only_finding(rule: RuleId, data: diagnosis.DiagnosisInput) -> diagnosis.Finding:
    findings = RULES_BY_ID[rule](data)
    if len(findings) != 1:
        raise CommandError(
            f"The {rule} rule made {len(findings)} findings where the generator plants one "
            "problem: update generate_history_data to plant what the rule now looks for."
        )
    return findings[0]


@cache
def device_finding(
    rule: RuleId,
    kind: DeviceKind,
    *,
    firmware: str,
    join: str,
    reachable: bool,
    quality: int | None,
    check: str,
    on_record: bool,
) -> diagnosis.Finding:
    """What ``rule`` says about a device observed so; its EUI-64 is ``EUI64_SLOT``.

    The device is as a run hands it to the diagnosis: without its name, which runs do not pass.
    """
    device = diagnosis.DeviceObservation(
        eui64=EUI64_SLOT,
        interface=INTERFACE,
        category_label=kind.category_label,
        manufacturer=kind.manufacturer,
        model=kind.model,
        firmware_version=firmware,
        ota_file_version=_ota(firmware),
        reachable=reachable,
        link_quality=quality,
        rssi=_rssi(quality),
        join_method=join,
        profile_id=kind.profile_id,
        registered=on_record and kind.utility,
        customer_owned=not kind.utility,
        operational_check=check,
        sleepy=rule == RuleId.DEVICE_ASLEEP,
    )
    approved = (approved_model(kind),)
    return _only_finding(rule, diagnosis.DiagnosisInput(devices=(device,), approved=approved))


def approved_model(kind: DeviceKind) -> diagnosis.ApprovedModel:
    """The approved image the history assumes for a kind of device: its current firmware."""
    return diagnosis.ApprovedModel(
        kind.manufacturer,
        kind.model,
        minimum_ota_file_version=_ota(kind.firmware),
        minimum_firmware=kind.firmware,
    )


@cache
def missing_device_finding(rule: RuleId, kind: DeviceKind) -> diagnosis.Finding:
    """What ``rule`` says about a registered device the scan did not see."""
    expired = rule == RuleId.JOIN_WINDOW_EXPIRED
    expected = diagnosis.ExpectedDevice(
        EUI64_SLOT,
        kind.category_label,
        kind.manufacturer,
        kind.model,
        registration_status=DeviceRegistration.Status.EXPIRED if expired else "",
        seen_elsewhere=NEIGHBOURS_METER if rule == RuleId.JOINED_ELSEWHERE else "",
    )
    return _only_finding(
        rule,
        diagnosis.DiagnosisInput(expected=(expected,), join_decisions=planted_refusals(rule)),
    )


def planted_refusals(rule: str, eui64: str = EUI64_SLOT) -> tuple[diagnosis.JoinDecision, ...]:
    """The join log the history assumes: the Trust Center refused the device of an
    install-code mismatch for its key (the history stores no join log)."""
    if rule != RuleId.INSTALL_CODE_MISMATCH:
        return ()
    return (diagnosis.JoinDecision(eui64, "refused_key_mismatch", interface=INTERFACE),)


def router_down_finding(
    kind: DeviceKind, eui64: str, router: DeviceKind, router_eui64: str
) -> diagnosis.Finding:
    """A utility device cut off behind the customer's router, which does not answer."""
    silent: dict[str, Any] = {"interface": INTERFACE, "reachable": False}
    devices = (
        diagnosis.DeviceObservation(
            eui64,
            category_label=kind.category_label,
            registered=True,
            parent=router_eui64,
            **silent,
        ),
        diagnosis.DeviceObservation(
            router_eui64, category_label=router.category_label, customer_owned=True, **silent
        ),
    )
    return _only_finding(RuleId.ROUTER_DOWN, diagnosis.DiagnosisInput(devices=devices))


@cache
def default_key_policy_finding() -> diagnosis.Finding:
    """An interface whose Trust Center accepts the default key."""
    interface = diagnosis.InterfaceObservation(INTERFACE, None, join_policy=DEFAULT_KEY_ALLOWED)
    return _only_finding(
        RuleId.DEFAULT_KEY_POLICY, diagnosis.DiagnosisInput(interfaces=(interface,))
    )


def _devices_without_problems(count: int) -> tuple[diagnosis.DeviceObservation, ...]:
    return tuple(
        diagnosis.DeviceObservation(eui64=_eui64_text(number), interface=INTERFACE)
        for number in range(count)
    )


@cache
def over_capacity_finding(utility_devices: int) -> diagnosis.Finding:
    """A meter one device short of capacity for its utility devices."""
    data = diagnosis.DiagnosisInput(
        devices=_devices_without_problems(utility_devices), capacity=utility_devices - 1
    )
    return _only_finding(RuleId.OVER_CAPACITY, data)


@cache
def empty_han_finding(channel: int) -> diagnosis.Finding:
    """A meter that answers on ``channel`` with nothing joined and nothing on record."""
    data = diagnosis.DiagnosisInput(
        interfaces=(diagnosis.InterfaceObservation(INTERFACE, channel),)
    )
    return _only_finding(RuleId.EMPTY_HAN, data)


@cache
def gateway_unreachable_finding(error: str) -> diagnosis.Finding:
    return _only_finding(
        RuleId.GATEWAY_UNREACHABLE,
        diagnosis.DiagnosisInput(gateway_reached=False, gateway_error=error),
    )


def channel_interference_finding(channel: int, energy: dict[str, int]) -> diagnosis.Finding:
    interface = diagnosis.InterfaceObservation(
        INTERFACE, channel, {int(number): level for number, level in energy.items()}
    )
    return _only_finding(
        RuleId.CHANNEL_INTERFERENCE, diagnosis.DiagnosisInput(interfaces=(interface,))
    )


@cache
def healthy_finding(devices: int) -> diagnosis.Finding:
    data = diagnosis.DiagnosisInput(devices=_devices_without_problems(devices))
    findings = diagnosis.diagnose(data)
    if [finding.rule for finding in findings] != [RuleId.HEALTHY]:
        raise CommandError("The diagnosis no longer passes devices without problems.")
    return findings[0]


def filled(finding: diagnosis.Finding, eui64: str) -> tuple[str, str, str, str]:
    """Title, evidence, customer text and EUI-64 of a finding, the device's EUI-64 filled in."""
    if finding.eui64 != EUI64_SLOT:
        return finding.title, finding.evidence, finding.customer_text, finding.eui64
    return (
        finding.title.replace(EUI64_SLOT, eui64),
        finding.evidence.replace(EUI64_SLOT, eui64),
        finding.customer_text.replace(EUI64_SLOT, eui64),
        eui64,
    )


@dataclass(frozen=True)
class Table:
    model: type[models.Model]
    column_names: str  # in the order of the rows' values

    @property
    def columns(self) -> list[str]:
        return self.column_names.split()

    @property
    def name(self) -> str:
        return self.model._meta.db_table


TABLES = {
    "customer": Table(
        Customer,
        "id name account_number email phone customer_han_consent "
        "customer_han_consent_changed_at language created_at",
    ),
    "gateway": Table(
        PremisesGateway,
        "id ami_id meter_number kind manufacturer model firmware_version region service_url "
        "service_gateway_id created_at",
    ),
    "interface": Table(
        NetworkInterface,
        "id premises_gateway_id identifier technology channel pan_id extended_pan_id "
        "security_level",
    ),
    "premise": Table(
        Premise,
        "id customer_id service_point_id address_line city state postal_code "
        "premises_gateway_id created_at",
    ),
    "device": Table(
        HanDevice,
        "id premises_gateway_id network_interface_id service_point_id eui64 network category "
        "manufacturer model firmware_version created_at",
    ),
    "case": Table(
        HanTestCase,
        "id premise_id problem subject_eui64 status opened_by_id opened_at resolved_at "
        "closed_by_id close_reason",
    ),
    "run": Table(
        HanTestRun,
        "id case_id premise_id number status started_by_id queue region gateway_model "
        "created_at enqueued_at started_at finished_at heartbeat_at progress phase "
        "estimated_seconds error_message cancel_requested",
    ),
    "observed_interface": Table(
        ObservedInterface,
        "id run_id identifier technology channel pan_id extended_pan_id security_level "
        "device_count energy_by_channel radio reported",
    ),
    "observed_device": Table(
        ObservedDevice,
        "id run_id interface sequence eui64 network_address device_type name category network "
        "manufacturer model firmware_version ota_file_version power_source profile_id "
        "reachable link_quality rssi join_method registered operational_check details",
    ),
    "finding": Table(
        Finding,
        "id run_id rule severity action title evidence customer_text eui64 position",
    ),
    "action": Table(RecordedAction, "id run_id action note recorded_by_id recorded_at"),
    "review": Table(
        DiagnosisReview, "id finding_id run_id rule verdict comment reviewed_by_id reviewed_at"
    ),
}


def check_tables_are_known() -> None:
    """Refuse early when a model gained a column this command would leave empty."""
    for table in TABLES.values():
        actual = {str(field.column) for field in table.model._meta.concrete_fields}
        if actual != set(table.columns):
            missing = ", ".join(sorted(actual - set(table.columns))) or "-"
            unknown = ", ".join(sorted(set(table.columns) - actual)) or "-"
            raise CommandError(
                f"generate_history_data does not match {table.name}: columns it does not fill: "
                f"{missing}; columns it fills that no longer exist: {unknown}. Update the command."
            )


def generated_counts() -> dict[str, int]:
    """How much generated data the database already holds, by kind."""
    return {
        "customers": Customer.objects.filter(account_number__regex=ACCOUNT_PATTERN).count(),
        "premises": Premise.objects.filter(
            service_point_id__startswith=SERVICE_POINT_PREFIX
        ).count(),
        "gateways": PremisesGateway.objects.filter(meter_number__startswith=METER_PREFIX).count(),
        "users": User.objects.filter(username__startswith=USER_PREFIX).count(),
        "runs": HanTestRun.objects.filter(
            premise__service_point_id__startswith=SERVICE_POINT_PREFIX
        ).count(),
    }


# --- Writing rows -------------------------------------------------------------------------------


class Sink:
    """Where rows go: COPY on PostgreSQL, ``executemany`` elsewhere."""

    def __init__(self) -> None:
        self.rows = 0
        self.by_table: dict[str, int] = {}

    def write(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        self._write(table, rows)
        self.rows += len(rows)
        self.by_table[table.name] = self.by_table.get(table.name, 0) + len(rows)

    def _write(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Wait until every row handed over is in the database."""

    def close(self) -> None:
        self.flush()


class CopySink(Sink):
    """COPY from a thread of its own, so PostgreSQL loads one batch while the next is built.

    The thread uses the command's own psycopg connection, in the same transaction; the
    command must ``flush`` before it queries the database itself.
    """

    def __init__(self) -> None:
        super().__init__()
        self._queue: queue.Queue[tuple[Table, list[tuple[Any, ...]]] | None] = queue.Queue(3)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _write(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        self._raise_if_failed()
        if self._thread is None:
            connection.ensure_connection()
            self._thread = threading.Thread(
                target=self._copy_each, args=(connection.connection,), daemon=True
            )
            self._thread.start()
        self._queue.put((table, rows))

    def _copy_each(self, raw_connection: Any) -> None:
        quote = connection.ops.quote_name
        while (item := self._queue.get()) is not None:
            table, rows = item
            try:
                if self._error is None:
                    columns = ", ".join(quote(column) for column in table.columns)
                    statement = f"COPY {quote(table.name)} ({columns}) FROM STDIN"
                    with raw_connection.cursor() as cursor, cursor.copy(statement) as copy:
                        for row in rows:
                            copy.write_row(row)
            except BaseException as error:  # handed to the command's thread
                self._error = error
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def flush(self) -> None:
        if self._thread is not None:
            self._queue.join()
        self._raise_if_failed()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise CommandError(f"COPY failed: {self._error}") from self._error


class InsertSink(Sink):
    def _write(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(column) for column in table.columns)
        marks = ", ".join(["%s"] * len(table.columns))
        adapt = connection.ops.adapt_datetimefield_value
        prepared = [
            tuple(adapt(value) if isinstance(value, dt.datetime) else value for value in row)
            for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})",  # noqa: S608 - names are the models' own
                prepared,
            )


def next_id(model: type[models.Model]) -> int:
    latest = model._base_manager.aggregate(latest=models.Max("pk"))["latest"]
    return int(latest or 0) + 1


# --- The generator ------------------------------------------------------------------------------


@dataclass
class Progress:
    write: Callable[[str], None]
    started: float
    sink: Sink

    def report(self, what: str, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        rate = self.sink.rows / elapsed if elapsed else 0.0
        self.write(
            f"  {what} {done:,}/{total:,} ({done / max(total, 1):.0%})  "
            f"{self.sink.rows:,} rows in {elapsed:.0f} s, {rate:,.0f} rows/s"
        )


class HistoryGenerator:
    """Builds the rows with plain Python, a batch at a time, and hands them to a sink."""

    def __init__(
        self,
        *,
        rng: random.Random,
        sink: Sink,
        now: dt.datetime,
        days: int,
        batch: int,
        progress: Progress,
        service_url: str = DEMO_SERVICE_URL,
    ) -> None:
        self.rng = rng
        self.service_url = service_url
        self.sink = sink
        self.now_s = now.timestamp()
        self.first_s = self.now_s - days * DAY_S
        self.days = days
        self.batch = batch
        self.progress = progress
        self.energy_quiet: dict[int, list[str]] = {}
        self.energy_busy: dict[int, list[str]] = {}
        self.busy_findings: dict[int, list[diagnosis.Finding]] = {}  # one per busy scan
        self._energy_pools()
        self.details = [
            DeviceDetails(depth=depth, interview="complete").model_dump_json() for depth in (1, 2)
        ]
        # A battery device asleep through the scan: never heard while the gateway ran.
        self.asleep_details = DeviceDetails(
            depth=1, interview="failed", sleepy=True
        ).model_dump_json()

    def _details(
        self, rule: RuleId, device: int, is_target: bool, router_eui64: str, sequence: int
    ) -> str:
        """A device's details: the case's device asleep, or cut off behind the router; the
        router, switched off; any other device in place."""
        if rule == RuleId.DEVICE_ASLEEP and is_target:
            return self.asleep_details
        if rule == RuleId.ROUTER_DOWN and (is_target or device == ROUTER_SLOT):
            return DeviceDetails(
                parent=router_eui64 if is_target else None, interview="failed"
            ).model_dump_json()
        return self.details[sequence % 2]

    def next_id(self, model: type[models.Model]) -> int:
        self.sink.flush()
        return next_id(model)

    @staticmethod
    def at(seconds: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)

    def _energy_pools(self) -> None:
        """Energy scans as JSON, quiet and busy on each Smart Energy channel."""
        rng = self.rng
        for channel in SE_CHANNELS.values:
            self.energy_quiet[channel] = []
            self.energy_busy[channel] = []
            self.busy_findings[channel] = []
            for busy, pool in ((False, self.energy_quiet), (True, self.energy_busy)):
                for _ in range(8):
                    energy = {str(c): int(20 + rng.random() * 150) for c in range(11, 27)}
                    if busy:
                        energy[str(channel)] = int(200 + rng.random() * 55)
                        self.busy_findings[channel].append(
                            channel_interference_finding(channel, energy)
                        )
                    pool[channel].append(json.dumps(energy))

    # --- users -------------------------------------------------------------------------------

    def users(self, reps: int) -> tuple[list[int], list[int]]:
        rng = self.rng
        joined = timezone.now() - dt.timedelta(days=self.days + 30)
        people = [
            User(
                username=f"{USER_PREFIX}rep-{number:04d}",
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                role=User.Role.REPRESENTATIVE,
                password=make_password(None),
                date_joined=joined,
            )
            for number in range(1, reps + 1)
        ] + [
            User(
                username=f"{USER_PREFIX}admin-{number:02d}",
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                role=User.Role.ADMINISTRATOR,
                is_staff=True,
                password=make_password(None),
                date_joined=joined,
            )
            for number in range(1, ADMINISTRATORS + 1)
        ]
        created = User.objects.bulk_create(people)
        self.sink.by_table[User._meta.db_table] = len(created)
        ids = [user.pk for user in created]
        return ids[:reps], ids[reps:]

    # --- customers, premises, gateways, devices ----------------------------------------------

    def world(self, premises: int) -> "World":
        rng = self.rng
        world = World(premises)
        next_customer = self.next_id(Customer)
        next_gateway = self.next_id(PremisesGateway)
        next_interface = self.next_id(NetworkInterface)
        next_premise = self.next_id(Premise)
        next_device = self.next_id(HanDevice)
        world.first_premise_id = next_premise
        customer_number = 0
        owned_left = 0  # premises still to give the current customer
        pole_left = 0  # premises still to attach to the current gateway
        shared = False  # the current gateway is a pole-top device serving several premises
        customer_id = 0
        gateway_id = 0
        interface_id = 0
        region = ""
        street = ""
        city: tuple[str, str, str] = ("", "", "")
        earliest = self.now_s - 12 * 365 * DAY_S
        for start in range(0, premises, self.batch):
            customer_rows: list[tuple[Any, ...]] = []
            gateway_rows: list[tuple[Any, ...]] = []
            interface_rows: list[tuple[Any, ...]] = []
            premise_rows: list[tuple[Any, ...]] = []
            device_rows: list[tuple[Any, ...]] = []
            for index in range(start, min(start + self.batch, premises)):
                number = index + 1
                created = self.at(earliest + rng.random() * (self.first_s - earliest))
                if owned_left == 0:
                    customer_number += 1
                    customer_id = next_customer
                    next_customer += 1
                    owned_left = 1 if rng.random() >= 0.01 else 2 + int(rng.random() * 3)
                    customer_rows.append(self._customer(customer_id, customer_number, created))
                owned_left -= 1
                if pole_left == 0:
                    shared = rng.random() < 0.011  # ~3 % of premises behind a pole-top device
                    pole_left = 2 + int(rng.random() * 3) if shared else 1
                    gateway_id, interface_id = next_gateway, next_interface
                    next_gateway += 1
                    next_interface += 1
                    if not world.gateway_region:
                        world.first_gateway_id = gateway_id
                    region = REGIONS.pick(rng)
                    city = rng.choice(CITIES[region])
                    street = f"{rng.choice(STREETS)} {STREET_SUFFIXES.pick(rng)}"
                    model = (POLE_TOP_MODELS if shared else METER_MODELS).pick(rng)
                    channel = SE_CHANNELS.pick(rng)
                    world.add_gateway(region, model, channel)
                    gateway_rows.append(
                        (
                            gateway_id,
                            f"{AMI_PREFIX}{gateway_id:09d}",
                            f"{METER_PREFIX}{gateway_id:08d}",
                            model.kind,
                            model.manufacturer,
                            model.model,
                            model.firmware,
                            region,
                            self.service_url,
                            f"{METER_PREFIX}{gateway_id:08d}",
                            created,
                        )
                    )
                    interface_rows.append(
                        (
                            interface_id,
                            gateway_id,
                            INTERFACE,
                            NetworkInterface.Technology.ZIGBEE,
                            channel,
                            world.gateway_pan_id(len(world.gateway_region) - 1),
                            world.gateway_extended_pan_id(len(world.gateway_region) - 1),
                            5,
                        )
                    )
                pole_left -= 1
                service_point = f"{SERVICE_POINT_PREFIX}{number:08d}"
                house = 1 + int(rng.random() * (400 if shared else 9999))
                premise_rows.append(
                    (
                        next_premise,
                        customer_id,
                        service_point,
                        f"{house} {street}",
                        city[0],
                        city[1],
                        f"{city[2]}{int(rng.random() * 100):02d}",
                        gateway_id,
                        created,
                    )
                )
                next_premise += 1
                devices: list[int] = []
                for _ in range(DEVICES_ON_RECORD.pick(rng)):
                    kind = (CUSTOMER_DEVICES if rng.random() < 0.2 else UTILITY_DEVICES).pick(rng)
                    device_index = len(world.device_kind)
                    eui64 = world.add_device(KIND_INDEX[kind], kind.oui)
                    devices.append(device_index)
                    device_rows.append(
                        (
                            next_device,
                            gateway_id,
                            interface_id,
                            service_point if shared else "",
                            eui64,
                            kind.network,
                            kind.category,
                            kind.manufacturer,
                            kind.model,
                            kind.firmware,
                            created,
                        )
                    )
                    next_device += 1
                world.premise_gateway.append(len(world.gateway_region) - 1)
                world.premise_devices.append(tuple(devices))
            self.sink.write(TABLES["customer"], customer_rows)
            self.sink.write(TABLES["gateway"], gateway_rows)
            self.sink.write(TABLES["interface"], interface_rows)
            self.sink.write(TABLES["premise"], premise_rows)
            self.sink.write(TABLES["device"], device_rows)
            self.progress.report("premises", min(start + self.batch, premises), premises)
        return world

    def _customer(self, customer_id: int, number: int, created: dt.datetime) -> tuple[Any, ...]:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = (
            f"{first.lower()}.{last.lower()}{number % 1000}@example.net"
            if rng.random() < 0.6
            else ""
        )
        phone = f"217-555-{int(rng.random() * 10000):04d}" if rng.random() < 0.8 else ""
        consent = rng.random() < 0.3
        return (
            customer_id,
            f"{first} {last}",
            f"{ACCOUNT_PREFIX}{number:011d}",
            email,
            phone,
            consent,
            created if consent else None,
            "es" if number % 8 == 0 else "en",  # about one account in eight reads Spanish
            created,
        )

    # --- cases and runs ----------------------------------------------------------------------

    def history(
        self, world: "World", runs: int, reps: list[int], administrators: list[int]
    ) -> None:
        rng = self.rng
        rep_weights = Weighted([(rep, 1.0 / (rank + 8)) for rank, rep in enumerate(reps)])
        problems = Weighted([(rule, shape.weight) for rule, shape in RULE_SHAPES.items()])
        cases = CasePlan()
        planned: list[tuple[float, int, int, int, float, float, int]] = []
        while len(planned) < runs:
            premise = int(rng.random() * world.premises)
            utility_devices = [
                device
                for device in world.premise_devices[premise]
                if DEVICE_KINDS[world.device_kind[device]].utility
            ]
            rule = problems.pick(rng)
            if RULES_BY_ID[rule].severity == diagnosis.Severity.INFO:
                rule = DEVICELESS_PROBLEMS.pick(rng)  # a flag beside a pass opens no case
            target = -1
            if rule == RuleId.OVER_CAPACITY and len(utility_devices) < 3:
                rule = DEVICELESS_PROBLEMS.pick(rng)
            elif RULE_SHAPES[rule].needs_device:
                if utility_devices:
                    target = rng.choice(utility_devices)
                else:
                    rule = DEVICELESS_PROBLEMS.pick(rng)
            empty = not world.premise_devices[premise]
            if empty and rule not in (RuleId.GATEWAY_UNREACHABLE, RuleId.UNKNOWN_DEVICE):
                rule = RuleId.EMPTY_HAN
            elif rule == RuleId.EMPTY_HAN and not empty:
                rule = DEVICELESS_PROBLEMS.pick(rng)
            case = cases.add(premise, rep_weights.pick(rng), rule, target)
            # An empty HAN never passes: the generated world registers no device later.
            self._case_runs(
                case,
                cases,
                planned,
                runs - len(planned),
                rep_weights,
                can_pass=rule != RuleId.EMPTY_HAN,
            )
        planned.sort()
        cases.assign_ids(self.next_id(HanTestCase))
        self._write_cases(world, cases)
        self._write_runs(world, cases, planned, administrators)

    def _case_runs(
        self,
        case: int,
        cases: "CasePlan",
        planned: list[tuple[float, int, int, int, float, float, int]],
        room: int,
        rep_weights: Weighted[int],
        *,
        can_pass: bool = True,
    ) -> None:
        """Plan a case's runs: (created, case, number, outcome, duration, action at, rep)."""
        rng = self.rng
        day = int(rng.random() * self.days)
        # Reps work 7:00-18:00 Central time, 13:00-24:00 UTC.
        opened = self.first_s + day * DAY_S + 13 * 3600 + rng.random() * 11 * 3600
        opened = min(opened, self.now_s - 3600)
        cases.opened[case] = opened
        created = opened + 5 + rng.random() * 115
        acted = False  # an action was recorded since the last failed run
        rule_needs_gateway = cases.rule[case] == RuleId.GATEWAY_UNREACHABLE
        runs: list[list[Any]] = []
        for number in range(1, 4):
            if number > 1 and (len(runs) >= room or rng.random() > (0.85, 0.7)[number - 2]):
                break
            chance = rng.random()
            if chance < 0.04:
                outcome = CANCELLED
            elif chance < 0.10:
                outcome = ERROR
            elif (acted and rng.random() < (0.6 if number == 2 else 0.5)) or (
                number == 1 and rng.random() < 0.06
            ):
                # Fixed by the action recorded after a failed run; or nothing wrong at all.
                outcome = PASSED
            else:
                outcome = FAILED
            if outcome == PASSED and not can_pass:
                outcome = FAILED
            if outcome in (PASSED, FAILED):
                duration = 30 + rng.random() * 5 if rule_needs_gateway else 35 + rng.random() * 115
            else:
                duration = 5 + rng.random() * 50
            rep = cases.rep[case] if rng.random() < 0.9 else rep_weights.pick(rng)
            finished = created + PICKUP_S + duration
            if finished > self.now_s:
                break
            runs.append([created, case, number, outcome, duration, 0.0, rep])
            if outcome == PASSED:
                cases.resolved[case] = finished
                break
            gap_chance = rng.random()
            if gap_chance < 0.55:
                gap = 180 + rng.random() * 1620
            elif gap_chance < 0.85:
                gap = 3600 + rng.random() * 7 * 3600
            else:
                gap = DAY_S + rng.random() * 4 * DAY_S
            if outcome == FAILED:
                runs[-1][5] = finished + gap * (0.2 + rng.random() * 0.6)
                acted = True
            created = finished + gap
        if not runs:  # opened moments ago: its only run happened now
            runs.append([opened + 5, case, 1, CANCELLED, 5.0, 0.0, cases.rep[case]])
        # The last run is retested by nobody: no action recorded after it.
        runs[-1][5] = 0.0
        cases.runs[case] = len(runs)
        planned.extend(
            (
                float(run[0]),
                int(run[1]),
                int(run[2]),
                int(run[3]),
                float(run[4]),
                float(run[5]),
                int(run[6]),
            )
            for run in runs
        )

    def _write_cases(self, world: "World", cases: "CasePlan") -> None:
        rng = self.rng
        order = sorted(range(len(cases.premise)), key=cases.opened.__getitem__)
        total = len(order)
        for start in range(0, total, self.batch):
            rows: list[tuple[Any, ...]] = []
            for case in order[start : start + self.batch]:
                resolved = cases.resolved[case]
                rows.append(
                    (
                        cases.ids[case],
                        world.first_premise_id + cases.premise[case],
                        PROBLEMS_REPORTED.pick(rng),
                        "",  # the history's cases are about the whole HAN
                        HanTestCase.Status.RESOLVED if resolved else HanTestCase.Status.OPEN,
                        cases.rep[case],
                        self.at(cases.opened[case]),
                        self.at(resolved) if resolved else None,
                        None,  # resolved by a passing run, not closed by hand
                        "",
                    )
                )
            self.sink.write(TABLES["case"], rows)
            self.progress.report("cases", min(start + self.batch, total), total)

    def _write_runs(
        self,
        world: "World",
        cases: "CasePlan",
        planned: list[tuple[float, int, int, int, float, float, int]],
        administrators: list[int],
    ) -> None:
        ids = {
            name: self.next_id(TABLES[name].model)
            for name in ("run", "observed_interface", "observed_device", "finding", "action")
        }
        ids["review"] = self.next_id(DiagnosisReview)
        ids["extra_device"] = len(world.device_kind)  # serials for devices not on record
        total = len(planned)
        for start in range(0, total, self.batch):
            batch = RunBatch()
            for planned_run in planned[start : start + self.batch]:
                self._run(world, cases, planned_run, ids, batch, administrators)
            for name, rows in batch.rows.items():
                self.sink.write(TABLES[name], rows)
            self.progress.report("runs", min(start + self.batch, total), total)

    def _run(
        self,
        world: "World",
        cases: "CasePlan",
        planned: tuple[float, int, int, int, float, float, int],
        ids: dict[str, int],
        batch: "RunBatch",
        administrators: list[int],
    ) -> None:
        rng = self.rng
        at = self.at
        created, case, number, outcome, duration, acted_at, rep = planned
        premise = cases.premise[case]
        gateway = world.premise_gateway[premise]
        region = world.gateway_region[gateway]
        model = world.gateway_model[gateway]
        channel = world.gateway_channel[gateway]
        rule = cases.rule[case] if outcome == FAILED else RuleId.HEALTHY
        target = cases.target[case] if outcome == FAILED else -1
        run_id = ids["run"]
        ids["run"] += 1
        started = created + PICKUP_S
        finished = started + duration
        error_message = ""
        if outcome == ERROR:
            error_message = (
                f"Sorry, the test failed on our side (reference {rng.getrandbits(32):08x}). "
                "Please retest."
            )
        elif rule == RuleId.GATEWAY_UNREACHABLE:
            error_message = GATEWAY_SILENT
        batch.rows["run"].append(
            (
                run_id,
                cases.ids[case],
                world.first_premise_id + premise,
                number,
                STATUS_VALUES[outcome],
                rep,
                "default",
                region,
                model.model,
                at(created),
                at(created + 0.05),
                at(started),
                at(finished),
                at(finished),
                100 if outcome in (PASSED, FAILED) else int(rng.random() * 80),
                PHASES[outcome],
                None,
                error_message,
                outcome == CANCELLED,
            )
        )

        # What the scan saw: the devices on record, changed by the case's problem.
        observed: list[tuple[DeviceKind, str, int, str, str, bool, int | None, str]] = []
        extra_serial = premise * 2
        for device in world.premise_devices[premise]:
            kind = DEVICE_KINDS[world.device_kind[device]]
            eui64 = world.device_eui(device)
            is_target = device == target
            if is_target and rule in MISSING_DEVICE_PROBLEMS:
                continue
            quality: int | None = 150 + int(rng.random() * 100)
            reachable = True
            firmware = kind.firmware
            join = "install_code" if kind.utility else "unknown"
            check = "acknowledged" if kind.utility and kind.category != Category.EMS else ""
            if is_target:
                if rule == RuleId.WEAK_LINK:
                    quality = 40 + int(rng.random() * 60)
                elif rule == RuleId.BEYOND_REACH:
                    reachable = rng.random() < 0.5
                    quality = 10 + int(rng.random() * 30) if reachable else None
                elif rule == RuleId.OUTDATED_FIRMWARE:
                    firmware = kind.old_firmware
                elif rule == RuleId.INSECURE_JOIN:
                    join = "default_key"
                elif rule == RuleId.OPERATIONAL_CHECK_FAILED:
                    check = "not_acknowledged"
                elif rule == RuleId.MESSAGE_NOT_DELIVERED:
                    check = "not_delivered"
                elif rule in (RuleId.DEVICE_ASLEEP, RuleId.ROUTER_DOWN):
                    reachable, quality, check = False, None, ""
            observed.append((kind, eui64, device, firmware, join, reachable, quality, check))
        router_eui64 = ""
        if rule == RuleId.ROUTER_DOWN:
            # The customer's plug the device joined through, switched off.
            kind = UNRECORDED_DEVICES[0]
            ids["extra_device"] += 1
            router_eui64 = _eui64_text((kind.oui << 40) | _spread(ids["extra_device"]))
            observed.append(
                (kind, router_eui64, ROUTER_SLOT, kind.firmware, "unknown", False, None, "")
            )
        if rule == RuleId.UNKNOWN_DEVICE:
            kind = UTILITY_DEVICES.pick(rng)
            ids["extra_device"] += 1
            eui64 = _eui64_text((kind.oui << 40) | _spread(ids["extra_device"]))
            observed.append((kind, eui64, -1, kind.firmware, "install_code", True, 120, ""))
        filler = 0
        while len(observed) < 2 and rule != RuleId.EMPTY_HAN:
            kind = UNRECORDED_DEVICES[filler]
            eui64 = _eui64_text((kind.oui << 40) | _spread(extra_serial + filler))
            quality = 150 + int(rng.random() * 100)
            observed.append((kind, eui64, -2, kind.firmware, "unknown", True, quality, ""))
            filler += 1

        interface_id = ids["observed_interface"]
        ids["observed_interface"] += 1
        busy = rule == RuleId.CHANNEL_INTERFERENCE
        pool = (self.energy_busy if busy else self.energy_quiet)[channel]
        scan = int(rng.random() * len(pool))
        batch.rows["observed_interface"].append(
            (
                interface_id,
                run_id,
                INTERFACE,
                "zigbee",
                channel,
                world.gateway_pan_id(gateway),
                world.gateway_extended_pan_id(gateway),
                5,
                len(observed),
                pool[scan],
                "",  # the radio type: not known to the history, so the general link limits
                "{}",  # nor what else the gateway said of the interface
            )
        )
        for sequence, (kind, eui64, device, firmware, join, reachable, quality, check) in enumerate(
            observed
        ):
            name = kind.names[len(eui64) % len(kind.names)] if device >= -1 else ""
            on_record = device >= 0
            batch.rows["observed_device"].append(
                (
                    ids["observed_device"],
                    run_id,
                    INTERFACE,
                    sequence,
                    eui64,
                    1 + int(rng.random() * 0xFFF6),
                    kind.device_type,
                    name,
                    kind.category,
                    kind.network,
                    kind.manufacturer,
                    kind.model,
                    firmware,
                    _ota(firmware),
                    kind.power_source,
                    kind.profile_id,
                    reachable,
                    quality,
                    _rssi(quality),
                    join,
                    on_record and kind.utility,
                    check,
                    self._details(rule, device, device == target, router_eui64, sequence),
                )
            )
            ids["observed_device"] += 1

        if outcome in (PASSED, FAILED):
            finding, subject = self._finding(world, rule, target, observed, channel, scan)
            title, evidence, customer_text, eui64 = filled(finding, subject)
            finding_id = ids["finding"]
            ids["finding"] += 1
            batch.rows["finding"].append(
                (
                    finding_id,
                    run_id,
                    finding.rule,
                    finding.severity,
                    finding.action,
                    title[:200],
                    evidence,
                    customer_text,
                    eui64,
                    0,
                )
            )
            if rng.random() < 0.01:
                wrong = rng.random() < 0.15
                batch.rows["review"].append(
                    (
                        ids["review"],
                        finding_id,
                        run_id,
                        finding.rule,
                        DiagnosisReview.Verdict.WRONG if wrong else DiagnosisReview.Verdict.RIGHT,
                        rng.choice(WRONG_REVIEW_COMMENTS) if wrong else "",
                        rng.choice(administrators),
                        at(min(finished + DAY_S * (1 + rng.random() * 20), self.now_s)),
                    )
                )
                ids["review"] += 1
        if acted_at:
            recommended = RULES_BY_ID.get(rule)
            other = rng.random() < 0.07 or recommended is None
            batch.rows["action"].append(
                (
                    ids["action"],
                    run_id,
                    "other" if other or recommended is None else recommended.action,
                    rng.choice(OTHER_ACTION_NOTES) if other else "",
                    rep,
                    at(acted_at),
                )
            )
            ids["action"] += 1

    def _finding(
        self,
        world: "World",
        rule: RuleId,
        target: int,
        observed: Sequence[tuple[DeviceKind, str, int, str, str, bool, int | None, str]],
        channel: int,
        scan: int,
    ) -> tuple[diagnosis.Finding, str]:
        """The run's one finding, as the diagnosis words it, and its device's EUI-64."""
        if rule == RuleId.HEALTHY:
            return healthy_finding(len(observed)), ""
        if rule == RuleId.GATEWAY_UNREACHABLE:
            return gateway_unreachable_finding(GATEWAY_SILENT), ""
        if rule == RuleId.CHANNEL_INTERFERENCE:
            return self.busy_findings[channel][scan], ""
        if rule == RuleId.OVER_CAPACITY:
            return over_capacity_finding(sum(entry[0].utility for entry in observed)), ""
        if rule == RuleId.EMPTY_HAN:
            return empty_han_finding(channel), ""
        if rule == RuleId.DEFAULT_KEY_POLICY:
            return default_key_policy_finding(), ""
        if rule in MISSING_DEVICE_PROBLEMS:
            kind = DEVICE_KINDS[world.device_kind[target]]
            return missing_device_finding(rule, kind), world.device_eui(target)
        if rule == RuleId.ROUTER_DOWN:
            cut_off = next(entry for entry in observed if entry[2] == target)
            router = next(entry for entry in observed if entry[2] == ROUTER_SLOT)
            finding = router_down_finding(cut_off[0], cut_off[1], router[0], router[1])
            return finding, finding.eui64
        # The unknown device is the one the scan found beyond those on record.
        subject = -1 if rule == RuleId.UNKNOWN_DEVICE else target
        for kind, eui64, device, firmware, join, reachable, quality, check in observed:
            if device == subject:
                finding = device_finding(
                    rule,
                    kind,
                    firmware=firmware,
                    join=join,
                    reachable=reachable,
                    quality=quality,
                    check=check,
                    on_record=device >= 0,
                )
                return finding, eui64
        raise CommandError(f"No observed device carries the {rule} problem the case was for.")


class World:
    """What the history needs to know about each premise, kept compact in memory."""

    def __init__(self, premises: int) -> None:
        self.premises = premises
        self.first_premise_id = 1
        self.first_gateway_id = 1
        self.premise_gateway: list[int] = []
        self.premise_devices: list[tuple[int, ...]] = []
        self.gateway_region: list[str] = []
        self.gateway_model: list[GatewayModel] = []
        self.gateway_channel = bytearray()
        self.device_kind = bytearray()
        self._device_eui: list[str] = []

    def add_gateway(self, region: str, model: GatewayModel, channel: int) -> None:
        self.gateway_region.append(region)
        self.gateway_model.append(model)
        self.gateway_channel.append(channel)

    def gateway_pan_id(self, gateway: int) -> int:
        return 0x1000 + (gateway * 7919) % 0xE000

    def gateway_extended_pan_id(self, gateway: int) -> str:
        return _eui64_text((0x00135004 << 32) | ((self.first_gateway_id + gateway) & 0xFFFF_FFFF))

    def add_device(self, kind: int, oui: int) -> str:
        eui64 = _eui64_text((oui << 40) | _spread(len(self.device_kind) + 1))
        self.device_kind.append(kind)
        self._device_eui.append(eui64)
        return eui64

    def device_eui(self, device: int) -> str:
        return self._device_eui[device]


class CasePlan:
    """Cases as parallel arrays while their runs are planned."""

    def __init__(self) -> None:
        self.premise = array("q")
        self.rep = array("q")
        self.target = array("q")
        self.rule: list[RuleId] = []
        self.opened = array("d")
        self.resolved = array("d")
        self.runs = array("B")
        self.ids = array("q")  # once assigned

    def add(self, premise: int, rep: int, rule: RuleId, target: int) -> int:
        self.premise.append(premise)
        self.rep.append(rep)
        self.rule.append(rule)
        self.target.append(target)
        self.opened.append(0.0)
        self.resolved.append(0.0)
        self.runs.append(0)
        return len(self.premise) - 1

    def assign_ids(self, first_id: int) -> None:
        """Ids in the order cases were opened, as a database would have given them."""
        self.ids = array("q", bytes(8 * len(self.premise)))
        for position, case in enumerate(
            sorted(range(len(self.premise)), key=self.opened.__getitem__)
        ):
            self.ids[case] = first_id + position


class RunBatch:
    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {
            name: []
            for name in (
                "run",
                "observed_interface",
                "observed_device",
                "finding",
                "action",
                "review",
            )
        }


# --- Wiping generated data ----------------------------------------------------------------------


def _delete_with_dependants(queryset: QuerySet[Any], done: set[str]) -> int:
    """Delete rows and, first, every row that refers to them, in SQL whatever the size.

    ``QuerySet.delete`` would load millions of objects to cascade in Python; this follows the
    same ``on_delete`` rules with one statement per relation.
    """
    model = queryset.model
    deleted = 0
    keys = queryset.values("pk")
    for relation in model._meta.get_fields(include_hidden=True):
        if not relation.auto_created or relation.concrete or relation.many_to_many:
            continue
        if not (relation.one_to_many or relation.one_to_one):
            continue
        field = relation.field
        dependants = field.model._base_manager.filter(**{f"{field.name}__in": keys})
        on_delete = field.remote_field.on_delete
        if on_delete is models.DO_NOTHING:
            continue
        if on_delete is models.SET_NULL:
            dependants.update(**{field.name: None})
        else:
            deleted += _delete_with_dependants(dependants, done)
    count = queryset._raw_delete(queryset.db)
    done.add(model._meta.label)
    return deleted + count


def wipe_generated() -> int:
    with transaction.atomic():
        done: set[str] = set()
        return sum(
            _delete_with_dependants(queryset, done)
            for queryset in (
                Customer.objects.filter(account_number__regex=ACCOUNT_PATTERN),
                Premise.objects.filter(service_point_id__startswith=SERVICE_POINT_PREFIX),
                PremisesGateway.objects.filter(meter_number__startswith=METER_PREFIX),
                User.objects.filter(username__startswith=USER_PREFIX),
            )
        )


# --- The command --------------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Generate a large, realistic history of HAN tests (customers, premises, gateways, "
        "devices, cases, runs, findings, actions, reviews) for benchmarks. Fast: COPY on "
        "PostgreSQL. Refuses if generated data exists, unless --wipe-generated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--premises", type=int, default=1_000_000)
        parser.add_argument("--runs", type=int, default=2_000_000)
        parser.add_argument("--days", type=int, default=730, help="spread runs over these days")
        parser.add_argument("--reps", type=int, default=300, help="representatives")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--batch", type=int, default=50_000, help="premises or runs per transaction"
        )
        parser.add_argument(
            "--wipe-generated",
            action="store_true",
            help="delete previously generated data (and what refers to it) first",
        )
        parser.add_argument(
            "--service-url",
            default=DEMO_SERVICE_URL,
            help="the HAN gateway service URL of every generated gateway; it must be at an "
            "allowed origin (HAN_GATEWAY_SERVICE_ORIGINS), as every gateway's must",
        )
        parser.add_argument(
            "--unless-present",
            action="store_true",
            help="do nothing (and succeed) when generated data is already there, as `make run` "
            "does on every start",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        premises, runs = options["premises"], options["runs"]
        days, reps, batch = options["days"], options["reps"], options["batch"]
        if premises < 1 or runs < 0 or days < 1 or reps < 1 or batch < 1:
            raise CommandError("--premises, --days, --reps and --batch must be at least 1.")
        check_tables_are_known()
        refusal = service_url_refusal(options["service_url"])
        if refusal is not None:
            raise CommandError(refusal)
        if options["unless_present"] and any(generated_counts().values()):
            self.stdout.write("Generated history already present; nothing to do.")
            return
        postgres = connection.vendor == "postgresql"
        sink: Sink = CopySink() if postgres else InsertSink()
        started = time.monotonic()
        # One transaction: a failure or an interruption leaves the database as it was.
        with transaction.atomic():
            self._refuse_or_wipe(wipe=options["wipe_generated"])
            generator = HistoryGenerator(
                rng=random.Random(options["seed"]),  # noqa: S311 - test data, not secrets
                sink=sink,
                now=timezone.now(),
                days=days,
                batch=batch,
                progress=Progress(self.stdout.write, time.monotonic(), sink),
                service_url=options["service_url"],
            )
            self.stdout.write(
                f"Generating {premises:,} premises and {runs:,} runs over {days} days "
                f"({'COPY' if postgres else 'executemany'}, batches of {batch:,})…"
            )
            with IndexesSetAside(enabled=postgres, write=self.stdout.write):
                try:
                    rep_ids, administrator_ids = generator.users(reps)
                    world = generator.world(premises)
                    generator.history(world, runs, rep_ids, administrator_ids)
                finally:
                    sink.close()  # before the transaction ends, whichever way
                generated = time.monotonic() - started
            self._reset_sequences()
        self._refresh_statistics(postgres)
        total = time.monotonic() - started
        for table, count in sink.by_table.items():
            self.stdout.write(f"  {table:<32}{count:>12,}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {sink.rows:,} rows in {generated:.0f} s "
                f"({sink.rows / max(generated, 1e-9):,.0f} rows/s); {total:.0f} s in all."
            )
        )

    def _refuse_or_wipe(self, *, wipe: bool) -> None:
        existing = generated_counts()
        if not any(existing.values()):
            return
        if not wipe:
            found = ", ".join(f"{count:,} {kind}" for kind, count in existing.items() if count)
            raise CommandError(
                f"This database already holds generated data ({found}). Pass "
                "--wipe-generated to delete it and generate again, or use an empty database."
            )
        started = time.monotonic()
        deleted = wipe_generated()
        self.stdout.write(
            f"Deleted {deleted:,} generated rows in {time.monotonic() - started:.0f} s."
        )

    def _reset_sequences(self) -> None:
        """Move the id sequences past the explicit ids, so the ORM can keep inserting."""
        tables = [table.model for table in TABLES.values()] + [User]
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), tables):
                cursor.execute(statement)

    def _refresh_statistics(self, postgres: bool) -> None:
        if not postgres:
            return
        started = time.monotonic()
        tables = [table.model for table in TABLES.values()] + [User]
        names = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in tables)
        with connection.cursor() as cursor:
            if connection.in_atomic_block:  # a test's transaction: VACUUM cannot run in one
                cursor.execute(f"ANALYZE {names}")
            else:
                # Vacuum too: it sets the visibility map, as autovacuum would in production,
                # so that index-only scans are possible.
                cursor.execute(f"VACUUM (ANALYZE) {names}")
        self.stdout.write(f"  vacuumed and analysed in {time.monotonic() - started:.0f} s")


class IndexesSetAside:
    """On PostgreSQL, drop the filled tables' secondary indexes and foreign keys meanwhile.

    Maintaining a dozen B-trees row by row (several keyed on random EUI-64s) made the load
    six times slower than building them once at the end, sorted; foreign keys are then
    validated by one join each instead of a trigger per row. Must run inside the transaction
    that loads, so a failure restores them with everything else. The tables stay locked until
    it commits: run the command on a database of its own.
    """

    def __init__(self, *, enabled: bool, write: Callable[[str], None]) -> None:
        self.enabled = enabled
        self.write = write
        self.restore: list[str] = []

    def __enter__(self) -> None:
        if not self.enabled:
            return
        names = [table.name for table in TABLES.values()]
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT format('ALTER TABLE %%s DROP CONSTRAINT %%I', conrelid::regclass, conname),
                       format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', conrelid::regclass,
                              conname, pg_get_constraintdef(oid)),
                       contype
                FROM pg_constraint
                WHERE contype IN ('f', 'u') AND conrelid = ANY(%s::regclass[])
                UNION ALL
                SELECT format('DROP INDEX %%s', indexrelid::regclass),
                       pg_get_indexdef(indexrelid),
                       'i'
                FROM pg_index
                WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)
                """,
                [names, names],
            )
            rows = cursor.fetchall()
            # Foreign keys go first and come back last, after the indexes they may use.
            order = {"f": 0, "u": 1, "i": 2}
            rows.sort(key=lambda row: order[row[2]])
            # Checks still pending (from --wipe-generated's deletes) would forbid ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for drop, _, _ in rows:
                cursor.execute(drop)
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's constraints' default
            self.restore = [restore for _, restore, _ in reversed(rows)]
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        self.write(f"  set aside {len(rows)} indexes and constraints while loading")

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        if not self.enabled or kind is not None:
            return  # on an error the transaction's rollback restores them
        started = time.monotonic()
        with connection.cursor() as cursor:
            for statement in self.restore:
                cursor.execute(statement)
        self.write(
            f"  rebuilt {len(self.restore)} indexes and constraints "
            f"in {time.monotonic() - started:.0f} s"
        )
