"""Subscribers made the way Stripe makes them: a customer and a subscription at the fake,
mirrored here by a webhook, with the emails that caused already out of the way."""

import pytest

from accounts.models import Membership
from reports.publishing import report_save
from tests.support.factories import MembershipFactory, ReportFactory, UserFactory

# What a paid report says, for the single sign-on tests: only seat holders read it.
SSO_SECRET = "Only seat holders learn that the Kestrel HX-10 idles at 11.2 W."


@pytest.fixture
def paid_report():
    report = ReportFactory.build(
        slug="night-draw", title="Night draw", body=f"## Night\n\n{SSO_SECRET}",
        is_free=False, author=UserFactory(is_staff=True, slug="lab"),
    )  # fmt: skip
    report_save(report=report)
    return report


@pytest.fixture
def stripe_member(
    stripe_fake, settings, post_webhook, mailoutbox, django_capture_on_commit_callbacks
):
    """`stripe_member(plan="annual", trial_days=14, card=False)`: a reader subscribed at the
    fake Stripe, synced by its `customer.subscription.created` webhook. Returns the
    membership and the fake's subscription; the outbox starts empty."""

    def make(
        *, email: str = "member@example.com", plan: str = "monthly", **subscription: object
    ) -> tuple[Membership, dict]:
        user = UserFactory(email=email)
        customer = stripe_fake.create_customer({"email": email})
        MembershipFactory(
            user=user, stripe_customer_id=customer["id"], status="", current_period_end=None
        )
        price = settings.STRIPE_PRICE_ANNUAL if plan == "annual" else settings.STRIPE_PRICE_MONTHLY
        created = stripe_fake.create_subscription(
            customer=customer["id"], price=price, metadata={"user_id": str(user.pk)},
            **subscription,
        )  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            assert (
                post_webhook(
                    stripe_fake.event("customer.subscription.created", created)
                ).status_code
                == 200
            )
        mailoutbox.clear()
        return Membership.objects.get(user=user), created

    return make
