"""Cancelling from the account page (a confirmation with an optional reason) and resuming,
through Stripe's API (the fake) and through the local checkout."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.membership import membership_grants_access
from accounts.models import Membership, MembershipEmail, SubscriptionCancellation
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

CANCEL = "/accounts/subscription/cancel/"
RESUME = "/accounts/subscription/resume/"


def _day(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local:%b} {local.day}, {local.year}"


def _modifications(stripe_fake) -> list[dict]:
    return [
        params
        for method, path, params in stripe_fake.calls
        if method == "POST" and path.startswith("/v1/subscriptions/")
    ]


@pytest.fixture
def member(stripe_member, client_for):
    membership, subscription = stripe_member()
    return membership, subscription, client_for(membership.user)


def test_the_confirmation_page_shows_when_access_ends_and_the_reasons(member):
    membership, _, client = member

    page = client.get(CANCEL).content.decode()

    assert f"will end on <strong>{_day(membership.current_period_end)}</strong>" in page
    for label in ["It is too expensive", "I am not reading enough", "It lacks what I am looking",
                  "I am switching to a team licence", "Another reason"]:  # fmt: skip
        assert label in page
    assert 'type="radio"' in page and "<textarea" in page and 'maxlength="1000"' in page
    assert "csrfmiddlewaretoken" in page
    assert (
        'href="/accounts/subscription/cancel/">Cancel subscription</a>'
        in client.get("/accounts/profile/").content.decode()
    )


def test_confirming_sets_the_subscription_to_end_at_once_and_the_webhook_adds_nothing(
    member, stripe_fake, post_webhook, mailoutbox, django_capture_on_commit_callbacks
):
    membership, _, client = member

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            CANCEL,
            {"reason": "too_expensive", "detail": "  Cafe\u0301 budget\u202e cut.\r\nSorry. "},
            follow=True,
        )

    page = response.content.decode()
    ends = _day(membership.current_period_end)
    assert f"Your subscription ends on {ends}. You keep full access until then" in page
    assert f"Your subscription ends on <strong>{ends}</strong>" in page
    assert 'action="/accounts/subscription/resume/"' in page
    assert _modifications(stripe_fake) == [{"cancel_at_period_end": "true"}]
    membership.refresh_from_db()
    assert membership.cancel_at_period_end and membership_grants_access(membership)
    assert membership.next_charge_amount is None  # nothing more will be charged
    (reason,) = SubscriptionCancellation.objects.all()
    assert (reason.reason, reason.detail) == ("too_expensive", "Café budget cut.\nSorry.")
    assert (reason.user, reason.plan, reason.access_ends_at) == (
        membership.user, "monthly", membership.current_period_end,
    )  # fmt: skip
    assert [m.subject for m in mailoutbox] == ["Your Gridline Research subscription ends on "
                                               f"{ends.rsplit(',', 1)[0]}"]  # fmt: skip

    # Stripe's webhook about the same change arrives after the answer was applied.
    (event,) = stripe_fake.emitted
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(event).content == b"processed"
    assert len(mailoutbox) == 1
    assert MembershipEmail.objects.filter(kind="subscription-ending").count() == 1


def test_submitting_the_confirmation_twice_changes_things_once(member, stripe_fake):
    _, _, client = member

    client.post(CANCEL, {"reason": "not_reading"})
    second = client.post(CANCEL, {"reason": "other", "detail": "again"}, follow=True)

    assert "Your subscription is set to end on" in second.content.decode()
    assert len(_modifications(stripe_fake)) == 1
    assert SubscriptionCancellation.objects.count() == 1
    assert MembershipEmail.objects.filter(kind="subscription-ending").count() == 1


def test_resume_takes_the_end_back_until_the_period_is_over(
    member, stripe_fake, post_webhook, mailoutbox, django_capture_on_commit_callbacks
):
    membership, _, client = member
    client.post(CANCEL, {})
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(RESUME, follow=True).content.decode()
        client.post(RESUME)  # a second click changes nothing

    assert f"Your subscription goes on: it renews on {_day(membership.current_period_end)}" in page
    assert "Next charge: <strong>$29.00</strong>" in page
    assert _modifications(stripe_fake)[1:] == [{"cancel_at_period_end": "false"}]
    membership.refresh_from_db()
    assert not membership.cancel_at_period_end
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(stripe_fake.emitted[-1]).status_code == 200
    assert mailoutbox == []  # resuming needs no email: the account page says it


def test_resume_after_the_period_ended_explains_and_calls_nothing(
    member, stripe_fake, time_machine
):
    membership, _, client = member
    client.post(CANCEL, {})
    time_machine.move_to(membership.current_period_end + timedelta(minutes=1))
    client.force_login(membership.user)  # a month on, the session has expired

    page = client.post(RESUME, follow=True).content.decode()

    assert "Your subscription has ended; subscribe again to read on." in page
    assert len(_modifications(stripe_fake)) == 1  # the cancellation, and nothing since
    assert 'href="/subscribe/">Subscribe</a>' in page


def test_cancel_and_resume_need_the_csrf_token(member, stripe_fake):
    membership, _, _ = member
    client = Client(enforce_csrf_checks=True)
    client.force_login(membership.user)

    assert client.post(CANCEL, {}).status_code == 403
    assert client.post(RESUME).status_code == 403
    assert _modifications(stripe_fake) == []
    assert not Membership.objects.get(pk=membership.pk).cancel_at_period_end


def test_changes_are_rate_limited(member, stripe_fake):
    _, _, client = member
    for _ in range(5):
        client.post(CANCEL, {})
        client.post(RESUME)
    calls = len(_modifications(stripe_fake))

    response = client.post(CANCEL, {})

    assert response.status_code == 429
    assert "changed your subscription often" in response.content.decode()
    assert len(_modifications(stripe_fake)) == calls


def test_stripe_down_leaves_everything_as_it_was(member, stripe_fake):
    membership, _, client = member
    stripe_fake.fail_requests = 100

    response = client.post(CANCEL, {"reason": "other"})

    assert response.status_code == 503
    assert "nothing changed" in response.content.decode()
    assert not Membership.objects.get(pk=membership.pk).cancel_at_period_end
    assert not SubscriptionCancellation.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "ransom"}, "Select a valid choice"),
        ({"detail": "x" * 1001}, "at most 1000 characters"),
    ],
)
def test_a_bad_reason_is_refused_and_changes_nothing(member, stripe_fake, data, message):
    _, _, client = member

    response = client.post(CANCEL, data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert _modifications(stripe_fake) == []


def test_without_a_running_subscription_there_is_nothing_to_cancel(client_for, lapsed_subscriber):
    client = client_for(lapsed_subscriber)

    assert "no running subscription" in client.get(CANCEL, follow=True).content.decode()
    assert "no running subscription" in client.post(CANCEL, {}, follow=True).content.decode()
    assert "subscribe again" in client.post(RESUME, follow=True).content.decode()
    assert client.get(RESUME).status_code == 405


def test_a_trial_cancelled_ends_with_the_trial(stripe_member, client_for, stripe_fake):
    membership, _ = stripe_member(trial_days=10)
    client = client_for(membership.user)

    assert "when your trial ends" in client.get(CANCEL).content.decode()
    client.post(CANCEL, {})

    membership.refresh_from_db()
    assert membership.cancel_at_period_end
    assert membership.access_ends_at == membership.trial_end


def test_reasons_are_listed_read_only_in_the_admin(member, client_for):
    _, _, client = member
    client.post(CANCEL, {"reason": "team_licence", "detail": "Our firm bought seats."})
    admin = client_for(UserFactory(is_staff=True, is_superuser=True))

    listing = admin.get("/admin/accounts/subscriptioncancellation/").content.decode()

    assert "I am switching to a team licence" in listing
    assert "Our firm bought seats." in listing
    assert admin.get("/admin/accounts/subscriptioncancellation/add/").status_code == 403


# The local checkout (make run) ------------------------------------------------------------


@pytest.fixture
def local_mode(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


def test_local_checkout_cancels_and_resumes_from_the_account_page(
    local_mode, client_for, free_reader, mailoutbox, django_capture_on_commit_callbacks
):
    client = client_for(free_reader)
    client.post("/subscribe/local-checkout/", {"plan": "annual"})
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(CANCEL, {"reason": "missing_content"}, follow=True).content.decode()

    membership = Membership.objects.get(user=free_reader)
    assert membership.cancel_at_period_end and membership_grants_access(membership)
    assert f"Your subscription ends on <strong>{_day(membership.current_period_end)}" in page
    assert SubscriptionCancellation.objects.get().reason == "missing_content"
    assert mailoutbox[0].subject.startswith("Your Gridline Research subscription ends")

    client.post(RESUME)

    membership.refresh_from_db()
    assert not membership.cancel_at_period_end
    assert membership.next_charge_amount == 29000
