"""The Stripe webhook: signatures, idempotency, ordering and every subscription status.

Events are built by the local fake from Stripe's documented shapes, signed with Stripe's
scheme and posted through the test client; the handler re-reads subscriptions from the fake
through the real SDK.
"""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.billing.webhooks import HANDLERS, stripe_event_handle
from accounts.membership import membership_grants_access
from accounts.models import Membership, StripeEvent
from tests.support.factories import MembershipFactory, UserFactory
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_member(stripe_fake, settings):
    """A reader who started a checkout: Stripe customer known, no subscription yet."""
    user = UserFactory(email="buyer@example.com")
    customer = stripe_fake.create_customer({"email": user.email})
    MembershipFactory(user=user, stripe_customer_id=customer["id"], status="",
                      current_period_end=None)  # fmt: skip
    return user, customer["id"]


def _subscribe(stripe_fake, settings, customer_id, user):
    return stripe_fake.create_subscription(
        customer=customer_id,
        price=settings.STRIPE_PRICE_MONTHLY,
        metadata={"user_id": str(user.pk)},
    )


def _membership(user) -> Membership:
    return Membership.objects.get(user=user)


def test_valid_event_grants_access(stripe_fake, settings, customer_member, post_webhook):
    user, customer_id = customer_member
    subscription = _subscribe(stripe_fake, settings, customer_id, user)

    response = post_webhook(stripe_fake.event("customer.subscription.created", subscription))

    assert response.status_code == 200
    membership = _membership(user)
    assert membership.status == "active"
    assert membership.plan == "monthly"
    assert membership.stripe_subscription_id == subscription["id"]
    assert (
        membership.current_period_end.timestamp()
        == (subscription["items"]["data"][0]["current_period_end"])
    )
    assert membership_grants_access(membership)


@pytest.mark.parametrize(
    "tamper",
    ["missing", "tampered_payload", "wrong_secret", "stale", "garbage_header"],
)
def test_bad_signatures_are_rejected_and_change_nothing(
    stripe_fake, settings, customer_member, post_webhook, tamper
):
    user, customer_id = customer_member
    event = stripe_fake.event(
        "customer.subscription.created", _subscribe(stripe_fake, settings, customer_id, user)
    )
    body = json.dumps(event)
    kwargs = {
        "missing": {"signature": ""},
        "tampered_payload": {
            "signature": None,
            "payload": body,
        },
        "wrong_secret": {"secret": "whsec_someone_else"},
        "stale": {"timestamp": int(time.time()) - 301},
        "garbage_header": {"signature": "t=abc,v1=zzz"},
    }[tamper]
    if tamper == "tampered_payload":
        from tests.support.stripe_fake import sign

        kwargs = {
            "signature": sign(body, settings.STRIPE_WEBHOOK_SECRET),
            "payload": body.replace('"active"', '"trialing"'),
        }

    response = post_webhook(event, **kwargs)

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    assert _membership(user).status == ""


def test_malformed_json_with_valid_signature_is_rejected(settings, post_webhook):
    response = post_webhook({}, payload='{"not": "an event"}')

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


@pytest.mark.parametrize(
    "depth",
    [
        pytest.param(100, id="parsed-then-refused"),  # deeper than any event, parses fine
        pytest.param(5_000, id="deep-enough-to-break-repr"),
        pytest.param(50_000, id="deep-enough-to-break-json"),
    ],
)
def test_deeply_nested_event_with_valid_signature_is_rejected(
    stripe_fake, settings, customer_member, post_webhook, depth
):
    user, customer_id = customer_member
    subscription = _subscribe(stripe_fake, settings, customer_id, user)
    subscription["metadata"]["user_id"] = "NESTED"
    event = stripe_fake.event("customer.subscription.created", subscription)
    # Built as text: the json module cannot even write structures this deep.
    body = json.dumps(event).replace('"NESTED"', "[" * depth + "]" * depth)

    response = post_webhook(event, payload=body)

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    assert _membership(user).status == ""


@pytest.mark.parametrize(("ahead", "status"), [(301, 400), (3600 * 24 * 365, 400), (299, 200)])
def test_signatures_dated_in_the_future_are_accepted_only_within_the_tolerance(
    stripe_fake, settings, customer_member, post_webhook, time_machine, ahead, status
):
    time_machine.move_to(timezone.now(), tick=False)
    user, customer_id = customer_member
    event = stripe_fake.event(
        "customer.subscription.created", _subscribe(stripe_fake, settings, customer_id, user)
    )

    response = post_webhook(event, timestamp=int(time.time()) + ahead)

    assert response.status_code == status
    assert StripeEvent.objects.count() == (1 if status == 200 else 0)
    assert membership_grants_access(_membership(user)) is (status == 200)


def test_get_is_not_allowed(client):
    assert client.get("/stripe/webhook/").status_code == 405


def test_duplicate_delivery_changes_once(stripe_fake, settings, customer_member, post_webhook):
    user, customer_id = customer_member
    event = stripe_fake.event(
        "customer.subscription.created", _subscribe(stripe_fake, settings, customer_id, user)
    )

    first = post_webhook(event)
    fetches = len(stripe_fake.requests)
    second = post_webhook(event)

    assert (first.content, second.content) == (b"processed", b"duplicate")
    assert StripeEvent.objects.count() == 1
    assert len(stripe_fake.requests) == fetches  # the duplicate did no work


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_apply_once(stripe_fake, settings, post_webhook):
    user = UserFactory(email="race@example.com")
    customer = stripe_fake.create_customer({"email": user.email})
    MembershipFactory(user=user, stripe_customer_id=customer["id"], status="")
    event = stripe_fake.event(
        "customer.subscription.created", _subscribe(stripe_fake, settings, customer["id"], user)
    )
    barrier = threading.Barrier(4)
    outcomes = []

    def deliver():
        barrier.wait()
        try:
            outcomes.append(post_webhook(event, using=Client()).content)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == [b"duplicate"] * 3 + [b"processed"]
    assert StripeEvent.objects.count() == 1


def test_out_of_order_deleted_then_older_active_leaves_no_access(
    stripe_fake, settings, customer_member, post_webhook
):
    user, customer_id = customer_member
    subscription = _subscribe(stripe_fake, settings, customer_id, user)
    older_active = stripe_fake.event(
        "customer.subscription.updated", subscription, created=int(time.time()) - 60
    )
    stripe_fake.update_subscription(subscription["id"], status="canceled")
    deleted = stripe_fake.event("customer.subscription.deleted", subscription)

    assert post_webhook(deleted).status_code == 200
    assert post_webhook(older_active).status_code == 200

    membership = _membership(user)
    assert membership.status == "canceled"
    assert not membership_grants_access(membership)


def test_out_of_order_without_refetch_is_guarded_by_event_time(settings):
    """The local checkout path applies payloads; older or revived states never win."""
    settings.STRIPE_SECRET_KEY = ""
    user = UserFactory()
    MembershipFactory(user=user, stripe_customer_id="cus_local_1", status="")
    now = int(time.time())

    def sub(status):
        return {
            "id": "sub_local_1", "customer": "cus_local_1", "status": status,
            "cancel_at_period_end": False, "cancel_at": None, "metadata": {},
            "items": {"data": [{"current_period_end": now + 3600, "price": {"id": "p"}}]},
        }  # fmt: skip

    def event(event_id, event_type, status, created):
        return {"id": event_id, "type": event_type, "created": created,
                "data": {"object": sub(status)}}  # fmt: skip

    stripe_event_handle(event=event("evt_2", "customer.subscription.deleted", "canceled", now))
    stripe_event_handle(event=event("evt_1", "customer.subscription.updated", "active", now - 5))
    stripe_event_handle(event=event("evt_3", "customer.subscription.updated", "active", now))

    assert _membership(user).status == "canceled"


def test_subscription_event_before_checkout_completed_ends_correct(
    stripe_fake, settings, post_webhook
):
    """Stripe does not order events: the subscription may arrive before the checkout."""
    user = UserFactory(email="early@example.com")
    customer = stripe_fake.create_customer({"email": user.email})  # made outside our checkout
    subscription = stripe_fake.create_subscription(
        customer=customer["id"], price=settings.STRIPE_PRICE_ANNUAL
    )
    created = stripe_fake.event("customer.subscription.created", subscription)
    session = {
        "id": "cs_test_1", "object": "checkout.session", "mode": "subscription",
        "customer": customer["id"], "subscription": subscription["id"],
        "client_reference_id": str(user.pk),
    }  # fmt: skip

    # Nobody is linked to that customer yet: Stripe is asked to retry, nothing is recorded.
    assert post_webhook(created).status_code == 503
    assert StripeEvent.objects.count() == 0

    assert post_webhook(stripe_fake.event("checkout.session.completed", session)).status_code == 200
    assert _membership(user).status == "active"
    assert _membership(user).plan == "annual"

    # Stripe's retry of the first event now succeeds and changes nothing for the worse.
    assert post_webhook(created).status_code == 200
    assert membership_grants_access(_membership(user))


def test_an_ended_subscription_of_a_deleted_account_is_acknowledged(
    stripe_fake, settings, post_webhook
):
    customer = stripe_fake.create_customer({"email": "gone@example.com"})
    subscription = stripe_fake.create_subscription(
        customer=customer["id"], price=settings.STRIPE_PRICE_MONTHLY
    )
    subscription.update(status="canceled", canceled_at=1, ended_at=1)

    response = post_webhook(stripe_fake.event("customer.subscription.deleted", subscription))

    assert response.status_code == 200
    assert not Membership.objects.filter(stripe_customer_id=customer["id"]).exists()


def test_subscription_metadata_links_an_unknown_customer(stripe_fake, settings, post_webhook):
    user = UserFactory(email="meta@example.com")
    customer = stripe_fake.create_customer({"email": user.email})
    subscription = stripe_fake.create_subscription(
        customer=customer["id"],
        price=settings.STRIPE_PRICE_MONTHLY,
        metadata={"user_id": str(user.pk)},
    )

    response = post_webhook(stripe_fake.event("customer.subscription.created", subscription))

    assert response.status_code == 200
    assert _membership(user).stripe_customer_id == customer["id"]


def test_every_subscription_lifecycle_event_has_its_handler():
    assert set(HANDLERS) == {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.trial_will_end",
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.upcoming",
        # Licences paid by invoice follow their invoice (tests/accounts/test_invoicing.py).
        "invoice.finalized",
        "invoice.marked_uncollectible",
        "invoice.voided",
        "invoice.overdue",
    }


def test_an_upcoming_invoice_without_a_subscription_is_acknowledged(stripe_fake, post_webhook):
    response = post_webhook(stripe_fake.event("invoice.upcoming", {"id": None, "customer": "c"}))

    assert response.content == b"ignored"


def test_unknown_event_type_is_acknowledged(stripe_fake, post_webhook):
    response = post_webhook(stripe_fake.event("charge.refunded", {"id": "ch_1"}))

    assert response.status_code == 200
    assert response.content == b"ignored"


def test_stripe_unreachable_during_sync_asks_for_retry(
    stripe_fake, settings, customer_member, post_webhook
):
    user, customer_id = customer_member
    event = stripe_fake.event(
        "customer.subscription.created", _subscribe(stripe_fake, settings, customer_id, user)
    )
    stripe_fake.fail_requests = 10

    assert post_webhook(event).status_code == 503
    assert StripeEvent.objects.count() == 0

    stripe_fake.fail_requests = 0
    assert post_webhook(event).status_code == 200
    assert _membership(user).status == "active"


STATUS_ACCESS = [
    ("active", True),
    ("trialing", True),
    ("past_due", True),  # within Stripe's retry window: the period has not ended
    ("incomplete", False),
    ("incomplete_expired", False),
    ("canceled", False),
    ("unpaid", False),
    ("paused", False),
]


@pytest.mark.parametrize(("status", "grants"), STATUS_ACCESS)
def test_every_status_maps_to_access(
    stripe_fake, settings, customer_member, post_webhook, status, grants
):
    user, customer_id = customer_member
    subscription = _subscribe(stripe_fake, settings, customer_id, user)
    stripe_fake.update_subscription(subscription["id"], status=status)

    post_webhook(stripe_fake.event("customer.subscription.updated", subscription))

    membership = _membership(user)
    assert membership.status == status
    assert membership_grants_access(membership) is grants


def test_past_due_loses_access_after_the_grace_period(
    stripe_fake, settings, customer_member, post_webhook
):
    user, customer_id = customer_member
    subscription = _subscribe(stripe_fake, settings, customer_id, user)
    ended = int((timezone.now() - timedelta(days=settings.PAST_DUE_GRACE_DAYS + 1)).timestamp())
    stripe_fake.update_subscription(subscription["id"], status="past_due", current_period_end=ended)

    post_webhook(
        stripe_fake.event(
            "invoice.payment_failed", stripe_fake.invoice_for(subscription, paid=False)
        )
    )

    membership = _membership(user)
    assert membership.status == "past_due"
    assert not membership_grants_access(membership)


def test_invoice_paid_refreshes_the_period(stripe_fake, settings, customer_member, post_webhook):
    user, customer_id = customer_member
    subscription = _subscribe(stripe_fake, settings, customer_id, user)
    post_webhook(stripe_fake.event("customer.subscription.created", subscription))
    renewed = subscription["items"]["data"][0]["current_period_end"] + 30 * 86400
    stripe_fake.update_subscription(subscription["id"], current_period_end=renewed)

    post_webhook(
        stripe_fake.event("invoice.paid", stripe_fake.invoice_for(subscription, paid=True))
    )

    assert _membership(user).current_period_end.timestamp() == renewed


def test_cancel_at_period_end_keeps_access_until_then_by_time(
    stripe_fake, settings, customer_member, post_webhook, time_machine
):
    user, customer_id = customer_member
    subscription = _subscribe(stripe_fake, settings, customer_id, user)
    post_webhook(stripe_fake.cancel_at_period_end(subscription["id"]))
    membership = _membership(user)
    assert membership.cancel_at_period_end
    assert membership_grants_access(membership)

    time_machine.move_to(membership.current_period_end + timedelta(seconds=1))

    assert not membership_grants_access(_membership(user))


def test_old_subscription_ending_does_not_revoke_a_newer_one(
    stripe_fake, settings, customer_member, post_webhook
):
    user, customer_id = customer_member
    old = _subscribe(stripe_fake, settings, customer_id, user)
    post_webhook(stripe_fake.event("customer.subscription.created", old))
    new = _subscribe(stripe_fake, settings, customer_id, user)
    post_webhook(stripe_fake.event("customer.subscription.created", new))
    stripe_fake.update_subscription(old["id"], status="canceled")

    post_webhook(stripe_fake.event("customer.subscription.deleted", old))

    membership = _membership(user)
    assert membership.stripe_subscription_id == new["id"]
    assert membership_grants_access(membership)


@pytest.mark.django_db(transaction=True)
def test_concurrent_events_of_one_subscription_read_stripe_in_turn(
    stripe_fake, settings, post_webhook
):
    """A handler waits for another's transaction on the same subscription before it reads
    Stripe, so a change made at Stripe meanwhile is what it applies (never an older read
    committed after a newer one)."""
    user = UserFactory(email="turns@example.com")
    customer = stripe_fake.create_customer({"email": user.email})
    MembershipFactory(user=user, stripe_customer_id=customer["id"], status="")
    subscription = _subscribe(stripe_fake, settings, customer["id"], user)
    event = stripe_fake.event("customer.subscription.updated", subscription)
    outcome = []

    def deliver():
        try:
            outcome.append(post_webhook(event, using=Client()).content)
        finally:
            connection.close()

    with connection.cursor() as cursor:
        # Another delivery's transaction holding the subscription (as the handler takes it).
        cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [subscription["id"]])
        reads = len(stripe_fake.requests)
        thread = threading.Thread(target=deliver)
        thread.start()
        wait_until(
            lambda: _advisory_lock_waiters(cursor),
            timeout=30,
            message="the handler to wait for the other one",
        )
        assert len(stripe_fake.requests) == reads  # it has not read Stripe yet
        stripe_fake.update_subscription(subscription["id"], status="canceled")
        cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [subscription["id"]])
    thread.join(30)

    assert outcome == [b"processed"]
    assert _membership(user).status == "canceled"


def _advisory_lock_waiters(cursor) -> int:
    cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    return cursor.fetchone()[0]
