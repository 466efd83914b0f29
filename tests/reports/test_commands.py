"""Management commands: demo data with citations, and publishing due reports by hand."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from reports.models import Citation, Report
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db


def test_demo_data_derives_citations_and_author_slugs_idempotently(demo_media):
    call_command("load_demo_data")
    first = set(Citation.objects.values_list("citing__slug", "cited__slug"))

    call_command("load_demo_data")

    assert set(Citation.objects.values_list("citing__slug", "cited__slug")) == first
    assert ("aurel-h8-long-term-test", "hybrid-inverter-shootout") in first
    assert len(first) >= 30
    assert set(User.objects.filter(is_staff=True).values_list("slug", flat=True)) == {
        "maren-okafor",
        "tomas-lindqvist",
        "ingrid-halvorsen",
        "dev-raghunathan",
        "lucia-ferreira",
    }


def test_publish_due_publishes_scheduled_reports_whose_time_came(capsys):
    due = ReportFactory(
        status=Report.Status.SCHEDULED,
        published_at=None,
        publish_at=timezone.now() - timedelta(minutes=1),
    )

    call_command("publish_due")

    due.refresh_from_db()
    assert due.status == Report.Status.PUBLISHED
    assert "Published 1 scheduled report(s)." in capsys.readouterr().out
