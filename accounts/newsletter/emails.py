"""The newsletter's double opt-in email."""

from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.urls import reverse

from accounts.models import NewsletterSubscriber
from publisher.mail.messages import email_build
from publisher.site import site_path


def newsletter_confirmation_send(*, subscriber_id: int, token: str, next_path: str = "") -> None:
    """Email the double opt-in link. Takes the raw token: only its hash is stored.

    `next_path` (the page the signup came from) rides along in the link, so the confirmed
    page can offer the way back."""
    subscriber = NewsletterSubscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.is_receiving:
        return
    _confirmation_message(subscriber, token, next_path).send(using="default")


def newsletter_confirmation_messages(
    *, subscribers: list[tuple[NewsletterSubscriber, str]]
) -> None:
    """The same email to many subscribers (each with their raw token), over one connection."""
    if not subscribers:
        return
    mailers.default.send_messages(
        [_confirmation_message(subscriber, token) for subscriber, token in subscribers]
    )


def _confirmation_message(
    subscriber: NewsletterSubscriber, token: str, next_path: str = ""
) -> EmailMultiAlternatives:
    confirm_url = settings.SITE_URL + reverse("newsletter:confirm", kwargs={"token": token})
    if next_path := site_path(next_path):
        confirm_url += "?" + urlencode({"next": next_path})
    return email_build(
        name="newsletter-confirm",
        to=subscriber.email,
        context={"confirm_url": confirm_url, "email": subscriber.email},
        headers={"Auto-Submitted": "auto-generated"},
    )
