"""The email a comment author gets when someone replies to them."""

from django.conf import settings
from django.urls import reverse

from publisher.mail.messages import email_build, list_id
from publisher.mail.text import html_to_text
from reports.access import can_read_body
from reports.comments.services import reply_unsubscribe_token
from reports.models import Comment
from reports.rendering import email_fragment


def comment_reply_notify(*, comment_id: int) -> bool:
    """Email the parent comment's author about a reply; False when nobody should get one."""
    reply = (
        Comment.objects.select_related("report", "author", "parent__author")
        .filter(pk=comment_id, parent__isnull=False)
        .first()
    )
    if reply is None or reply.parent is None or not reply.is_visible:
        return False
    recipient = reply.parent.author
    if (
        recipient is None
        or not recipient.is_active
        or not recipient.notify_on_reply
        or recipient.pk == reply.author_id
    ):
        return False
    report = reply.report
    # The reply's text is subscriber-only: a recipient whose access has ended is only told
    # that there is a reply.
    entitled = can_read_body(recipient, report)
    report_url = settings.SITE_URL + report.get_absolute_url()
    reply_html = email_fragment(reply.body_html, base_url=report_url) if entitled else ""
    unsubscribe_path = reverse(
        "reports:reply_unsubscribe", kwargs={"token": reply_unsubscribe_token(user=recipient)}
    )
    email_build(
        name="comment-reply",
        to=recipient.email,
        context={
            "report": report,
            "reply_author": reply.author.public_name if reply.author else "A subscriber",
            "reply_text": html_to_text(reply_html, base_url=report_url),
            "reply_html": reply_html,
            "link": f"{report_url}#comment-{reply.pk}",
            "account_link": f"{settings.SITE_URL}{reverse('accounts:account')}",
            "unsubscribe_url": settings.SITE_URL + unsubscribe_path,
        },
        unsubscribe_url=settings.SITE_URL + unsubscribe_path,
        headers={
            "Auto-Submitted": "auto-generated",
            "List-Id": list_id(label="comment replies", name="comment-replies"),
        },
    ).send()
    return True
