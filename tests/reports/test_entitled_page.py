"""The entitled readers' shared report page (reports/entitled_page.py): a hit costs no query
and is the page Django renders, personal parts and all; any change of what a reader may do
takes effect on their next request; nobody it does not fit is ever given it."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.backends.cached_db import SessionStore
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from accounts.models import Membership, Organisation, OrganisationMember
from accounts.organisations.networks import office_organisation_id_for
from reports.comments.services import comment_create
from reports.counting.marks import mark_url
from reports.models import CommentBan
from tests.reports.conftest import CANARY
from tests.support.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

HIT = "X-Entitled-Page"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture(autouse=True)
def _office_table_loaded():
    # The office ranges' table is loaded once per process (accounts/organisations/networks.py):
    # not a query of the pages measured here.
    office_organisation_id_for("192.0.2.1")


def _read(client: Client, report, **extra):
    response = client.get(report.get_absolute_url(), **extra)
    assert response.status_code == 200
    return response, response.content.decode()


def _without_tokens(html: str) -> str:
    # A CSRF token is masked afresh for every response, whichever path answered.
    return TOKEN.sub('name="csrfmiddlewaretoken" value=""', html)


def test_a_subscribers_second_visit_is_a_hit_without_a_query(
    client_for, subscriber, canary_report, django_assert_num_queries
):
    client = client_for(subscriber)
    miss, miss_html = _read(client, canary_report)
    assert miss.headers[HIT] == "miss" and CANARY in miss_html

    with django_assert_num_queries(0):
        hit, hit_html = _read(client, canary_report)

    assert hit.headers[HIT] == "hit"
    assert _without_tokens(hit_html) == _without_tokens(miss_html)
    assert "Sam" in hit_html and "Log out" in hit_html
    # The token is this reader's: one Django accepts with their CSRF cookie.
    token = TOKEN.search(hit_html).group(0).split('value="')[1].rstrip('"')
    assert len(token) == 64 and token not in miss_html
    for name in ("Content-Security-Policy", "X-Frame-Options", "Cache-Control", "Vary"):
        assert hit.headers[name] == miss.headers[name], name
    assert "private" in hit.headers["Cache-Control"] and not hit.cookies


@pytest.mark.parametrize("remember", [True, False])
def test_a_reader_signed_in_through_the_login_form_gets_hits(canary_report, remember):
    user = MembershipFactory(user__email="formlogin@example.com").user
    user.set_password("a long demo password 2026")
    user.save()
    client = Client()
    form = {"login": user.email, "password": "a long demo password 2026"}
    if remember:
        form["remember"] = "on"
    assert client.post("/accounts/login/", form).status_code == 302

    _read(client, canary_report)
    hit, html = _read(client, canary_report)

    assert hit.headers[HIT] == "hit" and CANARY in html and "Log out" in html


def test_the_hit_carries_a_token_django_accepts(client_for, subscriber, canary_report):
    client = client_for(subscriber)
    client.handler.enforce_csrf_checks = True
    _read(client, canary_report)
    hit, html = _read(client, canary_report)
    assert hit.headers[HIT] == "hit"
    token = TOKEN.search(html).group(0).split('value="')[1].rstrip('"')

    response = client.post(
        f"{canary_report.get_absolute_url()}comments/",
        {"body": "A point about the standby figures.", "csrfmiddlewaretoken": token},
    )

    assert response.status_code in (200, 302, 303)
    assert canary_report.comments.filter(body__contains="standby figures").exists()


def test_every_reader_sees_their_own_name_and_comment_actions(
    client_for, subscriber, canary_report
):
    other = MembershipFactory(user__display_name="Olga Other").user
    comment_create(report=canary_report, author=subscriber, body="Mine, about the idle draw.")
    comment_create(report=canary_report, author=other, body="Hers, about the efficiency.")
    pages = {}
    for reader in (subscriber, other):
        client = client_for(reader)
        _read(client, canary_report)
        response, pages[reader.pk] = _read(client, canary_report)
        assert response.headers[HIT] == "hit"

    assert "Sam" in pages[subscriber.pk] and "Olga" not in _header(pages[subscriber.pk])
    assert "Olga" in _header(pages[other.pk])
    for reader in (subscriber, other):
        assert pages[reader.pk].count(">Edit<") == 1  # their own comment only


def _header(html: str) -> str:
    return html.split('<header class="site-header">')[1].split("</header>")[0]


def test_a_cancelled_subscribers_next_request_gets_the_teaser(
    stripe_fake, settings, client_for, canary_report, post_webhook
):
    user = UserFactory(email="leaving@example.com")
    customer = stripe_fake.create_customer({"email": user.email})
    MembershipFactory(user=user, stripe_customer_id=customer["id"], status="",
                      current_period_end=None)  # fmt: skip
    subscription = stripe_fake.create_subscription(
        customer=customer["id"], price=settings.STRIPE_PRICE_MONTHLY,
        metadata={"user_id": str(user.pk)},
    )  # fmt: skip
    created = stripe_fake.event("customer.subscription.created", subscription)
    assert post_webhook(created).status_code == 200
    client = client_for(user)
    _read(client, canary_report)
    hit, html = _read(client, canary_report)
    assert hit.headers[HIT] == "hit" and CANARY in html

    stripe_fake.update_subscription(subscription["id"], status="canceled")
    deleted = stripe_fake.event("customer.subscription.deleted", subscription)
    assert post_webhook(deleted).status_code == 200

    response, html = _read(client, canary_report)
    assert HIT not in response.headers
    assert CANARY not in html and "paywall" in html


def test_a_removed_seat_and_a_lapsed_licence_take_effect_on_the_next_request(
    client_for, canary_report
):
    organisation = Organisation.objects.create(
        name="Acme Cooling", status="active", seats=5,
        current_period_end=timezone.now() + timedelta(days=30),
    )  # fmt: skip
    holders = [UserFactory(), UserFactory()]
    seats = [OrganisationMember.objects.create(organisation=organisation, user=u) for u in holders]
    clients = [client_for(user) for user in holders]
    for user, client in zip(holders, clients, strict=True):
        _read(client, canary_report)
        hit, html = _read(client, canary_report)
        assert hit.headers[HIT] == "hit"
        # Their reads count against the seat: the mark names them (reports/counting/).
        seat = (organisation.pk, user.pk)
        assert mark_url(report_id=canary_report.pk, kind="entitled", seat=seat) in html

    seats[0].delete()
    assert CANARY not in _read(clients[0], canary_report)[1]
    assert _read(clients[1], canary_report)[0].headers[HIT] == "hit"

    organisation.status = Membership.Status.CANCELED
    organisation.save()
    assert CANARY not in _read(clients[1], canary_report)[1]


def test_the_period_ending_by_the_clock_ends_the_hits(client_for, canary_report):
    ends = timezone.now() + timedelta(hours=1)
    user = MembershipFactory(cancel_at_period_end=True, current_period_end=ends).user
    client = client_for(user)
    _read(client, canary_report)
    assert _read(client, canary_report)[0].headers[HIT] == "hit"

    with time_machine.travel(ends + timedelta(seconds=1)):
        response, html = _read(client, canary_report)

    assert HIT not in response.headers and CANARY not in html


def test_a_password_changed_elsewhere_signs_this_device_out(client_for, subscriber, canary_report):
    client = client_for(subscriber)
    _read(client, canary_report)
    assert _read(client, canary_report)[0].headers[HIT] == "hit"

    subscriber.set_password("a new long password 2026")
    subscriber.save()

    response, html = _read(client, canary_report)
    assert HIT not in response.headers
    assert CANARY not in html and "Log out" not in html


def test_a_reader_barred_from_commenting_reads_without_the_form(
    client_for, subscriber, canary_report
):
    CommentBan.objects.create(user=subscriber, reason="Spam")
    client = client_for(subscriber)
    _read(client, canary_report)
    response, html = _read(client, canary_report)

    assert CANARY in html and "You cannot post comments at the moment." in html
    assert 'name="body"' not in html
    assert HIT not in response.headers  # barred readers are rendered by Django


@pytest.mark.parametrize("persona", ["anonymous", "free_reader", "lapsed_subscriber"])
def test_readers_who_may_not_read_the_body_never_get_the_shared_page(
    request, client_for, subscriber, canary_report, persona
):
    entitled = client_for(subscriber)
    _read(entitled, canary_report)
    assert _read(entitled, canary_report)[0].headers[HIT] == "hit"
    reader = request.getfixturevalue(persona)

    response, html = _read(client_for(reader), canary_report)

    assert HIT not in response.headers and CANARY not in html


def test_a_session_from_another_reader_cannot_borrow_a_card(client_for, subscriber, canary_report):
    """The card is found by the session's user id and must match the session's hash."""
    client = client_for(subscriber)
    _read(client, canary_report)
    forged = Client()
    forged.cookies = client.cookies
    session = forged.session
    session["_auth_user_hash"] = "0" * 64
    session.save()

    response, html = _read(forged, canary_report)

    assert HIT not in response.headers and CANARY not in html


def test_staff_and_reply_forms_are_rendered_for_the_reader(
    client_for, subscriber, editor, canary_report
):
    comment = comment_create(report=canary_report, author=subscriber, body="A first comment.")
    staff = client_for(editor)
    _read(staff, canary_report)
    assert HIT not in _read(staff, canary_report)[0].headers

    client = client_for(subscriber)
    _read(client, canary_report)
    response, html = _read(client, canary_report, data={"reply": comment.pk})
    assert HIT not in response.headers and f'name="parent" value="{comment.pk}"' in html


def test_a_flash_message_is_shown_by_django_not_lost_in_a_hit(
    client_for, subscriber, canary_report, rf
):
    client = client_for(subscriber)
    _read(client, canary_report)
    # The cookie `messages.success` leaves for the next page.
    storage = CookieStorage(rf.get("/"))
    storage.add(messages.SUCCESS, "Your change was saved.")
    carrier = HttpResponse()
    storage.update(carrier)
    client.cookies.update(carrier.cookies)

    response, html = _read(client, canary_report)

    assert HIT not in response.headers and "Your change was saved." in html
    response, html = _read(client, canary_report)
    assert response.headers[HIT] == "hit" and "Your change was saved." not in html


def test_a_new_comment_shows_on_the_next_hit(client_for, subscriber, canary_report):
    client = client_for(subscriber)
    _read(client, canary_report)
    _read(client, canary_report)

    comment_create(
        report=canary_report, author=MembershipFactory().user, body="Fresh comment 91c2."
    )
    miss, html = _read(client, canary_report)

    assert miss.headers[HIT] == "miss" and "Fresh comment 91c2." in html
    assert "Comments (1)" in html


def test_a_hidden_comments_author_still_sees_it(client_for, subscriber, canary_report):
    comment = comment_create(report=canary_report, author=subscriber, body="Hidden text 44b1.")
    comment.hidden_at = timezone.now()
    comment.save()
    client = client_for(subscriber)
    _read(client, canary_report)
    response, html = _read(client, canary_report)

    assert "Hidden text 44b1." in html and HIT not in response.headers
    other = client_for(MembershipFactory().user)
    _read(other, canary_report)
    assert "Hidden text 44b1." not in _read(other, canary_report)[1]


def test_a_session_update_by_password_change_here_keeps_the_hits(
    client_for, subscriber, canary_report, rf
):
    client = client_for(subscriber)
    _read(client, canary_report)
    subscriber.set_password("another long password 2026")
    subscriber.save()
    request = rf.get("/")
    request.session, request.user = client.session, subscriber
    update_session_auth_hash(request, subscriber)  # a new session key, as after a login
    request.session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = request.session.session_key

    _read(client, canary_report)
    assert _read(client, canary_report)[0].headers[HIT] == "hit"


def test_a_session_ended_elsewhere_gets_no_hit_however_often_it_was_seen(
    client_for, subscriber, canary_report
):
    """The process remembers whose a session was, to read it with the rest in one round
    trip; the session itself is still read on every request."""
    client = client_for(subscriber)
    _read(client, canary_report)
    for _ in range(3):
        assert _read(client, canary_report)[0].headers[HIT] == "hit"

    SessionStore(client.cookies[settings.SESSION_COOKIE_NAME].value).delete()

    response, html = _read(client, canary_report)
    assert HIT not in response.headers
    assert CANARY not in html and "Log out" not in html


def _cache_reads(monkeypatch) -> list[str]:
    """Every key read from the default cache from now on."""
    from django.core.cache import cache

    keys: list[str] = []
    get, get_many = cache.get, cache.get_many

    def spied_get(key, *args, **kwargs):
        keys.append(key)
        return get(key, *args, **kwargs)

    def spied_get_many(many, *args, **kwargs):
        keys.extend(many)
        return get_many(many, *args, **kwargs)

    monkeypatch.setattr(cache, "get", spied_get)
    monkeypatch.setattr(cache, "get_many", spied_get_many)
    return keys


def test_a_process_joins_the_page_it_holds_reading_only_its_stamp(
    client_for, subscriber, canary_report, monkeypatch
):
    client = client_for(subscriber)
    _read(client, canary_report)
    _read(client, canary_report)  # the first hit: this process now holds the page
    reads = _cache_reads(monkeypatch)

    hit, html = _read(client, canary_report)

    assert hit.headers[HIT] == "hit" and CANARY in html
    assert any(key.startswith("entitled-page-stamp:") for key in reads)
    assert not any(key.startswith("entitled-page:") for key in reads)


def test_a_held_page_whose_stamp_moved_on_is_never_joined(client_for, subscriber, canary_report):
    from publisher.cache.generations import versioned_get, versioned_set
    from reports.entitled_page import entitled_page_stamp_key

    client = client_for(subscriber)
    _read(client, canary_report)
    _read(client, canary_report)
    key = entitled_page_stamp_key(canary_report.slug, variant="posting")
    _, generations = versioned_get(key, slug=canary_report.slug)
    # Another process stored a newer rendering of the page, under a stamp of its own, and
    # that rendering has since left the cache.
    versioned_set(key, "another-rendering", generations=generations, timeout=60)

    response, html = _read(client, canary_report)

    assert response.headers[HIT] == "miss" and CANARY in html
    assert _read(client, canary_report)[0].headers[HIT] == "hit"


def test_a_due_page_is_rendered_again_by_one_request_while_the_others_keep_it(
    client_for, subscriber, canary_report
):
    from django.core.cache import cache

    from publisher.cache.generations import versioned_get
    from reports.entitled_page import PAGE_SECONDS, entitled_page_stamp_key

    client = client_for(subscriber)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _read(client, canary_report)
        assert _read(client, canary_report)[0].headers[HIT] == "hit"
        clock.shift(timedelta(seconds=PAGE_SECONDS + 1))
        stamp, _ = versioned_get(
            entitled_page_stamp_key(canary_report.slug, variant="posting"),
            slug=canary_report.slug,
        )
        # Another request is rendering its successor: this one gets the page meanwhile.
        cache.add(f"entitled-page-renewal:{stamp}", 1, 30)
        assert _read(client, canary_report)[0].headers[HIT] == "hit"
        cache.delete(f"entitled-page-renewal:{stamp}")

        renewing, html = _read(client, canary_report)
        assert renewing.headers[HIT] == "miss" and CANARY in html
        assert _read(client, canary_report)[0].headers[HIT] == "hit"
