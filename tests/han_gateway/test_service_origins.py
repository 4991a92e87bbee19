"""The allowed gateway service origins: where a gateway's secret may be sent."""

import pytest

from han_gateway.service_origins import parse_origin, parse_origins, service_url_problem

ORIGINS = parse_origins(["https://ami-north.example", "http://127.0.0.1:*"])


@pytest.mark.parametrize(
    "url",
    [
        "https://ami-north.example/han/",
        "https://AMI-NORTH.example:443",
        "http://127.0.0.1:8470",
        "http://127.0.0.1:1/",
    ],
)
def test_urls_at_an_allowed_origin_pass(url):
    assert service_url_problem(url, ORIGINS, require_https=False) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://attacker.example/han/", "not at an allowed gateway service origin"),
        ("https://ami-north.example:8443/", "not at an allowed gateway service origin"),
        ("https://ami-north.example.attacker.example/", "not at an allowed"),
        ("http://ami-north.example/", "not at an allowed"),  # the scheme is part of the origin
        ("https://169.254.169.254/latest/meta-data", "not at an allowed"),
        ("https://user:pw@ami-north.example/", "user name or password"),
        ("file:///etc/passwd", "must start with https://"),
        ("gopher://ami-north.example/", "must start with https://"),
        ("https://ami-north.example:99999/", "not a valid URL"),
    ],
)
def test_urls_elsewhere_are_refused_with_the_reason(url, words):
    assert words in (service_url_problem(url, ORIGINS, require_https=False) or "")


def test_production_refuses_plain_http_even_at_an_allowed_origin():
    problem = service_url_problem("http://127.0.0.1:8470", ORIGINS, require_https=True)
    assert problem is not None and "https://" in problem
    assert service_url_problem("https://ami-north.example", ORIGINS, require_https=True) is None


def test_no_configured_origin_refuses_everything():
    problem = service_url_problem("https://ami-north.example", (), require_https=True)
    assert problem is not None and "none are configured" in problem


@pytest.mark.parametrize(
    "text", ["ami.example", "https://", "https://ami.example/han/", "https://ami.example:x"]
)
def test_a_bad_origin_setting_is_refused_naming_it(text):
    with pytest.raises(ValueError, match=r"ami\.example|https://"):
        parse_origin(text)
