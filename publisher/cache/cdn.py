"""Surrogate keys: what a public page names, and purging them at the CDN in front.

A public page (publisher/cache/pages.py) carries the keys of what it shows in two headers,
`Surrogate-Key` (Fastly, space-separated) and `Cache-Tag` (Cloudflare, comma-separated).
A change names the keys it affects and, once it has committed, a Celery task asks the CDN
to purge them (`cdn_purge_keys`; publisher/cache/tasks.py retries it). Which keys exist is
the apps' business (reports/surrogate_keys.py); `PAGES_KEY` is on every public page, for
changes that touch them all.

CDN_PURGE (from CDN_PURGE_URL) chooses the backend: Fastly's purge by surrogate key, up to
256 keys a call, or Cloudflare's purge by cache tag, up to 30 tags a call. Without one
nothing is purged and pages keep the short shared lifetime they always had.
"""

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

import requests
from django.conf import settings
from django.http import HttpRequest

from publisher.env import CdnPurge

logger = logging.getLogger(__name__)

PAGES_KEY = "pages"

# Both CDNs take far longer keys and headers (16 KB each); ours stay small by design (a
# listing names its listing, never each report on it), and a page naming more than this
# many is treated as unbounded: it keeps only PAGES_KEY and the browsers' short lifetime.
MAX_KEYS_PER_PAGE = 64
# Letters, digits and dashes: no space (Fastly's separator), no comma (Cloudflare's), and
# lower case, as Cloudflare compares tags case-insensitively.
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")

_REQUEST_KEYS = "publisher.surrogate_keys"
TIMEOUT_SECONDS = (3.05, 10)


def surrogate_keys_add(request: HttpRequest, keys: Iterable[str]) -> None:
    """Name what this request's page shows (used only if the response is public)."""
    found = request.META.setdefault(_REQUEST_KEYS, [])
    for key in keys:
        if not KEY_PATTERN.fullmatch(key):
            raise ValueError(f"Not a surrogate key: {key!r}")
        if key not in found:
            found.append(key)


def surrogate_keys_for(request: HttpRequest) -> list[str] | None:
    """Every key the page names, PAGES_KEY first; None when there are too many to list."""
    keys = [PAGES_KEY, *(k for k in request.META.get(_REQUEST_KEYS, []) if k != PAGES_KEY)]
    if len(keys) > MAX_KEYS_PER_PAGE:
        logger.warning("%s names %d surrogate keys; sharing it briefly", request.path, len(keys))
        return None
    return keys


def cdn_purge_configured() -> bool:
    return settings.CDN_PURGE is not None


class PurgeFailed(Exception):
    """The CDN did not purge `remaining` (the keys of this batch and every later one)."""

    def __init__(
        self, message: str, *, remaining: list[str], retry: bool, retry_after: float = 0
    ) -> None:
        super().__init__(message)
        self.remaining = remaining
        self.retry = retry
        self.retry_after = retry_after


@dataclass
class _Answer:
    status: int
    retry_after: float = 0
    detail: str = ""
    ok: bool = False


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:
        return 0.0


def _fastly(purge: CdnPurge, keys: list[str]) -> _Answer:
    headers = {
        "Fastly-Key": purge.token,
        "Surrogate-Key": " ".join(keys),
        "Accept": "application/json",
    }
    if purge.soft:
        headers["Fastly-Soft-Purge"] = "1"
    base = settings.FASTLY_API_BASE.rstrip("/")
    response = requests.post(
        f"{base}/service/{purge.target}/purge", headers=headers, timeout=TIMEOUT_SECONDS
    )
    if response.status_code == 200:
        return _Answer(200, ok=True)
    try:
        detail = str(response.json().get("msg", ""))
    except ValueError:
        detail = response.text[:200]
    return _Answer(response.status_code, retry_after=_retry_after(response), detail=detail)


def _cloudflare(purge: CdnPurge, keys: list[str]) -> _Answer:
    base = settings.CLOUDFLARE_API_BASE.rstrip("/")
    response = requests.post(
        f"{base}/zones/{purge.target}/purge_cache",
        json={"tags": keys},
        headers={"Authorization": f"Bearer {purge.token}"},
        timeout=TIMEOUT_SECONDS,
    )
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code == 200 and answer.get("success") is True:
        return _Answer(200, ok=True)
    errors = answer.get("errors") or []
    detail = "; ".join(
        f"{error.get('code')}: {error.get('message')}"
        for error in errors
        if isinstance(error, dict)
    )
    return _Answer(
        response.status_code,
        retry_after=_retry_after(response),
        detail=detail or response.text[:200],
    )


_BACKENDS = {"fastly": (_fastly, 256), "cloudflare": (_cloudflare, 30)}


def cdn_purge_keys(*, keys: Iterable[str]) -> int:
    """Purge these keys at the configured CDN, in as few calls as its limit allows; returns
    the number of calls. Raises PurgeFailed with the keys not purged yet."""
    purge = settings.CDN_PURGE
    if purge is None:
        return 0
    send, batch_size = _BACKENDS[purge.provider]
    pending = sorted(set(keys))
    calls = 0
    while pending:
        batch = pending[:batch_size]
        try:
            answer = send(purge, batch)
        except requests.RequestException as error:
            raise PurgeFailed(
                f"{purge.provider} could not be reached: {error}", remaining=pending, retry=True
            ) from error
        calls += 1
        if not answer.ok:
            # 429 and 5xx pass; a refused token (401, 403) or a refused request stays refused.
            passing = answer.status == 429 or answer.status >= 500
            raise PurgeFailed(
                f"{purge.provider} answered {answer.status} ({answer.detail or 'no detail'})",
                remaining=pending,
                retry=passing,
                retry_after=answer.retry_after,
            )
        pending = pending[batch_size:]
    return calls
