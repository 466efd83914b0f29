"""The canary sweep: every URL pattern in the urlconf, with `?format=`-style variants, the
trailing slash toggled, HEAD and an empty POST, as anonymous, free, lapsed and banned
readers. A paid body, a comment, a draft or a gifted report's text appears in no response
body or header, and nothing answers 500.

The gift page is the one place a gifted body is meant to appear (for anyone holding the
link); it still must not show the other paid report, the comments or the draft.
"""

import re
from urllib.parse import quote

import pytest
from django.test import Client

from accounts.newsletter.services import newsletter_preferences_token
from accounts.organisations.services import invitation_create
from reports.comments.services import comment_create
from reports.models import Report
from reports.publishing import report_publish
from tests.hardening.conftest import (
    COMMENT_FRAGMENTS,
    DRAFT_FRAGMENTS,
    GIFT_CANARY,
    GIFT_FRAGMENTS,
    PAID_FRAGMENTS,
    World,
    leaked,
)
from tests.hardening.urlsweep import concrete_urls
from tests.reports.conftest import CANARY, CANARY_WORD
from tests.support.factories import ReportFactory
from tests.support.figures import record

NON_ENTITLED = ["anonymous", "free_reader", "lapsed_subscriber", "banned"]


@pytest.fixture(autouse=True)
def _searches_unlimited(settings):
    """The sweep runs more searches from one address than the search limit allows; with
    it, the last ones (the drafts' words among them) would answer 429 and check nothing.
    The limit has its own tests (tests/reports/test_search_rate_limit.py)."""
    settings.SEARCH_LIMIT_PER_MINUTE = settings.SEARCH_LIMIT_PER_HOUR = 0


QUERY_VARIANTS = ["", "?format=json", "?format=amp&full=1&raw=true", "?_format=rss&body=1"]
# POSTing to the logout URLs would end the persona's session halfway through the sweep;
# logout is exercised in tests/accounts/test_account_security.py.
NO_POST = {"account_logout"}
SWEEP_FIGURES: dict[str, int] = {}


def _sweep_paths(world: World) -> list[tuple[str, str]]:
    """(name, path) for every pattern plus the extra paths that reach other objects."""
    fill = {**world.fill(), "token": world.gift_token}
    overrides = {
        name: {"slug": world.topic.slug}
        for name in ["reports:topic", "reports:topic-feed", "reports:topic-atom"]
    }
    overrides["reports:author"] = {"slug": world.author.slug}
    overrides["accounts:team_join"] = {"token": world.invitation_token}
    overrides["newsletter:confirm"] = {"token": world.confirm_token}
    overrides["newsletter:unsubscribe"] = {"token": world.newsletter_subscriber.token}
    overrides["reports:newsletter_preferences_link"] = {
        "token": newsletter_preferences_token(subscriber_token=world.newsletter_subscriber.token)
    }
    overrides["site_pages:page"] = {"slug": "about"}
    paths = [(url.name, url.path) for url in concrete_urls(fill, overrides)]
    search = "/search/?q="
    extra = [
        world.gifted.get_absolute_url(),
        world.free.get_absolute_url(),
        world.draft.get_absolute_url(),
        f"{world.paid.get_absolute_url()}?reply={world.comment.pk}",
        f"/gift/{world.gift_token}x/",
        f"/team/join/{world.invitation_token}x/",
        f"/newsletter/unsubscribe/{world.newsletter_subscriber.token}x/",
        *(f"/comments/{c.pk}/{action}/" for c in [world.reply, world.hidden]
          for action in ["edit", "delete", "report", "hide", "unhide"]),
        *(f"/feed/kinds/{kind}/" for kind in ["test", "news"]),
        *(f"/feed/atom/kinds/{kind}/" for kind in ["test", "news"]),
        f"{search}{CANARY_WORD}",
        f"{search}{quote('"idles at" watts lab')}",
        f"{search}{CANARY_WORD}&kind=shootout&topic={world.topic.slug}&page=1",
        f"{search}installer+quoted+dollars",
        f"{search}Kestrel+night",
        f"{search}Vireo+unpublished+verdict",
        "/sitemap.xml?p=1",
        "/kinds/shootouts/", "/kinds/Tests/", "/contact/", "/no-such-site-page/",
        "/accounts/signup/?next=/subscribe/checkout/%3Fplan%3Dannual",
    ]  # fmt: skip
    return paths + [(path, path) for path in extra]


def _toggle_slash(path: str) -> str:
    base, _, query = path.partition("?")
    base = base[:-1] if base.endswith("/") and base != "/" else base + "/"
    return base + (f"?{query}" if query else "")


def _leaks(response, allowed: list[str]) -> list[str]:
    text = response.content.decode(errors="replace")
    text += "\n".join(f"{key}: {value}" for key, value in response.headers.items())
    forbidden = PAID_FRAGMENTS + COMMENT_FRAGMENTS + DRAFT_FRAGMENTS + GIFT_FRAGMENTS
    return leaked([fragment for fragment in forbidden if fragment not in allowed], text)


def sweep(client: Client, paths: list[tuple[str, str]]) -> tuple[int, list[str]]:
    """Request every path in every variant; return (requests made, problems found)."""
    problems, requests = [], 0
    for name, path in paths:
        allowed = GIFT_FRAGMENTS if path.startswith("/gift/") and name != path else []
        joiner = "&" if "?" in path else "?"
        calls = [("GET", path + joiner + q.lstrip("?"), {}) for q in QUERY_VARIANTS if q]
        calls += [
            ("GET", path, {}),
            ("GET", path, {"HTTP_ACCEPT": "application/json"}),
            ("GET", _toggle_slash(path), {}),
            ("HEAD", path, {}),
        ]
        if name not in NO_POST:
            calls.append(("POST", path, {}))
        for method, url, headers in calls:
            response = getattr(client, method.lower())(url, **headers)
            requests += 1
            if response.status_code >= 500:
                problems.append(f"{method} {url} -> {response.status_code}")
            if response.status_code == 429 and url.startswith("/search/"):
                problems.append(f"{method} {url} -> 429: the sweep checked nothing there")
            for fragment in _leaks(response, allowed):
                problems.append(f"{method} {url} ({response.status_code}) leaked {fragment!r}")
    return requests, problems


@pytest.mark.parametrize("persona", NON_ENTITLED)
def test_no_paid_or_comment_text_and_no_500_on_any_url(world, persona_client, persona):
    client = persona_client(persona)
    paths = _sweep_paths(world)

    requests, problems = sweep(client, paths)

    SWEEP_FIGURES[persona] = requests
    patterns = sum(1 for name, path in paths if name != path)
    record(
        f"canary sweep as {persona}: {patterns} urlconf patterns + {len(paths) - patterns} "
        f"extra paths, {requests} requests (up to 8 variants each), 0 leaks, 0 responses >= 500"
    )
    assert not problems, "\n".join(problems)
    assert len(paths) > 140  # every pattern of the urlconf plus the extra paths


def test_every_pattern_of_the_urlconf_is_swept(world):
    """Adding a URL pattern needs no edit here: a fill that does not resolve back fails."""
    names = {url.name for url in concrete_urls({**world.fill(), "token": "t"})}

    expected = ["reports:detail", "reports:gift_open", "accounts:team_join", "healthz",
                "newsletter:signup", "newsletter:confirm", "newsletter:unsubscribe",
                "reports:newsletter_preferences",
                "accounts:stripe_webhook", "account_reset_password_from_key"]  # fmt: skip
    assert set(expected) <= names


@pytest.mark.parametrize("persona", ["subscriber", "editor"])
def test_the_sweep_would_see_a_leak(world, persona_client, persona):
    """Positive control: an entitled reader does get the canaries the sweep looks for."""
    client = persona_client(persona)

    page = client.get(world.paid.get_absolute_url()).content.decode()
    search = client.get("/search/", {"q": CANARY_WORD}).content.decode()

    assert CANARY in page
    assert "c0d3" in page and "r3p1" in page
    assert CANARY_WORD in search


@pytest.mark.parametrize("persona", NON_ENTITLED)
def test_the_paywall_gives_numbers_about_the_body_and_none_of_its_text(
    world, persona_client, persona
):
    """Positive control for the paywall: its counts come from the canary body (a table, a
    figure, a video), so the sweep above proves they carry none of it."""
    page = persona_client(persona).get(world.paid.get_absolute_url()).content.decode()

    highlights = re.findall(r"<li><strong>([^<]+)</strong> ([^<]+)</li>", page)
    assert [f"{figure} {label}" for figure, label in highlights][1:] == [
        "1 table", "1 figure", "12-minute video", "2 comments from subscribers",
    ]  # fmt: skip
    assert not leaked(PAID_FRAGMENTS + COMMENT_FRAGMENTS, page)


def test_the_gift_page_shows_the_gifted_body_but_no_comment_or_other_report(world):
    client = Client()

    page = client.get(f"/gift/{world.gift_token}/").content.decode()

    assert "6f1b" in page
    assert not leaked(PAID_FRAGMENTS + COMMENT_FRAGMENTS + DRAFT_FRAGMENTS, page)


# Emails ---------------------------------------------------------------------------------


def test_no_email_carries_paid_text_and_comments_reach_only_entitled_recipients(
    world, client, client_for, free_reader, lapsed_subscriber, subscriber, mailoutbox,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    from reports.models import Comment

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/accounts/signup/", {"email": "new@example.com", "password1": "an-unusual-passphrase"}
        )
        Client().post("/accounts/password/reset/", {"email": free_reader.email})
        Client().post("/accounts/login/code/", {"email": free_reader.email})
        client_for(free_reader).post(
            "/accounts/email/", {"action_add": "", "email": "fran.new@example.com"}
        )
        invitation_create(
            organisation=world.organisation, email="colleague@example.com",
            invited_by=world.team_admin,
        )  # fmt: skip
        # A comment by someone whose subscription then lapsed, answered by a subscriber:
        # the lapsed author is told there is a reply, without its text.
        lapsed_comment = Comment.objects.create(
            report=world.paid, author=lapsed_subscriber, body="Old thought.",
            body_html="<p>Old thought.</p>",
        )  # fmt: skip
        comment_create(
            author=subscriber, report=world.paid, body=f"{world.comment.body} again",
            parent_id=lapsed_comment.pk,
        )  # fmt: skip
        Client().post("/newsletter/", {"email": "reader.new@example.com", "source": "home"})
        # Publishing a paid report emails every confirmed newsletter subscriber (free ones
        # too): teaser and link only.
        announced = ReportFactory(
            slug="announced", title="Announced report", status=Report.Status.DRAFT,
            published_at=None, is_free=False, teaser="An announced teaser.",
            body=f"## Paid\n\n{CANARY}\n\n{GIFT_CANARY}", author=world.author,
        )  # fmt: skip
        report_publish(report_id=announced.pk)

    kinds = {message.subject for message in mailoutbox}
    assert len(mailoutbox) >= 8, kinds
    assert any("Announced report" in subject for subject in kinds), kinds
    assert any(m.to == ["fan@example.com"] for m in mailoutbox)  # a free newsletter reader
    entitled = {subscriber.email, "second@example.com", world.author.email}
    for message in mailoutbox:
        text = message.message().as_bytes().decode(errors="replace")
        text += "\n".join([message.subject, message.body])
        text += "\n".join(str(content) for content, _ in getattr(message, "alternatives", []))
        found = leaked(PAID_FRAGMENTS + GIFT_FRAGMENTS + DRAFT_FRAGMENTS, text)
        assert not found, (message.subject, found)
        if not set(message.to) & entitled:
            found = leaked(COMMENT_FRAGMENTS, text)
            assert not found, (message.subject, message.to, found)
    record(f"email canary sweep: {len(mailoutbox)} emails: {sorted(kinds)}")
