"""Every absolute URL the site emits comes from SITE_URL, never from the request's Host.

ALLOWED_HOSTS checks the name and ignores the port, so `research.example:31337` passes, as
does any other allowed alias. Each surface is fetched, and each email triggered, with such
a Host; none may carry the foreign host or port, and every link to the site must be on
SITE_URL (its scheme too: the test client speaks plain HTTP, SITE_URL is HTTPS). Cached
pages first built for a foreign Host must serve SITE_URL links to the next reader.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.models import Organisation, OrganisationMember
from reports.comments.services import comment_create
from reports.gifts.services import gift_create, gift_token
from reports.models import Report
from reports.publishing import report_publish
from tests.support.factories import (
    PASSWORD,
    MembershipFactory,
    NewsletterSubscriberFactory,
    ReportFactory,
    TopicFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SITE = "https://research.example"
OUR_HOSTS = {"research.example", "alias.example", "testserver"}
FOREIGN_HOSTS = ["research.example:31337", "alias.example:31337", "testserver:8443"]
URL = re.compile(r"https?://[^\s\"'<>()\]]+")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "research.example", "alias.example"]


@pytest.fixture(params=FOREIGN_HOSTS)
def foreign(request) -> str:
    return request.param


@pytest.fixture
def world():
    pumps = TopicFactory(slug="heat-pumps", name="Heat pumps")
    author = UserFactory(slug="ana-author", display_name="Ana Author")
    report = ReportFactory(
        slug="pump-test", title="Pump test", kind=Report.Kind.TEST, topics=[pumps],
        author=author, teaser="A public teaser. " * 20, body="Paid body.",
    )  # fmt: skip
    return {"report": report, "topic": pumps, "author": author}


def assert_only_site_urls(
    text: str, where: str, host: str | None = None, *, links_expected: bool = True
) -> None:
    """No trace of `host` (the foreign Host the request sent), and every absolute link to
    one of our names is on SITE_URL."""
    if host is not None:
        assert f":{urlsplit(f'//{host}').port}" not in text, where
    assert "alias.example" not in text, where
    ours = [url for url in URL.findall(text) if urlsplit(url).hostname in OUR_HOSTS]
    assert ours or not links_expected, f"{where}: no absolute link to check"
    for url in ours:
        assert url == SITE or url.startswith(f"{SITE}/"), (where, url)


def _mail_text(message) -> str:
    parts = [message.subject, message.body, *(content for content, _ in message.alternatives)]
    return "\n".join([*parts, *message.extra_headers.values()])


def _surfaces(world) -> list[str]:
    report, topic, author = world["report"], world["topic"], world["author"]
    return [
        "/",
        report.get_absolute_url(),
        f"/topics/{topic.slug}/",
        f"/kinds/{report.kind}/",
        f"/authors/{author.slug}/",
        "/feed/",
        "/feed/atom/",
        f"/feed/topics/{topic.slug}/",
        f"/feed/atom/topics/{topic.slug}/",
        f"/feed/kinds/{report.kind}/",
        f"/feed/atom/kinds/{report.kind}/",
        "/sitemap.xml",
        "/robots.txt",
    ]


# Pages, feeds, sitemap --------------------------------------------------------------------


def test_pages_feeds_and_sitemap_link_only_to_site_url(client, world, foreign):
    for path in _surfaces(world):
        response = client.get(path, HTTP_HOST=foreign)

        assert response.status_code == 200, path
        assert_only_site_urls(response.content.decode(), f"{path} via {foreign}", foreign)


@pytest.mark.parametrize(
    "path",
    [
        "/search/?q=pump",
        "/subscribe/",
        "/newsletter/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/reports/no-such-report/",
    ],
)
def test_other_pages_carry_no_trace_of_a_foreign_host(client, world, foreign, path):
    response = client.get(path, HTTP_HOST=foreign)

    assert response.status_code in {200, 404}, path
    assert_only_site_urls(
        response.content.decode(), f"{path} via {foreign}", foreign, links_expected=False
    )


def test_cached_entry_made_for_a_foreign_host_serves_site_url_links(world, foreign):
    for path in _surfaces(world):
        first = Client().get(path, HTTP_HOST=foreign)
        second = Client().get(path, HTTP_HOST="research.example")

        assert first["X-Page-Cache"] == "miss", path
        assert second["X-Page-Cache"] == "hit", path
        assert_only_site_urls(second.content.decode(), f"{path} cached via {foreign}", foreign)


def test_gift_link_and_gift_page_link_only_to_site_url(client_for, subscriber, world, foreign):
    report = world["report"]
    giver = client_for(subscriber)

    created = giver.post(f"{report.get_absolute_url()}gift/", HTTP_HOST=foreign, follow=True)
    listed = giver.get("/gifts/", HTTP_HOST=foreign)
    opened = Client().get(
        f"/gift/{gift_token(gift_create(giver=subscriber, report=report))}/", HTTP_HOST=foreign
    )

    for name, response in [("created", created), ("listed", listed), ("opened", opened)]:
        assert response.status_code == 200, name
        assert_only_site_urls(response.content.decode(), f"gift {name} via {foreign}", foreign)


# Emails -----------------------------------------------------------------------------------


def test_signup_verification_email(client, mailoutbox, foreign):
    client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": "a-long-unusual-passphrase"},
        HTTP_HOST=foreign,
    )

    (mail,) = mailoutbox
    assert "research.example" in mail.body  # allauth's "register an account on <domain>"
    assert_only_site_urls(_mail_text(mail), f"verification via {foreign}", foreign)


def test_signup_with_a_taken_address_email(client, mailoutbox, foreign):
    UserFactory(email="taken@example.com")

    client.post(
        "/accounts/signup/",
        {"email": "taken@example.com", "password1": "a-long-unusual-passphrase"},
        HTTP_HOST=foreign,
    )

    (mail,) = mailoutbox
    assert f"{SITE}/accounts/password/reset/" in mail.body
    assert_only_site_urls(_mail_text(mail), f"account exists via {foreign}", foreign)


def test_login_code_email(client, mailoutbox, foreign):
    UserFactory(email="reader@example.com")

    client.post("/accounts/login/code/", {"email": "reader@example.com"}, HTTP_HOST=foreign)

    (mail,) = mailoutbox
    assert_only_site_urls(_mail_text(mail), f"login code via {foreign}", foreign)


def test_password_reset_email(client, mailoutbox, foreign):
    UserFactory(email="reader@example.com")

    client.post("/accounts/password/reset/", {"email": "reader@example.com"}, HTTP_HOST=foreign)

    (mail,) = mailoutbox
    assert f"{SITE}/accounts/password/reset/key/" in mail.body
    assert_only_site_urls(_mail_text(mail), f"password reset via {foreign}", foreign)


def test_password_reset_for_an_unknown_address_email(client, mailoutbox, foreign):
    client.post("/accounts/password/reset/", {"email": "nobody@example.com"}, HTTP_HOST=foreign)

    (mail,) = mailoutbox
    assert f"{SITE}/accounts/signup/" in mail.body
    assert_only_site_urls(_mail_text(mail), f"unknown account via {foreign}", foreign)


def test_newsletter_confirmation_email(
    client, mailoutbox, foreign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/newsletter/", {"email": "list@example.com", "source": "home"}, HTTP_HOST=foreign
        )

    (mail,) = mailoutbox
    assert f"{SITE}/newsletter/confirm/" in mail.body
    assert_only_site_urls(_mail_text(mail), f"newsletter via {foreign}", foreign)


def test_team_invitation_email(client, mailoutbox, foreign, django_capture_on_commit_callbacks):
    owner = UserFactory(email="owner@acme.example")
    organisation = Organisation.objects.create(
        name="Acme", owner=owner, seats=3, status="active",
    )  # fmt: skip
    OrganisationMember.objects.create(organisation=organisation, user=owner, is_admin=True)
    client.force_login(owner)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/team/", {"action": "invite", "email": "kim@acme.example"}, HTTP_HOST=foreign)

    (mail,) = mailoutbox
    assert f"{SITE}/team/join/" in mail.body
    assert_only_site_urls(_mail_text(mail), f"invitation via {foreign}", foreign)


def test_comment_reply_email(
    client_for, subscriber, world, mailoutbox, foreign, django_capture_on_commit_callbacks
):
    report = world["report"]
    parent = comment_create(author=subscriber, report=report, body="Standby draw?")
    replier = client_for(MembershipFactory().user)

    with django_capture_on_commit_callbacks(execute=True):
        replier.post(
            f"{report.get_absolute_url()}comments/",
            {"body": "Same here.", "parent": str(parent.pk)},
            HTTP_HOST=foreign,
        )

    (mail,) = mailoutbox
    assert_only_site_urls(_mail_text(mail), f"comment reply via {foreign}", foreign)


def test_new_report_notification_email(mailoutbox, django_capture_on_commit_callbacks):
    NewsletterSubscriberFactory(email="list@example.com")
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        report_publish(report_id=draft.pk)

    (mail,) = mailoutbox
    assert f"{SITE}{draft.get_absolute_url()}" in mail.body
    assert_only_site_urls(_mail_text(mail), "notification")


# Links handed to Stripe -------------------------------------------------------------------


def test_stripe_return_links_are_on_site_url(client_for, free_reader, stripe_fake, foreign):
    reader = client_for(free_reader)
    buyer = client_for(UserFactory(email="buyer@acme.example"))
    customer = stripe_fake.create_customer({"email": "owner@acme.example"})
    owner = UserFactory(email="owner@acme.example")
    organisation = Organisation.objects.create(
        name="Acme", owner=owner, seats=3, status="active", stripe_customer_id=customer["id"],
    )  # fmt: skip
    OrganisationMember.objects.create(organisation=organisation, user=owner, is_admin=True)

    reader.post("/subscribe/checkout/", {"plan": "monthly"}, HTTP_HOST=foreign)
    order = {"name": "Acme Integrators", "seats": "3", "confirmed": "yes"}
    buyer.post("/subscribe/team/", order, HTTP_HOST=foreign)
    client_for(owner).post("/team/", {"action": "billing"}, HTTP_HOST=foreign)
    member = MembershipFactory(
        stripe_customer_id=stripe_fake.create_customer({"email": "member@example.com"})["id"]
    ).user
    client_for(member).post("/subscribe/portal/", HTTP_HOST=foreign)

    links = [
        *(s[key] for s in stripe_fake.sessions.values() for key in ("success_url", "cancel_url")),
        *(s["return_url"] for s in stripe_fake.portal_sessions.values()),
    ]
    assert len(links) == 6
    assert_only_site_urls("\n".join(links), f"Stripe via {foreign}", foreign)


# Keys derived from the site ---------------------------------------------------------------


def test_failed_login_limit_per_account_is_not_reset_by_another_port(client):
    UserFactory(email="target@example.com")
    for n in range(5):
        client.post(
            "/accounts/login/",
            {"login": "target@example.com", "password": f"guess-{n}"},
            HTTP_HOST=f"research.example:{31337 + n}",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )

    response = client.post(
        "/accounts/login/",
        {"login": "target@example.com", "password": PASSWORD},
        HTTP_HOST="research.example:40000",
        HTTP_X_FORWARDED_FOR="198.51.100.99",
    )

    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
