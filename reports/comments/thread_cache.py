"""The rendered comment thread, shared by the entitled readers who are not staff.

A thread looks the same to every non-staff reader allowed to read it (hidden comments are
never in it), except for the actions under each comment: Edit and Delete under the reader's
own comments, Report under everyone else's. (The actions are buttons of one form outside
the thread that carries the reader's CSRF token, so the thread holds no token.) So it is
rendered once per report, comment generation and kind of reader (anonymous on a free
report, member who may post, member who may not), with both versions of every comment's
actions, and kept in the cache for a minute (relative times like "5 minutes ago" stay at
most that stale). Each request then picks the reader's own actions where the reader wrote
the comment and the others' actions elsewhere. Any comment change bumps the report's
generation (`publisher.cache.generations.page_cache_invalidate_report`), which retires the
cached thread at once.

Staff (who see hidden comments and moderation buttons) and the no-JavaScript reply form
(`?reply=<id>`) are rendered for the one request.
"""

import secrets

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from publisher.cache.generations import CACHE_ERRORS, versioned_get, versioned_set
from reports.access import can_read_body
from reports.comments.services import MAX_LENGTH, comment_thread_for_reader
from reports.models import Report

THREAD_TEMPLATE = "reports/includes/comment_thread.html"
FRAGMENT_SECONDS = 60
# Separates the shared parts of a rendered thread from each comment's two versions of its
# actions. Random per process: no comment text can contain it.
_MARK = f"\x00{secrets.token_hex(8)}\x00"


def _render_live(request, report: Report, *, can_post: bool, reply_to: int | None) -> str:
    thread = comment_thread_for_reader(report=report, reader=request.user)
    return render_to_string(
        THREAD_TEMPLATE,
        {
            "thread": thread,
            "report": report,
            "can_post": can_post,
            "reply_to": reply_to,
            "comment_max_length": MAX_LENGTH,
        },
        request=request,
    )


def _render_shared(request, report: Report, *, can_post: bool) -> list[str] | None:
    """Parts alternating shared HTML with, for each comment, its author's id, the actions
    its author sees and the actions everyone else sees."""
    reader = request.user
    # No request: no context processor may put anything of this reader (such as a CSRF
    # token) into shared HTML.
    html = render_to_string(
        THREAD_TEMPLATE,
        {
            "thread": comment_thread_for_reader(report=report, reader=reader),
            "report": report,
            "can_post": can_post,
            "reply_to": None,
            "user": reader,
            "shared_marks": _MARK,
            "comment_max_length": MAX_LENGTH,
        },
    )
    parts = html.split(_MARK)
    return parts if len(parts) % 4 == 1 and "csrfmiddlewaretoken" not in html else None


def comment_thread_html(
    *, request, report: Report, can_post: bool, reply_to: int | None = None
) -> SafeString:
    """The comment thread this request's reader may see, as HTML ("" when there is none)."""
    reader = request.user
    if not can_read_body(reader, report):
        return SafeString("")
    if reader.is_staff or reply_to is not None:
        html = _render_live(request, report, can_post=can_post, reply_to=reply_to)
        return mark_safe(html.strip())  # noqa: S308 - rendered by our templates
    variant = "posting" if can_post else "reading" if reader.is_authenticated else "anonymous"
    key = f"comments:thread:{report.pk}:{variant}"
    try:
        entry, generations = versioned_get(key, slug=report.slug)
    except CACHE_ERRORS:  # no cache: render for this reader alone
        entry, generations = None, None
    if entry is None:
        entry = _render_shared(request, report, can_post=can_post)
        if entry is None:  # cannot happen with our templates; never serve a broken split
            html = _render_live(request, report, can_post=can_post, reply_to=None)
            return mark_safe(html.strip())  # noqa: S308 - rendered by our templates
        if generations is not None:
            versioned_set(key, entry, generations=generations, timeout=FRAGMENT_SECONDS)
    parts = entry
    me = str(reader.pk) if reader.is_authenticated else None
    pieces = [parts[0]]
    for index in range(1, len(parts), 4):
        author, own_actions, other_actions, following = parts[index : index + 4]
        pieces.append(own_actions if author == me else other_actions)
        pieces.append(following)
    return mark_safe("".join(pieces).strip())  # noqa: S308 - rendered by our templates with autoescaping
