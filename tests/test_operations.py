"""Operator-facing surfaces: health check, error pages and the demo data command."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import path

from accounts.models import Membership, User
from reports.models import Report


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
def test_load_demo_data_is_idempotent():
    call_command("load_demo_data")
    first = {r.slug: r.published_at for r in Report.objects.all()}

    call_command("load_demo_data")

    assert {r.slug: r.published_at for r in Report.objects.all()} == first
    assert len(first) == 12
    assert Report.objects.published().filter(is_free=True).count() == 2
    assert User.objects.filter(is_staff=True).count() == 2
    assert Membership.objects.get(user__email="subscriber@example.com").status == "active"
    assert User.objects.get(email="reader@example.com").check_password("demo-password-2026")
