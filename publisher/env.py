"""Typed readers for environment variables.

Each helper refuses values it cannot interpret instead of guessing: `DJANGO_DEBUG=yes`
is a configuration error, not a truthy string.
"""

import os
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "on"}
_FALSE = {"false", "0", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: use one of true/false, 1/0, on/off."
    )


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} must be at most {maximum}.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str = "", *, schemes: set[str]) -> str:
    """A URL whose scheme is one of `schemes` (and which has a host when it needs one)."""
    value = _raw(name)
    if value is None:
        return default
    return _checked_url(name, value, schemes)


def env_url_list(name: str, *, schemes: set[str]) -> list[str]:
    """Comma-separated URLs, each as `env_url` checks it; none when unset."""
    return [_checked_url(name, url, schemes) for url in env_list(name)]


def _checked_url(name: str, value: str, schemes: set[str]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperlyConfigured(
            f"{name} must start with one of {allowed}:// (got {parts.scheme or 'no scheme'!r})."
        )
    if parts.scheme in {"http", "https", "redis", "rediss", "postgres", "postgresql"} and (
        not parts.hostname
    ):
        raise ImproperlyConfigured(f"{name}={value!r} has no host name.")
    return value


def mailer_from_url(name: str, default: str) -> dict[str, object]:
    """A `MAILERS` entry from an `EMAIL_URL`-style value.

    smtp://user:password@host:587 uses STARTTLS on port 587 (or with ?tls=true),
    smtps://host:465 implicit TLS; console://, locmem:// and dummy:// select those backends.
    """
    value = _raw(name) or default
    parts = urlsplit(value)
    simple = {
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "dummy": "django.core.mail.backends.dummy.EmailBackend",
    }
    if parts.scheme in simple:
        return {"BACKEND": simple[parts.scheme]}
    if parts.scheme not in {"smtp", "smtps"}:
        raise ImproperlyConfigured(
            f"{name} must start with smtp://, smtps://, console://, locmem:// or dummy://."
        )
    if not parts.hostname:
        raise ImproperlyConfigured(f"{name} has no host name.")
    query = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port.") from None
    use_tls = query.get("tls") in _TRUE or (parts.scheme == "smtp" and port == 587)
    return {
        # Django's SMTP backend with a short path for bulk notifications (publisher/mail/smtp.py).
        "BACKEND": "publisher.mail.smtp.EmailBackend",
        "OPTIONS": {
            "host": parts.hostname,
            "port": port,
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_tls": use_tls,
            "use_ssl": parts.scheme == "smtps",
            "timeout": 20,
        },
    }
