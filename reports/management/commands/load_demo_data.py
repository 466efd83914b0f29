"""Demo content for local development: reports, topics and one account per persona.

Safe to run repeatedly: rows are matched by slug or email, and passwords are only set on
accounts this command creates.
"""

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, NewsletterSubscriber, User
from reports.demo import content as demo_content
from reports.models import Citation, Report, Topic
from reports.publishing import report_save

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed by `make run` for local logins
PERSONAS = [
    # (email, display name, company, staff, membership status)
    ("editor@example.com", "Maren Okafor", "Gridline Research", True, None),
    ("lab@example.com", "Tomas Lindqvist", "Gridline Research", True, None),
    ("subscriber@example.com", "Sam Subscriber", "Northwind Installers", False, "active"),
    ("reader@example.com", "Fran Freereader", "", False, None),
]
DEMO_NEWSLETTER_EMAILS = ["subscriber@example.com", "reader@example.com"]
AUTHOR_EMAILS = {"editor": "editor@example.com", "lab": "lab@example.com"}


class Command(BaseCommand):
    help = "Load demo reports, topics and accounts (idempotent)."

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        now = timezone.now()
        users = {
            email: self._user(email, name, company, staff)
            for email, name, company, staff, _ in PERSONAS
        }
        for email, _, _, _, status in PERSONAS:
            if status:
                Membership.objects.update_or_create(
                    user=users[email],
                    defaults={
                        "status": status,
                        "current_period_end": now + timedelta(days=30),
                        "cancel_at_period_end": False,
                    },
                )
        topics = {
            item["slug"]: Topic.objects.update_or_create(
                slug=item["slug"],
                defaults={"name": item["name"], "description": item["description"]},
            )[0]
            for item in demo_content.TOPICS
        }
        reports = []
        for item in demo_content.REPORTS:
            report = Report.objects.filter(slug=item["slug"]).first() or Report(
                slug=item["slug"],
                status=Report.Status.PUBLISHED,
                published_at=now - timedelta(days=item["days_ago"], hours=3),
            )
            report.title = item["title"]
            report.kind = item["kind"]
            report.teaser = item["teaser"].strip()
            report.body = item["body"].strip()
            report.is_free = item["is_free"]
            report.author = users[AUTHOR_EMAILS[item["author"]]]
            topic_list = [topics[slug] for slug in item["topics"]]
            reports.append(report_save(report=report, topics=topic_list, now=now))
        # Saved again once every report exists, so links to reports later in the list resolve.
        for report in reports:
            report_save(report=report, now=now)
        self._newsletter_subscribers(users, now=now)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(reports)} reports, {len(topics)} topics, "
                f"{len(PERSONAS)} accounts, {Citation.objects.count()} citations."
            )
        )

    def _newsletter_subscribers(self, users: dict[str, User], *, now) -> None:
        """Two confirmed subscribers, so publishing a report in `make run` prints emails."""
        for email in DEMO_NEWSLETTER_EMAILS:
            NewsletterSubscriber.objects.get_or_create(
                email=email,
                defaults={
                    "user": users[email],
                    "confirmed_at": now,
                    "consent_at": now,
                    "consent_source": "demo data",
                },
            )

    def _user(self, email: str, name: str, company: str, staff: bool) -> User:
        user, created = User.objects.get_or_create(
            email=email,
            defaults={
                "display_name": name,
                "company": company,
                "is_staff": staff,
                "is_superuser": staff,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
