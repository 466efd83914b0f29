from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.billing.sync import subscription_sync_from_stripe
from accounts.models import Membership, Organisation, SubscriptionChange
from tests.support.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _at(day: int) -> datetime:
    return T0.replace(day=day)


def _subscription(
    *, status: str, price: str, amount: int, interval: str | None, quantity: int = 1, **extra
):
    price_object = {"id": price, "unit_amount": amount, "currency": "usd"}
    if interval:
        price_object["recurring"] = {"interval": interval, "interval_count": 1}
    return {
        "id": "sub_ledger",
        "customer": "cus_ledger",
        "status": status,
        "cancel_at_period_end": False,
        "items": {"data": [{"price": price_object, "quantity": quantity}]},
        **extra,
    }


@pytest.fixture
def local_prices(settings):
    settings.STRIPE_SECRET_KEY = ""  # the items' prices say what is charged; no preview call
    settings.STRIPE_PRICE_MONTHLY = "price_monthly_test"
    settings.STRIPE_PRICE_ANNUAL = "price_annual_test"


def test_each_change_of_what_a_membership_counts_for_is_one_row(local_prices):
    user = UserFactory()
    monthly = dict(price="price_monthly_test", amount=2900, interval="month")
    annual = dict(price="price_annual_test", amount=29000, interval="year")
    sync = subscription_sync_from_stripe
    sync(subscription=_subscription(status="trialing", **monthly), state_at=_at(1), user=user)
    sync(subscription=_subscription(status="active", **monthly), state_at=_at(15), user=user)
    # A renewal or a repeated event changes nothing the figures count.
    sync(subscription=_subscription(status="active", **monthly), state_at=_at(16), user=user)
    sync(subscription=_subscription(status="active", **annual), state_at=_at(20), user=user)
    sync(subscription=_subscription(status="canceled", **annual), state_at=_at(28), user=user)

    rows = list(SubscriptionChange.objects.order_by("at").values_list(
        "status", "plan", "mrr", "previous_mrr", "at", "until"
    ))  # fmt: skip
    assert rows == [
        ("trialing", "monthly", 0, 0, _at(1), _at(15)),
        ("active", "monthly", 2900, 0, _at(15), _at(20)),
        ("active", "annual", 2417, 2900, _at(20), _at(28)),
        ("canceled", "annual", 0, 2417, _at(28), None),
    ]
    membership = Membership.objects.get(user=user)
    assert set(SubscriptionChange.objects.values_list("kind", "holder_id")) == {
        ("membership", membership.pk)
    }


def test_an_out_of_order_event_writes_no_history(local_prices):
    user = UserFactory()
    monthly = dict(price="price_monthly_test", amount=2900, interval="month")
    sync = subscription_sync_from_stripe
    sync(subscription=_subscription(status="active", **monthly), state_at=_at(10), user=user)
    sync(subscription=_subscription(status="trialing", **monthly), state_at=_at(5), user=user)
    assert list(SubscriptionChange.objects.values_list("status", flat=True)) == ["active"]


def test_a_team_licence_counts_its_seats_a_twelfth_of_the_year(local_prices):
    owner = UserFactory()
    organisation = Organisation.objects.create(name="Northwind", owner=owner)
    seat = dict(price="price_seat_test", amount=29000, interval=None)
    metadata = {"organisation_id": str(organisation.pk)}
    sync = subscription_sync_from_stripe
    sync(
        subscription=_subscription(status="active", quantity=5, metadata=metadata, **seat),
        state_at=_at(2),
    )
    sync(
        subscription=_subscription(status="active", quantity=3, metadata=metadata, **seat),
        state_at=_at(9),
    )
    rows = list(
        SubscriptionChange.objects.values_list("kind", "holder_id", "seats", "mrr", "previous_mrr")
    )
    assert rows == [
        ("organisation", organisation.pk, 5, 12083, 0),
        ("organisation", organisation.pk, 3, 7250, 12083),
    ]


def test_the_reconciliation_records_what_it_corrects(stripe_fake, settings):
    user = UserFactory()
    customer = stripe_fake.create_customer({"email": user.email})
    subscription = stripe_fake.create_subscription(
        customer=customer["id"], price=settings.STRIPE_PRICE_MONTHLY
    )
    stripe_fake.update_subscription(subscription["id"], status="canceled")
    gone = stripe_fake.create_customer({"email": "gone@example.com"})  # no subscription left
    MembershipFactory(
        user=user, stripe_customer_id=customer["id"], stripe_subscription_id=subscription["id"]
    )
    lost = MembershipFactory(stripe_customer_id=gone["id"], stripe_subscription_id="sub_gone")
    call_command("stripe_reconcile", stdout=StringIO())

    assert list(
        SubscriptionChange.objects.order_by("holder_id").values_list("holder_id", "status")
    ) == [
        (Membership.objects.get(user=user).pk, "canceled"),
        (lost.pk, "canceled"),
    ]
    call_command("stripe_reconcile", stdout=StringIO())
    assert SubscriptionChange.objects.count() == 2
