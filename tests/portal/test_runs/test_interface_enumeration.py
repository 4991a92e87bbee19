"""Step 5.2, as a head-end says it: each interface's Smart Energy version, coordinator stack and
firmware, channel, PAN ids, Trust Center, join policy, join windows and devices used of its
capacity, kept with the run and shown to staff live and on a reload."""

import json
import re

import pytest

from portal.models import User
from portal.test_runs.payloads import interface_payload
from tests.portal.test_runs.runs import run_at

pytestmark = pytest.mark.django_db


def test_a_run_keeps_and_shows_what_the_gateway_said_of_its_interface(
    client, demo_world, no_enqueue
):
    run = run_at("MTR-100001")

    interface = run.interfaces.get()
    assert interface.reported["smart_energy_version"] == "1.2"
    assert interface.reported["coordinator_stack"] == "Itron OpenWay Riva CENTRON"
    assert interface.reported["coordinator_firmware"] == "4.2.1"
    assert interface.reported["join_policy"] == "install_code_only"
    assert interface.reported["join_windows"] == []
    payload = interface_payload(interface)
    assert payload["max_devices"] == interface.reported["max_devices"] > 0
    summary = payload["summary"]
    assert summary.startswith(
        "Zigbee Smart Energy 1.2 · coordinator Itron OpenWay Riva CENTRON 4.2.1"
    )
    assert f"extended PAN id {interface.extended_pan_id}" in summary
    assert re.search(r"Trust Center ([0-9a-f]{2}:){7}[0-9a-f]{2}", summary)
    assert "joins with an install code only · no join window open" in summary
    # What the coordinator's stack counted while the run scanned it.
    counted = interface.reported["stack_counters"]
    assert counted["mac_tx_unicast_success"] > 0
    assert counted["phy_cca_fail_count"] == counted["mac_tx_unicast_failed"] == 0
    sent = counted["mac_tx_unicast_success"] + counted["mac_tx_broadcast"]
    assert summary.endswith(
        f"during the scan the radio sent {sent} frames, 0 undelivered after 0 retries, and "
        "backed off 0 times from a busy channel"
    )

    client.force_login(User.objects.get(username="rep"))
    page = client.get(f"/runs/{run.pk}/").content.decode()
    snapshot = re.search(r'<script id="run-snapshot" type="application/json">(.*?)</script>', page)
    assert snapshot is not None
    (shown,) = json.loads(snapshot[1])["interfaces"]
    assert shown["summary"] == summary and shown["max_devices"] == payload["max_devices"]


def test_an_open_join_window_is_part_of_the_interface_summary(client, demo_world, no_enqueue):
    run = run_at("MTR-100003")  # the pool pump switch waits for its join window
    interface = run.interfaces.get()
    interface.reported["join_windows"] = [
        {"eui64": "00:0d:6f:00:05:3c:51:08", "closes_at": "2026-12-04T18:30:00Z"}
    ]

    assert (
        "1 join window(s) open, the first until Dec 4, 2026"
        in interface_payload(interface)["summary"]
    )
