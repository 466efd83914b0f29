"""Corrections and updates: each saved version of a published report is kept (drafts are
not), the report page lists public updates for everyone and the changed paragraphs only for
readers who may read the body, and a report citing one updated since shows it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from reports.models import Citation, Report, ReportRevision
from reports.publishing import report_publish, report_save
from reports.revisions.diff import Change, paragraph_changes
from reports.revisions.selectors import cited_reports_updated_since, report_public_updates
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db

PUBLISHED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CORRECTED = datetime(2026, 3, 9, 14, 30, tzinfo=UTC)
OLD_FIGURE = "Standby draw measured 9.4 W over a night."
NEW_FIGURE = "Standby draw measured 4.9 W over a night."
BODY = f"## Findings\n\nThe charger idles quietly.\n\n{OLD_FIGURE}\n\nThe app is slow."


def _correct(report: Report, *, note: str, body: str, at: datetime, by=None) -> Report:
    report.body = body
    report.revision_note = note
    return report_save(report=report, revised=bool(note), saved_by=by, now=at)


@pytest.fixture
def published(editor):
    draft = ReportFactory(
        slug="standby", title="Charger standby power", body=BODY, is_free=False,
        status=Report.Status.DRAFT, published_at=None,
    )  # fmt: skip
    report_publish(report_id=draft.pk, now=PUBLISHED, by=editor)
    draft.refresh_from_db()
    return draft


@pytest.fixture
def corrected(published, editor):
    return _correct(
        published,
        note="Corrected the standby figure.",
        body=BODY.replace(OLD_FIGURE, NEW_FIGURE),
        at=CORRECTED,
        by=editor,
    )


# Recording ---------------------------------------------------------------------------------


def test_publishing_keeps_the_first_version_and_a_correction_the_next(corrected, editor):
    first, second = ReportRevision.objects.filter(report=corrected).order_by("saved_at")

    assert (first.saved_at, first.body, first.is_public, first.saved_by) == (
        PUBLISHED, BODY, False, editor,
    )  # fmt: skip
    assert (second.saved_at, second.note, second.is_public) == (
        CORRECTED, "Corrected the standby figure.", True,
    )  # fmt: skip
    assert NEW_FIGURE in second.body


def test_drafts_and_scheduled_reports_keep_no_history():
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None)
    report_save(report=draft)
    draft.body = "Edited while still a draft."
    report_save(report=draft)
    draft.status = Report.Status.SCHEDULED
    draft.publish_at = PUBLISHED
    report_save(report=draft)

    assert not ReportRevision.objects.filter(report=draft).exists()


def test_a_silent_edit_is_kept_but_not_public_and_an_unchanged_save_adds_nothing(published):
    _correct(published, note="", body=BODY.replace("quietly", "quietly."), at=CORRECTED)
    report_save(report=published, now=CORRECTED + timedelta(hours=1))

    revisions = ReportRevision.objects.filter(report=published).order_by("saved_at")
    assert [revision.is_public for revision in revisions] == [False, False]
    published.refresh_from_db()
    assert published.revised_at is None


def test_a_revision_is_in_the_transaction_of_the_save(published, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("citations failed")

    monkeypatch.setattr("reports.publishing.report_sync_citations", fail)
    with pytest.raises(RuntimeError):
        _correct(published, note="A note.", body="Changed.", at=CORRECTED)

    assert ReportRevision.objects.filter(report=published).count() == 1
    assert Report.objects.get(pk=published.pk).body == BODY


# The diff ----------------------------------------------------------------------------------


def test_the_diff_names_changed_paragraphs_only():
    old = "One.\n\nTwo wrapped\nover lines.\n\nThree.\n\nFour."
    new = "One.\n\nTwo wrapped over lines.\n\nThree, corrected.\n\nFour.\n\nFive."

    assert paragraph_changes(old, new) == [
        Change(removed=("Three.",), added=("Three, corrected.",)),
        Change(removed=(), added=("Five.",)),
    ]


# The report page ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "sees_changes"),
    [("anonymous", False), ("free_reader", False), ("subscriber", True), ("editor", True)],
)
def test_updates_list_for_each_kind_of_reader(
    request, client_for, corrected, persona, sees_changes
):
    page = client_for(request.getfixturevalue(persona)).get(corrected.get_absolute_url())
    html = page.content.decode()

    assert 'id="updates"' in html and "Updates and corrections" in html
    assert "Corrected the standby figure." in html
    assert (NEW_FIGURE in html) is sees_changes
    assert (OLD_FIGURE in html) is sees_changes
    assert ("Subscribers see the paragraphs each update changed." in html) is not sees_changes
    # Unchanged paragraphs are not repeated in the updates: the body shows them once.
    if sees_changes:
        assert html.count("The app is slow.") == 1


def test_a_free_reports_changes_are_shown_to_everyone(client, published):
    published.is_free = True
    report = _correct(
        published, note="Fixed a figure.", body=BODY.replace(OLD_FIGURE, NEW_FIGURE), at=CORRECTED
    )

    html = client.get(report.get_absolute_url()).content.decode()

    assert "Fixed a figure." in html and OLD_FIGURE in html


def test_silent_edits_are_not_listed(client, corrected):
    _correct(
        corrected,
        note="",
        body=corrected.body + "\n\nA typo fixed.",
        at=CORRECTED + timedelta(days=1),
    )

    updates = report_public_updates(
        report=Report.objects.get(pk=corrected.pk), reader=corrected.author
    )

    assert [update.note for update in updates] == ["Corrected the standby figure."]
    assert updates[0].changes[0].added == (f"<p>{NEW_FIGURE}</p>\n",)


def test_changed_paragraphs_are_rendered_through_the_sanitiser(editor, published):
    report = _correct(
        published,
        note="Added a link.",
        body=BODY + "\n\n<script>alert(1)</script> [x](javascript:alert(1)) **bold**",
        at=CORRECTED,
    )

    (update,) = report_public_updates(report=report, reader=editor)
    html = update.changes[0].added[0]

    assert "<script" not in html and 'href="javascript' not in html
    assert "<strong>bold</strong>" in html


def test_a_page_without_updates_shows_no_section(client, published):
    assert 'id="updates"' not in client.get(published.get_absolute_url()).content.decode()


def test_saving_a_revision_retires_the_cached_page(client, published):
    url = published.get_absolute_url()
    assert "Updates and corrections" not in client.get(url).content.decode()

    _correct(published, note="Corrected the standby figure.", body=BODY + "\n\nMore.", at=CORRECTED)

    assert "Corrected the standby figure." in client.get(url).content.decode()


# Stale citations ---------------------------------------------------------------------------


def _citer(cited: Report, *, published_at: datetime) -> Report:
    citer = ReportFactory(
        title=f"Cites at {published_at:%d}", body=f"See [it](/reports/{cited.slug}/).",
        published_at=published_at,
    )  # fmt: skip
    Citation.objects.create(citing=citer, cited=cited)
    return citer


def test_a_report_citing_one_updated_since_says_so(client, corrected):
    before = _citer(corrected, published_at=CORRECTED - timedelta(days=2))
    after = _citer(corrected, published_at=CORRECTED + timedelta(days=1))

    html = client.get(before.get_absolute_url()).content.decode()

    assert "Cites a report updated on" in html and "Mar 9, 2026" in html
    assert f'href="/reports/{corrected.slug}/#updates"' in html
    assert "Cites a report updated on" not in client.get(after.get_absolute_url()).content.decode()


def test_stale_citations_cost_one_query_however_many(corrected, django_assert_num_queries):
    citer = _citer(corrected, published_at=CORRECTED - timedelta(days=2))
    for number in range(5):
        other = ReportFactory(slug=f"other-{number}", revised_at=CORRECTED)
        Citation.objects.create(citing=citer, cited=other)

    with django_assert_num_queries(1):
        cited = cited_reports_updated_since(report=citer)

    assert len(cited) == 6


def test_the_report_page_costs_one_more_query_with_updates(
    client_for, subscriber, corrected, django_assert_max_num_queries
):
    """The bound of tests/reports/test_query_counts.py for a subscriber's report page (10,
    the cited reports updated since included), plus one for the revisions, with two updates
    as with one."""
    _correct(
        corrected,
        note="Second.",
        body=corrected.body + "\n\nMore.",
        at=CORRECTED + timedelta(days=1),
    )
    client = client_for(subscriber)

    with django_assert_max_num_queries(11):
        response = client.get(corrected.get_absolute_url())

    assert response.content.decode().count('class="report-update"') == 2


# The editors' admin -------------------------------------------------------------------------


@pytest.fixture
def admin_client(client_for, editor):
    editor.is_superuser = True
    editor.save()
    return client_for(editor)


def _form(report: Report, **changes) -> dict:
    data = {
        "title": report.title, "slug": report.slug, "kind": report.kind,
        "teaser": report.teaser, "body": report.body, "status": report.status,
        "author": report.author_id or "", "cover_alt": "", "revision_note": report.revision_note,
        "publish_at_0": "", "publish_at_1": "",
    }  # fmt: skip
    data.update(changes)
    return data


def test_a_correction_in_the_admin_is_recorded_and_warns_of_citing_reports(
    admin_client, published, editor
):
    citer = _citer(published, published_at=PUBLISHED + timedelta(days=1))

    with time_machine.travel(CORRECTED, tick=False):
        response = admin_client.post(
            reverse("admin:reports_report_change", args=[published.pk]),
            _form(
                published,
                body=BODY.replace(OLD_FIGURE, NEW_FIGURE),
                revision_note="Corrected the standby figure.",
            ),
            follow=True,
        )

    assert response.status_code == 200
    latest = ReportRevision.objects.filter(report=published).latest("saved_at")
    assert (latest.saved_by, latest.note, latest.is_public) == (
        editor,
        "Corrected the standby figure.",
        True,
    )
    messages = [str(message) for message in response.context["messages"]]
    assert any("cite this one" in message and citer.title in message for message in messages)


def test_the_history_page_shows_who_when_note_and_diff(admin_client, corrected):
    response = admin_client.get(reverse("admin:reports_report_revisions", args=[corrected.pk]))
    html = response.content.decode()

    assert response.status_code == 200
    assert "Eddie Editor" in html and "Corrected the standby figure." in html
    assert "Public update" in html and "First published version" in html
    assert f"Removed: </span>{OLD_FIGURE}" in html and f"Added: </span>{NEW_FIGURE}" in html


def test_the_history_page_refuses_nonsense_and_non_staff(admin_client, client_for, free_reader):
    assert admin_client.get("/admin/reports/report/x1/revisions/").status_code == 404
    assert admin_client.get("/admin/reports/report/999999/revisions/").status_code == 404
    assert client_for(free_reader).get("/admin/reports/report/1/revisions/").status_code == 302


def test_the_citing_reports_change_form_names_the_cited_report_updated_since(
    admin_client, corrected
):
    citer = _citer(corrected, published_at=CORRECTED - timedelta(days=2))

    page = admin_client.get(reverse("admin:reports_report_change", args=[citer.pk])).content
    html = page.decode()

    assert "Cited reports updated since publication" in html
    assert "Cites a report updated on Mar 9, 2026" in html
    assert f'href="/reports/{corrected.slug}/#updates"' in html
    assert "0 saved versions" in html  # made by the factory, never saved through report_save
