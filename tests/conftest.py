"""Personas shared by the whole suite: anonymous, free_reader, subscriber, lapsed_subscriber,
editor. Each persona is a user (or AnonymousUser) and `client_for` logs one in."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from tests.support.factories import MembershipFactory, UserFactory

# Real workers, Redis and an SMTP sink for the integration tests; the accessibility
# fixtures (axe-core, Lighthouse) of tests/browser/test_axe.py and test_lighthouse.py; and
# the summary of figures the hardening suites print.
pytest_plugins = [
    "tests.support.integration_fixtures",
    "tests.browser.a11y_tools",
    "tests.support.figures",
]


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
    from tests.support.stripe_fake import FakeStripe

    fake = FakeStripe(
        api_key=settings.STRIPE_SECRET_KEY,
        prices={
            settings.STRIPE_PRICE_MONTHLY,
            settings.STRIPE_PRICE_ANNUAL,
            settings.STRIPE_PRICE_SEAT,
        },
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
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
