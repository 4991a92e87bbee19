"""A reported device becomes columns: link quality and RSSI of one and the same hop."""

import pytest

from han_gateway.protocol import DeviceReport
from portal.test_runs.observations import KnownDevice, device_fields
from tests.han_gateway.test_protocol import DEVICE

METER = "00:13:50:a3:08:32:f2:53"
ROUTER = "00:0d:6f:00:05:3c:44:a1"
UTILITY = KnownDevice(registered=True, customer_owned=False, category="in_home_display")


def _report(*, parent: str, depth: int, link_rssi: int | None) -> DeviceReport:
    return DeviceReport.model_validate(
        {
            **DEVICE,
            "parent": parent,
            "depth": depth,
            # What the meter last heard: for a device behind a router, the router's hop.
            "lqi": 250,
            "rssi": -38,
            "links": [
                {
                    "neighbor": parent,
                    "relationship": "parent",
                    "lqi_inbound": 90,
                    "lqi_outbound": 120,
                    "rssi": link_rssi,
                }
            ],
        }
    )


@pytest.mark.parametrize(
    ("parent", "depth", "link_rssi", "expected"),
    [
        (METER, 1, -71, (90, -71)),  # its own hop to the meter: both measured on it
        (ROUTER, 2, None, (90, None)),  # behind a router: no RSSI of its hop, not the router's
    ],
)
def test_link_quality_and_rssi_are_of_the_devices_own_hop(parent, depth, link_rssi, expected):
    fields = device_fields(_report(parent=parent, depth=depth, link_rssi=link_rssi), UTILITY)
    assert (fields["link_quality"], fields["rssi"]) == expected
