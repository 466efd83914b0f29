"""Headers and frame every email shares: a Message-ID in the site's domain (Django's default
is the sending machine's host name), a List-Id on list mail, an HTML part with a title and a
viewport."""

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.test import Client
from django.utils import timezone

from accounts.billing.emails import membership_email_send
from accounts.models import Organisation, OrganisationMember
from accounts.newsletter.emails import newsletter_confirmation_send
from accounts.organisations.services import invitation_create
from reports.comments.services import comment_create
from reports.models import Report
from reports.publishing import report_publish
from tests.support.factories import (
    MembershipFactory,
    NewsletterSubscriberFactory,
    ReportFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://research.example"


def _send_every_kind(capture) -> None:
    with capture(execute=True):
        NewsletterSubscriberFactory(email="fan@reader.example")
        report = ReportFactory(status=Report.Status.DRAFT, published_at=None, title="Announced")
        report_publish(report_id=report.pk)

        author = MembershipFactory(user__email="author@reader.example").user
        discussed = ReportFactory()
        parent = comment_create(author=author, report=discussed, body="First.")
        comment_create(author=MembershipFactory().user, report=discussed, body="Second.",
                       parent_id=parent.pk)  # fmt: skip

        pending = NewsletterSubscriberFactory(email="new@reader.example", confirmed_at=None)
        newsletter_confirmation_send(subscriber_id=pending.pk, token="a-token")

        membership = MembershipFactory(user__email="member@reader.example")
        membership_email_send(membership_id=membership.pk, name="membership-welcome")
        membership_email_send(membership_id=membership.pk, name="payment-failed")

        owner = UserFactory(email="owner@acme.example")
        organisation = Organisation.objects.create(
            name="Acme", owner=owner, seats=3, status="active",
            current_period_end=timezone.now() + timedelta(days=300),
        )  # fmt: skip
        OrganisationMember.objects.create(organisation=organisation, user=owner, is_admin=True)
        invitation_create(organisation=organisation, email="mate@acme.example", invited_by=owner)

        Client().post(
            "/accounts/signup/",
            {"email": "joiner@reader.example", "password1": "an-odd-passphrase"},
        )


def _parsed(message):
    return message_from_bytes(message.message().as_bytes(), policy=policy.default)


def test_every_message_id_is_in_the_sites_domain(mailoutbox, django_capture_on_commit_callbacks):
    _send_every_kind(django_capture_on_commit_callbacks)

    subjects = sorted(message.subject for message in mailoutbox)
    assert len(mailoutbox) == 7, subjects
    ids = [_parsed(message)["Message-ID"] for message in mailoutbox]
    for subject, message_id in zip(subjects, ids, strict=True):
        assert message_id.endswith("@research.example>"), (subject, message_id)
    assert len(set(ids)) == len(ids)


def test_list_mail_carries_a_list_id(mailoutbox, django_capture_on_commit_callbacks):
    _send_every_kind(django_capture_on_commit_callbacks)

    list_ids = {message.to[0]: _parsed(message)["List-Id"] for message in mailoutbox}
    assert list_ids["fan@reader.example"] == (
        "Gridline Research new reports <reports.research.example>"
    )
    assert list_ids["author@reader.example"] == (
        "Gridline Research comment replies <comment-replies.research.example>"
    )
    # Transactional mail, one person and one event each, is not list mail.
    transactional = ["new@reader.example", "member@reader.example", "mate@acme.example",
                     "joiner@reader.example"]  # fmt: skip
    assert {list_ids[to] for to in transactional} == {None}


def test_every_html_part_has_a_title_and_a_viewport(mailoutbox, django_capture_on_commit_callbacks):
    _send_every_kind(django_capture_on_commit_callbacks)

    for message in mailoutbox:
        html = _parsed(message).get_body(("html",)).get_content()
        assert "<title>" in html and "<title></title>" not in html, message.subject
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
