"""Cross-reader leaks through Django's cache: a subscriber requests every page first, so
whatever can be cached is cached with paid text in it, then anonymous and free readers
request the same pages through the same cache. (The nginx cache in front of the site has
its own test with the deployment.)"""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from tests.hardening.conftest import COMMENT_FRAGMENTS, PAID_FRAGMENTS, leaked
from tests.hardening.test_canary_sweep import _sweep_paths
from tests.support.figures import record

UPDATE = "django.middleware.cache.UpdateCacheMiddleware"
FETCH = "django.middleware.cache.FetchFromCacheMiddleware"


@pytest.fixture
def site_cache(settings):
    """Django's whole-site cache, unless the middleware already has it."""
    middleware = list(settings.MIDDLEWARE)
    if UPDATE not in middleware:
        middleware = [UPDATE, *middleware, FETCH]
    settings.MIDDLEWARE = middleware
    settings.CACHE_MIDDLEWARE_SECONDS = 600
    cache.clear()
    yield cache
    cache.clear()


def _cached_pages() -> int:
    return sum(1 for key in cache._cache if "views.decorators.cache.cache_page" in key)


@pytest.mark.parametrize("second", ["anonymous", "free_reader"])
def test_subscriber_then_other_reader_through_the_cache_leaks_nothing(
    world, site_cache, client_for, subscriber, request, second
):
    first = client_for(subscriber)
    other = client_for(request.getfixturevalue(second))
    # The favicon is the same bytes for everyone, so it is public whoever asks
    # (publisher/favicon.py); every other response to a logged-in reader must stay private.
    paths = [
        path for name, path in _sweep_paths(world) if "logout" not in name and name != "favicon_ico"
    ]

    for path in paths:
        first.get(path)
    problems = []
    for path in paths:
        text = other.get(path).content.decode(errors="replace")
        problems += [f"{path}: {f!r}" for f in leaked(PAID_FRAGMENTS + COMMENT_FRAGMENTS, text)]

    assert not problems, "\n".join(problems)
    if second == "anonymous":
        # The cache was really in play: public pages were stored and served again.
        assert _cached_pages() > 10
    else:
        # Responses for logged-in readers are private: nothing of theirs was stored.
        assert _cached_pages() == 0
    record(f"cache cross-reader: {len(paths)} paths, subscriber then {second}")


def test_anonymous_first_does_not_hide_the_body_from_a_subscriber(world, site_cache, client_for,
                                                                   subscriber):  # fmt: skip
    Client().get(world.paid.get_absolute_url())

    page = client_for(subscriber).get(world.paid.get_absolute_url()).content.decode()

    assert PAID_FRAGMENTS[0] in page
    assert settings.MIDDLEWARE[0] == UPDATE
