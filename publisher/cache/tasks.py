"""The CDN purge, off the request: retried with backoff while the CDN's trouble may pass."""

import logging
import random

from celery import shared_task
from celery.exceptions import Retry
from django.conf import settings

from publisher.cache.cdn import PurgeFailed, cdn_purge_keys

logger = logging.getLogger(__name__)

RETRY_BACKOFF_SECONDS = 5
RETRY_BACKOFF_MAX_SECONDS = 10 * 60


def purge_retry_countdown(*, retries: int, retry_after: float = 0) -> float:
    """Exponential backoff with jitter, never sooner than the CDN's own Retry-After."""
    step = min(RETRY_BACKOFF_MAX_SECONDS, RETRY_BACKOFF_SECONDS * 2**retries)
    return max(step / 2 + random.uniform(0, step / 2), retry_after)


@shared_task(bind=True, max_retries=None)
def purge_cdn_keys(self, keys: list[str]) -> int | Retry:
    """Purge these surrogate keys at the CDN; returns the number of API calls made."""
    try:
        return cdn_purge_keys(keys=keys)
    except PurgeFailed as failure:
        retries = self.request.retries
        if not failure.retry or retries >= settings.CDN_PURGE_MAX_RETRIES:
            # Pages under these keys now change only when their shared lifetime ends.
            logger.error(
                "CDN purge of %d key(s) given up after %d attempt(s): %s (keys: %s)",
                len(failure.remaining),
                retries + 1,
                failure,
                " ".join(failure.remaining),
            )
            return 0
        logger.warning("CDN purge failed, retrying (attempt %d): %s", retries + 1, failure)
        # Only what was not purged yet goes again.
        retry = self.retry(
            args=[failure.remaining],
            countdown=purge_retry_countdown(retries=retries, retry_after=failure.retry_after),
            throw=False,
        )
        if self.request.is_eager:
            # Eagerly (make run, the tests) Celery runs a returned retry again at once,
            # without the backoff; raised, it would escape to the caller instead.
            return retry
        raise retry from failure
