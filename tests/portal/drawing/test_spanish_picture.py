"""The HAN picture on a Spanish customer's run page speaks Spanish: labels, legend, caption and
the words a screen reader reads; staff see the same run's picture in English."""

import re

import pytest
from django.utils import translation

from portal.drawing.han_picture_model import HanPicture, PictureLink, PictureNode, gateway_node
from portal.drawing.han_picture_svg import han_picture_svg, picture_caption
from portal.models import Customer, User
from tests.portal.test_runs.runs import run_at

ENGLISH_LEGEND = (
    "Good link",
    "Fair link",
    "Poor link",
    "Bad link",
    "Quality unknown",
    "Other neighbour",
    "Unreachable",
    "Router",
    "End device",
    "Customer-owned",
)
SPANISH_LEGEND = (
    "Conexión buena",
    "Conexión regular",
    "Conexión débil",
    "Conexión muy débil",
    "Calidad desconocida",
    "Otra conexión de radio",
    "Sin respuesta",
    "Repetidor",
    "Dispositivo final",
    "Propiedad del cliente",
)


def _pictures(page: str) -> str:
    figures = re.findall(r'<figure class="han-picture".*?</figure>', page, flags=re.DOTALL)
    assert figures, "no HAN picture on the page"
    return "".join(figures)


def _words(svg: str) -> str:
    """What the drawing says (texts, titles, description), without its markup."""
    return " ".join(re.findall(r">([^<>]+)<", svg))


def _picture() -> HanPicture:
    return HanPicture(
        interface="han0",
        channel=15,
        nodes=(
            gateway_node("han0"),
            PictureNode("n1", "Thermostat", "Acme T1", "router", link_quality=230),
            PictureNode("n2", "In-home display", "", "end_device", reachable=False),
        ),
        links=(
            PictureLink("n1", "gw", 230, "parent"),
            PictureLink("n2", "n1", 60, "parent"),
        ),
    )


def test_the_drawing_speaks_the_active_language():
    with translation.override("es"):
        svg = han_picture_svg(_picture(), dom_id="p")
        caption = picture_caption(_picture())

    assert caption == "Red doméstica han0 · canal 15 · 2 dispositivos, 1 sin respuesta"
    assert '<title id="p-title">Mapa de la red doméstica en han0, canal 15</title>' in svg
    assert "Medidor y 2 dispositivos en han0, canal 15; 1 sin respuesta;" in svg
    assert (
        "Conexión entre Thermostat Acme T1 y el medidor: calidad de la conexión buena (230)" in svg
    )
    assert ">Medidor</text>" in svg and ">sin respuesta</tspan>" in svg
    for spanish in SPANISH_LEGEND:
        assert f">{spanish}</text>" in svg, spanish
    words = _words(svg)
    for english in (*ENGLISH_LEGEND, "Map of the HAN", "unreachable", "link quality", "Meter"):
        assert english not in words, english


def test_the_drawing_is_in_english_by_default():
    svg = han_picture_svg(_picture(), dom_id="p")

    assert picture_caption(_picture()) == "HAN han0 · channel 15 · 2 devices, 1 unreachable"
    assert "Map of the HAN on han0, channel 15" in svg
    for english in ENGLISH_LEGEND:
        assert f">{english}</text>" in svg, english


@pytest.fixture
def spanish_run(demo_world, no_enqueue):
    """A test Bernard, who reads Spanish, ran at his weak-link premise."""
    Customer.objects.filter(users__username="bernard").update(language=Customer.Language.SPANISH)
    return run_at("MTR-100002", username="bernard")


@pytest.mark.django_db
def test_a_spanish_customers_run_page_draws_the_han_in_spanish(client, spanish_run):
    client.force_login(User.objects.get(username="bernard"))

    pictures = _words(_pictures(client.get(f"/runs/{spanish_run.pk}/").content.decode()))

    assert "Red doméstica " in pictures and "Mapa de la red doméstica" in pictures
    assert "Pantalla de consumo en el hogar" in pictures
    for spanish in SPANISH_LEGEND:
        assert spanish in pictures, spanish
    for english in (*ENGLISH_LEGEND, "Map of the HAN", "devices", "unreachable", "link quality"):
        assert english not in pictures, english


@pytest.mark.django_db
def test_staff_see_a_spanish_customers_han_picture_in_english(client, spanish_run):
    client.force_login(User.objects.get(username="rep"))

    pictures = _pictures(client.get(f"/runs/{spanish_run.pk}/").content.decode())

    assert "Map of the HAN" in pictures
    for english in ENGLISH_LEGEND:
        assert english in pictures, english
    assert "Mapa de la red doméstica" not in pictures and "Conexión buena" not in pictures
