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

from han_gateway.models import HanDevice, NetworkInterface, PremisesGateway
from han_gateway.validators import service_url_refusal
from han_gateway.zigbee_ids import HOME_AUTOMATION_PROFILE_ID, SMART_ENERGY_PROFILE_ID
from portal.demo import DEMO_SERVICE_URL
from portal.diagnosis import RULES, Action, Severity
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
    numbers = [int(part) for part in firmware.replace("-", ".").split(".") if part.isdigit()]
    numbers = [*numbers, 0, 0, 0, 0][:4]
    return (numbers[0] << 24) | (numbers[1] << 16) | (numbers[2] << 8) | numbers[3]


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
    severity: str
    action: str
    weight: float  # how often it is the problem a case is opened for
    needs_device: bool  # about one utility device of the premise


RULE_SHAPES: dict[str, RuleShape] = {
    "gateway_unreachable": RuleShape(Severity.CRITICAL, Action.ESCALATE_TO_AMI_NETWORK, 4, False),
    "beyond_reach": RuleShape(Severity.CRITICAL, Action.INSTALL_ADDITIONAL_DEVICE, 11, True),
    "weak_link": RuleShape(Severity.WARNING, Action.CHANGE_RANGE, 24, True),
    "outdated_firmware": RuleShape(Severity.WARNING, Action.UPGRADE_DEVICE, 10, True),
    "insecure_join": RuleShape(Severity.CRITICAL, Action.CHANGE_SECURITY_SETTINGS, 6, True),
    "registered_device_missing": RuleShape(Severity.CRITICAL, Action.REOPEN_JOIN_WINDOW, 17, True),
    "join_window_expired": RuleShape(Severity.CRITICAL, Action.REOPEN_JOIN_WINDOW, 5, True),
    "unknown_device": RuleShape(Severity.WARNING, Action.INVESTIGATE_DEVICE, 8, False),
    "channel_interference": RuleShape(Severity.WARNING, Action.CHANGE_CHANNEL, 8, False),
    "operational_check_failed": RuleShape(Severity.WARNING, Action.CHECK_DEVICE_PROGRAMS, 5, True),
    "over_capacity": RuleShape(Severity.WARNING, Action.REDUCE_DEVICES, 2, False),
}
HEALTHY = "healthy"
RULE_NAMES: list[str] = [function.__name__ for function in RULES]
# Problems a premise without a utility device on record can still have.
DEVICELESS_PROBLEMS = Weighted(
    [(name, RULE_SHAPES[name].weight) for name in ("gateway_unreachable", "unknown_device")]
    + [("channel_interference", RULE_SHAPES["channel_interference"].weight)]
)

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
        "customer_han_consent_changed_at created_at",
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
    "case": Table(HanTestCase, "id premise_id problem status opened_by_id opened_at resolved_at"),
    "run": Table(
        HanTestRun,
        "id case_id premise_id number status started_by_id queue region gateway_model "
        "created_at enqueued_at started_at finished_at heartbeat_at progress phase "
        "estimated_seconds error_message cancel_requested",
    ),
    "observed_interface": Table(
        ObservedInterface,
        "id run_id identifier technology channel pan_id extended_pan_id security_level "
        "device_count energy_by_channel",
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
        self._energy_pools()
        self.details = [
            json.dumps(
                {
                    "parent": None,
                    "depth": depth,
                    "interview": "done",
                    "links": [],
                    "endpoints": [],
                    "registered_elsewhere": False,
                }
            )
            for depth in (1, 2)
        ]

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
            for busy, pool in ((False, self.energy_quiet), (True, self.energy_busy)):
                for _ in range(8):
                    energy = {str(c): int(20 + rng.random() * 150) for c in range(11, 27)}
                    if busy:
                        energy[str(channel)] = int(200 + rng.random() * 55)
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
                            "han0",
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
            created,
        )

    # --- cases and runs ----------------------------------------------------------------------

    def history(
        self, world: "World", runs: int, reps: list[int], administrators: list[int]
    ) -> None:
        rng = self.rng
        rep_weights = Weighted([(rep, 1.0 / (rank + 8)) for rank, rep in enumerate(reps)])
        problems = Weighted([(name, RULE_SHAPES[name].weight) for name in RULE_SHAPES])
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
            target = -1
            if rule == "over_capacity" and len(utility_devices) < 3:
                rule = DEVICELESS_PROBLEMS.pick(rng)
            elif RULE_SHAPES[rule].needs_device:
                if utility_devices:
                    target = rng.choice(utility_devices)
                else:
                    rule = DEVICELESS_PROBLEMS.pick(rng)
            case = cases.add(premise, rep_weights.pick(rng), rule, target)
            self._case_runs(case, cases, planned, runs - len(planned), rep_weights)
        planned.sort()
        case_ids = cases.assign_ids(self.next_id(HanTestCase))
        self._write_cases(world, cases, case_ids)
        self._write_runs(world, cases, case_ids, planned, administrators)

    def _case_runs(
        self,
        case: int,
        cases: "CasePlan",
        planned: list[tuple[float, int, int, int, float, float, int]],
        room: int,
        rep_weights: Weighted[int],
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
        rule_needs_gateway = cases.rule[case] == "gateway_unreachable"
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

    def _write_cases(self, world: "World", cases: "CasePlan", case_ids: array) -> None:  # type: ignore[type-arg]
        rng = self.rng
        order = sorted(range(len(cases.premise)), key=cases.opened.__getitem__)
        total = len(order)
        for start in range(0, total, self.batch):
            rows: list[tuple[Any, ...]] = []
            for case in order[start : start + self.batch]:
                resolved = cases.resolved[case]
                rows.append(
                    (
                        case_ids[case],
                        world.first_premise_id + cases.premise[case],
                        PROBLEMS_REPORTED.pick(rng),
                        HanTestCase.Status.RESOLVED if resolved else HanTestCase.Status.OPEN,
                        cases.rep[case],
                        self.at(cases.opened[case]),
                        self.at(resolved) if resolved else None,
                    )
                )
            self.sink.write(TABLES["case"], rows)
            self.progress.report("cases", min(start + self.batch, total), total)

    def _write_runs(
        self,
        world: "World",
        cases: "CasePlan",
        case_ids: array,  # type: ignore[type-arg]
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
                self._run(world, cases, case_ids, planned_run, ids, batch, administrators)
            for name, rows in batch.rows.items():
                self.sink.write(TABLES[name], rows)
            self.progress.report("runs", min(start + self.batch, total), total)

    def _run(
        self,
        world: "World",
        cases: "CasePlan",
        case_ids: array,  # type: ignore[type-arg]
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
        rule = cases.rule[case] if outcome == FAILED else HEALTHY
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
        elif rule == "gateway_unreachable":
            error_message = "The gateway did not answer within 30 s."
        batch.rows["run"].append(
            (
                run_id,
                case_ids[case],
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
            if is_target and rule in ("registered_device_missing", "join_window_expired"):
                continue
            quality: int | None = 150 + int(rng.random() * 100)
            reachable = True
            firmware = kind.firmware
            join = "install_code" if kind.utility else "unknown"
            check = "acknowledged" if kind.utility and kind.category != Category.EMS else ""
            if is_target:
                if rule == "weak_link":
                    quality = 40 + int(rng.random() * 60)
                elif rule == "beyond_reach":
                    reachable = rng.random() < 0.5
                    quality = 10 + int(rng.random() * 30) if reachable else None
                elif rule == "outdated_firmware":
                    firmware = kind.old_firmware
                elif rule == "insecure_join":
                    join = "default_key"
                elif rule == "operational_check_failed":
                    check = "not_acknowledged"
            observed.append((kind, eui64, device, firmware, join, reachable, quality, check))
        if rule == "unknown_device":
            kind = UTILITY_DEVICES.pick(rng)
            ids["extra_device"] += 1
            eui64 = _eui64_text((kind.oui << 40) | _spread(ids["extra_device"]))
            observed.append((kind, eui64, -1, kind.firmware, "install_code", True, 120, ""))
        filler = 0
        while len(observed) < 2:
            kind = UNRECORDED_DEVICES[filler]
            eui64 = _eui64_text((kind.oui << 40) | _spread(extra_serial + filler))
            quality = 150 + int(rng.random() * 100)
            observed.append((kind, eui64, -2, kind.firmware, "unknown", True, quality, ""))
            filler += 1

        interface_id = ids["observed_interface"]
        ids["observed_interface"] += 1
        busy = rule == "channel_interference"
        pool = (self.energy_busy if busy else self.energy_quiet)[channel]
        batch.rows["observed_interface"].append(
            (
                interface_id,
                run_id,
                "han0",
                "zigbee",
                channel,
                world.gateway_pan_id(gateway),
                world.gateway_extended_pan_id(gateway),
                5,
                len(observed),
                pool[int(rng.random() * len(pool))],
            )
        )
        target_label = ""
        target_eui = ""
        target_kind: DeviceKind | None = None
        for sequence, (kind, eui64, device, firmware, join, reachable, quality, check) in enumerate(
            observed
        ):
            name = kind.names[len(eui64) % len(kind.names)] if device >= -1 else ""
            on_record = device >= 0
            if device == target and target >= 0:
                target_label, target_eui, target_kind = (
                    f"{name or kind.category_label} ({eui64})",
                    eui64,
                    kind,
                )
            batch.rows["observed_device"].append(
                (
                    ids["observed_device"],
                    run_id,
                    "han0",
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
                    None if quality is None else -100 + quality // 4,
                    join,
                    on_record and kind.utility,
                    check,
                    self.details[sequence % 2],
                )
            )
            ids["observed_device"] += 1
        if target >= 0 and target_kind is None:  # missing from the scan: still on record
            target_kind = DEVICE_KINDS[world.device_kind[target]]
            target_eui = world.device_eui(target)
            target_label = f"{target_kind.category_label} ({target_eui})"

        if outcome in (PASSED, FAILED):
            findings = [
                finding_text(
                    rule,
                    label=target_label,
                    eui64=target_eui,
                    kind=target_kind,
                    observed=observed,
                    channel=channel,
                    meter=f"{METER_PREFIX}{world.first_gateway_id + gateway:08d}",
                )
            ]
            for position, (title, evidence, customer_text, eui64) in enumerate(findings):
                shape = RULE_SHAPES.get(rule)
                finding_id = ids["finding"]
                ids["finding"] += 1
                batch.rows["finding"].append(
                    (
                        finding_id,
                        run_id,
                        rule,
                        shape.severity if shape else Severity.PASS,
                        shape.action if shape else Action.NONE,
                        title[:200],
                        evidence,
                        customer_text,
                        eui64,
                        position,
                    )
                )
                if rng.random() < 0.01:
                    wrong = rng.random() < 0.15
                    batch.rows["review"].append(
                        (
                            ids["review"],
                            finding_id,
                            run_id,
                            rule,
                            DiagnosisReview.Verdict.WRONG
                            if wrong
                            else DiagnosisReview.Verdict.RIGHT,
                            rng.choice(WRONG_REVIEW_COMMENTS) if wrong else "",
                            rng.choice(administrators),
                            at(min(finished + DAY_S * (1 + rng.random() * 20), self.now_s)),
                        )
                    )
                    ids["review"] += 1
        if acted_at:
            shape = RULE_SHAPES.get(rule)
            other = rng.random() < 0.07 or shape is None
            batch.rows["action"].append(
                (
                    ids["action"],
                    run_id,
                    "other" if other or shape is None else shape.action,
                    rng.choice(OTHER_ACTION_NOTES) if other else "",
                    rep,
                    at(acted_at),
                )
            )
            ids["action"] += 1


def finding_text(
    rule: str,
    *,
    label: str,
    eui64: str,
    kind: DeviceKind | None,
    observed: Sequence[tuple[Any, ...]],
    channel: int,
    meter: str,
) -> tuple[str, str, str, str]:
    """Title, evidence, customer text and EUI-64 of a finding, worded as the rules word them."""
    what = kind.category_label.lower() if kind else "device"
    if rule == HEALTHY:
        count = len(observed)
        return (
            "The Utility HAN is healthy",
            f"{count} device{'s' if count != 1 else ''} found, no problem seen",
            "Everything is working: your devices are talking to the meter.",
            "",
        )
    if rule == "gateway_unreachable":
        return (
            "The meter's HAN interface could not be reached over the AMI",
            f"Meter {meter} did not answer within 30 s.",
            "We could not reach your meter's home network connection right now. Our network "
            "team will look into it; you do not need to do anything.",
            "",
        )
    if rule == "beyond_reach":
        return (
            f"{label} is beyond the gateway's reach",
            "does not answer, limit 40",
            f"Your {what} is too far from the meter to stay connected. A range extender "
            "placed between them will fix this.",
            eui64,
        )
    if rule == "weak_link":
        return (
            f"{label} has a weak link to the gateway",
            "link quality below 100 (weak below 100)",
            f"Your {what} has a weak signal. Move it closer to the meter (within about 75 "
            "feet), away from metal and appliances.",
            eui64,
        )
    if rule == "outdated_firmware":
        assert kind is not None  # noqa: S101 - the rule is about a device
        return (
            f"{label} runs outdated firmware",
            f"{kind.manufacturer} {kind.model} firmware {kind.old_firmware}; the approved "
            f"minimum is {kind.firmware}",
            f"Your {what} needs a software update to work with the utility's programs.",
            eui64,
        )
    if rule == "insecure_join":
        return (
            f"{label} did not join with its install-code key",
            "joined with the well-known default link key (ZigBeeAlliance09)",
            f"Your {what} connected without the utility's security key. It needs to be "
            "registered again with the install code printed on it.",
            eui64,
        )
    if rule == "registered_device_missing":
        return (
            f"Registered {what} ({eui64}) was not found",
            f"{kind.manufacturer if kind else ''} {kind.model if kind else ''} is registered "
            "for this gateway but no interface reported it",
            f"We could not find your {what}. Check that it is plugged in or has fresh "
            "batteries; we will then let it connect again.",
            eui64,
        )
    if rule == "join_window_expired":
        return (
            f"The join window for {what} ({eui64}) expired without a join",
            "the Trust Center opened a join window with the device's install-code key; the "
            "device never joined",
            f"Your {what} did not connect in the time allowed. Make sure it is powered and "
            "near the meter; we will let it connect again.",
            eui64,
        )
    if rule == "unknown_device":
        kind_seen, eui_seen = observed[-1][0], observed[-1][1]
        for entry in observed:
            if entry[2] == -1:
                kind_seen, eui_seen = entry[0], entry[1]
        return (
            f"Unknown Smart Energy device {kind_seen.category_label} ({eui_seen}) on the "
            "Utility HAN",
            f"{kind_seen.manufacturer} {kind_seen.model} speaks the Smart Energy profile but "
            "is not registered",
            "A device we do not recognise is connected to your meter. If it is yours, "
            "register it; if not, we will look into it.",
            eui_seen,
        )
    if rule == "channel_interference":
        return (
            f"Interface han0: channel {channel} is busy",
            f"energy above 191/255 on channel {channel} (limit 191)",
            "Other wireless equipment in your home (often Wi-Fi) is crowding the meter's radio "
            "channel. We will move it to a quieter one.",
            "",
        )
    if rule == "operational_check_failed":
        return (
            f"{label} did not acknowledge a utility message",
            "the Smart Energy test message got no acknowledgement",
            f"Your {what} is connected but did not respond to a test message from the utility.",
            eui64,
        )
    if rule == "over_capacity":
        return (
            "The meter has more Utility HAN devices than it supports",
            f"{len(observed)} utility devices; this meter takes {max(len(observed) - 1, 1)}",
            "More devices are connected to your meter than it can serve. Some may need to be "
            "removed.",
            "",
        )
    raise CommandError(f"no wording for rule {rule!r}")


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
        self.rule: list[str] = []
        self.opened = array("d")
        self.resolved = array("d")
        self.runs = array("B")

    def add(self, premise: int, rep: int, rule: str, target: int) -> int:
        self.premise.append(premise)
        self.rep.append(rep)
        self.rule.append(rule)
        self.target.append(target)
        self.opened.append(0.0)
        self.resolved.append(0.0)
        self.runs.append(0)
        return len(self.premise) - 1

    def assign_ids(self, first_id: int) -> array:  # type: ignore[type-arg]
        """Ids in the order cases were opened, as a database would have given them."""
        ids = array("q", bytes(8 * len(self.premise)))
        for position, case in enumerate(
            sorted(range(len(self.premise)), key=self.opened.__getitem__)
        ):
            ids[case] = first_id + position
        return ids


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
