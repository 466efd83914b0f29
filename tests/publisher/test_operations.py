"""Operator-facing surfaces: health check, error pages and the demo data command."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import path

from accounts.models import Membership, User
from reports.models import Report
from tests.support.clock import travelled_command


def _boom(request):
    raise RuntimeError("simulated failure")


urlpatterns = [path("boom/", _boom)]


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": True}


@pytest.mark.django_db
def test_server_error_page_is_ours(settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)

    response = client.get("/boom/")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


@pytest.mark.django_db
def test_load_demo_data_is_idempotent(demo_media):
    call_command("load_demo_data")
    first = {r.slug: (r.published_at, r.publish_at) for r in Report.objects.all()}

    call_command("load_demo_data")

    assert {r.slug: (r.published_at, r.publish_at) for r in Report.objects.all()} == first
    assert len(first) == 22
    assert Report.objects.published().filter(is_free=True).count() == 3
    assert User.objects.filter(is_staff=True).count() == 5
    assert Membership.objects.get(user__email="subscriber@example.com").status == "active"
    assert User.objects.get(email="reader@example.com").check_password("demo-password-2026")


SQLITE_SMOKE = """
from django.test import Client
from django.test.utils import setup_test_environment
from reports.models import Report
from tests.support.clock import travelled_command
setup_test_environment()
client = Client()
paths = ["/", "/search/?q=inverter", "/feed/", "/feed/atom/", "/sitemap.xml", "/subscribe/",
         "/newsletter/", "/topics/solar-inverters/", "/kinds/test/"]
paths += [report.get_absolute_url() for report in Report.objects.published()]
bad = [(path, client.get(path).status_code) for path in paths]
bad = [item for item in bad if item[1] != 200]
print("BAD", bad) if bad else print("OK", len(paths))
"""

# Publishing on SQLite with eager Celery: the batched fan-out (window functions, INSERT …
# SELECT … ON CONFLICT) runs in-process and prints each email.
SQLITE_PUBLISH = """
from accounts.newsletter.services import newsletter_recipients
from reports.models import Delivery, Report
from reports.publishing import report_publish
draft = Report.objects.create(slug="sqlite-fan-out", title="Published on SQLite",
                              teaser="Teaser.", body="Body.", status=Report.Status.DRAFT)
report_publish(report_id=draft.pk)
# Receiving and not suppressed (the demo's bounced and complaining readers are).
receiving = set(newsletter_recipients().values_list("pk", flat=True))
sent = set(Delivery.objects.filter(report=draft, status="sent").values_list("subscriber_id",
                                                                            flat=True))
print("SENT", len(sent)) if receiving and sent == receiving else print("BAD", receiving, sent)
"""


@pytest.mark.integration
def test_make_run_defaults_serve_every_demo_page_on_sqlite(tmp_path):
    """`make run` uses SQLite: the pages must work there too, not only on PostgreSQL."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "STRIPE_", "CELERY_", "REDIS_"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "publisher.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "MEDIA_ROOT": str(tmp_path / "media"),  # the demo's covers, not in the checkout
    }

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        # On the test's clock, so demo dates and the pages agree with --frozen-clock.
        return subprocess.run(
            travelled_command("manage.py", *args), cwd=root, env=env,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    assert manage("migrate", "--noinput").returncode == 0
    assert manage("load_demo_data").returncode == 0
    result = manage("shell", "-c", SQLITE_SMOKE)

    assert result.stdout.strip().splitlines()[-1].startswith("OK"), (
        result.stdout + result.stderr[-3000:]
    )
    published = manage("shell", "-c", SQLITE_PUBLISH)
    assert published.stdout.strip().splitlines()[-1].startswith("SENT"), (
        published.stdout[-3000:] + published.stderr[-3000:]
    )
    assert "Published on SQLite" in published.stdout  # the email, from the console mailer
