"""CSRF protection for forms on pages that are cached for every anonymous reader.

A CSRF token rendered into a publicly cached page would be one reader's token served to
everyone, and Django sets the CSRF cookie whenever a token is rendered, which makes the page
uncacheable. The token defends a victim whose browser sends credentials with a forged
request; a request without a session cookie has none to abuse. So for such requests these
forms do without the token and instead refuse anything a browser says came from another
site (browsers send Origin with every cross-origin POST, and Sec-Fetch-Site). Requests that
carry a session cookie get Django's full CSRF check, and the form includes the token for them
(`{% if request.session.session_key %}{% csrf_token %}{% endif %}`).
"""

import secrets
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, REASON_BAD_ORIGIN
from django.views.csrf import csrf_failure
from django.views.decorators.csrf import csrf_exempt, csrf_protect

_CROSS_SITE = {"cross-site", "same-site"}


def _from_this_site(request: HttpRequest) -> bool:
    if request.headers.get("Sec-Fetch-Site", "").lower() in _CROSS_SITE:
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not sent by a browser posting across sites
    trusted = {f"{request.scheme}://{request.get_host()}", *settings.CSRF_TRUSTED_ORIGINS}
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" in trusted


def csrf_token_only_with_session(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Full CSRF checks for requests with a session cookie; same-site checks without one."""
    protected = csrf_protect(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if settings.SESSION_COOKIE_NAME in request.COOKIES or request.method in {"GET", "HEAD"}:
            return protected(request, *args, **kwargs)
        if not _from_this_site(request):
            origin = request.headers.get("Origin", "another site")
            return csrf_failure(request, reason=REASON_BAD_ORIGIN % origin)
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapper)


_CHARS = CSRF_ALLOWED_CHARS
_INDEX = {char: index for index, char in enumerate(_CHARS)}
# Bytes at or above this would favour the first characters: drawn again.
_UNBIASED = 256 - 256 % len(_CHARS)


def csrf_token_for_secret(secret: str) -> str:
    """A form token for the CSRF cookie's `secret`, as `django.middleware.csrf.get_token`
    makes one (a fresh random mask, then the secret shifted by it, which
    CsrfViewMiddleware reverses): for answers given without Django's request handling
    (reports/entitled_page.py), which have no request to give it. The mask comes from one
    call for random bytes rather than one per character, which was a tenth of such an
    answer's time; tests/publisher/test_csrf_tokens.py checks Django accepts it."""
    mask: list[int] = []
    while len(mask) < CSRF_SECRET_LENGTH:
        mask += [byte % len(_CHARS) for byte in secrets.token_bytes(48) if byte < _UNBIASED]
    mask = mask[:CSRF_SECRET_LENGTH]
    cipher = (
        _CHARS[(_INDEX[char] + shift) % len(_CHARS)]
        for char, shift in zip(secret, mask, strict=True)
    )
    return "".join(_CHARS[shift] for shift in mask) + "".join(cipher)
