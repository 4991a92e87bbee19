"""Hostile input to the portal: page links, history filters, gateway reports and request bodies.

Whatever arrives — a tampered query string, a device report from a misbehaving gateway, a
body that is not JSON or is far too big — the portal answers with a clear 4xx or stores a
clamped value; it never answers 500.
"""

import base64
import datetime as dt
import json
import math
import time
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Field
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from han_gateway.models import HanDevice
from han_gateway.protocol import (
    DeviceReport,
    EndpointReport,
    InterfaceInfo,
    LinkReport,
    short_address,
)
from portal.diagnosis.rules import Action
from portal.history.filters import action_choices, rule_choices
from portal.history.pagination import PAGE_SIZES, Cursor, InvalidCursor
from portal.models import DiagnosisReview, HanTestCase, HanTestRun, ObservedDevice
from portal.test_runs.observations import KnownDevice, device_fields, interface_remember
from portal.test_runs.recorder import RunRecorder
from tests.conftest import hostile_json_values, repeatable_examples
from tests.factories import FindingFactory, HanTestRunFactory

pytestmark = pytest.mark.django_db

# Each example is one request or one row: a few hundred keep the file well under a minute.
DB_SETTINGS = repeatable_examples(120, HealthCheck.function_scoped_fixture, HealthCheck.too_slow)
PURE_SETTINGS = repeatable_examples(400)

# Text as JSON can carry it: NUL and lone surrogates ("\ud800") included.
hostile_text = st.text(max_size=300) | st.text(
    st.characters(categories=["Cs", "Cc"]) | st.sampled_from("ab\x00"), max_size=8
)
# Any JSON value a gateway could send; Python's json also accepts NaN and Infinity.
json_values = hostile_json_values(hostile_text, max_key_size=10, max_leaves=12)

ZONES = [dt.UTC, dt.timezone(dt.timedelta(hours=14)), dt.timezone(dt.timedelta(hours=-12))]
# The edges of datetime's range come up far more often than chance would have them.
any_datetime = st.datetimes(timezones=st.sampled_from(ZONES)) | st.sampled_from(
    [edge.replace(tzinfo=zone) for edge in (dt.datetime.min, dt.datetime.max) for zone in ZONES]  # noqa: DTZ901
)


# -- page links --------------------------------------------------------------------------------


@PURE_SETTINGS
@given(token=st.text(max_size=200))
def test_any_page_link_decodes_or_raises_invalid_cursor(token):
    try:
        cursor = Cursor.decode(token)
    except InvalidCursor:
        return
    assert cursor.at.tzinfo is not None


@PURE_SETTINGS
@given(
    direction=st.text(max_size=3),
    at=st.text(max_size=40) | any_datetime.map(dt.datetime.isoformat),
    row_id=st.text(max_size=40) | st.integers().map(str),
)
def test_any_well_encoded_page_link_decodes_or_raises_invalid_cursor(direction, at, row_id):
    text = f"{direction}|{at}|{row_id}"
    token = base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")
    try:
        cursor = Cursor.decode(token)
    except InvalidCursor:
        return
    assert cursor.before == (direction == "b")
    assert cursor.at.astimezone(dt.UTC)


@PURE_SETTINGS
@given(at=any_datetime, row_id=st.integers(min_value=1, max_value=2**62), before=st.booleans())
def test_a_page_link_round_trips_or_is_refused(at, row_id, before):
    cursor = Cursor(at=at, row_id=row_id, before=before)
    try:
        decoded = Cursor.decode(cursor.encode())
    except InvalidCursor:
        # Only a moment that does not exist in UTC (the edges of datetime's range) is refused.
        with pytest.raises(OverflowError):
            at.astimezone(dt.UTC)
        return
    assert decoded == cursor
    decoded.at.astimezone(dt.UTC)  # what the database is asked for must exist


# -- the history page --------------------------------------------------------------------------


def _dates() -> st.SearchStrategy[str]:
    edges = st.sampled_from([dt.date.min, dt.date.min + dt.timedelta(days=1), dt.date.max])
    return (st.dates() | edges).map(dt.date.isoformat)


def _words(max_size: int) -> st.SearchStrategy[str]:
    # What a form field accepts: no NUL (refused as such) and no lone surrogates (no browser
    # can send them).
    return st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=max_size
    )


def _page_links() -> st.SearchStrategy[str]:
    return st.builds(Cursor, at=any_datetime, row_id=st.integers(), before=st.booleans()).map(
        Cursor.encode
    )


# Values each filter accepts, extremes included: every combination must give a page.
VALID_HISTORY_PARAMETERS = {
    "date_from": _dates(),
    "date_to": _dates(),
    "outcome": st.sampled_from(HanTestRun.Status.values),
    "case_status": st.sampled_from(HanTestCase.Status.values),
    "finding": st.sampled_from([name for name, _ in rule_choices()]),
    "recommended": st.sampled_from([value for value, _ in action_choices()]),
    "taken": st.sampled_from([value for value, _ in action_choices()] + ["other"]),
    "rep": _words(150),
    "region": _words(32),
    "gateway_model": _words(64),
    "device_model": _words(64),
    "review": st.sampled_from(["unreviewed", *DiagnosisReview.Verdict.values]),
    "sort": st.sampled_from(["newest", "oldest"]),
    "per_page": st.sampled_from([str(size) for size in PAGE_SIZES]),
    "cursor": _page_links() | st.text(max_size=60),
}
# Anything at all in each parameter: a page or a form error, never a crash.
HOSTILE_HISTORY_PARAMETERS = {
    name: valid | st.text(max_size=300) | st.integers().map(str)
    for name, valid in VALID_HISTORY_PARAMETERS.items()
}


@pytest.fixture
def history_world(client, administrator):
    run = HanTestRunFactory()
    FindingFactory(run=run)
    HanTestRunFactory(status=HanTestRun.Status.PASSED)
    client.force_login(administrator)
    return client


@DB_SETTINGS
@given(query=st.fixed_dictionaries({}, optional=VALID_HISTORY_PARAMETERS))
def test_history_shows_a_page_for_any_valid_filters(history_world, query):
    response = history_world.get(reverse("history"), query)
    assert response.status_code == 200, (query, response.context["form"].errors)


@DB_SETTINGS
@given(query=st.fixed_dictionaries({}, optional=HOSTILE_HISTORY_PARAMETERS))
def test_history_answers_any_query_without_a_server_error(history_world, query):
    response = history_world.get(reverse("history"), query)
    assert response.status_code in {200, 400}, (query, response.status_code)


@pytest.mark.parametrize(
    "query",
    [
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "0001-01-01"},
        {
            "cursor": Cursor(
                dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))), 1, False
            ).encode()
        },
        {
            "cursor": Cursor(
                dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5))), 1, True
            ).encode()
        },
        {"cursor": Cursor(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), 10**30, False).encode()},
        {"per_page": "%00", "rep": "a\x01b"},
    ],
)
def test_history_answers_edge_of_range_values_without_a_server_error(history_world, query):
    response = history_world.get(reverse("history"), query)
    assert response.status_code in {200, 400}


# -- device reports from a gateway -------------------------------------------------------------


# The gateway's answers are checked by the protocol's models in the client (see
# tests/han_gateway/test_protocol.py); what reaches the portal is any report those models accept.
eui64s = st.sampled_from(
    ["00:0d:6f:00:00:00:00:01", "00:0d:6f:00:00:00:00:02", "00:13:50:ff:fe:00:00:01"]
)
reported_text = st.none() | st.text() | st.sampled_from(["a\x00b", "\udcff", "x" * 300])
lqis = st.none() | st.integers(0, 255)
hostile_links = st.lists(
    st.builds(
        LinkReport,
        neighbor=eui64s,
        relationship=st.sampled_from(["parent", "child", "sibling", "neighbour"]),
        lqi_inbound=lqis,
        lqi_outbound=lqis,
        rssi=st.none() | st.integers(-128, 127),
    ),
    max_size=3,
)
uint16s = st.integers(0, 0xFFFF)
hostile_endpoints = st.lists(
    st.builds(
        EndpointReport,
        id=st.integers(1, 254),
        profile_id=st.none() | uint16s,
        profile=st.sampled_from(["smart_energy", "home_automation", "other"]),
        device_type=st.none() | uint16s,
        input_clusters=st.lists(uint16s, max_size=6),
        output_clusters=st.lists(uint16s, max_size=6),
    ),
    max_size=3,
)
hostile_reports = st.builds(
    DeviceReport,
    eui64=eui64s,
    nwk=st.integers(0, 0xFFFF).map(short_address),
    device_type=st.sampled_from(["router", "end_device", "unknown"]),
    manufacturer=reported_text,
    model=reported_text,
    sw_build_id=reported_text,
    ota_file_version=st.none() | st.integers(0, 0xFFFF_FFFF),
    power_source=st.sampled_from(["mains", "battery", "unknown"]),
    reachable=st.booleans(),
    interview=st.sampled_from(["complete", "partial", "failed"]),
    join_method=st.none() | st.sampled_from(["install_code", "default_key", "unknown"]),
    profile_id=st.none() | uint16s,
    endpoints=hostile_endpoints,
    parent=st.none() | eui64s,
    depth=st.none() | st.integers(0, 255),
    lqi=lqis,
    rssi=st.none() | st.integers(-128, 127),
    links=hostile_links,
)
knowledge = st.builds(
    KnownDevice,
    registered=st.booleans(),
    customer_owned=st.booleans(),
    category=st.sampled_from(["", *HanDevice.Category.values]),
    registered_elsewhere=st.booleans(),
)


def _fits_the_columns(fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        column = ObservedDevice._meta.get_field(name)
        assert isinstance(column, Field)
        if value is None:
            assert column.null, name
        elif column.get_internal_type() == "CharField":
            assert isinstance(value, str)
            assert column.max_length is not None and len(value) <= column.max_length, name
            assert "\x00" not in value, name
            value.encode("utf-8")  # no lone surrogates
        elif column.get_internal_type() in {
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "SmallIntegerField",
            "BigIntegerField",
        }:
            assert isinstance(value, int) and not isinstance(value, bool), name
            low, high = {
                "PositiveIntegerField": (0, 2**31 - 1),
                "PositiveSmallIntegerField": (0, 2**15 - 1),
                "SmallIntegerField": (-(2**15), 2**15 - 1),
                "BigIntegerField": (-(2**63), 2**63 - 1),
            }[column.get_internal_type()]
            assert low <= value <= high, (name, value)


def _finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    return True


@PURE_SETTINGS
@given(reported=hostile_reports, known=knowledge)
def test_any_device_report_becomes_fields_that_fit_their_columns(reported, known):
    fields = device_fields(reported, known)
    _fits_the_columns(fields)
    assert fields["category"] in HanDevice.Category.values
    assert 0 <= (fields["link_quality"] or 0) <= 255
    # Stored as JSON: a NaN or Infinity would be refused by the database.
    json.dumps(fields["details"], allow_nan=False, ensure_ascii=False).encode("utf-8")
    assert _finite(fields["details"])


@pytest.fixture
def run_for_reports():
    return HanTestRunFactory(status=HanTestRun.Status.RUNNING, finished_at=None)


@DB_SETTINGS
@given(reported=hostile_reports, known=knowledge)
def test_any_device_report_can_be_stored(run_for_reports, reported, known):
    fields = device_fields(reported, known)
    with transaction.atomic():
        device = ObservedDevice.objects.create(
            run=run_for_reports,
            interface="han0",
            eui64="00:0d:6f:00:00:00:00:02",
            sequence=1,
            **fields,
        )
        transaction.set_rollback(True)
    assert device.pk


hostile_interfaces = st.builds(
    InterfaceInfo,
    id=st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}\Z"),
    technology=st.just("zigbee"),
    radio=st.sampled_from(["simulated", "ezsp", "znp", "deconz"]),
    status=st.sampled_from(["ready", "starting", "stopped", "error"]),
    channel=st.none() | st.integers(11, 26),
    pan_id=st.none() | st.integers(0, 0xFFFF).map(short_address),
    extended_pan_id=st.none() | eui64s,
    security_level=st.none() | st.integers(0, 7),
    device_count=st.integers(0, 2**31 - 1),
)


@DB_SETTINGS
@given(reported=hostile_interfaces)
def test_any_interface_report_can_be_stored(run_for_reports, reported):
    recorder = RunRecorder(run=run_for_reports, deadline=time.monotonic() + 60)
    with transaction.atomic():
        recorder.interface(reported, {11: 3, 26: 255})
        interface_remember(run_for_reports.premise.premises_gateway, reported)
        transaction.set_rollback(True)


# -- request bodies ----------------------------------------------------------------------------

TWENTY_MB = 20 * 1024 * 1024


@pytest.fixture
def api_client(client, administrator, premise_a, no_enqueue):
    client.force_login(administrator)
    return client


def _run_start_url(premise) -> str:
    return reverse("api:run_start", kwargs={"premise_id": premise.pk})


def _is_json_reason(response) -> bool:
    body = response.json()
    return isinstance(body, dict) and bool(body)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('{"problem": "x"', "application/json", 400),
        ("[" * 50_000, "application/json", 400),
        ('{"a":' * 5_000 + "1" + "}" * 5_000, "application/json", 400),
        (b"\xff\xfe\xfa\x00", "application/json", 400),
        ('{"problem": "NaN"}\n{"problem": 1}', "application/json", 400),
        ('"just a string"', "application/json", 400),
        ("problem=x", "text/plain", 415),
        ("<problem/>", "application/xml", 415),
    ],
)
def test_api_refuses_garbled_bodies_with_a_json_reason(
    api_client, premise_a, body, content_type, status
):
    response = api_client.post(_run_start_url(premise_a), body, content_type=content_type)
    assert response.status_code == status
    assert _is_json_reason(response)
    assert not HanTestRun.objects.filter(premise=premise_a).exists()


def test_api_refuses_a_body_over_the_upload_limit(api_client, premise_a):
    body = json.dumps({"problem": "x", "padding": "y" * TWENTY_MB})
    response = api_client.post(_run_start_url(premise_a), body, content_type="application/json")
    assert response.status_code in {400, 413}
    assert not HanTestRun.objects.filter(premise=premise_a).exists()


def test_api_refuses_an_oversized_field(api_client, premise_a):
    response = api_client.post(
        _run_start_url(premise_a), {"problem": "x" * 1_000_000}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "problem" in response.json()


@pytest.mark.parametrize(
    "data",
    [
        {"action": "x" * 1_000_000},
        {"action": Action.CHANGE_RANGE, "note": "y" * 1_000_000},
        {"action": ["change_range"]},
        {"action": {"$gt": ""}},
        {"action": None},
    ],
)
def test_api_action_with_a_hostile_field_is_refused(api_client, administrator, data):
    run = HanTestRunFactory()
    url = reverse("api:run_action", kwargs={"run_id": run.pk})
    response = api_client.post(url, data, content_type="application/json")
    assert response.status_code == 400
    assert _is_json_reason(response)
    assert not run.actions.exists()


def test_registration_form_with_a_one_megabyte_field_is_a_form_error(client, rep, premise_a):
    client.force_login(rep)
    url = reverse("device_register", kwargs={"premise_id": premise_a.pk})
    response = client.post(
        url,
        {
            "eui64": "0" * 1_000_000,
            "install_code": "83FED3407A939723A5C639B26916D505C3B5",
            "category": HanDevice.Category.IN_HOME_DISPLAY,
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["eui64"]


def test_a_form_post_over_the_upload_limit_is_a_bad_request(client, rep, premise_a):
    client.force_login(rep)
    url = reverse("device_register", kwargs={"premise_id": premise_a.pk})
    response = client.post(url, {"qr_text": "z" * TWENTY_MB, "category": "pct"})
    assert response.status_code == 400


def test_a_form_post_of_non_utf8_bytes_is_a_form_error(client, rep, premise_a):
    client.force_login(rep)
    url = reverse("device_register", kwargs={"premise_id": premise_a.pk})
    response = client.post(
        url,
        b"eui64=%FF%FE&install_code=%C0%AF&category=pct",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        b"username=" + b"u" * 1_000_000 + b"&password=p",
        b"username=ada&password=" + b"p" * 1_000_000,
        b"username=%ED%A0%80%00&password=%FF",
        b"username=a&username=b&password[]=x",
    ],
)
def test_sign_in_with_a_hostile_form_is_a_form_error(client, administrator, body):
    response = client.post(reverse("login"), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session
