"""The paywall sells the report without giving any of it away: both plans' prices, what the
annual one saves, and numbers about the body (reading time, tables, figures, the video's
length, the comment count), never its text. Readers who may read it see no paywall."""

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.http import urlencode

from accounts.models import Membership
from reports.comments.services import comment_create
from reports.gifts.services import gift_create, gift_token
from reports.models import Report
from reports.paywall import WORDS_PER_MINUTE, Highlight, paywall_highlights
from reports.publishing import report_save
from reports.rendering import body_figures
from tests.support.factories import MembershipFactory, ReportFactory, UserFactory

SECRET = "Paywall canary 5e1f: the Solvik Flex idled at 6.2 watts."
TABLE_SECRET = "Table canary 77aa"
CAPTION_SECRET = "Caption canary 90cd"
WORDS = " ".join(["measured"] * 419)

BODY = f"""## Results

{SECRET} {WORDS}

| Inverter | {TABLE_SECRET} |
|---|---|
| Aurel H8 | 97.1 % |

| Standby | Watts |
|---|---|
| Solvik | 6.2 |

![Efficiency chart of the {CAPTION_SECRET}](/static/demo/inverter-efficiency.svg "{CAPTION_SECRET}")

![Standby chart](/static/demo/charger-standby.svg)

https://www.youtube.com/watch?v=dQw4w9WgXcQ
"""
FRAGMENTS = [SECRET, "5e1f", "6.2 watts", TABLE_SECRET, "77aa", CAPTION_SECRET, "90cd"]


def _saved(**fields) -> Report:
    """A paid report saved as editors save one (report_save counts its body)."""
    report = ReportFactory.build(
        slug="paid-shootout", title="Six inverters at night", teaser="What they draw.", **fields
    )
    report.author.save()
    return report_save(report=report)


@pytest.fixture
def paid(db) -> Report:
    return _saved(body=BODY, is_free=False, video_minutes=48)


def _page(client: Client, report: Report) -> str:
    response = client.get(report.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def _highlights(page: str) -> list[str]:
    box = re.search(r'<ul class="paywall__highlights">(.*?)</ul>', page, re.S)
    assert box, "no highlights in the paywall"
    items = re.findall(r"<li>(.*?)</li>", box[1], re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", "", item)).split()) for item in items]


def test_report_save_counts_words_tables_figures_and_videos_of_the_body(paid):
    paid.refresh_from_db()
    counted = body_figures(BODY)

    assert (paid.body_tables, paid.body_figures, paid.body_videos) == (2, 2, 1)
    assert paid.body_words == counted.words
    # The text's words, the tables' cells and the captions, not the markup.
    assert 440 < paid.body_words < 470


def test_counts_follow_an_edit_of_the_body(paid):
    paid.body = "Short now."
    report_save(report=paid)
    paid.refresh_from_db()

    assert (paid.body_words, paid.body_tables, paid.body_figures, paid.body_videos) == (
        2, 0, 0, 0,
    )  # fmt: skip


def test_counting_ignores_what_only_looks_like_markup():
    counted = body_figures("Write `<table>` and <img src=x> and <iframe> as text.")

    assert (counted.tables, counted.figures, counted.videos) == (0, 0, 0)


def test_highlights_read_reading_time_tables_figures_video_and_comments(paid):
    Report.objects.filter(pk=paid.pk).update(comment_count=22)
    paid.refresh_from_db()

    minutes = -(-paid.body_words // WORDS_PER_MINUTE)
    assert paywall_highlights(report=paid) == [
        Highlight(f"{minutes}-minute", "read"),
        Highlight("2", "tables"),
        Highlight("2", "figures"),
        Highlight("48-minute", "video"),
        Highlight("22", "comments from subscribers"),
    ]


def test_highlights_leave_out_what_the_report_does_not_have():
    report = Report(body_words=150, body_tables=1, comment_count=1)

    assert paywall_highlights(report=report) == [
        Highlight("1-minute", "read"),
        Highlight("1", "table"),
        Highlight("1", "comment from subscribers"),
    ]


@pytest.mark.parametrize(
    ("videos", "minutes", "expected"),
    [
        (1, None, Highlight("1", "video")),
        (1, 48, Highlight("48-minute", "video")),
        (2, None, Highlight("2", "videos")),
        (2, 75, Highlight("2", "videos, 75 minutes in all")),
    ],
)
def test_the_video_length_shows_only_when_an_editor_entered_it(videos, minutes, expected):
    report = Report(body_videos=videos, video_minutes=minutes)

    assert paywall_highlights(report=report) == [expected]


def test_a_video_length_without_a_video_in_the_body_shows_nothing():
    assert paywall_highlights(report=Report(video_minutes=30)) == []


@pytest.mark.parametrize("persona", ["anonymous", "free_reader", "lapsed_subscriber"])
def test_non_entitled_readers_see_prices_and_numbers_but_no_body_text(
    request, client_for, paid, persona
):
    page = _page(client_for(request.getfixturevalue(persona)), paid)

    assert "Subscribe to read the full report" in page
    assert "$290 a year" in page and "$29 a month" in page
    assert "Two months free (save 17%)" in page
    highlights = _highlights(page)
    assert highlights[1:] == ["2 tables", "2 figures", "48-minute video"]
    assert re.fullmatch(r"\d+-minute read", highlights[0])
    assert [fragment for fragment in FRAGMENTS if fragment in page] == []
    assert 'id="report-body"' not in page


def test_the_comment_count_is_the_one_the_page_already_shows(client, paid, subscriber):
    for n in range(3):
        comment_create(author=subscriber, report=paid, body=f"Comment {n}")

    page = _page(client, paid)

    assert "Comments (3)" in page
    assert "3 comments from subscribers" in _highlights(page)


def test_the_annual_plan_is_the_primary_action(client, paid):
    page = _page(client, paid)

    plan = r'<div class="paywall__plan( paywall__plan--primary)?">(.*?)</div>'
    plans = re.findall(plan, page, re.S)
    assert [("primary" in marker, "Annual" in body) for marker, body in plans] == [
        (True, True),
        (False, False),
    ]
    assert re.search(r'<a class="button" href="[^"]+">Subscribe yearly</a>', page)
    secondary = r'<a class="button button--secondary" href="[^"]+">Subscribe monthly</a>'
    assert re.search(secondary, page)


def test_anonymous_plan_buttons_lead_to_signup_then_that_plans_checkout(client, paid):
    page = unescape(_page(client, paid))
    query = urlencode({"plan": "annual", "next": paid.get_absolute_url(), "from": paid.pk})
    checkout = f"/subscribe/checkout/?{query}"

    assert f'href="/accounts/signup/?{urlencode({"next": checkout})}"' in page
    assert f'href="/accounts/login/?next={paid.get_absolute_url()}"' in page  # existing subscribers


def test_logged_in_plan_buttons_go_straight_to_checkout_with_the_plan_and_the_report(
    client_for, free_reader, paid
):
    page = _page(client_for(free_reader), paid)

    form = r'<form method="post" action="/subscribe/checkout/">(.*?)</form>'
    forms = re.findall(form, page, re.S)
    assert len(forms) == 2
    for form, plan in zip(forms, ["annual", "monthly"], strict=True):
        assert f'name="plan" value="{plan}"' in form
        assert f'name="next" value="{paid.get_absolute_url()}"' in form
        assert f'name="from" value="{paid.pk}"' in form
        assert "csrfmiddlewaretoken" in form
    assert "Already a subscriber?" not in page


@pytest.mark.parametrize("persona", ["subscriber", "editor"])
def test_entitled_readers_see_no_paywall(request, client_for, paid, persona):
    page = _page(client_for(request.getfixturevalue(persona)), paid)

    assert SECRET in page
    assert 'class="paywall"' not in page


def test_a_seat_holder_sees_no_paywall(client_for, paid, free_reader):
    from accounts.models import Organisation, OrganisationMember

    organisation = Organisation.objects.create(
        name="Acme", owner=free_reader, seats=2, status=Membership.Status.ACTIVE
    )
    OrganisationMember.objects.create(organisation=organisation, user=free_reader)

    assert 'class="paywall"' not in _page(client_for(free_reader), paid)


def test_a_gift_link_reader_sees_no_paywall(client, paid):
    giver = MembershipFactory().user
    gift = gift_create(giver=giver, report=paid)

    page = client.get(reverse("reports:gift_open", args=[gift_token(gift)])).content.decode()

    assert SECRET in page
    assert 'class="paywall"' not in page


def test_a_free_report_has_no_paywall(client, db):
    report = _saved(body=BODY, is_free=True)

    assert 'class="paywall"' not in _page(client, report)


def test_a_paywall_without_counts_still_offers_both_plans(client, db):
    # Saved before the counts existed, or by a writer that bypassed report_save.
    report = ReportFactory(is_free=False)

    page = _page(client, report)

    assert "paywall__highlights" not in page
    assert "$290 a year" in page and "$29 a month" in page


def test_prices_and_saving_follow_the_settings(client, paid, settings):
    settings.PRICE_MONTHLY_DISPLAY, settings.PRICE_MONTHLY_CENTS = "€10 a month", 1000
    settings.PRICE_ANNUAL_DISPLAY, settings.PRICE_ANNUAL_CENTS = "€100 a year", 10000

    page = _page(client, paid)

    assert "€10 a month" in page and "€100 a year" in page
    assert "Two months free (save 17%)" in page


def test_the_admin_preview_shows_the_paywall_numbers_of_the_unsaved_text(client_for, db):
    editor = UserFactory(is_staff=True, is_superuser=True)
    response = client_for(editor).post(
        reverse("admin:reports_report_preview"),
        {"title": "Draft", "teaser": "Teaser.", "body": BODY, "video_minutes": "12"},
    )

    anonymous = response.json()["anonymous"]
    assert _highlights(anonymous)[1:] == ["2 tables", "2 figures", "12-minute video"]
    assert [fragment for fragment in FRAGMENTS if fragment in anonymous] == []
