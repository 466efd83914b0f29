"""The members admin: finding members by status, plan and organisation, and the CSV exports
of members and of newsletter subscribers with their consent."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import Membership, Organisation, OrganisationMember
from tests.support.factories import MembershipFactory, NewsletterSubscriberFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chief(client_for):
    return client_for(UserFactory(email="chief@example.com", is_staff=True, is_superuser=True))


def _rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv"
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_members_are_filtered_by_status_plan_and_organisation(chief):
    MembershipFactory(user__email="annual@example.com", plan="annual")
    MembershipFactory(
        user__email="lapsed@example.com", plan="monthly", status=Membership.Status.CANCELED
    )
    owner = UserFactory(email="owner@example.com")
    team = Organisation.objects.create(name="Acme Cooling", owner=owner, seats=5)
    Organisation.objects.create(name="Other Thermal", owner=owner, seats=3)
    OrganisationMember.objects.create(organisation=team, user=UserFactory(email="seat@example.com"))
    changelist = reverse("admin:accounts_user_changelist")

    def emails(**query) -> set[str]:
        found = chief.get(changelist, query).context["cl"].result_list
        return {user.email.split("@")[0] for user in found} - {"chief"}

    assert emails(membership__status__exact="active") == {"annual"}
    assert emails(membership__plan__exact="monthly") == {"lapsed"}
    assert emails(seat__organisation__id__exact=team.pk) == {"seat"}
    assert emails(q="annual@") == {"annual"}


def test_member_export_has_its_columns_and_defuses_formulas(chief):
    MembershipFactory(user__email="m@example.com", user__display_name="=HYPERLINK()", plan="annual")

    response = chief.post(
        reverse("admin:accounts_membership_changelist"),
        {
            "action": "export_csv",
            "_selected_action": list(Membership.objects.values_list("pk", flat=True)),
        },
    )

    header, row = _rows(response)
    assert header == [
        "email", "name", "status", "plan", "current_period_end", "cancel_at_period_end",
        "stripe_customer_id", "stripe_subscription_id",
    ]  # fmt: skip
    assert row[:4] == ["m@example.com", "'=HYPERLINK()", "active", "annual"]


def test_newsletter_export_carries_consent_time_address_and_form(chief):
    sub = NewsletterSubscriberFactory(
        email="n@example.com", consent_ip="203.0.113.9", consent_source="report paywall"
    )

    response = chief.post(
        reverse("admin:accounts_newslettersubscriber_changelist"),
        {"action": "export_csv", "_selected_action": [str(sub.pk)]},
    )

    header, row = _rows(response)
    assert header == [
        "email", "member_email", "subscribed_at", "consent_at", "consent_ip", "consent_source",
        "confirmed_at", "unsubscribed_at",
    ]  # fmt: skip
    assert row[0] == "n@example.com" and row[1] == ""
    assert row[3] == sub.consent_at.isoformat()
    assert row[4:6] == ["203.0.113.9", "report paywall"]
    assert row[7] == ""


def test_readers_cannot_export(client_for, free_reader):
    sub = NewsletterSubscriberFactory()

    response = client_for(free_reader).post(
        reverse("admin:accounts_newslettersubscriber_changelist"),
        {"action": "export_csv", "_selected_action": [str(sub.pk)]},
    )

    assert response.status_code == 302
    assert "text/csv" not in response.get("Content-Type", "")
