"""A suppressed address (a hard bounce, a complaint) gets no new-report email: excluded
from the recipients' query at fan-out (its delivery row is skipped, saying why), and again
when a send task claims its rows."""

import pytest

from accounts.models import EmailSuppression
from reports.models import Delivery, Report
from reports.notifications import fanout
from reports.notifications.fanout import delivery_batch_insert, notification_fan_out
from reports.notifications.sending import deliveries_send
from reports.publishing import report_publish
from tests.support.factories import NewsletterSubscriberFactory, ReportFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft():
    return ReportFactory(status=Report.Status.DRAFT, published_at=None)


def test_the_next_fan_out_skips_suppressed_addresses(
    draft, mailoutbox, django_capture_on_commit_callbacks
):
    kept, bounced, complained = NewsletterSubscriberFactory.create_batch(3)
    EmailSuppression.objects.create(address=bounced.email, reason="bounced")
    EmailSuppression.objects.create(address=complained.email, reason="complained")

    with django_capture_on_commit_callbacks(execute=True):
        report_publish(report_id=draft.pk)

    assert [m.to for m in mailoutbox] == [[kept.email]]
    rows = Delivery.objects.values_list("subscriber__email", "status", "error")
    since = EmailSuppression.objects.get(address=bounced.email).created_at.date().isoformat()
    assert sorted(rows) == sorted(
        [
            (kept.email, Delivery.Status.SENT, ""),
            (
                bounced.email,
                Delivery.Status.SKIPPED,
                f"Suppressed address: Hard bounce (since {since}).",
            ),
            (
                complained.email,
                Delivery.Status.SKIPPED,
                f"Suppressed address: Spam complaint (since {since}).",
            ),
        ]
    )


def test_a_suppressed_address_past_the_last_recipient_still_gets_its_skipped_row(
    draft, mailoutbox, django_capture_on_commit_callbacks
):
    kept, bounced = NewsletterSubscriberFactory.create_batch(2)
    EmailSuppression.objects.create(address=bounced.email, reason="bounced", provider="postmark")

    with django_capture_on_commit_callbacks(execute=True):
        report_publish(report_id=draft.pk)

    assert [m.to for m in mailoutbox] == [[kept.email]]
    skipped = Delivery.objects.get(subscriber=bounced)
    assert skipped.status == Delivery.Status.SKIPPED
    assert skipped.error.startswith("Suppressed address: Hard bounce at postmark (since ")


def test_nobody_but_suppressed_addresses_is_a_fan_out_of_skipped_rows(
    draft, mailoutbox, django_capture_on_commit_callbacks
):
    bounced = NewsletterSubscriberFactory()
    EmailSuppression.objects.create(address=bounced.email, reason="complained")

    with django_capture_on_commit_callbacks(execute=True):
        report_publish(report_id=draft.pk)

    assert mailoutbox == []
    assert Delivery.objects.get(subscriber=bounced).status == Delivery.Status.SKIPPED


def test_an_address_suppressed_after_the_fan_out_is_skipped_when_sent(
    draft, mailoutbox, monkeypatch
):
    batches: list[list[int]] = []
    monkeypatch.setattr(
        fanout,
        "delivery_batches_enqueue",
        lambda *, batch_ids: batches.extend(delivery_batch_insert(batch_id=b) for b in batch_ids),
    )
    kept, bounced = NewsletterSubscriberFactory.create_batch(2)
    report_publish(report_id=draft.pk)
    notification_fan_out(report_id=draft.pk)
    EmailSuppression.objects.create(address=bounced.email, reason="bounced")

    result = deliveries_send(delivery_ids=batches[0], claimant="task-1")

    assert (result.sent, result.skipped) == (1, 1)
    assert [m.to for m in mailoutbox] == [[kept.email]]
    assert Delivery.objects.get(subscriber=bounced).status == Delivery.Status.SKIPPED


def test_a_released_address_is_mailed_again(draft, mailoutbox, django_capture_on_commit_callbacks):
    back = NewsletterSubscriberFactory()
    EmailSuppression.objects.create(
        address=back.email, reason="bounced", released_at=draft.created_at
    )

    with django_capture_on_commit_callbacks(execute=True):
        report_publish(report_id=draft.pk)

    assert [m.to for m in mailoutbox] == [[back.email]]
