"""A CDN that is told: public pages name what they show in `Surrogate-Key` and `Cache-Tag`
(reports/surrogate_keys.py), and publishing, editing, unpublishing or deleting a report
purges exactly the keys of the pages it was and is on, through the Fastly fake
(tests/support/cdn_fakes.py). With a purge backend the shared lifetime is long and the
browsers' stays short; without one, nothing changes. Personal pages carry no keys."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation
from accounts.organisations.networks import office_networks_forget, organisation_network_add
from reports.comments.services import comment_create
from reports.models import Citation, Report
from reports.publishing import report_save
from tests.support.cdn_fakes import SHARED_MAX_AGE
from tests.support.factories import ReportFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heat(db):
    return TopicFactory(slug="heat-pumps", name="Heat pumps")


@pytest.fixture
def solar(db):
    return TopicFactory(slug="solar", name="Solar")


@pytest.fixture
def report(heat):
    return ReportFactory(
        slug="keyed",
        title="Keyed report",
        is_free=True,
        topics=[heat],
        author=UserFactory(slug="ana-author", is_staff=True, display_name="Ana Author"),
    )


def _keys(response) -> list[str]:
    keys = response.headers["Surrogate-Key"].split(" ")
    assert response.headers["Cache-Tag"].split(",") == keys
    return keys


def _directives(response) -> set[str]:
    return {part.strip() for part in response.headers.get("Cache-Control", "").split(",")}


def _listing_urls(report: Report) -> dict[str, str]:
    topic = report.topics.get()
    return {
        "home": reverse("reports:home"),
        f"topic-{topic.pk}": reverse("reports:topic", args=[topic.slug]),
        f"kind-{report.kind}": reverse("reports:kind", args=[report.kind]),
        f"author-{report.author_id}": reverse("reports:author", args=[report.author.slug]),
        "feed": reverse("reports:feed"),
        "search": reverse("reports:search") + "?q=keyed",
        "sitemap": reverse("reports:sitemap"),
    }


# What pages name --------------------------------------------------------------------------------


def test_each_listing_names_its_listing_and_not_its_reports(fastly, report):
    for key, url in _listing_urls(report).items():
        response = Client().get(url)
        assert response.status_code == 200, url
        assert _keys(response) == ["pages", key], url
    topic = report.topics.get()
    for name, args in [
        ("reports:topic-feed", [topic.slug]),
        ("reports:topic-atom", [topic.slug]),
    ]:
        assert _keys(Client().get(reverse(name, args=args))) == ["pages", f"topic-{topic.pk}"]
    for name in ["reports:kind-feed", "reports:kind-atom"]:
        assert _keys(Client().get(reverse(name, args=[report.kind]))) == [
            "pages",
            f"kind-{report.kind}",
        ]
    assert _keys(Client().get(reverse("reports:atom"))) == ["pages", "feed"]
    assert _keys(Client().get(reverse("reports:robots"))) == ["pages"]


def test_a_report_page_names_the_report_its_citations_and_its_related_cards(fastly, report, heat):
    related = ReportFactory(topics=[heat])

    response = Client().get(report.get_absolute_url())

    assert _keys(response) == [
        "pages",
        f"report-{report.pk}",
        f"citations-{report.pk}",
        f"related-topic-{heat.pk}",
        f"related-kind-{report.kind}",
        f"report-{related.pk}",
    ]


def test_a_page_cache_hit_names_the_same_keys(fastly, report):
    first = Client().get(report.get_absolute_url())
    hit = Client().get(report.get_absolute_url())

    assert hit.headers["X-Page-Cache"] == "hit"
    assert _keys(hit) == _keys(first)


def test_with_a_purge_backend_pages_are_shared_long_and_browsers_keep_them_briefly(fastly, report):
    for url in [report.get_absolute_url(), *_listing_urls(report).values()]:
        assert _directives(Client().get(url)) == {
            "public",
            "max-age=60",
            f"s-maxage={SHARED_MAX_AGE}",
        }, url


def test_without_a_purge_backend_the_shared_lifetime_is_the_browsers(settings, report):
    settings.CDN_PURGE = None
    settings.PUBLIC_PAGE_SHARED_MAX_AGE = 0

    response = Client().get(report.get_absolute_url())

    assert _directives(response) == {"public", "max-age=60"}
    assert "pages" in _keys(response)  # named all the same, for a CDN not yet told


def test_nginx_keeps_the_generation_a_minute_whatever_the_pages_shared_lifetime(fastly, db):
    response = Client().get("/_cache/generation")

    assert _directives(response) == {"public", "max-age=60"}


@pytest.mark.parametrize("persona", ["free_reader", "subscriber", "editor"])
def test_logged_in_readers_pages_carry_no_keys(request, client_for, fastly, report, persona):
    client = client_for(request.getfixturevalue(persona))
    for url in [report.get_absolute_url(), *_listing_urls(report).values()]:
        response = client.get(url)
        assert {"private", "no-store"} <= _directives(response), url
        assert "Surrogate-Key" not in response.headers, url
        assert "Cache-Tag" not in response.headers, url


@pytest.fixture
def office(db):
    office_networks_forget()
    organisation = Organisation.objects.create(
        name="Acme Cooling", status="active", seats=5,
        current_period_end=timezone.now() + timedelta(days=30),
    )  # fmt: skip
    organisation_network_add(organisation=organisation, cidr="203.0.113.0/24", label="London")
    yield organisation
    office_networks_forget()


def test_an_office_network_readers_page_carries_no_keys(fastly, office, heat):
    paid = ReportFactory(topics=[heat], is_free=False)
    forwarded = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.40"}
    client = Client()

    for _ in range(2):  # the first request, then with the session it was given
        response = client.get(paid.get_absolute_url(), **forwarded)
        assert "private" in response["Cache-Control"]
        assert "Surrogate-Key" not in response.headers
        assert "Cache-Tag" not in response.headers


# What changes purge -----------------------------------------------------------------------------


def _purged(fake) -> set[str]:
    return set(fake.purged)


def _placed(report: Report, *, topics) -> set[str]:
    return {
        f"report-{report.pk}",
        "home",
        "feed",
        "sitemap",
        "search",
        f"kind-{report.kind}",
        f"author-{report.author_id}",
        *(f"topic-{topic.pk}" for topic in topics),
    }


def test_editing_a_published_report_purges_its_page_and_listings_only(
    fastly, report, heat, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report.title = "Keyed report, corrected"
        report_save(report=report)

    assert _purged(fastly) == _placed(report, topics=[heat])
    assert len(fastly.calls) == 1


def test_moving_a_report_to_another_topic_purges_the_old_one_too(
    fastly, report, heat, solar, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report_save(report=report, topics=[solar])

    assert _purged(fastly) == _placed(report, topics=[heat, solar]) | {
        f"related-topic-{heat.pk}",
        f"related-topic-{solar.pk}",
        f"related-kind-{report.kind}",
    }


def test_a_topic_changed_in_the_admin_after_the_report_is_purged_as_it_ended(
    fastly, report, heat, solar, client_for, django_capture_on_commit_callbacks
):
    admin = client_for(UserFactory(is_staff=True, is_superuser=True))
    data = {
        "title": report.title, "slug": report.slug, "kind": "guide", "topics": [solar.pk],
        "teaser": report.teaser, "body": report.body, "status": report.status,
        "author": report.author_id, "cover_alt": "", "revision_note": "",
        "publish_at_0": "", "publish_at_1": "", "is_free": "on",
    }  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("admin:reports_report_change", args=[report.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    purged = _purged(fastly)
    assert {f"topic-{heat.pk}", f"topic-{solar.pk}", "kind-test", "kind-guide"} <= purged
    assert {f"related-topic-{solar.pk}", "related-kind-guide", "related-kind-test"} <= purged


def test_publishing_a_draft_purges_where_it_now_appears(
    fastly, heat, django_capture_on_commit_callbacks
):
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None, topics=[heat])

    with django_capture_on_commit_callbacks(execute=True):
        draft.status = Report.Status.PUBLISHED
        report_save(report=draft)

    assert _purged(fastly) == _placed(draft, topics=[heat]) | {
        f"related-topic-{heat.pk}",
        f"related-kind-{draft.kind}",
    }
    assert len(fastly.calls) == 1


def test_unpublishing_purges_where_it_appeared(
    fastly, report, heat, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report.status = Report.Status.DRAFT
        report_save(report=report)

    assert _purged(fastly) == _placed(report, topics=[heat]) | {
        f"related-topic-{heat.pk}",
        f"related-kind-{report.kind}",
    }


def test_editing_a_draft_purges_nothing(fastly, heat, django_capture_on_commit_callbacks):
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None, topics=[heat])

    with django_capture_on_commit_callbacks(execute=True):
        draft.title = "Still a draft"
        report_save(report=draft)

    assert fastly.calls == []


def test_deleting_in_the_admin_purges_where_it_appeared(
    fastly, report, heat, client_for, django_capture_on_commit_callbacks
):
    admin = client_for(UserFactory(is_staff=True, is_superuser=True))
    expected = _placed(report, topics=[heat]) | {
        f"related-topic-{heat.pk}",
        f"related-kind-{report.kind}",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("admin:reports_report_delete", args=[report.pk]), {"post": "yes"}
        )

    assert response.status_code == 302
    assert not Report.objects.filter(pk=report.pk).exists()
    assert _purged(fastly) == expected


def test_a_citing_report_purges_the_citation_list_it_joins(
    fastly, report, heat, django_capture_on_commit_callbacks
):
    citer = ReportFactory(topics=[heat])

    with django_capture_on_commit_callbacks(execute=True):
        citer.body = "As [we found](/reports/keyed/)."
        report_save(report=citer)

    assert f"citations-{report.pk}" in _purged(fastly)
    assert f"report-{report.pk}" not in _purged(fastly)


def test_a_public_update_purges_the_pages_of_the_reports_citing_it(
    fastly, report, heat, django_capture_on_commit_callbacks
):
    citer = ReportFactory(topics=[heat])
    Citation.objects.create(citing=citer, cited=report)

    with django_capture_on_commit_callbacks(execute=True):
        report.revision_note = "Corrected the standby figure."
        report_save(report=report, revised=True)

    # The citer's header now says "Cites a report updated on …".
    assert f"report-{citer.pk}" in _purged(fastly)


def test_a_comment_purges_its_report_page(
    fastly, report, subscriber, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        comment_create(author=subscriber, report=report, body="A comment to count.")

    assert _purged(fastly) == {f"report-{report.pk}"}


def test_every_page_showing_the_report_is_purged_and_no_other(
    fastly, report, heat, solar, django_capture_on_commit_callbacks
):
    """What a CDN would do: drop every page carrying a purged key."""
    related = ReportFactory(topics=[heat])
    elsewhere = ReportFactory(topics=[solar], kind=Report.Kind.NEWS)
    showing = [
        report.get_absolute_url(),
        related.get_absolute_url(),
        *_listing_urls(report).values(),
    ]
    not_showing = [
        elsewhere.get_absolute_url(),
        reverse("reports:topic", args=[solar.slug]),
        reverse("reports:kind", args=[Report.Kind.NEWS]),
    ]
    keys = {url: set(_keys(Client().get(url))) for url in showing + not_showing}

    with django_capture_on_commit_callbacks(execute=True):
        report.teaser = "A sharper public teaser."
        report_save(report=report)

    purged = _purged(fastly)
    for url in showing:
        assert keys[url] & purged, url
    for url in not_showing:
        assert not keys[url] & purged, url


def test_a_failing_cdn_never_fails_the_editors_save(
    fastly, report, settings, django_capture_on_commit_callbacks
):
    settings.CDN_PURGE_MAX_RETRIES = 1
    fastly.fail_next(503, times=5)

    with django_capture_on_commit_callbacks(execute=True):
        report.title = "Saved all the same"
        report_save(report=report)

    assert Report.objects.get(pk=report.pk).title == "Saved all the same"
    assert [call.status for call in fastly.calls] == [503, 503]
