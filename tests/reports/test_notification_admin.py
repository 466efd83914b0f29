"""Operators: admin counts and actions, the notify_report command, the subscriber admin."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from reports.models import Delivery, Report, ReportNotification
from reports.notifications import fanout
from reports.notifications.fanout import notification_fan_out
from reports.publishing import report_publish
from tests.support.factories import NewsletterSubscriberFactory, ReportFactory, UserFactory
from tests.support.mailers import refused, scripted_mailer

pytestmark = pytest.mark.django_db

CANARY = "CANARY-PAID-BODY-admin"


@pytest.fixture
def editor():
    """An editor allowed to use these admin pages (the persona has no model permissions)."""
    return UserFactory(email="chief@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def published(django_capture_on_commit_callbacks, settings):
    NewsletterSubscriberFactory.create_batch(3)
    report = ReportFactory(status=Report.Status.DRAFT, published_at=None, body=CANARY)
    with (
        scripted_mailer(settings, [None, refused(550)]),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report_publish(report_id=report.pk)
    return report


def test_notification_admin_shows_counts_per_report(client_for, editor, published):
    page = client_for(editor).get("/admin/reports/reportnotification/")

    assert page.status_code == 200
    row = page.content.decode()
    assert published.title in row
    assert '<td class="field-sent">2</td>' in row
    assert '<td class="field-failed">1</td>' in row


def test_notification_admin_counts_recipients_whose_batch_has_not_started(
    client_for, editor, monkeypatch
):
    NewsletterSubscriberFactory.create_batch(5)
    report = ReportFactory()
    monkeypatch.setattr(fanout, "delivery_batches_enqueue", lambda batch_ids: None)  # worker busy
    notification_fan_out(report_id=report.pk)

    page = client_for(editor).get("/admin/reports/reportnotification/").content.decode()

    assert '<td class="field-not_started">5</td>' in page
    assert '<td class="field-queued">0</td>' in page
    output = StringIO()
    call_command("notify_report", report.slug, "--no-wait", stdout=output)
    assert "waiting 5." in output.getvalue()


def test_resend_failed_action_sends_the_failed_again(client_for, editor, published, mailoutbox):
    notification = ReportNotification.objects.get(report=published)
    sent_at_publish = len(mailoutbox)

    response = client_for(editor).post(
        "/admin/reports/reportnotification/",
        {"action": "resend_failed", "_selected_action": [notification.pk]},
    )

    assert response.status_code == 302
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 3
    assert len(mailoutbox) == sent_at_publish + 1


def test_send_a_test_to_me_from_the_report_list(client_for, editor, mailoutbox):
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None, body=CANARY)

    response = client_for(editor).post(
        "/admin/reports/report/",
        {"action": "send_test_notification", "_selected_action": [draft.pk]},
    )

    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [[editor.email]]
    assert mailoutbox[0].subject.startswith("[Test] ")
    assert "List-Unsubscribe" in mailoutbox[0].extra_headers
    assert CANARY not in mailoutbox[0].message().as_bytes().decode()
    assert not Delivery.objects.exists()


def test_notify_report_command_sends_to_those_not_sent_yet(mailoutbox):
    NewsletterSubscriberFactory.create_batch(4)
    report = ReportFactory(slug="old-report")  # published before notifications existed
    out = StringIO()

    call_command("notify_report", "old-report", stdout=out)
    call_command("notify_report", "old-report", stdout=StringIO())

    assert len(mailoutbox) == 4
    output = out.getvalue()
    assert re.search(r"\[#{30}\] +4/4 ", output)
    assert "Sent 4, skipped 0, failed 0, waiting 0." in output
    assert ReportNotification.objects.get().report == report


def test_notify_report_command_refuses_an_unpublished_report():
    ReportFactory(slug="draft", status=Report.Status.DRAFT, published_at=None)

    with pytest.raises(CommandError, match="No published report"):
        call_command("notify_report", "draft", stdout=StringIO())


def test_subscriber_admin_filters_and_hides_the_confirmation_hash(client_for, editor):
    NewsletterSubscriberFactory(email="listed@example.com")

    page = client_for(editor).get(
        "/admin/accounts/newslettersubscriber/?confirmed_at__isnull=False"
    )
    change = client_for(editor).get(
        f"/admin/accounts/newslettersubscriber/{NewsletterSubscriberFactory().pk}/change/"
    )

    assert "listed@example.com" in page.content.decode()
    assert change.status_code == 200
    assert "confirmation_token_hash" not in change.content.decode()
