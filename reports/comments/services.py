"""Subscriber comments: who may do what, the writes, and the thread a reader sees.

Reading and posting follow the one access rule (`reports.access`); posting also needs a
published report and no active ban. Every write that changes what is visible adjusts
`Report.comment_count` in the same transaction, so the public count is always exact.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.core import signing
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from accounts.organisations.affiliations import affiliations_attach, with_domain_claims
from publisher.cache.generations import page_cache_invalidate_report
from publisher.celery import enqueue
from publisher.errors import ApplicationError
from publisher.ratelimit import Limit, limit_exceeded
from publisher.text import text_strip_invisible
from reports.access import Reader, can_read_body
from reports.models import Comment, CommentBan, CommentFlag, Report
from reports.rendering import clean_comment_source, render_comment
from reports.surrogate_keys import report_key

MAX_LENGTH = 5000
HIDE_REASON_MAX_LENGTH = 300
EDIT_WINDOW = timedelta(minutes=15)
EDIT_WINDOW_MESSAGE = "You can edit your comment for 15 minutes after posting."
POST_LIMITS = [
    Limit(5, 60, "You are posting quickly. Please wait a minute before commenting again."),
    Limit(100, 24 * 3600, "You have reached today's limit of 100 comments."),
]


# Permissions ------------------------------------------------------------------------------


def comment_ban_for(user: Reader, *, now: datetime | None = None) -> CommentBan | None:
    if not user.is_authenticated:
        return None
    ban = CommentBan.objects.filter(user_id=user.pk).first()  # type: ignore[attr-defined]
    return ban if ban is not None and ban.is_active(now=now) else None


def can_post_comment(user: Reader, report: Report) -> bool:
    return (
        user.is_authenticated
        and report.is_published
        and can_read_body(user, report)
        and comment_ban_for(user) is None
    )


def can_edit_comment(user: Reader, comment: Comment, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        user.is_authenticated
        and comment.author_id == user.pk  # type: ignore[attr-defined]
        and comment.is_visible
        and now - comment.created_at <= EDIT_WINDOW
        and can_read_body(user, comment.report)
    )


def can_delete_comment(user: Reader, comment: Comment) -> bool:
    if not user.is_authenticated or comment.deleted_at is not None:
        return False
    return user.is_staff or comment.author_id == user.pk  # type: ignore[attr-defined]


# Writes -----------------------------------------------------------------------------------


def _clean_body(body: str) -> str:
    cleaned = clean_comment_source(body or "")
    if not cleaned:
        raise ApplicationError("Write something before posting.")
    if len(cleaned) > MAX_LENGTH:
        raise ApplicationError(
            f"Comments can be at most {MAX_LENGTH:,} characters; this one has {len(cleaned):,}."
        )
    return cleaned


def comment_create(
    *, author: User, report: Report, body: str, parent_id: int | None = None
) -> Comment:
    if not can_read_body(author, report):
        raise ApplicationError("Comments are for subscribers.", status=403)
    if not report.is_published:
        raise ApplicationError("This report is not open for comments.", status=403)
    if comment_ban_for(author) is not None:
        raise ApplicationError("You cannot comment at the moment.", status=403)
    cleaned = _clean_body(body)
    parent = None
    if parent_id is not None:
        parent = Comment.objects.filter(pk=parent_id, report=report).first()
        if parent is None or parent.hidden_at is not None:
            raise ApplicationError("The comment you replied to is no longer available.")
        # One level of replies: answering a reply joins its thread.
        if parent.parent_id is not None:
            parent = parent.parent
    exceeded = limit_exceeded("comment", author.pk, POST_LIMITS)
    if exceeded is not None:
        raise ApplicationError(exceeded.message, status=429)
    with transaction.atomic():
        comment = Comment.objects.create(
            report=report,
            author=author,
            parent=parent,
            body=cleaned,
            body_html=render_comment(cleaned),
        )
        Report.objects.filter(pk=report.pk).update(comment_count=F("comment_count") + 1)
        page_cache_invalidate_report(slug=report.slug, cdn_keys=[report_key(report.pk)])
        if parent is not None and parent.author_id not in (None, author.pk):
            transaction.on_commit(
                partial(enqueue, "reports.tasks.notify_comment_reply", comment.pk)
            )
    return comment


def comment_edit(*, editor: User, comment: Comment, body: str) -> Comment:
    if not can_edit_comment(editor, comment):
        raise ApplicationError(EDIT_WINDOW_MESSAGE, status=403)
    cleaned = _clean_body(body)
    comment.body = cleaned
    comment.body_html = render_comment(cleaned)
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "body_html", "edited_at"])
    page_cache_invalidate_report(slug=comment.report.slug, cdn_keys=[report_key(comment.report_id)])
    return comment


def _set_visibility(comment: Comment, **changes: object) -> None:
    with transaction.atomic():
        locked = Comment.objects.select_for_update().get(pk=comment.pk)
        was_visible = locked.is_visible
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(changes))
        delta = int(locked.is_visible) - int(was_visible)
        if delta:
            Report.objects.filter(pk=locked.report_id).update(
                comment_count=F("comment_count") + delta
            )
        page_cache_invalidate_report(
            slug=comment.report.slug, cdn_keys=[report_key(comment.report_id)]
        )
    for name, value in changes.items():
        setattr(comment, name, value)


def comment_delete_refusal(comment: Comment) -> ApplicationError:
    """Why a reader may not delete `comment` (when `can_delete_comment` said no)."""
    if comment.deleted_at is not None:
        return ApplicationError("This comment was already deleted.", status=410)
    return ApplicationError("You can only delete your own comments.", status=403)


def comment_delete(*, user: User, comment: Comment) -> None:
    """Authors delete their own comments, staff any. The text is removed for good; a deleted
    comment that has replies stays in the thread as "comment deleted"."""
    if not can_delete_comment(user, comment):
        raise comment_delete_refusal(comment)
    _set_visibility(comment, deleted_at=timezone.now(), body="", body_html="")


def comment_hide_reason_clean(reason: str) -> str:
    """A moderator's reason for hiding, as its author will read it. ApplicationError when
    there is none or it is too long."""
    cleaned = " ".join(text_strip_invisible(reason or "").split())
    if not cleaned:
        raise ApplicationError("Say why the comment is hidden: its author reads the reason.")
    if len(cleaned) > HIDE_REASON_MAX_LENGTH:
        raise ApplicationError(
            f"Keep the reason to {HIDE_REASON_MAX_LENGTH} characters; this one has "
            f"{len(cleaned):,}."
        )
    return cleaned


def comment_hide_refusal(moderator: Reader, comment: Comment) -> ApplicationError | None:
    """Why `moderator` may not hide `comment`, or None."""
    if not moderator.is_staff:
        return ApplicationError("Only moderators can hide comments.", status=403)
    if comment.deleted_at is not None:
        return ApplicationError("This comment was deleted: nothing is left to hide.", status=410)
    return None


def comment_hide(*, moderator: User, comment: Comment, reason: str) -> None:
    """Hide a comment from everyone but moderators and its author, who sees it marked
    "Hidden by a moderator" with the reason."""
    if refusal := comment_hide_refusal(moderator, comment):
        raise refusal
    reason = comment_hide_reason_clean(reason)
    _set_visibility(comment, hidden_at=timezone.now(), hidden_by=moderator, hidden_reason=reason)
    CommentFlag.objects.filter(comment=comment, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )


def comment_unhide(*, moderator: User, comment: Comment) -> None:
    if not moderator.is_staff:
        raise ApplicationError("Only moderators can unhide comments.", status=403)
    _set_visibility(comment, hidden_at=None, hidden_by=None, hidden_reason="")


def comment_flag(*, reporter: User, comment: Comment, reason: str = "") -> bool:
    """Report a comment to the moderators; False when this reader already reported it."""
    if not can_read_body(reporter, comment.report) or not comment.is_visible:
        raise ApplicationError("You cannot report this comment.", status=403)
    _, created = CommentFlag.objects.get_or_create(
        comment=comment, reporter=reporter, defaults={"reason": reason.strip()[:300]}
    )
    return created


def comment_ban(
    *, moderator: User, user: User, until: datetime | None = None, reason: str = ""
) -> CommentBan:
    if not moderator.is_staff:
        raise ApplicationError("Only moderators can ban members.", status=403)
    ban, _ = CommentBan.objects.update_or_create(
        user=user, defaults={"until": until, "reason": reason, "created_by": moderator}
    )
    return ban


# The thread a reader sees -----------------------------------------------------------------


@dataclass
class ThreadEntry:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)


@dataclass
class SharedThread:
    """The thread as every non-staff reader sees it, and who wrote its hidden comments:
    those authors see their own hidden comments, so their threads are rendered apart."""

    entries: list[ThreadEntry]
    hidden_author_ids: frozenset[int]


def _thread(*, report: Report, reader: Reader, own_hidden: bool) -> SharedThread:
    if not can_read_body(reader, report):
        return SharedThread(entries=[], hidden_author_ids=frozenset())

    # The reader whose own hidden comments are shown to them (never in shared HTML).
    me = reader.pk if own_hidden and reader.is_authenticated else None  # type: ignore[attr-defined]

    def shown(comment: Comment) -> bool:
        if comment.deleted_at is not None:
            return False
        return (
            comment.hidden_at is None
            or reader.is_staff
            or (me is not None and comment.author_id == me)
        )

    comments = list(
        with_domain_claims(
            Comment.objects.filter(report=report)
            .select_related("author__seat__organisation")
            .order_by("created_at", "id"),
            user_id_field="author_id",
        )
    )
    affiliations_attach(comments, user_attr="author")
    entries: dict[int, ThreadEntry] = {}
    for comment in comments:
        if comment.parent_id is None:
            entries[comment.pk] = ThreadEntry(comment)
    for comment in comments:
        if comment.parent_id is not None and shown(comment):
            entry = entries.get(comment.parent_id)
            if entry is not None:
                entry.replies.append(comment)
    thread = [e for e in entries.values() if shown(e.comment) or e.replies]
    for entry in thread:
        if not shown(entry.comment):
            # Only a placeholder is rendered; keep the text out of the template altogether.
            entry.comment.placeholder = True  # type: ignore[attr-defined]
            entry.comment.body = entry.comment.body_html = entry.comment.hidden_reason = ""
    hidden_authors = frozenset(
        c.author_id
        for c in comments
        if c.hidden_at is not None and c.deleted_at is None and c.author_id is not None
    )
    return SharedThread(entries=thread, hidden_author_ids=hidden_authors)


def comment_thread_for_reader(*, report: Report, reader: Reader) -> list[ThreadEntry]:
    """Top-level comments with their replies, in one query. Empty for non-entitled readers:
    comment text never leaves this function for them. Moderators also see hidden comments,
    and authors their own (marked hidden, with the reason); everyone else sees a hidden or
    deleted comment only as the anchor of remaining replies."""
    return _thread(report=report, reader=reader, own_hidden=True).entries


def comment_thread_shared(*, report: Report, reader: Reader) -> SharedThread:
    """The thread for HTML shared by every non-staff reader of its kind: no hidden comment
    in it, whoever the reader is, not even one the reader wrote."""
    return _thread(report=report, reader=reader, own_hidden=False)


# Reply emails' one-click opt-out ------------------------------------------------------------

# A personal link in every reply email turns those emails off without a login (RFC 8058):
# the signed user id is the credential, so the salt keeps this signature from standing in
# for any other the site makes with the same key.
_REPLY_UNSUBSCRIBE_SALT = "reports.comments.reply-emails-off"


def reply_unsubscribe_token(*, user: User) -> str:
    return signing.dumps(user.pk, salt=_REPLY_UNSUBSCRIBE_SALT)


def reply_unsubscribe_user(*, token: str) -> User | None:
    """The account a reply-email opt-out link belongs to; None for a tampered or stale link."""
    try:
        user_id = signing.loads(token, salt=_REPLY_UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(user_id, int):
        return None
    return User.objects.filter(pk=user_id).first()


def comment_replies_unsubscribe(*, user: User) -> None:
    """Stop emails about replies to the user's comments (the account page turns them on)."""
    User.objects.filter(pk=user.pk).update(notify_on_reply=False)
    user.notify_on_reply = False
