"""A Spanish customer is told what is wrong with a device's EUI-64, install code or QR text in
Spanish; a rep who types the same thing reads the English they always have."""

import html

import pytest
from django.utils import translation

from portal.models import Customer
from tests.portal.commissioning.pool_pump import registration_form
from trust_center.models import DeviceRegistration

pytestmark = pytest.mark.django_db

TYPED_INSTALL_CODE = "000102030405060708090A0B384F"

# A published install code vector, and the same with its last checksum digit changed.
WRONG_CHECKSUM = TYPED_INSTALL_CODE[:-1] + ("E" if TYPED_INSTALL_CODE[-1] != "E" else "F")

BAD_INPUT = {
    "wrong checksum": (
        {"install_code": WRONG_CHECKSUM},
        "Los últimos 4 dígitos de un código de instalación son una suma de verificación de los "
        "demás, y no coinciden: uno de los dígitos está mal escrito.",
        "The last 4 digits of an install code are a checksum of the others, and they do not "
        "match: one of the digits is mistyped.",
    ),
    "wrong length": (
        {"install_code": TYPED_INSTALL_CODE[:-2]},
        "Un código de instalación tiene 16, 20, 28 o 36 dígitos hexadecimales, incluida la suma "
        "de verificación de 4 dígitos al final; este tiene 26. ¿Falta un par?",
        "An install code has 16, 20, 28 or 36 hexadecimal digits, including the 4-digit "
        "checksum at the end; this has 26. Is a pair missing?",
    ),
    "bad character": (
        {"install_code": "O" + TYPED_INSTALL_CODE[1:]},
        "Un código de instalación solo usa los dígitos del 0 al 9 y las letras de la A a la F; "
        "se encontró 'O' (dígito 1). Revise si hay caracteres que se confunden fácilmente: "
        "'O' se parece a '0'.",
        "An install code uses only the digits 0-9 and the letters A-F; found 'O' (digit 1). "
        "Check for look-alike characters: 'O' looks like '0'.",
    ),
    "short EUI-64": (
        {"eui64": "00:0d:6f:00:05:3c:51"},
        "Un EUI-64 tiene 16 dígitos hexadecimales; este tiene 14 (¿falta un par?).",
        "An EUI-64 has 16 hexadecimal digits; this has 14 (is a pair missing?).",
    ),
    "EUI-64 with a letter O": (
        {"eui64": "00:0d:6f:00:05:3c:51:O8"},
        "Un EUI-64 solo usa los dígitos del 0 al 9 y las letras de la A a la F; se encontró "
        "'O'. Revise si hay caracteres que se confunden fácilmente: 'O' se parece a '0'.",
        "An EUI-64 uses only the digits 0-9 and letters A-F; found 'O'. Check for look-alike "
        "characters: 'O' looks like '0'.",
    ),
    "unknown QR text": (
        {"eui64": "", "install_code": "", "qr_text": "hello from the box"},
        "El texto de este código QR no tiene un formato que esta herramienta reconozca (por "
        "ejemplo, 'Z:<EUI-64>$I:<código de instalación>'). Mejor escriba el EUI-64 y el código "
        "de instalación.",
        "This QR code text is not in a format this tool recognises (for example "
        "'Z:<EUI-64>$I:<install code>'). Type the EUI-64 and install code instead.",
    ),
}


@pytest.fixture(autouse=True)
def _settings_language_afterwards():
    # A Spanish customer's request leaves Spanish active in the thread for later tests.
    yield
    translation.deactivate()


def _register(client, premise, changes):
    form = registration_form(**{"install_code": TYPED_INSTALL_CODE, "qr_text": "", **changes})
    response = client.post(f"/premises/{premise.pk}/devices/register/", form)
    assert response.status_code == 400
    assert not DeviceRegistration.objects.exists()
    return html.unescape(response.content.decode())


@pytest.fixture
def spanish_customer(customer_a, user_a):
    customer_a.language = Customer.Language.SPANISH
    customer_a.save(update_fields=["language"])
    return user_a


@pytest.mark.parametrize("case", BAD_INPUT)
def test_a_spanish_customer_is_told_what_is_wrong_in_spanish(
    client, spanish_customer, premise_a, case
):
    changes, spanish, english = BAD_INPUT[case]
    client.force_login(spanish_customer)

    page = _register(client, premise_a, changes)

    assert spanish in page
    assert english not in page


@pytest.mark.parametrize("case", BAD_INPUT)
def test_a_rep_typing_the_same_for_a_spanish_customer_reads_english(
    client, spanish_customer, rep, premise_a, case
):
    changes, spanish, english = BAD_INPUT[case]
    client.force_login(rep)

    page = _register(client, premise_a, changes)

    assert english in page
    assert spanish not in page


def test_a_spanish_customer_who_leaves_the_codes_out_is_asked_in_spanish(
    client, spanish_customer, premise_a
):
    client.force_login(spanish_customer)

    page = _register(client, premise_a, {"eui64": "", "install_code": ""})

    assert "Escriba el código de instalación o pegue el texto del código QR." in page
    assert "Escriba el EUI-64 del dispositivo o pegue el texto del código QR." in page
    assert "Enter the install code" not in page
