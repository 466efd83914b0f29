"""Report pages count their views first-party: a same-origin mark per page, counted into
Redis by how the access rule served the reader, whatever cache answered the page, with no
database write, no cookie and nothing about the reader; bots, HEAD and prefetches are not
counted, and a Redis outage costs the counts, never the page."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reports.counting import store
from reports.counting.marks import mark_url
from reports.gifts.services import gift_create, gift_token
from tests.publisher.test_page_cache_wsgi import _get
from tests.support.counting import BROWSER
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db

MARK = re.compile(r'<img src="(/reading/[^"]+\.gif)" alt="" width="1" height="1" hidden>')


@pytest.fixture
def paid():
    return ReportFactory(slug="paid-counted", is_free=False, body="Paid canary c0a1.")


@pytest.fixture
def free():
    return ReportFactory(slug="free-counted", is_free=True)


def _mark(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    found = MARK.findall(text)
    assert len(found) == 1, "one reading mark per page"
    return found[0]


def _view(client: Client, path: str, **headers: str):
    """A browser's view: the page, then the mark it carries."""
    page = client.get(path, HTTP_USER_AGENT=BROWSER, **headers)
    assert page.status_code == 200
    mark = client.get(_mark(page.content), HTTP_USER_AGENT=BROWSER, **headers)
    return page, mark


def test_an_anonymous_view_of_a_paid_report_counts_a_public_read_and_a_paywall_view(
    client, paid, counting
):
    page, mark = _view(client, paid.get_absolute_url())

    assert counting.today() == {f"{paid.pk}:public_reads": 1, f"{paid.pk}:paywall_views": 1}
    assert mark.status_code == 200 and mark["Content-Type"] == "image/gif"
    assert mark["Cache-Control"] == "private, no-store, max-age=0"
    # Nothing about the reader: no cookie set, none needed.
    assert not mark.cookies and not page.cookies


@pytest.mark.parametrize("persona", ["anonymous", "free_reader", "subscriber"])
def test_a_free_report_is_an_entitled_read_for_everyone(
    request, client_for, persona, free, counting
):
    _view(client_for(request.getfixturevalue(persona)), free.get_absolute_url())

    assert counting.today() == {f"{free.pk}:entitled_reads": 1}


def test_a_free_reader_on_a_paid_report_sees_and_counts_the_paywall(
    client_for, free_reader, paid, counting
):
    _view(client_for(free_reader), paid.get_absolute_url())

    assert counting.today() == {f"{paid.pk}:public_reads": 1, f"{paid.pk}:paywall_views": 1}


@pytest.mark.parametrize("persona", ["subscriber", "editor"])
def test_readers_the_rule_entitles_count_entitled_reads(
    request, client_for, persona, paid, counting
):
    page, _ = _view(client_for(request.getfixturevalue(persona)), paid.get_absolute_url())

    assert b"Paid canary c0a1." in page.content
    assert counting.today() == {f"{paid.pk}:entitled_reads": 1}


def test_a_gift_link_counts_an_entitled_read_and_a_gift_opened(client, subscriber, paid, counting):
    gift = gift_create(giver=subscriber, report=paid)

    _view(client, f"/gift/{gift_token(gift)}/")
    _view(client, f"/gift/{gift_token(gift)}/")

    assert counting.today() == {f"{paid.pk}:entitled_reads": 2, f"{paid.pk}:gifts_opened": 2}


def test_views_from_the_page_cache_are_counted_with_no_query_and_no_write(
    client, paid, counting, django_assert_num_queries
):
    _view(client, paid.get_absolute_url())  # renders and stores the page
    with CaptureQueriesContext(connection) as queries:
        page, _ = _view(Client(), paid.get_absolute_url())

    assert page["X-Page-Cache"] == "hit"
    assert len(queries) == 0
    assert counting.today()[f"{paid.pk}:paywall_views"] == 2


def test_views_answered_by_the_wsgi_front_are_counted(paid, counting):
    _get(paid.get_absolute_url())
    status, _, body, handled = _get(paid.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    assert status == "200 OK" and not handled  # Django never ran for the page

    Client().get(_mark(body), HTTP_USER_AGENT=BROWSER)

    assert counting.today()[f"{paid.pk}:paywall_views"] == 1


def test_counting_a_view_writes_nothing_to_the_database(client_for, subscriber, paid, counting):
    """Even a logged-in reader's mark (whose page was rendered for them) asks the database
    nothing: the mark's request never reads the session."""
    client = client_for(subscriber)
    page = client.get(paid.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    with CaptureQueriesContext(connection) as queries:
        client.get(_mark(page.content), HTTP_USER_AGENT=BROWSER)

    assert [query["sql"] for query in queries] == []
    assert counting.today() == {f"{paid.pk}:entitled_reads": 1}


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0.0.0",
        "curl/8.11.1",
        "python-requests/2.32.3",
        "",
        "x" * 600,
    ],
)
def test_known_bots_and_odd_user_agents_are_not_counted(client, paid, counting, user_agent):
    client.get(mark_url(report_id=paid.pk, kind="paywall"), HTTP_USER_AGENT=user_agent)

    assert counting.today() == {}


def test_head_requests_and_prefetches_are_not_counted(client, paid, counting):
    url = mark_url(report_id=paid.pk, kind="paywall")
    assert client.head(url, HTTP_USER_AGENT=BROWSER).status_code == 200
    client.get(url, HTTP_USER_AGENT=BROWSER, HTTP_SEC_PURPOSE="prefetch")
    client.get(url, HTTP_USER_AGENT=BROWSER, HTTP_SEC_PURPOSE="prefetch;prerender")
    client.get(url, HTTP_USER_AGENT=BROWSER, HTTP_PURPOSE="prefetch")
    client.get(url, HTTP_USER_AGENT=BROWSER, HTTP_X_MOZ="prefetch")

    assert counting.today() == {}


def test_a_head_of_the_page_counts_nothing(client, paid, counting):
    client.head(paid.get_absolute_url(), HTTP_USER_AGENT=BROWSER)

    assert counting.today() == {}


@pytest.mark.parametrize("token", ["12.paywall", "12.paywall:forged", "nonsense", "%00"])
def test_a_mark_we_did_not_sign_counts_nothing(client, counting, token):
    response = client.get(f"/reading/{token}.gif", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 404
    assert counting.today() == {}


def test_unpublished_previews_carry_no_mark(client_for, editor, counting):
    draft = ReportFactory(slug="draft-counted", status="draft", published_at=None)

    page = client_for(editor).get(draft.get_absolute_url(), HTTP_USER_AGENT=BROWSER)

    assert page.status_code == 200
    assert not MARK.findall(page.content.decode())


def test_with_redis_down_the_page_and_the_mark_still_serve(
    client, paid, settings, caplog, monkeypatch
):
    settings.COUNTING_REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    monkeypatch.setattr(store, "_failing", type(store._failing)())

    first_page, first_mark = _view(client, paid.get_absolute_url())
    _, second_mark = _view(Client(), paid.get_absolute_url())

    assert first_page.status_code == 200 and first_mark.status_code == 200
    assert second_mark.status_code == 200
    warnings = [r for r in caplog.records if r.name == store.__name__ and r.levelname == "WARNING"]
    assert len(warnings) == 1  # logged once, not per view
