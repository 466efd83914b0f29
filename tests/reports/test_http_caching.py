"""HTTP caching never mixes readers: anonymous pages are public for a minute and cached
server-side; anything for a logged-in reader, anything that set a cookie (a CSRF token, a
session) and every POST is private and never stored; publishing, editing and commenting
invalidate what they change; the shared comment thread shows each reader only their own
controls."""

import re

import pytest
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import _unmask_cipher_token
from django.template import engines
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse

from publisher.cache.pages import cached_public_page
from reports.comments.services import comment_create, comment_hide
from reports.gifts.services import gift_create, gift_token
from reports.models import Comment, Report
from reports.publishing import report_publish
from reports.selectors import report_for_page
from tests.support.factories import MembershipFactory, ReportFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db

BODY = "Body canary 2c9e: the Aurel H8 lost 4.1 percent at full load."
COMMENT = "Comment canary 88f1: my unit did the same."


@pytest.fixture
def topic():
    return TopicFactory(slug="heat-pumps", name="Heat pumps")


@pytest.fixture
def report(topic):
    return ReportFactory(
        slug="cached",
        title="Cached report",
        body=BODY,
        topics=[topic],
        author=UserFactory(slug="ana-author", is_staff=True, display_name="Ana Author"),
    )


def _public_urls(report: Report) -> list[str]:
    topic = report.topics.get()
    return [
        reverse("reports:home"),
        report.get_absolute_url(),
        reverse("reports:topic", args=[topic.slug]),
        reverse("reports:kind", args=[report.kind]),
        reverse("reports:author", args=[report.author.slug]),
        reverse("reports:search") + "?q=cached",
        reverse("reports:feed"),
        reverse("reports:atom"),
        reverse("reports:topic-feed", args=[topic.slug]),
        reverse("reports:sitemap"),
        reverse("reports:robots"),
    ]


def _directives(response) -> set[str]:
    return {part.strip() for part in response.headers.get("Cache-Control", "").split(",")}


# Headers ----------------------------------------------------------------------------------


def test_anonymous_public_pages_are_public_for_a_minute_and_vary_on_cookie(client, report):
    for url in _public_urls(report):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _directives(response) == {"public", "max-age=60"}, url
        assert "Cookie" in response.headers["Vary"], url
        assert not response.cookies, url
        assert b"csrfmiddlewaretoken" not in response.content, url


@pytest.mark.parametrize("persona", ["free_reader", "subscriber", "lapsed_subscriber", "editor"])
def test_logged_in_readers_get_private_no_store_everywhere(request, client_for, report, persona):
    client = client_for(request.getfixturevalue(persona))
    for url in [*_public_urls(report), reverse("accounts:account"), reverse("accounts:pricing")]:
        response = client.get(url)
        assert response.status_code == 200, url
        directives = _directives(response)
        assert {"private", "no-store"} <= directives, url
        assert "public" not in directives and "max-age=60" not in directives, url
        assert "X-Page-Cache" not in response.headers, url


def test_pages_that_set_a_cookie_are_private(client, db):
    response = client.get(reverse("account_login"))

    assert "csrftoken" in response.cookies
    assert {"private", "no-store"} <= _directives(response)


def test_post_responses_are_private(client_for, subscriber, report):
    response = client_for(subscriber).post(
        f"/reports/{report.slug}/comments/", {"body": "A reply."}
    )

    assert response.status_code == 302
    assert {"private", "no-store"} <= _directives(response)


def test_gift_page_keeps_private_no_store(client, report, subscriber):
    gift = gift_create(giver=subscriber, report=report)

    response = client.get(f"/gift/{gift_token(gift)}/")

    assert BODY in response.content.decode()
    assert {"private", "no-store"} <= _directives(response)
    assert "public" not in _directives(response)
    assert "X-Page-Cache" not in response.headers


def test_health_check_is_never_cached(client, db):
    assert "no-store" in _directives(client.get("/healthz"))


# The server-side page cache -----------------------------------------------------------------


def test_anonymous_report_page_is_served_from_the_page_cache(client, report):
    first = client.get(report.get_absolute_url())
    second = Client().get(report.get_absolute_url() + "?utm_source=newsletter")

    assert first.headers["X-Page-Cache"] == "miss"
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.content == first.content
    assert _directives(second) == {"public", "max-age=60"}
    # The cached copy still gets this response's own security headers.
    assert "Content-Security-Policy" in second.headers


def test_list_pages_are_cached_per_page_number(client, report):
    url = reverse("reports:kind", args=[report.kind])
    assert client.get(url).headers["X-Page-Cache"] == "miss"
    assert client.get(url + "?page=2").headers["X-Page-Cache"] == "miss"
    assert client.get(url + "?page=2").headers["X-Page-Cache"] == "hit"


def test_subscriber_page_is_never_stored_for_anonymous_readers(client_for, subscriber, report):
    subscriber_page = client_for(subscriber).get(report.get_absolute_url())
    anonymous_page = Client().get(report.get_absolute_url())

    assert BODY in subscriber_page.content.decode()
    assert anonymous_page.headers["X-Page-Cache"] == "miss"
    assert BODY not in anonymous_page.content.decode()


def test_cached_anonymous_page_is_never_served_to_a_logged_in_reader(client_for, report, request):
    Client().get(report.get_absolute_url())
    assert Client().get(report.get_absolute_url()).headers["X-Page-Cache"] == "hit"

    for persona in ["subscriber", "free_reader", "editor"]:
        response = client_for(request.getfixturevalue(persona)).get(report.get_absolute_url())
        assert "X-Page-Cache" not in response.headers
        assert "Log out" in response.content.decode()
    assert (
        BODY
        in client_for(request.getfixturevalue("subscriber"))
        .get(report.get_absolute_url())
        .content.decode()
    )


def test_any_session_cookie_bypasses_the_page_cache(report):
    Client().get(report.get_absolute_url())
    client = Client()
    client.cookies["sessionid"] = "not-a-session"

    response = client.get(report.get_absolute_url())

    assert "X-Page-Cache" not in response.headers
    assert "public" not in _directives(response)


def test_flash_messages_are_shown_not_replaced_by_a_cached_page(client_for, subscriber, report):
    Client().get(report.get_absolute_url())
    client = client_for(subscriber)
    client.post(f"/reports/{report.slug}/comments/", {"body": "Posted with a message."})

    response = client.get(report.get_absolute_url())

    assert "Your comment was posted." in response.content.decode()


def _csrf_page(request):
    html = engines["django"].from_string("<form>{% csrf_token %}</form>").render(request=request)
    return HttpResponse(html)


urlpatterns = [path("csrf-page/", cached_public_page()(_csrf_page))]


@pytest.mark.urls(__name__)
def test_a_page_with_a_csrf_token_is_neither_public_nor_stored(client, db):
    first = client.get("/csrf-page/")
    again = Client().get("/csrf-page/")

    assert b"csrfmiddlewaretoken" in first.content
    assert "public" not in _directives(first)
    assert "X-Page-Cache" not in again.headers
    assert "public" not in _directives(again)


# Invalidation -------------------------------------------------------------------------------


def test_publishing_invalidates_home_lists_and_feeds(client, report, topic):
    urls = [
        reverse("reports:home"),
        reverse("reports:topic", args=[topic.slug]),
        reverse("reports:kind", args=[report.kind]),
        reverse("reports:feed"),
        reverse("reports:sitemap"),
        report.get_absolute_url(),
    ]
    for url in urls:
        client.get(url)
    draft = ReportFactory(
        slug="fresh", title="Freshly published", status=Report.Status.DRAFT, published_at=None,
        topics=[topic], kind=report.kind,
    )  # fmt: skip

    report_publish(report_id=draft.pk)

    for url in urls:
        response = client.get(url)
        assert response.headers["X-Page-Cache"] == "miss", url
        assert "/reports/fresh/" in response.content.decode(), url


def test_editing_in_the_admin_invalidates_the_report_page(client, client_for, report):
    assert "Cached report" in client.get(report.get_absolute_url()).content.decode()
    admin = client_for(UserFactory(is_staff=True, is_superuser=True))
    data = {
        "title": "Retitled report", "slug": report.slug, "kind": report.kind,
        "topics": [t.pk for t in report.topics.all()], "teaser": "A new teaser.",
        "body": report.body, "status": report.status, "author": report.author_id,
        "cover_alt": "", "revision_note": "", "publish_at_0": "", "publish_at_1": "",
    }  # fmt: skip

    response = admin.post(reverse("admin:reports_report_change", args=[report.pk]), data)

    assert response.status_code == 302
    page = client.get(report.get_absolute_url()).content.decode()
    assert "Retitled report" in page and "A new teaser." in page
    assert "Retitled report" in client.get(reverse("reports:home")).content.decode()


def test_editing_retires_the_cached_head_and_header_without_the_page_cache(
    client, client_for, report, settings
):
    """The reader-independent parts of the report page are cached on their own
    (reports/fragments.py), so they must change with an edit even when no page is cached."""
    settings.PAGE_CACHE_SECONDS = 0
    assert (
        '<h1 class="report__title">Cached report</h1>'
        in client.get(report.get_absolute_url()).content.decode()
    )
    admin = client_for(UserFactory(is_staff=True, is_superuser=True))
    data = {
        "title": "Retitled report", "slug": report.slug, "kind": report.kind,
        "topics": [t.pk for t in report.topics.all()], "teaser": report.teaser,
        "body": report.body, "status": report.status, "author": report.author_id,
        "cover_alt": "", "revision_note": "", "publish_at_0": "", "publish_at_1": "",
    }  # fmt: skip

    assert (
        admin.post(reverse("admin:reports_report_change", args=[report.pk]), data).status_code
        == 302
    )

    page = client.get(report.get_absolute_url()).content.decode()
    assert '<h1 class="report__title">Retitled report</h1>' in page
    assert '<meta property="og:title" content="Retitled report">' in page
    assert '"headline": "Retitled report"' in page
    assert "Cached report" not in page


def test_the_cached_head_says_hasPart_only_on_pages_with_the_body(
    client, client_for, subscriber, report
):
    def json_ld(page: str) -> str:
        return re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1)

    url = report.get_absolute_url()
    anonymous = json_ld(client.get(url).content.decode())
    member = json_ld(client_for(subscriber).get(url).content.decode())
    anonymous_again = json_ld(Client().get(url, HTTP_COOKIE="").content.decode())

    assert "hasPart" not in anonymous and "hasPart" not in anonymous_again
    assert "hasPart" in member


def test_an_editors_preview_of_a_draft_is_never_cached(client_for, report):
    from django.core.cache import cache

    from reports.selectors import page_parts_key

    draft = ReportFactory(
        slug="draft", title="Draft title", status=Report.Status.DRAFT, published_at=None
    )
    editor = client_for(UserFactory(is_staff=True))

    assert "Draft title" in editor.get(draft.get_absolute_url()).content.decode()
    for included in (True, False):
        assert cache.get(page_parts_key(draft.slug, body_included=included)) is None


def test_unpublishing_in_the_admin_removes_the_cached_page(client, client_for, report):
    client.get(report.get_absolute_url())
    report.status = Report.Status.DRAFT
    admin = client_for(UserFactory(is_staff=True, is_superuser=True))
    admin.post(
        reverse("admin:reports_report_change", args=[report.pk]),
        {
            "title": report.title, "slug": report.slug, "kind": report.kind,
            "teaser": report.teaser, "body": report.body, "status": "draft",
            "author": report.author_id, "cover_alt": "", "revision_note": "",
            "publish_at_0": "", "publish_at_1": "",
        },
    )  # fmt: skip

    assert client.get(report.get_absolute_url()).status_code == 404


def test_a_new_comment_updates_the_anonymous_count(client, client_for, subscriber, report):
    assert "Comments (0)" in client.get(report.get_absolute_url()).content.decode()

    client_for(subscriber).post(f"/reports/{report.slug}/comments/", {"body": COMMENT})

    page = client.get(report.get_absolute_url()).content.decode()
    assert "Comments (1)" in page
    assert COMMENT not in page


# The shared comment thread -----------------------------------------------------------------


class _Forms:
    """The action controls under each comment of a page, by comment id."""

    def __init__(self, html: str) -> None:
        self.html = html

    def actions(self, comment: Comment) -> set[str]:
        article = re.search(
            rf'<article class="comment[^"]*" id="comment-{comment.pk}">(.*?)</article>',
            self.html,
            re.S,
        )
        assert article, f"comment {comment.pk} is not on the page"
        return set(re.findall(r">(Reply|Edit|Delete|Report|Hide|Unhide)<", article.group(1)))

    def tokens(self) -> set[str]:
        return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.html))


@pytest.fixture
def two_members(report):
    alice = MembershipFactory(user__display_name="Alice Member").user
    bob = MembershipFactory(user__display_name="Bob Member").user
    by_alice = comment_create(author=alice, report=report, body="Alice's point.")
    by_bob = comment_create(author=bob, report=report, body="Bob's point.")
    return alice, bob, by_alice, by_bob


def test_each_reader_sees_only_their_own_controls(client_for, report, two_members):
    alice, bob, by_alice, by_bob = two_members
    alice_client, bob_client = client_for(alice), client_for(bob)

    alice_page = _Forms(alice_client.get(report.get_absolute_url()).content.decode())
    bob_page = _Forms(bob_client.get(report.get_absolute_url()).content.decode())

    assert alice_page.actions(by_alice) == {"Reply", "Edit", "Delete"}
    assert alice_page.actions(by_bob) == {"Reply", "Report"}
    assert bob_page.actions(by_bob) == {"Reply", "Edit", "Delete"}
    assert bob_page.actions(by_alice) == {"Reply", "Report"}


def test_shared_thread_forms_carry_the_readers_own_csrf_token(client_for, report, two_members):
    alice, bob, _, by_bob = two_members
    client_for(bob).get(report.get_absolute_url())  # fills the shared thread
    alice_client = client_for(alice)
    alice_client.handler.enforce_csrf_checks = True

    page = _Forms(alice_client.get(report.get_absolute_url()).content.decode())
    secret = alice_client.cookies["csrftoken"].value

    assert page.tokens()
    assert {_unmask_cipher_token(token) for token in page.tokens()} == {secret}
    token = page.tokens().pop()
    response = alice_client.post(
        f"/comments/{by_bob.pk}/report/", {"csrfmiddlewaretoken": token, "reason": "spam"}
    )
    assert response.status_code == 302


def test_banned_member_sees_no_reply_links_from_the_shared_thread(client_for, report, two_members):
    from reports.models import CommentBan

    alice, bob, by_alice, by_bob = two_members
    client_for(alice).get(report.get_absolute_url())
    CommentBan.objects.create(user=bob)

    page = _Forms(client_for(bob).get(report.get_absolute_url()).content.decode())

    assert page.actions(by_alice) == {"Report"}
    assert page.actions(by_bob) == {"Edit", "Delete"}


def test_hidden_comments_never_reach_members_through_the_shared_thread(
    client_for, editor, report, two_members
):
    alice, _, by_alice, by_bob = two_members
    client_for(alice).get(report.get_absolute_url())  # shared thread cached with both

    comment_hide(moderator=editor, comment=by_bob, reason="Off topic")

    assert "Bob's point." not in client_for(alice).get(report.get_absolute_url()).content.decode()
    staff_page = _Forms(client_for(editor).get(report.get_absolute_url()).content.decode())
    assert "Bob's point." in staff_page.html
    assert staff_page.actions(by_bob) == {"Delete", "Unhide"}
    # The editor's live page did not leak into the members' shared thread.
    alice_page = _Forms(client_for(alice).get(report.get_absolute_url()).content.decode())
    assert "Bob's point." not in alice_page.html
    assert alice_page.actions(by_alice) == {"Reply", "Edit", "Delete"}


def test_an_edit_shows_at_once(client_for, report, two_members):
    from reports.comments.services import comment_edit

    alice, bob, by_alice, _ = two_members
    client_for(bob).get(report.get_absolute_url())

    comment_edit(editor=alice, comment=by_alice, body="Alice, corrected.")

    assert "Alice, corrected." in client_for(bob).get(report.get_absolute_url()).content.decode()


def test_anonymous_readers_of_a_free_report_get_comments_without_forms(client, topic):
    free = ReportFactory(slug="free", is_free=True, body=BODY, topics=[topic])
    member = MembershipFactory().user
    comment_create(author=member, report=free, body=COMMENT)
    # A comment whose author deleted the account must not look like the anonymous reader's.
    orphan = comment_create(author=MembershipFactory().user, report=free, body="Orphaned.")
    Comment.objects.filter(pk=orphan.pk).update(author=None)

    for _ in range(2):
        response = client.get(free.get_absolute_url())
        html = response.content.decode()
        assert COMMENT in html and "Deleted account" in html
        assert "<form" not in html.split('id="comments"')[1]
        assert not re.search(r">(Edit|Delete|Report)<", html)
        assert "public" in _directives(response)


# Queries ------------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_subscriber_page_costs_the_same_queries_at_0_20_200_and_2000_comments(
    client_for, subscriber, topic
):
    authors = [MembershipFactory().user for _ in range(5)]
    cold, warm = {}, {}
    for count in [0, 20, 200, 2000]:
        target = ReportFactory(slug=f"comments-{count}", topics=[topic])
        Comment.objects.bulk_create(
            Comment(report=target, author=authors[n % 5], body=f"c{n}", body_html=f"<p>c{n}</p>")
            for n in range(count)
        )
        client = client_for(subscriber)
        cold[count] = _queries(client, target.get_absolute_url())
        warm[count] = _queries(client, target.get_absolute_url())

    assert len(set(cold.values())) == 1, cold
    assert len(set(warm.values())) == 1, warm


def test_anonymous_cache_hit_costs_no_queries(client, report, django_assert_num_queries):
    client.get(report.get_absolute_url())

    with django_assert_num_queries(0):
        assert client.get(report.get_absolute_url()).headers["X-Page-Cache"] == "hit"


# The rendered body --------------------------------------------------------------------------


def test_an_edited_body_is_shown_at_once_and_never_to_non_subscribers(
    client_for, subscriber, free_reader, report
):
    reader = client_for(subscriber)
    assert BODY in reader.get(report.get_absolute_url()).content.decode()  # cached now

    report.body = "Corrected canary 5d0b: 3.9 percent."
    report.save()

    page = reader.get(report.get_absolute_url()).content.decode()
    assert "Corrected canary 5d0b" in page and BODY not in page
    for other in [Client(), client_for(free_reader)]:
        html = other.get(report.get_absolute_url()).content.decode()
        assert "canary" not in html.lower()


# The anonymous reader's report lookup ------------------------------------------------------


def test_the_anonymous_report_lookup_is_cached_without_the_authors_password(
    report, anonymous, django_assert_num_queries
):
    report_for_page(slug=report.slug, reader=anonymous)
    with django_assert_num_queries(0):
        cached, _ = report_for_page(slug=report.slug, reader=anonymous)

    assert cached.pk == report.pk and [t.slug for t in cached.topics.all()] == ["heat-pumps"]
    assert "password" in cached.author.get_deferred_fields()
    assert "body" in cached.get_deferred_fields()


def test_with_the_page_cache_off_unpublishing_and_comments_still_show_at_once(
    client, client_for, subscriber, report, settings
):
    settings.PAGE_CACHE_SECONDS = 0
    assert "Comments (0)" in client.get(report.get_absolute_url()).content.decode()

    comment_create(report=report, author=subscriber, body=COMMENT)
    assert "Comments (1)" in client.get(report.get_absolute_url()).content.decode()

    admin = client_for(UserFactory(is_staff=True, is_superuser=True))
    admin.post(
        reverse("admin:reports_report_change", args=[report.pk]),
        {
            "title": report.title, "slug": report.slug, "kind": report.kind,
            "teaser": report.teaser, "body": report.body, "status": "draft",
            "author": report.author_id, "cover_alt": "", "revision_note": "",
            "publish_at_0": "", "publish_at_1": "",
        },
    )  # fmt: skip
    assert client.get(report.get_absolute_url()).status_code == 404


def test_an_anonymous_report_page_miss_reads_the_cache_once(client, report, settings, monkeypatch):
    """The report and the page's reader-independent parts come in one round trip."""
    from django.core.cache import cache

    settings.PAGE_CACHE_SECONDS = 0  # every request renders the page
    client.get(report.get_absolute_url())  # stores the report and the parts
    calls: list[str] = []
    depth = [0]  # the test cache's get_many calls get for each key: count the outer call only

    def spy(name, real):
        def call(*args, **kwargs):
            if not depth[0]:
                calls.append(name)
            depth[0] += 1
            try:
                return real(*args, **kwargs)
            finally:
                depth[0] -= 1

        return call

    for name in ("get", "get_many"):
        monkeypatch.setattr(cache, name, spy(name, getattr(cache, name)))

    page = client.get(report.get_absolute_url()).content.decode()

    assert '<h1 class="report__title">Cached report</h1>' in page
    assert calls == ["get_many"]
