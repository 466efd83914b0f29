"""Gift links open exactly one report's body, for a while, and nothing else."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from publisher.errors import ApplicationError
from reports.comments.services import comment_create
from reports.gifts.services import gift_create, gift_token
from reports.models import GiftLink
from tests.support.factories import MembershipFactory, ReportFactory

pytestmark = pytest.mark.django_db

GIFTED_BODY = "Gift canary 9d1e: the Kestrel HX-10 lost 11.2 W at night."
OTHER_BODY = "Other canary 4b7a: never opened by the gift."
COMMENT = "Comment canary 77aa: subscribers argue here."


def _early_next_month():
    """The 3rd of next month: a month's gifts counted from its start, and always later than
    now, so that reports published before the move stay published."""
    return (timezone.now().replace(day=1) + timedelta(days=32)).replace(day=3)


@pytest.fixture
def reports():
    gifted = ReportFactory(slug="gifted", title="Gifted report", body=GIFTED_BODY)
    other = ReportFactory(slug="other", title="Other report", body=OTHER_BODY)
    return gifted, other


@pytest.fixture
def gift(reports, subscriber):
    gifted, _ = reports
    comment_create(author=subscriber, report=gifted, body=COMMENT)
    return gift_create(giver=subscriber, report=gifted)


def _open(client, gift):
    return client.get(f"/gift/{gift_token(gift)}/")


def test_right_report_opens_with_the_givers_name_and_no_comments(client, gift):
    response = _open(client, gift)
    page = response.content.decode()

    assert response.status_code == 200
    assert GIFTED_BODY in page
    assert "Shared with you by Sam Subscriber" in page
    assert "Subscribe for every report" in page
    assert COMMENT not in page
    assert "Comments (1)" in page
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_the_gift_opens_no_other_surface(client, gift):
    _open(client, gift)  # the session learns nothing from opening a gift

    surfaces = [
        "/reports/gifted/", "/reports/other/", "/", "/feed/", "/feed/atom/",
        "/search/?q=Kestrel", "/search/?q=canary", "/sitemap.xml",
    ]  # fmt: skip
    for url in surfaces:
        page = client.get(url).content.decode()
        assert GIFTED_BODY not in page, url
        assert OTHER_BODY not in page, url
        assert COMMENT not in page, url


def test_the_gift_page_shows_no_other_reports_body(client, gift, reports):
    page = _open(client, gift).content.decode()

    assert GIFTED_BODY in page
    assert OTHER_BODY not in page


def test_expired_gift_does_not_open(client, gift, time_machine):
    time_machine.move_to(timezone.now() + timedelta(days=15))

    response = _open(client, gift)

    assert response.status_code == 410
    assert GIFTED_BODY not in response.content.decode()


def test_revoked_gift_does_not_open(client, gift, subscriber):
    giver = Client()
    giver.force_login(subscriber)
    giver.post(f"/gifts/{gift.pk}/revoke/")

    response = _open(client, gift)

    assert response.status_code == 410
    assert "expired or was withdrawn" in response.content.decode()


def test_gift_stops_when_the_giver_lapses(client, gift, subscriber):
    subscriber.membership.status = "canceled"
    subscriber.membership.save()

    assert _open(client, gift).status_code == 410


@pytest.mark.parametrize("mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
                                    lambda t: "x" + t, lambda t: "nonsense"])  # fmt: skip
def test_tampered_signature_does_not_open(client, gift, mangle):
    response = client.get(f"/gift/{mangle(gift_token(gift))}/")

    assert response.status_code == 404
    assert GIFTED_BODY not in response.content.decode()


def test_five_gifts_a_month(subscriber, time_machine):
    time_machine.move_to(_early_next_month())
    report = ReportFactory()
    for _ in range(5):
        gift_create(giver=subscriber, report=report)

    with pytest.raises(ApplicationError, match="this month's 5 gift links"):
        gift_create(giver=subscriber, report=report)
    time_machine.move_to(timezone.now() + timedelta(days=31))
    assert gift_create(giver=subscriber, report=report)


@pytest.mark.parametrize("persona", ["anonymous", "free_reader", "lapsed_subscriber"])
@pytest.mark.usefixtures("reports")
def test_only_subscribers_create_gifts(request, client_for, persona):
    client = client_for(request.getfixturevalue(persona))

    client.post("/reports/gifted/gift/")

    assert GiftLink.objects.count() == 0


@pytest.mark.usefixtures("reports")
def test_subscriber_creates_lists_and_revokes_from_the_ui(client_for, subscriber):
    client = client_for(subscriber)

    response = client.post("/reports/gifted/gift/", follow=True)
    page = response.content.decode()

    gift = GiftLink.objects.get()
    assert "Your gift link is ready" in page
    assert f"/gift/{gift_token(gift)}/" in page
    assert "4</strong> new links left this month" in page


def test_free_reports_are_not_gifted(subscriber):
    with pytest.raises(ApplicationError):
        gift_create(giver=subscriber, report=ReportFactory(is_free=True))


def test_gift_page_queries_are_bounded(client, gift, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        assert _open(client, gift).status_code == 200


def test_org_seat_holder_can_gift():
    from accounts.models import Organisation, OrganisationMember
    from tests.support.factories import UserFactory

    holder = UserFactory()
    organisation = Organisation.objects.create(
        name="Acme", seats=2, status="active", current_period_end=timezone.now() + timedelta(1)
    )
    OrganisationMember.objects.create(organisation=organisation, user=holder)

    assert gift_create(giver=holder, report=ReportFactory())


def test_comment_canary_never_reaches_non_subscriber_via_gift(client, gift):
    assert COMMENT not in _open(client, gift).content.decode()


def test_lapsed_subscriber_gift_list_still_shows(client_for):
    lapsed = MembershipFactory(status="canceled").user
    assert client_for(lapsed).get("/gifts/").status_code == 200


# Confirming before a gift is spent -----------------------------------------------------------


@pytest.mark.usefixtures("reports")
def test_gifting_asks_first_and_says_how_many_are_left(client_for, subscriber, time_machine):
    time_machine.move_to(_early_next_month())
    gift_create(giver=subscriber, report=ReportFactory())
    client = client_for(subscriber)

    page = client.get("/reports/gifted/gift/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Gift “Gifted report”" in html
    assert "<strong>4 of 5</strong> left" in html
    assert 'action="/reports/gifted/gift/"' in html
    assert "Create the gift link" in html
    assert "no-store" in page["Cache-Control"]
    assert GiftLink.objects.count() == 1  # asking spends nothing

    created = client.post("/reports/gifted/gift/")

    gift = GiftLink.objects.get(report__slug="gifted")
    assert created["Location"] == f"/gifts/?new={gift.pk}#gift-{gift.pk}"
    assert "<strong>3 of 5</strong> left" in client.get("/reports/gifted/gift/").content.decode()


@pytest.mark.usefixtures("reports")
def test_the_last_gift_of_the_month_says_so_and_then_none_is_offered(
    client_for, subscriber, time_machine
):
    time_machine.move_to(_early_next_month())
    for _ in range(4):
        gift_create(giver=subscriber, report=ReportFactory())
    client = client_for(subscriber)

    last = client.get("/reports/gifted/gift/").content.decode()
    client.post("/reports/gifted/gift/")
    none_left = client.get("/reports/gifted/gift/")

    assert "this is the last one until next month" in last
    assert none_left.status_code == 429
    assert "5 gift links; more next month" in none_left.content.decode()
    assert "Create the gift link" not in none_left.content.decode()
    time_machine.move_to(timezone.now() + timedelta(days=31))
    next_month = client_for(subscriber).get("/reports/gifted/gift/").content.decode()
    assert "<strong>5 of 5</strong>" in next_month


@pytest.mark.usefixtures("reports")
def test_the_report_page_links_to_the_confirmation(client_for, subscriber):
    html = client_for(subscriber).get("/reports/gifted/").content.decode()

    assert 'href="/reports/gifted/gift/">Gift this report</a>' in html
    assert 'method="post" action="/reports/gifted/gift/"' not in html


@pytest.mark.parametrize("persona", ["free_reader", "lapsed_subscriber"])
@pytest.mark.usefixtures("reports")
def test_the_confirmation_refuses_non_subscribers_with_a_reason(request, client_for, persona):
    page = client_for(request.getfixturevalue(persona)).get("/reports/gifted/gift/")

    assert page.status_code == 403
    assert "Gift links are for subscribers." in page.content.decode()
    assert "Create the gift link" not in page.content.decode()


def test_free_reports_offer_no_gift_to_confirm(client_for, subscriber):
    ReportFactory(slug="free", is_free=True)

    page = client_for(subscriber).get("/reports/free/gift/")

    assert page.status_code == 400
    assert "Only published paid reports can be gifted." in page.content.decode()


@pytest.mark.usefixtures("reports")
def test_the_gift_list_offers_a_copy_button_over_a_selectable_field(client_for, subscriber):
    client = client_for(subscriber)
    client.post("/reports/gifted/gift/")
    gift = GiftLink.objects.get()

    html = client.get(f"/gifts/?new={gift.pk}").content.decode()

    url = f"http://testserver/gift/{gift_token(gift)}/"
    assert f'<input id="gift-url-{gift.pk}" value="{url}" readonly>' in html
    # Hidden until the script (a file of our own, allowed by the CSP) shows it.
    assert f'data-copy="gift-url-{gift.pk}" hidden>Copy link</button>' in html
    assert '<script src="/static/js/gifts.js" defer></script>' in html
    assert f'id="gift-{gift.pk}" class="gift-list__new"' in html


@pytest.mark.usefixtures("reports")
def test_the_gift_confirmation_costs_a_fixed_number_of_queries(
    client_for, subscriber, django_assert_max_num_queries
):
    client = client_for(subscriber)
    for _ in range(3):
        client.post("/reports/gifted/gift/")

    # The session, the user, the report, the gifts this month, and the membership.
    with django_assert_max_num_queries(6):
        assert client.get("/reports/gifted/gift/").status_code == 200
