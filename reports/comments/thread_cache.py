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

Staff (who see hidden comments and moderation buttons), the author of a hidden comment
(who sees it, marked "Hidden by a moderator" with the reason) and the no-JavaScript reply
form (`?reply=<id>`) are rendered for the one request. The shared thread never holds a
hidden comment's text, whoever's request rendered it: the cache entry only lists the
authors of hidden comments, so that their requests know to render apart.
"""

import secrets

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from publisher.cache.generations import CACHE_ERRORS, versioned_get, versioned_set
from reports.access import can_read_body
from reports.comments.services import (
    MAX_LENGTH,
    comment_thread_for_reader,
    comment_thread_shared,
)
from reports.models import Report

THREAD_TEMPLATE = "reports/includes/comment_thread.html"
FRAGMENT_SECONDS = 60
# Separates the shared parts of a rendered thread from each comment's two versions of its
# actions. Random per process: no comment text can contain it.
_MARK = f"\x00{secrets.token_hex(8)}\x00"


def _render_live(request, report: Report, *, can_post: bool, reply_to: int | None) -> SafeString:
    thread = comment_thread_for_reader(report=report, reader=request.user)
    html = render_to_string(
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
    return mark_safe(html.strip())  # noqa: S308 - rendered by our templates


def comment_thread_shared_parts(
    request, report: Report, *, can_post: bool
) -> dict[str, list] | None:
    """`parts`: shared HTML alternating with, for each comment, its author's id, the actions
    its author sees and the actions everyone else sees; `hidden_authors`: the ids of the
    readers who wrote a hidden comment (theirs is not in the parts)."""
    reader = request.user
    shared = comment_thread_shared(report=report, reader=reader)
    # No request: no context processor may put anything of this reader (such as a CSRF
    # token) into shared HTML.
    html = render_to_string(
        THREAD_TEMPLATE,
        {
            "thread": shared.entries,
            "report": report,
            "can_post": can_post,
            "reply_to": None,
            "user": reader,
            "shared_marks": _MARK,
            "comment_max_length": MAX_LENGTH,
        },
    )
    parts = html.split(_MARK)
    if len(parts) % 4 != 1 or "csrfmiddlewaretoken" in html:
        return None
    return {"parts": parts, "hidden_authors": sorted(shared.hidden_author_ids)}


def comment_thread_html(
    *, request, report: Report, can_post: bool, reply_to: int | None = None
) -> SafeString:
    """The comment thread this request's reader may see, as HTML ("" when there is none)."""
    reader = request.user
    if not can_read_body(reader, report):
        return SafeString("")
    if reader.is_staff or reply_to is not None:
        return _render_live(request, report, can_post=can_post, reply_to=reply_to)
    variant = "posting" if can_post else "reading" if reader.is_authenticated else "anonymous"
    key = f"comments:thread:v2:{report.pk}:{variant}"
    try:
        entry, generations = versioned_get(key, slug=report.slug)
    except CACHE_ERRORS:  # no cache: render for this reader alone
        entry, generations = None, None
    if entry is None:
        entry = comment_thread_shared_parts(request, report, can_post=can_post)
        if entry is None:  # cannot happen with our templates; never serve a broken split
            return _render_live(request, report, can_post=can_post, reply_to=None)
        if generations is not None:
            versioned_set(key, entry, generations=generations, timeout=FRAGMENT_SECONDS)
    if reader.is_authenticated and reader.pk in entry["hidden_authors"]:
        return _render_live(request, report, can_post=can_post, reply_to=None)
    parts = entry["parts"]
    me = str(reader.pk) if reader.is_authenticated else None
    pieces = [parts[0]]
    for index in range(1, len(parts), 4):
        author, own_actions, other_actions, following = parts[index : index + 4]
        pieces.append(own_actions if author == me else other_actions)
        pieces.append(following)
    return mark_safe("".join(pieces).strip())  # noqa: S308 - rendered by our templates with autoescaping
