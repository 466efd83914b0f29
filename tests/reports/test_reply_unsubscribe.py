"""Reply emails' one-click opt-out: headers, a signed personal link, no login, RFC 8058."""

from email import message_from_bytes, policy

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from reports.comments.services import comment_create, reply_unsubscribe_token
from tests.support.factories import MembershipFactory, ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def report():
    return ReportFactory(slug="paid", title="A paid report")


@pytest.fixture
def thread(report, subscriber):
    return comment_create(author=subscriber, report=report, body="Standby draw was 9 W.")


@pytest.fixture
def mail_provider() -> Client:
    """What a mailbox provider's one-click POST looks like: no cookies, no CSRF token."""
    return Client(enforce_csrf_checks=True)


def _reply(thread, capture) -> None:
    with capture(execute=True):
        comment_create(
            author=MembershipFactory().user, report=thread.report, body="I measured 11 W.",
            parent_id=thread.pk,
        )  # fmt: skip


def _url(user) -> str:
    return f"/comments/replies/unsubscribe/{reply_unsubscribe_token(user=user)}/"


def test_reply_emails_carry_one_click_unsubscribe_and_auto_submitted(
    subscriber, thread, mailoutbox, django_capture_on_commit_callbacks
):
    # The link is signed with a timestamp: the email's and the expected one are made in the
    # same second only on a clock that stands still.
    with time_machine.travel(timezone.now(), tick=False):
        _reply(thread, django_capture_on_commit_callbacks)
        url = f"http://testserver{_url(subscriber)}"

    (mail,) = mailoutbox
    parsed = message_from_bytes(mail.message().as_bytes(), policy=policy.default)
    assert parsed["List-Unsubscribe"] == f"<{url}>"
    assert parsed["List-Unsubscribe-Post"] == ONE_CLICK
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["List-Id"] == "Gridline Research comment replies <comment-replies.testserver>"
    assert url in mail.body
    assert url in mail.alternatives[0].content


def test_the_link_from_the_email_opts_out_without_a_login(
    subscriber, thread, mailoutbox, django_capture_on_commit_callbacks, mail_provider
):
    _reply(thread, django_capture_on_commit_callbacks)
    (mail,) = mailoutbox
    url = mail.extra_headers["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")

    page = mail_provider.get(url)
    subscriber.refresh_from_db()
    assert page.status_code == 200 and subscriber.notify_on_reply is True
    assert 'name="List-Unsubscribe" value="One-Click"' in page.content.decode()
    assert "no-cache" in page["Cache-Control"]

    response = mail_provider.post(url, ONE_CLICK, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    assert "Reply emails stopped" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.notify_on_reply is False
    mailoutbox.clear()
    _reply(thread, django_capture_on_commit_callbacks)
    assert mailoutbox == []


def test_the_button_on_the_page_opts_out_and_the_page_then_says_so(subscriber, mail_provider):
    response = mail_provider.post(_url(subscriber), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.notify_on_reply is False
    assert "already send" in mail_provider.get(_url(subscriber)).content.decode()


def test_a_post_without_the_one_click_field_changes_nothing(subscriber, mail_provider):
    response = mail_provider.post(_url(subscriber), {"something": "else"})

    assert response.status_code == 400
    assert "Nothing changed" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.notify_on_reply is True


def test_a_session_is_no_substitute_for_the_token(subscriber):
    """The view takes no CSRF token (mail providers send none), so the signed token is the
    only credential, as for the newsletter: another site cannot opt a logged-in reader out."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(subscriber)
    bogus = "/comments/replies/unsubscribe/not-a-token/"

    response = browser.post(bogus, ONE_CLICK, content_type="application/x-www-form-urlencoded",
                            headers={"Origin": "https://evil.example"})  # fmt: skip

    assert response.status_code == 404
    subscriber.refresh_from_db()
    assert subscriber.notify_on_reply is True


@pytest.mark.parametrize("tamper", ["flip", "truncate", "other_salt", "unsigned", "garbage"])
def test_a_tampered_token_is_refused_with_a_clear_page(subscriber, mail_provider, tamper):
    token = reply_unsubscribe_token(user=subscriber)
    bad = {
        "flip": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "truncate": token[:-4],
        "other_salt": signing.dumps(subscriber.pk, salt="accounts.something-else"),
        "unsigned": signing.b64_encode(str(subscriber.pk).encode()).decode(),
        "garbage": "%E2%80%AE" + "x" * 40,
    }[tamper]
    url = f"/comments/replies/unsubscribe/{bad}/"

    post = mail_provider.post(url, ONE_CLICK, content_type="application/x-www-form-urlencoded")
    get = mail_provider.get(url)

    assert (post.status_code, get.status_code) == (404, 404)
    assert "This link is not valid" in post.content.decode()
    assert "Nothing was changed" in get.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.notify_on_reply is True


def test_one_persons_link_never_opts_out_another(subscriber, mail_provider):
    other = UserFactory()

    mail_provider.post(_url(subscriber), {"List-Unsubscribe": "One-Click"})

    other.refresh_from_db()
    assert other.notify_on_reply is True


def test_a_link_for_a_deleted_account_is_refused(mail_provider):
    gone = UserFactory()
    url = _url(gone)
    gone.delete()

    assert mail_provider.get(url).status_code == 404
