"""Purging the shared cache in front of Django (nginx's proxy cache).

nginx keys every cached page by the site's page-cache generation (the token
`page_cache_invalidate_all` bumps, publisher/cache/generations.py) followed by the request
URI. It learns the generation from a subrequest to `page_generation`
(publisher/cache/views.py), whose answer it caches like a page, so a page served from nginx's
cache costs gunicorn nothing. A change commits, bumps the generation, then purges nginx's one
copy of it: the next request asks for the new generation, and every page stored under the
old one is never served again, however many URLs (searches, query strings, feeds) it was
stored under. nginx's purge module (Debian's `libnginx-mod-http-cache-purge` 2.3) removes
exact keys only, which is why one key stands for all the pages.

PROXY_PURGE_URL names nginx's loopback purge servers (empty: no shared cache to purge, as in
`make run` and the unit tests). A purge that fails is logged and never fails the write: the
generation's own lifetime in nginx (PUBLIC_PAGE_MAX_AGE) still bounds what readers see.
"""

import http.client
import logging
import urllib.error
import urllib.request
from urllib.parse import quote

from django.conf import settings

logger = logging.getLogger(__name__)

# nginx's key for its copy of the generation (deploy/nginx-app.conf). A page's key is
# "/<generation>/<path>", and a generation is never empty, so the two never meet.
GENERATION_PROXY_KEY = "/_generation"
PURGE_TIMEOUT_SECONDS = 2.0


def proxy_page_key(*, generation: str, path: str) -> str:
    """nginx's cache key of a page: `proxy_cache_key /$generation$request_uri`."""
    return f"/{generation}{path}"


def proxy_purge(*, keys: list[str]) -> None:
    """Remove these keys from every configured proxy cache; log, never raise, on failure."""
    for base in settings.PROXY_PURGE_URL:
        for key in keys:
            _purge_one(base, key)


def _purge_one(base: str, key: str) -> None:
    # `base` is http or https: settings checked PROXY_PURGE_URL's scheme.
    request = urllib.request.Request(base.rstrip("/") + quote(key), method="PURGE")  # noqa: S310
    try:
        # Only the status matters; an error status raises HTTPError below.
        urllib.request.urlopen(request, timeout=PURGE_TIMEOUT_SECONDS).close()  # noqa: S310
    except urllib.error.HTTPError as error:
        # 404: nginx held no copy of that key, which is as good as purged.
        if error.code != 404:
            logger.warning("Proxy purge of %s at %s answered %s", key, base, error.code)
    except (OSError, ValueError, http.client.HTTPException):
        logger.warning("Proxy purge of %s at %s failed", key, base, exc_info=True)
