"""Subscriber comments: the permission matrix, safety, counts, queries and emails."""

import pickle
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.cache import cache, caches
from django.test import Client
from django.utils import timezone

from reports.comments.services import comment_create, comment_hide
from reports.models import Comment, CommentBan, CommentFlag, Report
from tests.support.factories import MembershipFactory, ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET_COMMENT = "Comment canary 51c2: the installer price was 1,840 dollars."


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def report():
    return ReportFactory(slug="paid", title="A paid report")


@pytest.fixture
def banned(db):
    user = MembershipFactory(user__email="banned@example.com").user
    CommentBan.objects.create(user=user)
    return user


@pytest.fixture
def comment_by_subscriber(report, subscriber):
    return comment_create(author=subscriber, report=report, body=SECRET_COMMENT)


def _post(client, report, body="A fair point about standby draw.", **extra):
    return client.post(f"/reports/{report.slug}/comments/", {"body": body, **extra})


# Reading --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["anonymous", "free_reader", "lapsed_subscriber"])
def test_non_entitled_readers_see_count_and_call_to_join_but_no_text(
    request, client_for, report, comment_by_subscriber, persona
):
    page = client_for(request.getfixturevalue(persona)).get(report.get_absolute_url())
    html = page.content.decode()

    assert "Comments (1)" in html
    assert "Subscribers only." in html
    assert SECRET_COMMENT not in html
    assert "installer price" not in html
    assert 'name="body"' not in html


def test_anonymous_call_to_join_returns_to_the_report(client, report):
    html = client.get(report.get_absolute_url()).content.decode()

    assert '/accounts/login/?next=/reports/paid/%23comments"' in html
    assert '/subscribe/?next=/reports/paid/"' in html


@pytest.mark.parametrize("persona", ["subscriber", "editor", "banned"])
def test_entitled_readers_read_comments(
    request, client_for, report, comment_by_subscriber, persona
):
    html = client_for(request.getfixturevalue(persona)).get(report.get_absolute_url())

    assert SECRET_COMMENT in html.content.decode()


def test_banned_member_reads_but_has_no_form(client_for, report, banned):
    html = client_for(banned).get(report.get_absolute_url()).content.decode()

    assert 'name="body"' not in html
    assert "You cannot post comments at the moment." in html


def test_free_report_comments_are_open_to_logged_in_readers(client_for, free_reader):
    free = ReportFactory(is_free=True)

    assert _post(client_for(free_reader), free).status_code == 302
    assert free.comments.count() == 1


# Posting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("free_reader", False),
        ("lapsed_subscriber", False),
        ("banned", False),
        ("subscriber", True),
        ("editor", True),
    ],
)
def test_post_and_reply_permissions(
    request, client_for, report, comment_by_subscriber, persona, allowed
):
    client = client_for(request.getfixturevalue(persona))
    before = Comment.objects.count()

    top = _post(client, report)
    reply = _post(client, report, parent=str(comment_by_subscriber.pk))

    expected = 302 if allowed else 403
    assert (top.status_code, reply.status_code) == (expected, expected)
    assert Comment.objects.count() == before + (2 if allowed else 0)
    report.refresh_from_db()
    assert report.comment_count == Comment.objects.filter(report=report).count()


def test_anonymous_post_is_sent_to_login_and_changes_nothing(client, report):
    response = _post(client, report)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Comment.objects.count() == 0


def test_csrf_is_enforced(subscriber, report):
    client = Client(enforce_csrf_checks=True)
    client.force_login(subscriber)

    assert _post(client, report).status_code == 403
    assert Comment.objects.count() == 0


def test_posting_redirects_to_the_permalink(client_for, subscriber, report):
    response = _post(client_for(subscriber), report)
    comment = Comment.objects.get()

    assert response["Location"] == f"/reports/paid/#comment-{comment.pk}"
    page = client_for(subscriber).get("/reports/paid/").content.decode()
    assert f'id="comment-{comment.pk}"' in page
    assert "Comments (1)" in page


def test_fetch_post_returns_the_rendered_comment(client_for, subscriber, report):
    response = client_for(subscriber).post(
        "/reports/paid/comments/", {"body": "*Quick* note"}, HTTP_X_REQUESTED_WITH="fetch"
    )

    assert response.status_code == 201
    assert "<em>Quick</em> note" in response.content.decode()


def test_reply_to_a_reply_joins_the_thread(client_for, subscriber, report, comment_by_subscriber):
    first = comment_create(
        author=subscriber, report=report, body="reply", parent_id=comment_by_subscriber.pk
    )
    second = comment_create(author=subscriber, report=report, body="again", parent_id=first.pk)

    assert second.parent_id == comment_by_subscriber.pk


def test_reply_to_a_comment_of_another_report_is_refused(client_for, subscriber, report):
    other = comment_create(author=subscriber, report=ReportFactory(), body="elsewhere")

    response = _post(client_for(subscriber), report, parent=str(other.pk))

    assert response.status_code == 400
    assert "no longer available" in response.content.decode()


@pytest.mark.parametrize("body", ["", "   ", "\u200b\u200b"])
def test_empty_comment_gets_a_message(client_for, subscriber, report, body):
    response = _post(client_for(subscriber), report, body=body)

    assert response.status_code == 400
    assert "Write something before posting." in response.content.decode()
    assert Comment.objects.count() == 0


def test_comment_strips_every_invisible_character_but_keeps_visible_joiners(subscriber, report):
    comment = comment_create(
        author=subscriber,
        report=report,
        body="Le\u200fft\u00ad \U000e0041marks\u2061 \U0001f469\u200d\U0001f4bb\nnext line",
    )

    assert comment.body == "Left marks \U0001f469\u200d\U0001f4bb\nnext line"


def test_too_long_comment_gets_a_message_and_keeps_the_text(client_for, subscriber, report):
    response = _post(client_for(subscriber), report, body="x" * 5001)

    html = response.content.decode()
    assert response.status_code == 400
    assert "at most 5,000 characters" in html
    assert "x" * 5001 in html  # nothing the reader typed is lost
    assert Comment.objects.count() == 0


def test_rate_limit_gets_a_message(client_for, subscriber, report):
    client = client_for(subscriber)
    statuses = [_post(client, report, body=f"note {n}").status_code for n in range(6)]

    assert statuses == [302] * 5 + [429]
    assert "wait a minute" in _post(client, report).content.decode()
    assert Comment.objects.count() == 5


def test_drafts_take_no_comments(client_for, editor):
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None)

    assert _post(client_for(editor), draft).status_code == 404


@pytest.mark.parametrize("parent", ["abc", "-1", "99999999999999999999", ""])
def test_nonsense_parent_ids_never_500(client_for, subscriber, report, parent):
    assert _post(client_for(subscriber), report, parent=parent).status_code in (302, 400)


# Editing, deleting, moderation -----------------------------------------------------------


def test_author_edits_within_the_window(client_for, subscriber, comment_by_subscriber):
    client = client_for(subscriber)

    response = client.post(f"/comments/{comment_by_subscriber.pk}/edit/", {"body": "Edited text"})

    comment_by_subscriber.refresh_from_db()
    assert response.status_code == 302
    assert comment_by_subscriber.body == "Edited text"
    assert comment_by_subscriber.edited_at is not None
    assert "edited" in client.get("/reports/paid/").content.decode()


def test_edit_outside_the_window_is_refused(
    client_for, subscriber, comment_by_subscriber, time_machine
):
    time_machine.move_to(timezone.now() + timedelta(minutes=16))
    client = client_for(subscriber)

    response = client.post(f"/comments/{comment_by_subscriber.pk}/edit/", {"body": "Late"})

    assert response.status_code == 403
    assert "15 minutes" in response.content.decode()
    comment_by_subscriber.refresh_from_db()
    assert comment_by_subscriber.body == SECRET_COMMENT


@pytest.mark.parametrize("persona", ["free_reader", "editor"])
def test_others_cannot_edit(request, client_for, comment_by_subscriber, persona):
    client = client_for(request.getfixturevalue(persona))

    response = client.post(f"/comments/{comment_by_subscriber.pk}/edit/", {"body": "Mine now"})

    assert response.status_code in (403, 404)
    comment_by_subscriber.refresh_from_db()
    assert comment_by_subscriber.body == SECRET_COMMENT


def test_lapsed_author_can_no_longer_edit(report):
    author = MembershipFactory().user
    comment = comment_create(author=author, report=report, body="Before lapsing")
    author.membership.status = "canceled"
    author.membership.save()
    client = Client()
    client.force_login(author)

    response = client.post(f"/comments/{comment.pk}/edit/", {"body": "After"})

    assert response.status_code == 404
    comment.refresh_from_db()
    assert comment.body == "Before lapsing"


def test_lapsed_authors_comments_stay_visible(client_for, subscriber, report):
    author = MembershipFactory().user
    comment_create(author=author, report=report, body="Still worth reading")
    author.membership.status = "canceled"
    author.membership.save()

    assert "Still worth reading" in client_for(subscriber).get("/reports/paid/").content.decode()


def test_delete_with_replies_leaves_a_placeholder(
    client_for, subscriber, editor, report, comment_by_subscriber
):
    comment_create(author=editor, report=report, body="A reply", parent_id=comment_by_subscriber.pk)
    client = client_for(subscriber)

    client.post(f"/comments/{comment_by_subscriber.pk}/delete/")

    html = client.get("/reports/paid/").content.decode()
    assert "Comment deleted." in html
    assert SECRET_COMMENT not in html
    assert "A reply" in html
    report.refresh_from_db()
    assert report.comment_count == 1
    comment_by_subscriber.refresh_from_db()
    assert comment_by_subscriber.body == ""  # the text is gone, not just hidden


def test_delete_without_replies_disappears(client_for, subscriber, comment_by_subscriber):
    client = client_for(subscriber)
    client.post(f"/comments/{comment_by_subscriber.pk}/delete/")

    html = client.get("/reports/paid/").content.decode()
    assert "Comment deleted." not in html
    assert "Comments (0)" in html


def test_others_cannot_delete(client_for, free_reader, comment_by_subscriber):
    other = MembershipFactory().user

    assert (
        client_for(other).post(f"/comments/{comment_by_subscriber.pk}/delete/").status_code == 403
    )
    assert (
        client_for(free_reader).post(f"/comments/{comment_by_subscriber.pk}/delete/").status_code
        == 404
    )
    assert Comment.objects.visible().count() == 1


def test_staff_hide_and_unhide(client_for, editor, subscriber, report, comment_by_subscriber):
    staff = client_for(editor)
    other = client_for(MembershipFactory().user)

    staff.post(f"/comments/{comment_by_subscriber.pk}/hide/", {"reason": "Off topic"})
    report.refresh_from_db()
    assert report.comment_count == 0
    assert SECRET_COMMENT not in other.get("/reports/paid/").content.decode()
    assert "Hidden" in staff.get("/reports/paid/").content.decode()

    staff.post(f"/comments/{comment_by_subscriber.pk}/unhide/")
    report.refresh_from_db()
    assert report.comment_count == 1
    comment_by_subscriber.refresh_from_db()
    assert comment_by_subscriber.hidden_reason == ""
    assert SECRET_COMMENT in other.get("/reports/paid/").content.decode()


def test_members_cannot_hide(client_for, subscriber, comment_by_subscriber):
    client = client_for(subscriber)
    response = client.post(f"/comments/{comment_by_subscriber.pk}/hide/", {"reason": "Mine"})

    assert response.status_code == 403
    assert client.get(f"/comments/{comment_by_subscriber.pk}/hide/").status_code == 403
    assert Comment.objects.visible().count() == 1


# Confirming a deletion, and the reason for hiding ----------------------------------------------


def test_delete_asks_for_confirmation_and_only_a_post_deletes(
    client_for, subscriber, comment_by_subscriber
):
    client = client_for(subscriber)
    url = f"/comments/{comment_by_subscriber.pk}/delete/"

    page = client.get(url)
    client.head(url)

    html = page.content.decode()
    assert page.status_code == 200
    assert "Delete this comment?" in html
    assert SECRET_COMMENT in html  # the author sees what they are about to delete
    assert f'<form method="post" action="{url}"' in html
    assert "csrfmiddlewaretoken" in html
    assert Comment.objects.visible().count() == 1

    deleted = client.post(url)

    assert deleted.status_code == 302
    assert Comment.objects.visible().count() == 0


def test_the_report_page_links_to_the_confirmation_not_a_delete_button(
    client_for, subscriber, comment_by_subscriber
):
    html = client_for(subscriber).get("/reports/paid/").content.decode()

    assert f'<a href="/comments/{comment_by_subscriber.pk}/delete/">Delete</a>' in html
    assert f'formaction="/comments/{comment_by_subscriber.pk}/delete/"' not in html


def test_moderators_confirm_deleting_anyones_comment(client_for, editor, comment_by_subscriber):
    staff = client_for(editor)
    url = f"/comments/{comment_by_subscriber.pk}/delete/"

    assert "Delete this comment?" in staff.get(url).content.decode()
    staff.post(url)

    assert Comment.objects.visible().count() == 0


def test_delete_confirmation_is_for_the_author_and_moderators_only(
    client, client_for, free_reader, comment_by_subscriber
):
    url = f"/comments/{comment_by_subscriber.pk}/delete/"
    other = client_for(MembershipFactory().user).get(url)

    assert other.status_code == 403
    assert SECRET_COMMENT not in other.content.decode()
    assert client_for(free_reader).get(url).status_code == 404
    assert "/accounts/login/" in client.get(url)["Location"]


def test_delete_needs_the_csrf_token(subscriber, comment_by_subscriber):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(subscriber)

    response = browser.post(f"/comments/{comment_by_subscriber.pk}/delete/")

    assert response.status_code == 403
    assert Comment.objects.visible().count() == 1


def test_a_deleted_comment_cannot_be_deleted_again(client_for, subscriber, comment_by_subscriber):
    client = client_for(subscriber)
    client.post(f"/comments/{comment_by_subscriber.pk}/delete/")

    again = client.get(f"/comments/{comment_by_subscriber.pk}/delete/")

    assert again.status_code == 410
    assert "already deleted" in again.content.decode()


def test_hiding_on_the_page_asks_for_the_reason(client_for, editor, comment_by_subscriber):
    staff = client_for(editor)
    url = f"/comments/{comment_by_subscriber.pk}/hide/"

    page = staff.get(url).content.decode()
    missing = staff.post(url, {"reason": "   \u200b "})
    too_long = staff.post(url, {"reason": "x" * 301})

    assert "Reason, for the author" in page
    for refused in (missing, too_long):
        assert refused.status_code == 400
    assert "Say why the comment is hidden" in missing.content.decode()
    assert "Keep the reason to 300 characters" in too_long.content.decode()
    assert Comment.objects.visible().count() == 1

    staff.post(url, {"reason": "  Personal  attack. "})

    comment_by_subscriber.refresh_from_db()
    assert comment_by_subscriber.hidden_at is not None
    assert comment_by_subscriber.hidden_reason == "Personal attack."


def test_a_deleted_comment_has_nothing_to_hide(
    client_for, editor, subscriber, comment_by_subscriber
):
    client_for(subscriber).post(f"/comments/{comment_by_subscriber.pk}/delete/")
    staff = client_for(editor)

    for response in (
        staff.get(f"/comments/{comment_by_subscriber.pk}/hide/"),
        staff.post(f"/comments/{comment_by_subscriber.pk}/hide/", {"reason": "Spam"}),
    ):
        assert response.status_code == 410
        assert "nothing is left to hide" in response.content.decode()
    comment_by_subscriber.refresh_from_db()
    assert comment_by_subscriber.hidden_at is None


def _hide(comment, editor, reason="Names a private person."):
    comment_hide(moderator=editor, comment=comment, reason=reason)


def test_the_author_sees_their_hidden_comment_marked_with_the_reason(
    client_for, editor, subscriber, comment_by_subscriber
):
    _hide(comment_by_subscriber, editor)

    html = client_for(subscriber).get("/reports/paid/").content.decode()

    assert SECRET_COMMENT in html
    assert "Hidden by a moderator." in html
    assert "Reason: Names a private person." in html
    assert "Only you can see this comment." in html
    assert f"/comments/{comment_by_subscriber.pk}/edit/" not in html
    assert f"/comments/{comment_by_subscriber.pk}/delete/" in html


def _cached_text() -> str:
    """Everything the local-memory cache holds, as text."""
    cached = caches["default"]._cache.values()
    return "\n".join(str(pickle.loads(value)) for value in cached)  # noqa: S301 - our own cache


@pytest.mark.parametrize("first", ["author", "other"])
def test_other_readers_see_nothing_of_a_hidden_comment_whoever_filled_the_cache(
    client_for, editor, subscriber, report, comment_by_subscriber, first
):
    reply = comment_create(
        author=subscriber, report=report, body="Hidden reply canary 9e1f",
        parent_id=comment_create(author=editor, report=report, body="A visible comment").pk,
    )  # fmt: skip
    _hide(comment_by_subscriber, editor)
    _hide(reply, editor, reason="Reply canary reason 77b2")
    author, other = client_for(subscriber), client_for(MembershipFactory().user)
    clients = [author, other] if first == "author" else [other, author]

    pages = {id(c): c.get("/reports/paid/").content.decode() for c in clients}

    seen_by_other = pages[id(other)]
    for fragment in [SECRET_COMMENT, "Hidden reply canary", "Names a private person", "77b2"]:
        assert fragment not in seen_by_other
        assert fragment not in _cached_text()
        assert fragment in pages[id(author)]
    assert "Hidden by a moderator" not in seen_by_other
    assert f"comment-{comment_by_subscriber.pk}" not in seen_by_other
    assert f"comment-{reply.pk}" not in seen_by_other
    assert "A visible comment" in seen_by_other


def test_a_hidden_comment_with_replies_stays_a_placeholder_for_others(
    client_for, editor, subscriber, report, comment_by_subscriber
):
    comment_create(author=editor, report=report, body="A reply", parent_id=comment_by_subscriber.pk)
    _hide(comment_by_subscriber, editor)

    other = client_for(MembershipFactory().user).get("/reports/paid/").content.decode()

    assert "Comment hidden by a moderator." in other
    assert "Names a private person" not in other
    assert SECRET_COMMENT not in other
    assert "A reply" in other


@pytest.fixture
def chief_moderator(db):
    return UserFactory(email="chief@example.com", is_staff=True, is_superuser=True)


def test_admin_hide_action_asks_for_the_reason(client_for, chief_moderator, comment_by_subscriber):
    staff = client_for(chief_moderator)
    action = {"action": "hide", "_selected_action": [str(comment_by_subscriber.pk)]}

    asked = staff.post("/admin/reports/comment/", action)
    refused = staff.post("/admin/reports/comment/", {**action, "apply": "1", "reason": " "})

    assert asked.status_code == refused.status_code == 200
    assert "Reason, for the authors" in asked.content.decode()
    assert "This field is required." in refused.content.decode()
    assert Comment.objects.visible().count() == 1

    done = staff.post(
        "/admin/reports/comment/", {**action, "apply": "1", "reason": "Spam link"}, follow=True
    )

    assert "Hidden: 1 comment." in done.content.decode()
    comment_by_subscriber.refresh_from_db()
    assert (comment_by_subscriber.hidden_reason, comment_by_subscriber.hidden_by) == (
        "Spam link",
        chief_moderator,
    )


def test_admin_hides_reported_comments_with_a_reason(
    client_for, chief_moderator, free_reader, comment_by_subscriber
):
    flag = CommentFlag.objects.create(comment=comment_by_subscriber, reporter=free_reader)
    staff = client_for(chief_moderator)
    action = {"action": "hide_comments", "_selected_action": [str(flag.pk)]}

    assert (
        "Reason, for the authors"
        in staff.post("/admin/reports/commentflag/", action).content.decode()
    )
    staff.post("/admin/reports/commentflag/", {**action, "apply": "1", "reason": "Harassment"})

    comment_by_subscriber.refresh_from_db()
    flag.refresh_from_db()
    assert comment_by_subscriber.hidden_reason == "Harassment"
    assert flag.resolved_at is not None


def test_report_once_per_reader(client_for, report, comment_by_subscriber):
    reader = MembershipFactory().user
    client = client_for(reader)

    first = client.post(f"/comments/{comment_by_subscriber.pk}/report/", follow=True)
    second = client.post(f"/comments/{comment_by_subscriber.pk}/report/", follow=True)

    assert "the moderators will look" in first.content.decode()
    assert "already reported" in second.content.decode()
    assert CommentFlag.objects.count() == 1


def test_non_entitled_cannot_report(client_for, free_reader, comment_by_subscriber):
    response = client_for(free_reader).post(f"/comments/{comment_by_subscriber.pk}/report/")

    assert response.status_code == 404
    assert CommentFlag.objects.count() == 0


def test_temporary_ban_ends_by_itself(client_for, report, time_machine):
    user = MembershipFactory().user
    CommentBan.objects.create(user=user, until=timezone.now() + timedelta(days=1))

    assert _post(client_for(user), report).status_code == 403
    time_machine.move_to(timezone.now() + timedelta(days=2))
    assert _post(client_for(user), report).status_code == 302


def test_deleted_account_comments_stay_as_deleted_account(client_for, subscriber, report):
    author = MembershipFactory().user
    comment_create(author=author, report=report, body="Words that remain")
    author.delete()

    html = client_for(subscriber).get("/reports/paid/").content.decode()
    assert "Words that remain" in html
    assert "Deleted account" in html


def test_verified_company_is_marked(client_for, subscriber, report):
    author = MembershipFactory(user__company="Acme Integrators", user__company_verified=True).user
    comment_create(author=author, report=report, body="From the field")

    html = client_for(subscriber).get("/reports/paid/").content.decode()
    assert "Acme Integrators" in html
    assert "verified" in html


# Safety -------------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<svg onload="alert(1)">',
    "<b>unclosed <i>tags",
    "<iframe src=https://evil.example></iframe>",
    "a" * 3000,
    "right\u202eto\u202cleft and zero\u200bwidth",
]


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize("payload", XSS)
def test_xss_catalog_is_inert(client_for, subscriber, report, payload):
    comment = comment_create(author=subscriber, report=report, body=payload)
    parser = _Markup()
    parser.feed(comment.body_html)

    allowed = {"a", "blockquote", "br", "code", "em", "li", "ol", "p", "pre", "strong", "ul"}
    for tag, attrs in parser.tags:
        assert tag in allowed
        assert not any(name.startswith("on") or name in ("style", "src") for name in attrs)
        if tag == "a" and "href" in attrs:
            assert attrs["href"].startswith(("http://", "https://", "mailto:"))
    assert "\u202e" not in comment.body_html
    assert "\u200b" not in comment.body_html
    page = client_for(subscriber).get("/reports/paid/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "<svg onload" not in page


def test_links_are_marked_user_generated(subscriber, report):
    comment = comment_create(author=subscriber, report=report, body="[spec](https://example.com)")

    assert 'rel="nofollow ugc noopener"' in comment.body_html


def test_markdown_lite_renders(subscriber, report):
    comment = comment_create(
        author=subscriber,
        report=report,
        body="*em* **strong** `code`\n\n- one\n- two\n\n> quoted\n\n# not a heading",
    )

    for tag in ["<em>em</em>", "<strong>strong</strong>", "<code>code</code>", "<li>one</li>",
                "<blockquote>"]:  # fmt: skip
        assert tag in comment.body_html
    assert "<h1>" not in comment.body_html


# Queries ------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 500])
def test_subscriber_page_queries_do_not_grow_with_comments(
    client_for, subscriber, report, django_assert_max_num_queries, count
):
    authors = [MembershipFactory().user for _ in range(5)]
    Comment.objects.bulk_create(
        [
            Comment(report=report, author=authors[n % 5], body=f"c{n}", body_html=f"<p>c{n}</p>")
            for n in range(count)
        ]
    )
    client = client_for(subscriber)

    with django_assert_max_num_queries(10):
        response = client.get("/reports/paid/")
    assert response.content.decode().count('class="comment"') == count


@pytest.mark.parametrize("count", [0, 500])
def test_the_page_of_a_hidden_comments_author_costs_the_same_queries(
    client_for, subscriber, editor, report, django_assert_max_num_queries, count
):
    """The author of a hidden comment gets a thread of their own, rendered for the request:
    on a warm cache that is the thread's one query more than everyone else's page."""
    others = [MembershipFactory().user for _ in range(5)]
    Comment.objects.bulk_create(
        [
            Comment(report=report, author=others[n % 5], body=f"c{n}", body_html=f"<p>c{n}</p>")
            for n in range(count)
        ]
    )
    comment_hide(
        moderator=editor,
        comment=comment_create(author=subscriber, report=report, body="Mine"),
        reason="Off topic",
    )
    client = client_for(subscriber)
    client.get("/reports/paid/")

    with django_assert_max_num_queries(10):
        response = client.get("/reports/paid/")
    assert response.content.decode().count('<article class="comment') == count + 1


# Reply emails ------------------------------------------------------------------------------


def test_reply_emails_the_parent_author_once(
    subscriber, report, comment_by_subscriber, mailoutbox, django_capture_on_commit_callbacks
):
    replier = MembershipFactory(user__display_name="Riley Replier").user

    with django_capture_on_commit_callbacks(execute=True):
        comment_create(
            author=replier, report=report, body="I measured the same.",
            parent_id=comment_by_subscriber.pk,
        )  # fmt: skip

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [subscriber.email]
    assert "Riley Replier replied" in mail.subject
    assert "I measured the same." in mail.body
    assert report.body not in mail.body


def test_reply_email_text_keeps_ampersands_and_angle_brackets_as_written(
    subscriber, comment_by_subscriber, mailoutbox, django_capture_on_commit_callbacks
):
    report = comment_by_subscriber.report
    report.title = "Chargers & <cables>"
    report.save()
    replier = MembershipFactory(user__display_name="Riley Replier").user

    with django_capture_on_commit_callbacks(execute=True):
        comment_create(
            author=replier, report=report, body="5 V & 3 A, so <15 W.",
            parent_id=comment_by_subscriber.pk,
        )  # fmt: skip

    (mail,) = mailoutbox
    assert mail.subject == "Riley Replier replied to your comment on “Chargers & <cables>”"
    assert "“Chargers & <cables>”" in mail.body
    assert "5 V & 3 A, so <15 W." in mail.body
    html = mail.alternatives[0].content
    assert "“Chargers &amp; &lt;cables&gt;”" in html
    assert "&lt;15 W." in html


def test_reply_email_text_keeps_link_targets(
    subscriber, comment_by_subscriber, mailoutbox, django_capture_on_commit_callbacks
):
    replier = MembershipFactory().user

    with django_capture_on_commit_callbacks(execute=True):
        comment_create(
            author=replier, report=comment_by_subscriber.report,
            body="Compare [the method](https://standards.example/en14825) with **ours**.",
            parent_id=comment_by_subscriber.pk,
        )  # fmt: skip

    (mail,) = mailoutbox
    assert "Compare the method <https://standards.example/en14825> with ours." in mail.body
    assert "[the method]" not in mail.body and "**" not in mail.body
    assert 'href="https://standards.example/en14825"' in mail.alternatives[0].content


def test_no_email_for_replying_to_yourself_or_when_opted_out(
    subscriber, report, comment_by_subscriber, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        comment_create(
            author=subscriber, report=report, body="me", parent_id=comment_by_subscriber.pk
        )
    subscriber.notify_on_reply = False
    subscriber.save()
    with django_capture_on_commit_callbacks(execute=True):
        comment_create(
            author=MembershipFactory().user, report=report, body="you",
            parent_id=comment_by_subscriber.pk,
        )  # fmt: skip

    assert mailoutbox == []


def test_lapsed_parent_author_is_told_without_the_text(
    report, mailoutbox, django_capture_on_commit_callbacks
):
    author = MembershipFactory().user
    parent = comment_create(author=author, report=report, body="original")
    author.membership.status = "canceled"
    author.membership.save()

    with django_capture_on_commit_callbacks(execute=True):
        comment_create(
            author=MembershipFactory().user, report=report, body="Secret reply text",
            parent_id=parent.pk,
        )  # fmt: skip

    assert len(mailoutbox) == 1
    assert "Secret reply text" not in mailoutbox[0].body
    assert "Secret reply text" not in mailoutbox[0].alternatives[0].content


def test_account_page_offers_the_reply_email_opt_out(client_for, subscriber):
    client = client_for(subscriber)
    client.post("/accounts/profile/", {"display_name": "Sam", "company": ""})

    subscriber.refresh_from_db()
    assert subscriber.notify_on_reply is False
    assert "Email me replies to my comments" in client.get("/accounts/profile/").content.decode()


def test_free_reader_without_membership_sees_no_comment_form(client_for, report):
    reader = UserFactory()

    assert 'name="body"' not in client_for(reader).get("/reports/paid/").content.decode()
