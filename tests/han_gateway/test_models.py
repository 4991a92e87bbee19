import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from han_gateway.eui64 import InvalidEUI64, normalise_eui64, parse_eui64
from han_gateway.models import HanDevice
from tests.factories import HanDeviceFactory, PremisesGatewayFactory


@pytest.mark.parametrize(
    "written",
    [
        "00:0D:6F:00:0A:90:69:E7",
        "000d6f000a9069e7",
        "00-0d-6f-00-0a-90-69-e7",
        " 000D 6F00 0A90 69E7 ",
    ],
)
def test_eui64_written_any_common_way_is_normalised(written):
    assert normalise_eui64(written) == "00:0d:6f:00:0a:90:69:e7"


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("", "16 hexadecimal digits"),
        ("00:0d:6f:00:0a:90:69", "this has 14 (is a pair missing?)"),
        ("00:0d:6f:00:0a:90:69:e7:01", "this has 18"),
        ("00:0d:6f:00:0a:9O:69:e7", "'O' looks like '0'"),
        ("00:0d:6f:00:0a:90:69:zz", "found 'z'"),
    ],
)
def test_bad_eui64_says_what_is_wrong(written, reason):
    with pytest.raises(InvalidEUI64, match=re.escape(reason)):
        parse_eui64(written)


@given(st.binary(min_size=8, max_size=8))
def test_any_eight_bytes_round_trip_through_every_format(raw):
    canonical = ":".join(f"{byte:02x}" for byte in raw)
    assert normalise_eui64(canonical.upper()) == canonical
    assert normalise_eui64(canonical.replace(":", "")) == canonical
    assert normalise_eui64(canonical.replace(":", "-")) == canonical


@given(st.text(max_size=40))
def test_parser_never_fails_other_than_with_a_clear_error(text):
    try:
        value = normalise_eui64(text)
    except InvalidEUI64 as error:
        assert str(error)
    else:
        assert len(value) == 23


@pytest.mark.django_db
def test_device_with_bad_eui64_fails_validation_with_the_reason():
    device = HanDeviceFactory.build(
        premises_gateway=PremisesGatewayFactory(), eui64="00:0d:6f:00:0a:90:69"
    )
    with pytest.raises(ValidationError) as raised:
        device.full_clean()
    assert "is a pair missing?" in str(raised.value.message_dict["eui64"])


@pytest.mark.django_db
def test_device_eui64_is_stored_in_canonical_form():
    device = HanDeviceFactory(eui64="000D6F000A9069E7")
    device.refresh_from_db()
    assert device.eui64 == "00:0d:6f:00:0a:90:69:e7"
    assert HanDevice.objects.filter(eui64="00-0D-6F-00-0A-90-69-E7").get() == device


@pytest.mark.django_db
def test_admin_rejects_a_bad_eui64_with_a_clear_message(client, administrator):
    gateway = PremisesGatewayFactory()
    client.force_login(administrator)
    response = client.post(
        "/admin/han_gateway/handevice/add/",
        {
            "premises_gateway": gateway.pk,
            "eui64": "00:0d:6f:00:0a:9O:69:e7",
            "network": "utility",
            "category": "pct",
        },
    )
    assert response.status_code == 200
    assert "looks like" in response.content.decode()
    assert not HanDevice.objects.exists()
