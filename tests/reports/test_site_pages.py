"""About, Contact, Privacy and Terms: pages editors write in the admin, linked from every
page's footer, public, page-cached, retired when edited, and listed in the sitemap."""

import importlib

import pytest
from django.apps import apps
from django.test import Client

from publisher.errors import ApplicationError
from reports.models import SitePage
from reports.site_pages.services import (
    FOOTER_SLUGS,
    site_page_save,
    site_page_slug_problem,
    site_pages_delete,
)
from tests.support.factories import ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

SEED = importlib.import_module("reports.migrations.0013_site_pages_and_paywall_figures")


@pytest.fixture
def about():
    page, _ = SitePage.objects.update_or_create(
        slug="about", defaults={"title": "About us", "body": "## Our lab\n\nWe *measure*."}
    )
    return page


def test_the_migration_seeds_every_footer_page_with_a_first_version():
    SitePage.objects.all().delete()

    SEED.seed_pages(apps, None)
    SEED.seed_pages(apps, None)  # again: nothing changes, nothing is duplicated

    pages = {page.slug: page for page in SitePage.objects.all()}
    assert sorted(pages) == sorted(FOOTER_SLUGS)
    assert all(page.title and len(page.body) > 200 for page in pages.values())


def test_the_migration_keeps_a_page_editors_already_wrote():
    SitePage.objects.update_or_create(slug="about", defaults={"title": "Ours", "body": "Ours."})

    SEED.seed_pages(apps, None)

    assert SitePage.objects.get(slug="about").body == "Ours."


def test_the_migration_counts_existing_reports_bodies():
    report = ReportFactory(body="| a | b |\n|---|---|\n| 1 | 2 |\n\n![chart](/c.svg)")

    SEED.count_bodies(apps, None)

    report.refresh_from_db()
    assert (report.body_tables, report.body_figures, report.body_videos) == (1, 1, 0)
    assert report.body_words > 0


def test_a_page_shows_its_markdown_rendered_for_everyone(client, client_for, free_reader, about):
    for reader in [client, client_for(free_reader)]:
        response = reader.get("/about/")
        page = response.content.decode()
        assert response.status_code == 200
        assert "<title>About us · Gridline Research</title>" in page
        assert "<em>measure</em>" in page
        assert 'rel="canonical" href="http://testserver/about/"' in page


def test_an_unknown_page_is_not_found(client):
    assert client.get("/no-such-page/").status_code == 404


def test_pages_are_cached_for_anonymous_readers_and_retired_when_edited(client, about):
    client.get("/about/")
    assert client.get("/about/")["X-Page-Cache"] == "hit"

    about.body = "We measure carefully."
    site_page_save(page=about)

    response = client.get("/about/")
    assert "X-Page-Cache" not in response or response["X-Page-Cache"] == "miss"
    assert "We measure carefully." in response.content.decode()


def test_every_page_links_the_footer_pages_and_pricing(client, about):
    page = client.get("/").content.decode()

    for label, href in [("About", "/about/"), ("Pricing", "/subscribe/"),
                        ("Contact", "/contact/"), ("Privacy", "/privacy/"),
                        ("Terms", "/terms/")]:  # fmt: skip
        assert f'<a href="{href}">{label}</a>' in page


def test_the_sitemap_lists_the_pages(client, about):
    sitemap = client.get("/sitemap.xml").content.decode()

    assert "<loc>http://testserver/about/</loc>" in sitemap


@pytest.mark.parametrize(
    "slug", ["search", "subscribe", "newsletter", "admin", "reports", "kinds", "gift", "accounts"]
)
def test_a_page_cannot_take_an_address_the_site_uses(slug):
    assert site_page_slug_problem(slug=slug)
    with pytest.raises(ApplicationError):
        site_page_save(page=SitePage(slug=slug, title="Taken", body="No."))


def test_a_new_page_can_take_a_free_address(client):
    assert site_page_slug_problem(slug="press") == ""

    site_page_save(page=SitePage(slug="press", title="Press", body="Kit."))

    assert client.get("/press/").status_code == 200


def test_footer_pages_cannot_be_deleted_but_others_can(about):
    site_page_save(page=SitePage(slug="press", title="Press", body="Kit."))

    with pytest.raises(ApplicationError):
        site_pages_delete(pages=SitePage.objects.filter(slug="about"))
    assert site_pages_delete(pages=SitePage.objects.filter(slug="press")) == 1
    assert SitePage.objects.filter(slug="about").exists()


@pytest.fixture
def admin(client_for):
    return client_for(UserFactory(is_staff=True, is_superuser=True, display_name="Ed Itor"))


def test_editors_edit_pages_in_the_admin_but_keep_footer_addresses(admin, about):
    url = f"/admin/reports/sitepage/{about.pk}/change/"

    form = admin.get(url).content.decode()
    response = admin.post(url, {"title": "About", "slug": "elsewhere", "body": "Edited."})

    assert 'name="slug"' not in form  # read-only for footer pages
    assert response.status_code == 302
    about.refresh_from_db()
    assert (about.slug, about.body) == ("about", "Edited.")
    assert admin.get(f"/admin/reports/sitepage/{about.pk}/delete/").status_code == 403


def test_the_admin_refuses_a_taken_address(admin):
    response = admin.post(
        "/admin/reports/sitepage/add/", {"title": "Search", "slug": "search", "body": "x"}
    )

    assert response.status_code == 200
    assert "is used by another part of the site" in response.content.decode()
    assert not SitePage.objects.filter(slug="search").exists()


def test_a_page_is_anonymous_and_cached_like_other_public_pages(client, about):
    response = Client().get("/about/")

    assert "public" in response["Cache-Control"]


@pytest.mark.parametrize(("persona", "bound"), [("anonymous", 1), ("free_reader", 4)])
def test_a_page_costs_a_fixed_number_of_queries(
    request, client_for, about, django_assert_max_num_queries, persona, bound
):
    # The page itself; for a logged-in reader also the user, membership and seat (the
    # header's Subscribe button).
    client = client_for(request.getfixturevalue(persona))

    with django_assert_max_num_queries(bound):
        assert client.get("/about/").status_code == 200
