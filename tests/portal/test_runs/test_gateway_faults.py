"""A gateway that answers garbage, stalls, or hangs up: the run ends failed, with a finding."""

import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from han_gateway.models import PremisesGateway
from portal.models import HanTestRun, Premise, User
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.start import han_test_start
from tests.conftest import (
    answer_identify_and_one_interface,
    scan_device_line,
    scan_started_line,
)

pytestmark = pytest.mark.django_db

METER = "MTR-100001"


def _begin_scan(handler: BaseHTTPRequestHandler) -> None:
    """Open the scan stream with its first event, as a working gateway does."""
    handler.send_response(200)
    handler.end_headers()
    handler.wfile.write(scan_started_line(METER))


def _run_against(url: str) -> HanTestRun:
    premise = Premise.objects.get(premises_gateway__meter_number=METER)
    PremisesGateway.objects.filter(premises__pk=premise.pk).update(service_url=url)
    run = han_test_start(premise=premise, user=User.objects.get(username="rep"))
    han_test_run_execute(run.pk)
    run.refresh_from_db()
    return run


def test_non_json_answer_fails_the_run_clearly(demo_world, fake_gateway, no_enqueue):
    def garbage(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(b"\x00\xffnot json at all")

    run = _run_against(fake_gateway(garbage))
    assert run.status == HanTestRun.Status.FAILED
    finding = run.findings.get()
    assert finding.rule == "gateway_unreachable"
    assert "The gateway's identity is malformed" in finding.evidence


def test_garbled_scan_stream_fails_the_run_and_keeps_what_was_found(
    demo_world, fake_gateway, no_enqueue
):
    def scan_then_garbage(handler: BaseHTTPRequestHandler) -> None:
        if answer_identify_and_one_interface(handler, METER):
            return
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(scan_device_line("00:0d:6f:00:0a:90:69:e7"))
        handler.wfile.write(b'{"event": "device", "device": {"eui64": 7}\n')

    run = _run_against(fake_gateway(scan_then_garbage))
    assert run.status == HanTestRun.Status.FAILED
    assert run.findings.get().rule == "gateway_unreachable"
    assert run.devices.count() == 1  # committed before the garbage arrived
    assert run.steps.get(key="scan:han0").status == "failed"


def test_stream_that_stops_before_the_end_fails_clearly(demo_world, fake_gateway, no_enqueue):
    def hang_up(handler: BaseHTTPRequestHandler) -> None:
        if answer_identify_and_one_interface(handler, METER):
            return
        _begin_scan(handler)

    run = _run_against(fake_gateway(hang_up))
    finding = run.findings.get()
    assert finding.rule == "gateway_unreachable"
    assert "stopped sending before the scan finished" in finding.evidence


def test_gateway_slower_than_the_time_limit_ends_the_run_in_time(
    demo_world, fake_gateway, no_enqueue, settings
):
    settings.HAN_RUN_TIME_LIMIT_S = 6
    release = threading.Event()

    def stall(handler: BaseHTTPRequestHandler) -> None:
        if answer_identify_and_one_interface(handler, METER):
            return
        _begin_scan(handler)
        handler.wfile.flush()
        release.wait(30)

    started = time.monotonic()
    run = _run_against(fake_gateway(stall))
    release.set()
    assert time.monotonic() - started < settings.HAN_RUN_TIME_LIMIT_S + 2
    assert run.status == HanTestRun.Status.FAILED
    assert run.findings.get().rule == "gateway_unreachable"
