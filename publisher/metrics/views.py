"""The scrape endpoint, `GET /metrics`, for a scraper holding `METRICS_TOKEN`.

Without a token configured it answers 404, as if it did not exist (with DEBUG on, for
`make run`, it answers loopback requests without one). With one, a request without
`Authorization: Bearer <token>` gets 401 and a wrong token 403; nginx also refuses the
address to everyone but the addresses it allows (deploy/nginx-app.conf).
"""

import hmac
import os
from collections.abc import Iterable, Iterator
from functools import cache

import prometheus_client
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from publisher.metrics.broker import QueueDepthCollector

_LOOPBACK = {"127.0.0.1", "::1"}


def authorised(header: str | None) -> bool:
    """Whether an `Authorization` header carries the metrics token (never, without one)."""
    token = settings.METRICS_TOKEN
    if not token or not header:
        return False
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@cache
def app_collectors() -> tuple[Collector, ...]:
    """The collectors the apps name in METRICS_COLLECTORS (dotted paths of classes), so
    `publisher` reads their numbers without importing them."""
    return tuple(import_string(path)() for path in settings.METRICS_COLLECTORS)


class _Scrape:
    """What one scrape reports: the processes' counters, then the numbers read now."""

    def __init__(self, sources: Iterable[Collector]) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def process_metrics() -> Collector:
    """Every process's counters: added up from the multiprocess files when the processes
    write them (gunicorn, Celery's pool), else this one process's registry."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


def exposition(sources: Iterable[Collector]) -> bytes:
    return prometheus_client.generate_latest(_Scrape(sources))


@require_safe
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    header = request.headers.get("Authorization")
    if not settings.METRICS_TOKEN:
        if not (settings.DEBUG and request.META.get("REMOTE_ADDR") in _LOOPBACK):
            raise Http404
    elif not header:
        response = HttpResponse(
            "A bearer token is required.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    elif not authorised(header):
        return HttpResponse("Wrong token.\n", status=403, content_type="text/plain")
    body = exposition([process_metrics(), QueueDepthCollector(), *app_collectors()])
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
