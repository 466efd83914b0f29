"""The names search finds a report by (its topics' names, its author's display name) follow
every way they change: saving a report, the admin's topics, renaming or deleting a topic, an
author's new display name, a deleted account, and the migration that filled them."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from reports.models import Report, Topic
from reports.publishing import report_save, topic_save, topics_delete
from reports.search import search_reports
from tests.support.factories import ReportFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db


def _found(text: str) -> list[str]:
    page = search_reports(text=text, reader=AnonymousUser())
    return [result.report.slug for result in page.object_list]


@pytest.fixture
def author():
    return UserFactory(display_name="Ines Okafor", slug="ines-okafor", is_staff=True)


@pytest.fixture
def report(author):
    report = Report(
        slug="paid", title="Warranty claims", kind=Report.Kind.TEST, teaser="Forty claims.",
        body="Paid findings.", status=Report.Status.PUBLISHED, author=author,
    )  # fmt: skip
    return report_save(report=report, topics=[TopicFactory(slug="pumps", name="Heat pumps")])


def test_report_save_writes_the_topics_and_author_names(report):
    report.refresh_from_db()

    assert report.search_names == "Heat pumps\nInes Okafor"
    assert _found("okafor") == _found("heat pumps") == ["paid"]


def test_the_email_address_is_never_a_search_name(db):
    author = UserFactory(email="hidden-handle@example.com", display_name="", slug="x")
    report = report_save(report=ReportFactory.build(author=author, slug="anon-author"))

    assert Report.objects.get(pk=report.pk).search_names == ""
    assert _found("hidden-handle") == []


def test_topics_saved_by_the_admin_are_searchable(client_for, report):
    admin = client_for(UserFactory(is_staff=True, is_superuser=True, display_name="Ed Itor"))
    batteries = TopicFactory(slug="batteries", name="Home batteries")
    data = {
        "title": report.title, "slug": report.slug, "kind": report.kind,
        "teaser": report.teaser, "body": report.body, "status": report.status,
        "author": report.author_id, "cover_alt": "", "revision_note": "",
        "publish_at_0": "", "publish_at_1": "", "topics": [batteries.pk],
    }  # fmt: skip

    response = admin.post(reverse("admin:reports_report_change", args=[report.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _found("home batteries") == ["paid"]
    assert _found("heat pumps") == []


def test_renaming_a_topic_renames_it_in_search(report):
    topic = Topic.objects.get(slug="pumps")
    topic.name = "Air-source units"

    topic_save(topic=topic)

    assert _found("air-source units") == ["paid"]
    assert _found("heat pumps") == []


def test_renaming_a_topic_in_the_admin_renames_it_in_search(client_for, report):
    admin = client_for(UserFactory(is_staff=True, is_superuser=True, display_name="Ed Itor"))
    topic = Topic.objects.get(slug="pumps")

    response = admin.post(
        reverse("admin:reports_topic_change", args=[topic.pk]),
        {"name": "Air-source units", "slug": "pumps", "description": ""},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _found("air-source") == ["paid"]


def test_a_deleted_topic_no_longer_finds_its_reports(report):
    topics_delete(topics=Topic.objects.filter(slug="pumps"))

    assert _found("heat pumps") == []
    assert _found("okafor") == ["paid"]


def test_an_authors_new_display_name_is_searchable_and_the_old_one_is_not(author, report):
    author.display_name = "Ines Mbeki"
    author.save()

    assert _found("mbeki") == ["paid"]
    assert _found("okafor") == []


def test_a_login_does_not_rewrite_the_authors_reports(author, report, django_assert_num_queries):
    with django_assert_num_queries(1):
        author.save(update_fields=["last_login"])


def test_a_deleted_authors_name_no_longer_finds_their_reports(author, report):
    author.delete()

    assert _found("okafor") == []
    assert _found("heat pumps") == ["paid"]


def test_the_migration_fills_the_names_of_existing_reports(report):
    Report.objects.filter(pk=report.pk).update(search_names="")
    migration = importlib.import_module("reports.migrations.0011_public_search_document")

    migration._fill_names(apps)

    assert Report.objects.get(pk=report.pk).search_names == "Heat pumps\nInes Okafor"
