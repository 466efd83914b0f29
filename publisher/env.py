"""Typed readers for environment variables.

Each helper refuses values it cannot interpret instead of guessing: `DJANGO_DEBUG=yes`
is a configuration error, not a truthy string.
"""

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

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


def env_float(name: str, default: float, *, minimum: float, maximum: float) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if not minimum <= number <= maximum:
        raise ImproperlyConfigured(f"{name}={number} must be from {minimum} to {maximum}.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int_list(
    name: str, default: list[int], *, minimum: int | None = None, maximum: int | None = None
) -> list[int]:
    """Comma-separated whole numbers, each within the bounds; `default` when unset."""
    if _raw(name) is None:
        return list(default)
    numbers = []
    for item in env_list(name):
        if not item.isdigit():
            raise ImproperlyConfigured(f"{name}: {item!r} is not a whole number.")
        number = int(item)
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise ImproperlyConfigured(f"{name}: {number} must be from {minimum} to {maximum}.")
        numbers.append(number)
    if not numbers:
        raise ImproperlyConfigured(f"{name} is set but names no number.")
    return numbers


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
    if parts.scheme in _PROVIDERS:
        return _provider_mailer(name, value)
    if parts.scheme not in {"smtp", "smtps"}:
        schemes = ", ".join(f"{scheme}://" for scheme in ["smtp", "smtps", *_PROVIDERS, *simple])
        raise ImproperlyConfigured(f"{name} must start with one of {schemes}.")
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


@dataclass(frozen=True)
class _Provider:
    backend: str
    credential: str  # the Anymail option the URL's user part fills
    options: tuple[str, ...]  # query parameters accepted besides `api_url`


_PROVIDERS = {
    "postmark": _Provider("publisher.mail.providers.PostmarkBackend", "server_token", ()),
    "mailgun": _Provider("publisher.mail.providers.MailgunBackend", "api_key", ("sender_domain",)),
    "resend": _Provider("publisher.mail.providers.ResendBackend", "api_key", ()),
    "ses": _Provider(
        "publisher.mail.providers.AmazonSESBackend",
        "aws_access_key_id",
        ("region", "endpoint_url", "configuration_set"),
    ),
}


def _provider_mailer(name: str, value: str) -> dict[str, object]:
    """postmark://TOKEN@, mailgun://KEY@, resend://KEY@, ses://KEY_ID:SECRET@ (the user part
    may be left out for ANYMAIL_<PROVIDER>_<OPTION> variables, or for SES boto3's own
    credentials), with ?api_url=… (or ANYMAIL_<PROVIDER>_API_URL) to reach another endpoint.
    """
    parts = urlsplit(value)
    scheme = parts.scheme
    provider = _PROVIDERS[scheme]
    if parts.hostname or parts.path not in {"", "/"}:
        raise ImproperlyConfigured(
            f"{name} takes no host or path for {scheme}:// (the credential goes before"
            f" the @, e.g. {scheme}://CREDENTIAL@; another endpoint goes in ?api_url=)."
        )
    query: dict[str, str] = {}
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        allowed = {"api_url", *provider.options} if scheme != "ses" else set(provider.options)
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise ImproperlyConfigured(
                f"{name} has an unknown option {key!r} for {scheme}:// (known: {known})."
            )
        query[key] = values[-1]
    prefix = f"ANYMAIL_{'AMAZON_SES' if scheme == 'ses' else scheme.upper()}_"
    credential = unquote(parts.username or "") or env_str(prefix + provider.credential.upper())
    if scheme == "ses":
        return {
            "BACKEND": provider.backend,
            "OPTIONS": _ses_options(name, parts, query, credential),
        }
    if not credential:
        raise ImproperlyConfigured(
            f"{name} has no {provider.credential} for {scheme}: put it before the @"
            f" ({scheme}://CREDENTIAL@) or set {prefix}{provider.credential.upper()}."
        )
    options: dict[str, object] = {provider.credential: credential}
    api_url = query.pop("api_url", "") or env_str(prefix + "API_URL")
    if api_url:
        options["api_url"] = _checked_url(f"{name}'s api_url", api_url, {"http", "https"})
    options.update(query)
    return {"BACKEND": provider.backend, "OPTIONS": options}


def _ses_options(
    name: str, parts: SplitResult, query: dict[str, str], key_id: str
) -> dict[str, object]:
    secret = unquote(parts.password or "") or env_str("ANYMAIL_AMAZON_SES_AWS_SECRET_ACCESS_KEY")
    if bool(key_id) != bool(secret):
        raise ImproperlyConfigured(
            f"{name} needs both an access key id and its secret (ses://KEY_ID:SECRET@),"
            " or neither (boto3 then finds credentials itself)."
        )
    region = query.get("region") or env_str("AWS_REGION") or env_str("AWS_DEFAULT_REGION")
    if not region:
        raise ImproperlyConfigured(f"{name} has no region for ses:// (add ?region=eu-west-1).")
    session: dict[str, str] = {"region_name": region}
    if key_id:
        session |= {"aws_access_key_id": key_id, "aws_secret_access_key": secret}
    client: dict[str, str] = {}
    endpoint = query.get("endpoint_url") or env_str("ANYMAIL_AMAZON_SES_ENDPOINT_URL")
    if endpoint:
        client["endpoint_url"] = _checked_url(f"{name}'s endpoint_url", endpoint, {"http", "https"})
    options: dict[str, object] = {"session_params": session, "client_params": client}
    if query.get("configuration_set"):
        options["configuration_set_name"] = query["configuration_set"]
    return options


@dataclass(frozen=True)
class MediaStorage:
    """Where uploaded pictures go: the `STORAGES["default"]` entry, and the origin pages
    load them from when that is not the site's own (for the CSP's img-src)."""

    storage: dict[str, Any]
    origin: str = ""


LOCAL_MEDIA = MediaStorage({"BACKEND": "publisher.storage.backends.MediaFileSystemStorage"})
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_MEDIA_OPTIONS = {"region", "endpoint_url", "custom_domain", "addressing_style"}


def media_storage_from_url(name: str) -> MediaStorage:
    """The media storage `name` describes, or the local disk when it is unset.

    s3://BUCKET[/PREFIX]?region=…[&endpoint_url=…][&custom_domain=…][&addressing_style=…]:
    any S3-compatible store (AWS's own without `endpoint_url`), its objects public at the
    bucket's address or at `custom_domain` (a CDN's host, or its `https://…` URL). Keys never
    go in the URL (it gets logged and shown): they come from AWS_S3_ACCESS_KEY_ID and
    AWS_S3_SECRET_ACCESS_KEY, else from boto3's own chain (AWS_ACCESS_KEY_ID, a role)."""
    value = _raw(name)
    return LOCAL_MEDIA if value is None else media_storage_parse(name, value)


def media_storage_parse(name: str, value: str) -> MediaStorage:
    parts = urlsplit(value)
    if parts.scheme != "s3":
        raise ImproperlyConfigured(
            f"{name} must start with s3:// (got {parts.scheme or 'no scheme'!r}); leave it "
            "unset to keep media on the local disk (MEDIA_ROOT)."
        )
    if "@" in parts.netloc:
        # The value is not repeated: it holds a secret.
        raise ImproperlyConfigured(
            f"{name} must not carry keys (s3://KEY:SECRET@…): set AWS_S3_ACCESS_KEY_ID and "
            "AWS_S3_SECRET_ACCESS_KEY instead, or leave them to boto3 (AWS_ACCESS_KEY_ID, a role)."
        )
    bucket = parts.netloc
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ImproperlyConfigured(
            f"{name} names no valid bucket ({bucket!r}): s3://BUCKET, 3 to 63 lowercase "
            "letters, digits, dots and hyphens."
        )
    location = parts.path.strip("/")
    if any(part in {"", ".", ".."} for part in location.split("/")) and location:
        raise ImproperlyConfigured(f"{name} has an invalid key prefix ({location!r}).")
    query: dict[str, str] = {}
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        if key not in _MEDIA_OPTIONS:
            known = ", ".join(sorted(_MEDIA_OPTIONS))
            raise ImproperlyConfigured(f"{name} has an unknown option {key!r} (known: {known}).")
        query[key] = values[-1].strip()
    region = query.get("region") or env_str("AWS_REGION") or env_str("AWS_DEFAULT_REGION")
    if not region:
        raise ImproperlyConfigured(
            f"{name} has no region: add ?region=… (eu-west-1 on AWS, auto on Cloudflare R2, "
            "us-east-1 where the store ignores it)."
        )
    options: dict[str, object] = {
        "bucket_name": bucket,
        "region_name": region,
        "location": location,
        # Public pictures: plain URLs, the same on every page, never a signature in them.
        "querystring_auth": False,
        # Never overwrite: an object's URL always shows the same bytes (publisher/storage).
        "file_overwrite": False,
        "default_acl": None,
    }
    endpoint = query.get("endpoint_url", "")
    if endpoint:
        _checked_url(f"{name}'s endpoint_url", endpoint, {"http", "https"})
        endpoint_parts = urlsplit(endpoint)
        if endpoint_parts.path not in {"", "/"} or endpoint_parts.query:
            raise ImproperlyConfigured(f"{name}'s endpoint_url takes no path or query.")
        endpoint = f"{endpoint_parts.scheme}://{endpoint_parts.netloc}"
    style = query.get("addressing_style") or ("path" if endpoint else "virtual")
    if style not in {"path", "virtual"}:
        raise ImproperlyConfigured(f"{name}'s addressing_style must be path or virtual.")
    if not endpoint:
        endpoint = f"https://s3.{region}.amazonaws.com"
    options |= {"endpoint_url": endpoint, "addressing_style": style}
    endpoint_parts = urlsplit(endpoint)
    if style == "virtual":
        if "." in bucket and endpoint_parts.scheme == "https":
            raise ImproperlyConfigured(
                f"{name}: a bucket name with dots cannot be a host name under TLS; use "
                "addressing_style=path or a custom_domain."
            )
        origin = f"{endpoint_parts.scheme}://{bucket}.{endpoint_parts.netloc}"
    else:
        origin = f"{endpoint_parts.scheme}://{endpoint_parts.netloc}"
    domain = query.get("custom_domain", "")
    if domain:
        domain_url = domain if "://" in domain else f"https://{domain}"
        _checked_url(f"{name}'s custom_domain", domain_url, {"http", "https"})
        domain_parts = urlsplit(domain_url)
        if domain_parts.query or domain_parts.fragment:
            raise ImproperlyConfigured(f"{name}'s custom_domain takes no query.")
        options |= {
            "custom_domain": domain_parts.netloc + domain_parts.path.rstrip("/"),
            "url_protocol": f"{domain_parts.scheme}:",
        }
        origin = f"{domain_parts.scheme}://{domain_parts.netloc}"
    key_id, secret = env_str("AWS_S3_ACCESS_KEY_ID"), env_str("AWS_S3_SECRET_ACCESS_KEY")
    if bool(key_id) != bool(secret):
        raise ImproperlyConfigured(
            "AWS_S3_ACCESS_KEY_ID and AWS_S3_SECRET_ACCESS_KEY go together: set both, or "
            "neither (boto3 then finds credentials itself)."
        )
    # The keys stay in the environment, where django-storages reads them: never in settings,
    # which `diffsettings` and error reports show.
    return MediaStorage(
        {"BACKEND": "publisher.storage.backends.MediaS3Storage", "OPTIONS": options}, origin
    )


@dataclass(frozen=True)
class CdnPurge:
    """Where purges of the CDN in front go (publisher/cache/cdn.py)."""

    provider: str  # "fastly" or "cloudflare"
    target: str  # Fastly's service id, Cloudflare's zone id
    token: str
    soft: bool  # Fastly's soft purge: marks pages stale instead of removing them


_CDN_TOKENS = {"fastly": "FASTLY_API_TOKEN", "cloudflare": "CLOUDFLARE_API_TOKEN"}
_CDN_TARGETS = {
    "fastly": ("service id", "SU1Z0isxPaozGVKXdv0eY"),
    "cloudflare": ("zone id", "023e105f4ecef8ad9ca31a8372d0c353"),
}


def cdn_purge_from_url(name: str) -> CdnPurge | None:
    """`fastly://SERVICE_ID` (with `?soft=true` for soft purges) or `cloudflare://ZONE_ID`,
    the API token in FASTLY_API_TOKEN or CLOUDFLARE_API_TOKEN; None when unset."""
    value = _raw(name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in _CDN_TOKENS:
        raise ImproperlyConfigured(
            f"{name} must start with fastly:// or cloudflare:// "
            f"(got {parts.scheme or 'no scheme'!r})."
        )
    # The netloc, not `hostname`: that would lower-case Fastly's mixed-case service ids.
    target = parts.netloc
    what, example = _CDN_TARGETS[parts.scheme]
    if not target.isalnum() or parts.path not in {"", "/"}:
        raise ImproperlyConfigured(
            f"{name} names the {what} after {parts.scheme}:// (letters and digits only, "
            f"e.g. {parts.scheme}://{example})."
        )
    options = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
    allowed = {"soft"} if parts.scheme == "fastly" else set()
    unknown = set(options) - allowed
    if unknown:
        raise ImproperlyConfigured(
            f"{name} has an unknown option {sorted(unknown)[0]!r} for {parts.scheme}://"
            + (" (known: soft)." if allowed else " (it takes none).")
        )
    soft = options.get("soft", "false")
    if soft not in _TRUE | _FALSE:
        raise ImproperlyConfigured(f"{name}: soft={soft!r} is not a boolean (true or false).")
    token_name = _CDN_TOKENS[parts.scheme]
    token = env_str(token_name)
    if not token:
        raise ImproperlyConfigured(f"{name} purges through {parts.scheme}: set {token_name} too.")
    return CdnPurge(provider=parts.scheme, target=target, token=token, soft=soft in _TRUE)
