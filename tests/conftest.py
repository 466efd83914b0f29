"""Personas shared by the whole suite: anonymous, free_reader, subscriber, lapsed_subscriber,
editor. Each persona is a user (or AnonymousUser) and `client_for` logs one in.

A frozen clock: `pytest --frozen-clock=2026-12-31T23:30:00-05:00` starts every test with
time-machine travelled to that instant (an ISO 8601 time with an offset, `Z`, or a zone in
brackets: `2026-11-01T01:30:00[America/New_York]`), ticking on from there so timeouts and
deadlines still work. A test that assumes today's date, a month's length, or that the UTC
date is the site's date (TIME_ZONE, America/New_York) fails at the right instant. Celery
workers and manage.py commands the integration tests start get the same clock
(tests/support/clock.py).
The live server of the browser tests runs in this process, on this clock; Chromium keeps the
wall clock (session cookies carry a relative Max-Age, so logins hold at any instant).
`make test-clock` runs the suite, less the slow and integration tests, at the end of a month
and a year late in the evening in the site's zone (already the next day in UTC), and just
before each of the two daylight-saving changes; `make test-clock CLOCKS="..."` picks other
instants and `CLOCK_TESTS="not prodlike"` adds the integration tests.
"""

import argparse
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from tests.support.factories import MembershipFactory, UserFactory

# Real workers, Redis and an SMTP sink for the integration tests; the accessibility
# fixtures (axe-core, Lighthouse) of tests/browser/test_axe.py and test_lighthouse.py; the
# demo content's media folder; a local S3-compatible server for the media storage tests;
# and the summary of figures the hardening suites print.
pytest_plugins = [
    "tests.support.integration_fixtures",
    "tests.browser.a11y_tools",
    "tests.support.demo",
    "tests.support.figures",
    "tests.support.counting",
    "tests.support.sso",
    "tests.support.saml",
    "tests.support.s3",
    "tests.support.replication",
    "tests.support.metrics",
    # Local fakes of Fastly's and Cloudflare's purge APIs (`fastly`, `cloudflare`).
    "tests.support.cdn_fakes",
]


def frozen_clock_instant(value: str) -> datetime:
    """`--frozen-clock`'s value: an ISO 8601 time with an offset or `Z`, or a naive time
    followed by an IANA zone in brackets (RFC 9557)."""
    text, bracket, zone = value.partition("[")
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r} ({error})") from None
    if bracket and instant.tzinfo is None:
        if not zone.endswith("]"):
            raise argparse.ArgumentTypeError(f"a zone goes in brackets: {value!r}")
        try:
            instant = instant.replace(tzinfo=ZoneInfo(zone[:-1]))
        except (ZoneInfoNotFoundError, ValueError):
            raise argparse.ArgumentTypeError(f"no such time zone: {zone[:-1]!r}") from None
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} names no instant: add an offset (-05:00), Z, or a zone ([Europe/Paris])"
        )
    return instant


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--frozen-clock",
        metavar="ISO8601",
        type=frozen_clock_instant,
        default=None,
        help="start every test with the clock at this instant, ticking on "
        "(e.g. 2026-12-31T23:30:00-05:00); see tests/conftest.py",
    )


def pytest_report_header(config) -> str | None:
    instant = config.getoption("frozen_clock")
    if instant is None:
        return None
    return f"frozen clock: every test starts at {instant.isoformat()} (ticking)"


@pytest.fixture(autouse=True)
def _frozen_clock(request) -> Iterator[None]:
    instant = request.config.getoption("frozen_clock")
    if instant is None:
        yield
        return
    # A timestamp rather than the datetime: given a zone, time-machine would also set TZ for
    # this process and every subprocess it starts.
    with time_machine.travel(instant.timestamp(), tick=True):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty (local-memory) cache: cached pages, comment threads and
    rate-limit counters belong to the test that made them."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    if isinstance(caches["default"], LocMemCache):
        caches["default"].clear()


@pytest.fixture
def anonymous() -> AnonymousUser:
    return AnonymousUser()


@pytest.fixture
def free_reader(db):
    return UserFactory(email="free@example.com", display_name="Fran Free")


@pytest.fixture
def subscriber(db):
    return MembershipFactory(
        user__email="subscriber@example.com", user__display_name="Sam Subscriber"
    ).user


@pytest.fixture
def lapsed_subscriber(db):
    return MembershipFactory(
        user__email="lapsed@example.com",
        status=Membership.Status.CANCELED,
        current_period_end=timezone.now() - timedelta(days=3),
    ).user


@pytest.fixture
def editor(db):
    return UserFactory(email="editor@example.com", display_name="Eddie Editor", is_staff=True)


@pytest.fixture
def client_for():
    def make(user) -> Client:
        client = Client()
        if user.is_authenticated:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def stripe_fake(settings):
    """The local fake of Stripe, with the SDK pointed at it for this test."""
    from tests.support.stripe_fake import YEAR, FakeStripe

    monthly, annual = settings.STRIPE_PRICE_MONTHLY, settings.STRIPE_PRICE_ANNUAL
    fake = FakeStripe(
        api_key=settings.STRIPE_SECRET_KEY,
        prices={monthly, annual, settings.STRIPE_PRICE_SEAT},
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        amounts={monthly: 2900, annual: 29000, settings.STRIPE_PRICE_SEAT: 24000},
        price_periods={annual: YEAR, settings.STRIPE_PRICE_SEAT: YEAR},
        plan_switches={monthly: annual, annual: monthly},
        promotion_codes={"LAUNCH50": 50},
    ).start()
    settings.STRIPE_API_BASE = fake.base_url
    # The fake also plays Stripe's hosted pages, which forms must be allowed to reach.
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [*settings.SECURE_CSP["form-action"], fake.base_url],
    }
    yield fake
    fake.stop()


@pytest.fixture
def post_webhook(client, settings):
    """POST an event to /stripe/webhook/ signed with Stripe's scheme (or a broken signature)."""
    import json
    import time

    from tests.support.stripe_fake import sign

    def post(event, *, secret=None, timestamp=None, signature=None, payload=None, using=None):
        body = payload if payload is not None else json.dumps(event)
        header = signature
        if header is None:
            header = sign(
                body, secret or settings.STRIPE_WEBHOOK_SECRET, timestamp or int(time.time())
            )
        return (using or client).post(
            "/stripe/webhook/", data=body, content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
        )  # fmt: skip

    return post
