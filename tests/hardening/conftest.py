"""One small world for the hardening suites: every kind of object a URL can name, each
carrying a canary sentence where it holds subscriber-only text.

Personas beyond the shared ones: `banned`, an account staff deactivated while it still
has an active membership and an open session (the session must stop granting anything).

The fuzz pass's total is summed here at the end of the run, from what each fuzz test sent,
so no test depends on another having run.
"""

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.models import (
    NewsletterSubscriber,
    Organisation,
    OrganisationInvitation,
    OrganisationMember,
    User,
)
from accounts.organisations.services import invitation_token
from reports.comments.services import comment_create, comment_hide
from reports.gifts.services import gift_create, gift_token
from reports.models import Comment, GiftLink, Report, SitePage, Topic
from reports.publishing import report_save
from tests.reports.conftest import CANARY, CANARY_WORD
from tests.support.factories import (
    MembershipFactory,
    NewsletterSubscriberFactory,
    ReportFactory,
    TopicFactory,
    UserFactory,
)
from tests.support.figures import record

COMMENT_CANARY = "Comment canary c0d3: the installer quoted 1,840 dollars for the Aurel."
REPLY_CANARY = "Reply canary r3p1: ours idled at 9.9 W, not 9.4."
HIDDEN_CANARY = "Hidden canary h1d3: moderators removed this."
GIFT_CANARY = "Gift canary 6f1b: the Kestrel HX-10 lost 11.2 W at night."
DRAFT_CANARY = "Draft canary d4f7: the unpublished verdict on the Vireo V2."

# What must never reach a reader who may not read the paid report or its comments.
# Fragments as well as whole sentences, so a truncated snippet or a summary is caught too.
PAID_FRAGMENTS = [CANARY, "Canary sentence 7f3a", "9.4 watts", f"{CANARY_WORD} Aurel"]
COMMENT_FRAGMENTS = [
    COMMENT_CANARY, "c0d3", "1,840 dollars",
    REPLY_CANARY, "r3p1", HIDDEN_CANARY, "h1d3",
]  # fmt: skip
GIFT_FRAGMENTS = [GIFT_CANARY, "6f1b", "11.2 W at night"]
DRAFT_FRAGMENTS = [DRAFT_CANARY, "d4f7"]
CONFIRM_TOKEN = "a-known-newsletter-confirmation-token"
# The paid report's body: the canary in its text, a quote, a table cell, a figure's alt text
# and caption, and a video, so the paywall's counts are taken from all of them.
PAID_BODY = f"""## Results

{CANARY}

> {CANARY}

| Unit | {CANARY_WORD} Aurel |
|---|---|
| Idle | 9.4 watts |

![{CANARY}](/static/demo/inverter-efficiency.svg "{CANARY}")

https://www.youtube.com/watch?v=dQw4w9WgXcQ
"""


def leaked(fragments: list[str], text: str) -> list[str]:
    """The fragments `text` holds as text of their own, not inside a longer run of letters
    and digits: a short canary such as "c0d3" turns up in random hex now and then (a
    password reset link, a token), which is no leak."""
    return [
        fragment
        for fragment in fragments
        if re.search(rf"(?<![0-9A-Za-z]){re.escape(fragment)}(?![0-9A-Za-z])", text)
    ]


# Responses to the fuzz pass's generated inputs, by endpoint and status (test_fuzz.py).
FUZZ_OUTCOMES: dict[str, Counter[int]] = {}


@pytest.hookimpl(tryfirst=True)  # before tests/support/figures.py prints what was recorded
def pytest_terminal_summary(terminalreporter) -> None:
    if not FUZZ_OUTCOMES:
        return
    total = sum(statuses.total() for statuses in FUZZ_OUTCOMES.values())
    errors = sum(
        count
        for statuses in FUZZ_OUTCOMES.values()
        for status, count in statuses.items()
        if status >= 500
    )
    endpoints = f"{len(FUZZ_OUTCOMES)} endpoint" + ("s" if len(FUZZ_OUTCOMES) > 1 else "")
    record(
        f"fuzz pass: {total} generated inputs to {endpoints}, "
        f"{errors} responses with status 500 or more"
    )
    for name, statuses in FUZZ_OUTCOMES.items():
        record(f"  {name}: {statuses.total()} inputs, statuses {dict(sorted(statuses.items()))}")


@dataclass
class World:
    topic: Topic
    author: User
    paid: Report
    free: Report
    gifted: Report
    draft: Report
    comment: Comment
    reply: Comment
    hidden: Comment
    gift: GiftLink
    gift_token: str
    team_admin: User
    organisation: Organisation
    invitation: OrganisationInvitation
    invitation_token: str
    giver: User
    newsletter_subscriber: NewsletterSubscriber
    confirm_token: str

    def fill(self) -> dict[str, str]:
        """Values for URL arguments, by argument name (see tests/hardening/urlsweep.py)."""
        return {
            "slug": self.paid.slug,
            "kind": self.paid.kind,
            "comment_id": str(self.comment.pk),
            "gift_id": str(self.gift.pk),
            "content_type_id": str(ContentType.objects.get_for_model(Report).pk),
            "object_id": str(self.paid.pk),
            "pk": "1",  # staff-only pages about one record (the newsletter import)
            "id": str(self.author.pk),
            "uidb36": "1",
            "key": "not-a-real-reset-key",
            "app_label": "reports",
            "url": "no-such-admin-page/",
            "provider_id": "no-such-provider",  # an organisation's identity provider
            "organization_slug": "no-such-organisation",  # allauth's SAML addresses
        }


@pytest.fixture
def world(db, subscriber) -> World:
    cache.clear()  # comment rate limits from other tests
    topic = TopicFactory(slug="solar-inverters", name="Solar inverters")
    author = UserFactory(
        display_name="Tomas Lindqvist", slug="tomas-lindqvist", is_staff=True,
        email="tomas@example.com",
    )  # fmt: skip
    paid = ReportFactory(
        slug="paid-report", title="Hybrid inverter shootout", kind=Report.Kind.SHOOTOUT,
        teaser="Five hybrid inverters, one bench, and a verdict.", body=PAID_BODY,
        is_free=False, topics=[topic], author=author, video_minutes=12,
    )  # fmt: skip
    # As editors save it: the paywall's counts of its table, figure and video are stored.
    report_save(report=paid)
    SitePage.objects.update_or_create(
        slug="about", defaults={"title": "About", "body": "We measure home-energy equipment."}
    )
    free = ReportFactory(
        slug="free-news", title="Free news about inverters", kind=Report.Kind.NEWS,
        teaser="A free teaser.", body="Free body text for all readers.", is_free=True,
        topics=[topic], author=author,
    )  # fmt: skip
    gifted = ReportFactory(
        slug="gifted-report", title="Heat pump night losses", kind=Report.Kind.TEST,
        teaser="Night-time losses, measured.", body=f"## Losses\n\n{GIFT_CANARY}\n",
        is_free=False, topics=[topic], author=author,
    )  # fmt: skip
    draft = ReportFactory(
        slug="draft-report", title="Unpublished verdict", status=Report.Status.DRAFT,
        published_at=None, body=DRAFT_CANARY, teaser=DRAFT_CANARY, topics=[topic],
        author=author,
    )  # fmt: skip
    other_subscriber = MembershipFactory(user__email="second@example.com").user
    comment = comment_create(author=subscriber, report=paid, body=COMMENT_CANARY)
    reply = comment_create(
        author=other_subscriber, report=paid, body=REPLY_CANARY, parent_id=comment.pk
    )
    hidden = comment_create(author=other_subscriber, report=paid, body=HIDDEN_CANARY)
    comment_hide(moderator=author, comment=hidden, reason="Off topic")
    giver = MembershipFactory(user__email="giver@example.com").user
    gift = gift_create(giver=giver, report=gifted)
    team_admin = UserFactory(email="admin@acme.example", display_name="Ada Admin")
    organisation = Organisation.objects.create(
        name="Acme Integrators", owner=team_admin, seats=3, status="active",
        current_period_end=timezone.now() + timedelta(days=300),
    )  # fmt: skip
    OrganisationMember.objects.create(organisation=organisation, user=team_admin, is_admin=True)
    invitation = OrganisationInvitation.objects.create(
        organisation=organisation, email="outsider@example.com", invited_by=team_admin,
        expires_at=timezone.now() + timedelta(days=7),
    )  # fmt: skip
    newsletter_subscriber = NewsletterSubscriberFactory(email="fan@example.com")
    NewsletterSubscriberFactory(
        email="pending@example.com", confirmed_at=None, confirmation_sent_at=timezone.now(),
        confirmation_token_hash=hashlib.sha256(CONFIRM_TOKEN.encode()).hexdigest(),
    )  # fmt: skip
    cache.clear()
    return World(
        topic=topic, author=author, paid=paid, free=free, gifted=gifted, draft=draft,
        comment=comment, reply=reply, hidden=hidden, gift=gift, gift_token=gift_token(gift),
        team_admin=team_admin, organisation=organisation, invitation=invitation,
        invitation_token=invitation_token(invitation), giver=giver,
        newsletter_subscriber=newsletter_subscriber, confirm_token=CONFIRM_TOKEN,
    )  # fmt: skip


@pytest.fixture
def banned(db) -> User:
    """An account with an active membership whose owner staff then deactivated."""
    return MembershipFactory(user__email="banned@example.com", user__display_name="Bea Banned").user


@pytest.fixture
def persona_client(request, client_for):
    """persona_client(name) -> a logged-in Client for that persona (`banned` is deactivated
    after logging in, so its session outlives the ban)."""

    def make(name: str) -> Client:
        user = request.getfixturevalue(name)
        client = client_for(user)
        if name == "banned":
            User.objects.filter(pk=user.pk).update(is_active=False)
        client.raise_request_exception = False
        return client

    return make
