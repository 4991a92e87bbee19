"""Registering a device tells a customer nothing of other premises, and writes back no install code.

A device live at another premise is refused with the same words whoever's it is; only the
utility's staff are told where. Whatever is typed into whichever box of the form, no install
code comes back in the page or the API's answer, in any spelling.
"""

import json
import re

import pytest

from han_gateway.install_code_crc import install_code_with_crc
from portal.commissioning.forms import DeviceRegistrationForm, looks_like_install_code
from tests.factories import PremiseFactory
from tests.portal.commissioning.pool_pump import EUI64, pool_pump_registered_at, registration_form
from tests.trust_center.factories import INSTALL_CODE as INSTALL_CODE_128
from tests.trust_center.factories import ApprovedDeviceFactory
from trust_center.services import REGISTERED_ELSEWHERE_FOR_CUSTOMERS, device_registration_create

pytestmark = pytest.mark.django_db

# Another published vector: the code every request here types unless it says otherwise.
TYPED_INSTALL_CODE = "000102030405060708090A0B384F"
# The shortest kind (48 bits): as long as an EUI-64, so it could pass for one.
INSTALL_CODE_48 = install_code_with_crc(bytes.fromhex("0A1B2C3D4E5F")).hex().upper()


def _register_page(premise):
    return f"/premises/{premise.pk}/devices/register/"


def _register_api(premise):
    return f"/api/v1/premises/{premise.pk}/registrations/"


def _form(**changes):
    return registration_form(**{"install_code": TYPED_INSTALL_CODE, "qr_text": "", **changes})


def _post(client, channel, premise, data):
    if channel == "page":
        return client.post(_register_page(premise), data)
    if channel == "api":
        return client.post(
            _register_api(premise), json.dumps(data), content_type="application/json"
        )
    # The browsable API, as a developer's browser asks for it.
    return client.post(_register_api(premise), data, HTTP_ACCEPT="text/html")


# --- A device registered at another premise ------------------------------------------------


@pytest.fixture
def registered_elsewhere(rep, customer_b):
    """The device live at Bob's premise: its own meter, and a neighbour on Ann's pole-top one."""

    def at(premise):
        pool_pump_registered_at(premise, by=rep)
        gateway = premise.premises_gateway
        return [
            gateway.meter_number,
            gateway.ami_id,
            premise.service_point_id,
            premise.address_line,
            premise.customer.name,
        ]

    return at


def _other_premise(where, premise_a, premise_b, customer_b):
    """Bob's premise on a meter of its own, or a neighbour of Ann's on her pole-top meter."""
    if where == "another meter":
        return premise_b
    return PremiseFactory(
        customer=customer_b,
        premises_gateway=premise_a.premises_gateway,
        address_line="3 Birch Road",
    )


@pytest.mark.parametrize("channel", ["page", "api"])
@pytest.mark.parametrize("where", ["another meter", "the same pole-top meter"])
def test_a_customer_is_not_told_where_else_the_device_is_registered(
    client, user_a, premise_a, premise_b, customer_b, registered_elsewhere, channel, where
):
    other = _other_premise(where, premise_a, premise_b, customer_b)
    about_the_other_premise = registered_elsewhere(other)
    if where == "the same pole-top meter":
        # Ann's own meter: she may know its number; the rest is her neighbour's.
        about_the_other_premise.remove(premise_a.premises_gateway.meter_number)
        about_the_other_premise.remove(premise_a.premises_gateway.ami_id)
    client.force_login(user_a)

    response = _post(client, channel, premise_a, _form())

    assert response.status_code == 400
    body = response.content.decode()
    assert REGISTERED_ELSEWHERE_FOR_CUSTOMERS in (
        body if channel == "page" else response.json()["eui64"][0]
    )
    for detail in about_the_other_premise:
        assert detail not in body


@pytest.mark.parametrize("channel", ["page", "api"])
@pytest.mark.parametrize("where", ["another meter", "the same pole-top meter"])
def test_staff_are_told_where_else_the_device_is_registered(
    client, rep, premise_a, premise_b, customer_b, registered_elsewhere, channel, where
):
    other = _other_premise(where, premise_a, premise_b, customer_b)
    meter_number, _, service_point_id, *_ = registered_elsewhere(other)
    client.force_login(rep)

    response = _post(client, channel, premise_a, _form())

    assert response.status_code == 400
    body = response.content.decode()
    assert meter_number in body and service_point_id in body
    assert REGISTERED_ELSEWHERE_FOR_CUSTOMERS not in body


# --- No install code written back ------------------------------------------------------------


def _spellings(code):
    pairs = [code[index : index + 2] for index in range(0, len(code), 2)]
    return [
        code,
        ":".join(pairs).lower(),
        " ".join(code[index : index + 4] for index in range(0, len(code), 4)),
        f"Z:000D6F00053C5108$I:{code}",
    ]


def _holds(body, code):
    """The code's digits in order, whatever separators or markup lie between them."""
    return code.lower() in re.sub(r"[^0-9a-f]", "", body.lower())


@pytest.fixture
def approved_list_in_force(db):
    # The form's own make and model are not on it, so every post fails after every field is
    # read, and the form comes back.
    ApprovedDeviceFactory(manufacturer="Rainforest Automation", model="EMU-2")


def _cases():
    for code in (INSTALL_CODE_128, INSTALL_CODE_48):
        for spelling in _spellings(code):
            for field in [*DeviceRegistrationForm.base_fields, "every field"]:
                if field == "every field":
                    data = _form(**dict.fromkeys(DeviceRegistrationForm.base_fields, spelling))
                else:
                    data = _form(**{field: spelling})
                yield code, spelling, field, data


@pytest.mark.parametrize("channel", ["page", "api", "api as html"])
@pytest.mark.parametrize("actor", ["customer", "representative"])
def test_no_install_code_typed_into_any_field_comes_back(
    client, user_a, rep, premise_a, approved_list_in_force, channel, actor
):
    client.force_login(user_a if actor == "customer" else rep)

    for code, spelling, field, data in _cases():
        response = _post(client, channel, premise_a, data)

        case = f"{spelling!r} in {field}"
        assert response.status_code == 400, case
        body = response.content.decode()
        assert not _holds(body, code), case
        assert not _holds(body, TYPED_INSTALL_CODE), case


def test_what_cannot_be_an_install_code_is_written_back_with_a_note_for_the_rest(
    client, user_a, premise_a, approved_list_in_force
):
    client.force_login(user_a)

    response = client.post(_register_page(premise_a), _form(model=INSTALL_CODE_128))

    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="Eaton"' in page
    assert f'value="{EUI64}"' in page
    assert "Not shown again, as it could hold an install code" in page
    assert "the install code is never shown again" in page


def test_an_eui64_that_is_also_a_valid_48_bit_install_code_is_held_back(
    client, user_a, premise_a, approved_list_in_force
):
    client.force_login(user_a)
    spelled_as_an_eui64 = ":".join(
        INSTALL_CODE_48[index : index + 2] for index in range(0, len(INSTALL_CODE_48), 2)
    )

    response = client.post(_register_page(premise_a), _form(eui64=spelled_as_an_eui64))

    assert response.status_code == 400
    assert not _holds(response.content.decode(), INSTALL_CODE_48)


@pytest.mark.parametrize(
    ("text", "could_be_one"),
    [
        (INSTALL_CODE_128, True),
        (INSTALL_CODE_48.lower(), True),
        ("83-FE-D3-40-7A-93", True),  # 6 bytes: the shortest code without its checksum
        ("my code is 83FE D340 7A93 9723", True),
        (EUI64, True),
        ("83FE D340 7A9", False),
        ("Yukon LCR-6601S", False),
        ("Rainforest Automation", False),
        ("", False),
    ],
)
def test_what_looks_like_an_install_code(text, could_be_one):
    assert looks_like_install_code(text) is could_be_one


# --- A full meter ----------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["page", "api"])
def test_a_full_shared_meter_tells_a_customer_no_count_of_the_neighbours_devices(
    client, rep, user_a, premise_a, customer_b, channel
):
    from trust_center.models import GatewayModelCapacity

    gateway = premise_a.premises_gateway
    neighbour = PremiseFactory(customer=customer_b, premises_gateway=gateway)
    GatewayModelCapacity.objects.create(
        manufacturer=gateway.manufacturer, gateway_model=gateway.model, max_devices=1
    )
    device_registration_create(
        premises_gateway=gateway,
        service_point_id=neighbour.service_point_id,
        eui64="00:0d:6f:00:05:3c:99:01",
        install_code=INSTALL_CODE_128,
        category="load_control_switch",
        registered_by=rep,
    )
    client.force_login(user_a)
    body = _post(client, channel, premise_a, _form()).content.decode()
    assert "cannot take any more devices" in body
    assert gateway.meter_number not in body
    assert "already has 1" not in body
    client.force_login(rep)
    assert "already has 1 registered" in _post(client, channel, premise_a, _form()).content.decode()
