"""Security headers: a CSP with a fresh nonce on every HTML page, and, under the production
settings read from a production-like environment, HSTS, secure cookies, nosniff, referrer
and opener policies, frame protection and the HTTPS redirect."""

import json
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.publisher.test_settings import PRODUCTION_ENV, _run_django
from tests.support.factories import PASSWORD, ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

SECURITY_SETTINGS = [
    "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY", "SECURE_CROSS_ORIGIN_OPENER_POLICY", "X_FRAME_OPTIONS",
    "ALLAUTH_TRUSTED_PROXY_COUNT",
]  # fmt: skip
HTML_PAGES = ["/", "/reports/open-report/", "/search/?q=inverter", "/subscribe/",
              "/accounts/login/", "/accounts/signup/", "/topics/nope/"]  # fmt: skip


@pytest.fixture(scope="module")
def production_settings() -> dict[str, object]:
    script = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {SECURITY_SETTINGS!r}}}))"
    )
    result = _run_django(PRODUCTION_ENV, "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def under_production_settings(settings, production_settings):
    for name, value in production_settings.items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    return settings


def test_production_settings_turn_every_protection_on(production_settings):
    assert production_settings == production_settings | {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "strict-origin-when-cross-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "ALLAUTH_TRUSTED_PROXY_COUNT": 1,
    }


def test_trusted_proxy_count_comes_from_the_environment():
    script = "from django.conf import settings as s; print(s.ALLAUTH_TRUSTED_PROXY_COUNT)"
    two = _run_django({**PRODUCTION_ENV, "ALLAUTH_TRUSTED_PROXY_COUNT": "2"}, "shell", "-c", script)
    bad = _run_django({**PRODUCTION_ENV, "ALLAUTH_TRUSTED_PROXY_COUNT": "-1"}, "check")

    assert two.stdout.strip().splitlines()[-1] == "2"
    assert bad.returncode != 0 and "at least 0" in bad.stderr


def _https_get(client: Client, path: str):
    return client.get(path, secure=True, HTTP_X_FORWARDED_PROTO="https")


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_carry_the_production_headers(under_production_settings, path):
    ReportFactory(slug="open-report", is_free=True)

    response = _https_get(Client(), path)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_plain_http_is_sent_to_https(under_production_settings):
    response = Client().get("/subscribe/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/subscribe/"


def test_session_and_csrf_cookies_are_secure_and_the_session_cookie_is_http_only(
    under_production_settings,
):
    user = UserFactory(email="cookie@example.com")
    client = Client()
    _https_get(client, "/accounts/login/")
    csrf = client.cookies[django_settings.CSRF_COOKIE_NAME]
    client.post(
        "/accounts/login/", {"login": user.email, "password": PASSWORD},
        secure=True, HTTP_X_FORWARDED_PROTO="https",
    )  # fmt: skip
    session = client.cookies[django_settings.SESSION_COOKIE_NAME]

    assert csrf["secure"] and session["secure"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"


@pytest.mark.parametrize("path", HTML_PAGES)
def test_every_inline_script_carries_this_responses_csp_nonce(client, path):
    """Django adds the nonce to the header only when the page used it, so a page without
    inline scripts gets the stricter `script-src 'self'` alone."""
    ReportFactory(slug="open-report", is_free=True)

    first, second = client.get(path), client.get(path)

    policy = first["Content-Security-Policy"]
    assert re.search(r"script-src 'self'( 'nonce-[^']+')?;", policy)
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "object-src 'none'" in policy and "base-uri 'self'" in policy
    inline = [
        tag
        for tag in re.findall(r"<script\b[^>]*>", first.content.decode())
        if "src=" not in tag and "application/ld+json" not in tag  # data blocks never run
    ]
    if inline:
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        assert all(f'nonce="{nonce}"' in tag for tag in inline), inline
        assert nonce not in second["Content-Security-Policy"]  # fresh for every response


def test_the_report_pages_structured_data_is_a_data_block_without_a_nonce(client):
    """Publicly cached HTML must not carry a nonce; JSON-LD is never executed, so CSP
    does not need one for it."""
    ReportFactory(slug="open-report", is_free=True)

    html = client.get("/reports/open-report/").content.decode()

    assert '<script type="application/ld+json">' in html
    assert "nonce=" not in html.split('<script type="application/ld+json">')[0][-200:]


def test_no_inline_event_handlers_or_inline_styles_in_pages(client):
    """The policy allows neither, so a page that used them would silently break."""
    ReportFactory(slug="open-report", is_free=True)

    for path in HTML_PAGES:
        html = client.get(path).content.decode()
        assert not re.search(r"\son[a-z]+=", html), path
        assert not re.search(r"<style\b|\sstyle=", html), path
