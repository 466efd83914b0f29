"""Personas shared by the whole suite: anonymous, free_reader, subscriber, lapsed_subscriber,
editor. Each persona is a user (or AnonymousUser) and `client_for` logs one in."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from tests.factories import MembershipFactory, UserFactory

# Real workers, Redis and an SMTP sink for the integration tests.
pytest_plugins = ["tests.integration_fixtures"]


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
