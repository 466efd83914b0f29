"""publisher/site.py: absolute URLs on SITE_URL, whatever the input named."""

import pytest

from publisher.site import public_url, site_domain, site_path, site_scheme, site_url


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://research.example"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/reports/x/", "https://research.example/reports/x/"),
        ("/search/?q=a#r", "https://research.example/search/?q=a#r"),
        ("", "https://research.example/"),
        ("http://research.example:31337/a/?b=1", "https://research.example/a/?b=1"),
        ("//elsewhere.example/reset/key/", "https://research.example/reset/key/"),
    ],
)
def test_site_url_puts_any_location_on_site_url(location, expected):
    assert site_url(location) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/media/covers/a.png", "https://research.example/media/covers/a.png"),
        ("https://cdn.example/covers/a.png", "https://cdn.example/covers/a.png"),
        ("//cdn.example/covers/a.png", "https://cdn.example/covers/a.png"),
    ],
)
def test_public_url_keeps_a_storage_host_and_roots_paths_on_site_url(url, expected):
    assert public_url(url) == expected


def test_scheme_and_domain_keep_a_port_and_a_path_prefix(settings):
    settings.SITE_URL = "http://127.0.0.1:8001/pub"

    assert (site_scheme(), site_domain()) == ("http", "127.0.0.1:8001/pub")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/reports/heat-pumps/", "/reports/heat-pumps/"),
        ("/search/?q=inverter#results", "/search/?q=inverter#results"),
        ("https://research.example/reports/x/", ""),  # even our own host: paths only
        ("https://evil.example/", ""),
        ("//evil.example/", ""),
        ("/\\evil.example/", ""),
        ("\\\\evil.example/", ""),
        ("javascript:alert(1)", ""),
        ("reports/x/", ""),
        ("/reports/x/\r\nLocation: https://evil.example/", ""),
        ("/" + "x" * 600, ""),
        ("", ""),
        (None, ""),
    ],
)
def test_site_path_keeps_only_paths_on_this_site(value, expected):
    assert site_path(value) == expected
