"""The site's own address. Every absolute URL the site emits (feeds, the sitemap, sharing
tags, emails, links handed to Stripe) is built here from `SITE_URL`, never from the request:
the Host header is the client's to choose (any port of an allowed name passes
ALLOWED_HOSTS), and a page cached from one request is served to everyone after it."""

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme

# A path to send a reader back to is carried through forms and emails; longer than this it
# is not one of ours.
SITE_PATH_MAX_LENGTH = 500


def site_url(location: str = "/") -> str:
    """`location` (a path, or a URL naming any host) as an absolute URL on SITE_URL."""
    parts = urlsplit(location)
    path = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    return f"{settings.SITE_URL}{path}"


def site_scheme() -> str:
    return urlsplit(settings.SITE_URL).scheme


def site_domain() -> str:
    """SITE_URL without its scheme: the host, its port if any, and a path prefix if any."""
    return settings.SITE_URL.split("://", 1)[1]


def public_url(url: str) -> str:
    """A URL a storage handed out (media, static files): kept when it already names a host
    (a CDN, object storage), otherwise put on SITE_URL."""
    parts = urlsplit(url)
    if parts.netloc:
        return url if parts.scheme else f"{site_scheme()}:{url}"
    return site_url(url)


def site_path(value: str | None) -> str:
    """`value` when it is a path on this site (no scheme, no host, no control characters,
    nothing another site could answer), otherwise "". For links back to where a reader was."""
    if not value or len(value) > SITE_PATH_MAX_LENGTH or not value.isprintable():
        return ""
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return ""
    # With no allowed hosts, only a relative reference without a host passes.
    return value if url_has_allowed_host_and_scheme(value, allowed_hosts=None) else ""
