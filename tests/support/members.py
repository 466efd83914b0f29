"""Readers subscribed at the Stripe fake and mirrored here, for tests about what they see
(pages, accessibility) rather than how the webhooks got them there."""

from django.utils import timezone

from accounts.billing.sync import subscription_sync_from_stripe
from accounts.models import User
from tests.support.factories import UserFactory
from tests.support.stripe_fake import FakeStripe


def member_at_stripe(
    fake: FakeStripe, *, email: str, price: str, trial_days: int = 0, ending: bool = False
) -> User:
    """A reader with a Stripe customer, a subscription (in a trial, set to end) and its first
    invoice at the fake, synced onto their membership."""
    user = UserFactory(email=email, display_name=email.split("@")[0].title())
    customer = fake.create_customer({"email": email})
    subscription = fake.create_subscription(
        customer=customer["id"], price=price, trial_days=trial_days,
        metadata={"user_id": str(user.pk)},
    )  # fmt: skip
    fake.issue_invoice(subscription["id"], billing_reason="subscription_create")
    if ending:
        fake.modify_subscription(subscription["id"], {"cancel_at_period_end": "true"})
    subscription_sync_from_stripe(subscription=subscription, state_at=timezone.now())
    return user
