"""The Django side of the prod-like suites, run in the topology's environment (production
settings, its database and Redis) by tests/prodlike/topology.py's `seed()`:

    python tests/prodlike/seed.py canary TOKEN        # a paid report and a comment with canaries
    python tests/prodlike/seed.py load-accounts N     # N subscribers with sessions; the site map
    python tests/prodlike/seed.py comment-count       # comments in the database
    python tests/prodlike/seed.py free-report TOKEN   # a free report with a canary body
    python tests/prodlike/seed.py make-paid SLUG      # an editor makes it paid (report_save)
    python tests/prodlike/seed.py day-counts SLUG     # a report's folded counts, all days
    python tests/prodlike/seed.py subscribers PREFIX N  # N confirmed newsletter subscribers
    python tests/prodlike/seed.py publish TOKEN       # a new report published (it notifies)
    python tests/prodlike/seed.py draft TOKEN         # a new report left as a draft
    python tests/prodlike/seed.py deliveries ID       # a report's delivery rows, per address
    python tests/prodlike/seed.py suppressions        # the suppressions in force
    python tests/prodlike/seed.py email-events        # the providers' events recorded
    python tests/prodlike/seed.py staff EMAIL PASSWORD  # a staff account for the admin
    python tests/prodlike/seed.py office-network NAME CIDR  # an organisation, licence paid,
                                                      # reading from CIDR (nginx reloaded)

Writes go through the services the site uses (publishing, comments); accounts and sessions
are made as `load_demo_data` and `make bench` make them. Each command prints one JSON line.
"""

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "publisher.settings")

import django  # noqa: E402

django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import (  # noqa: E402
    EmailEvent,
    EmailSuppression,
    Membership,
    NewsletterSubscriber,
    Organisation,
    User,
)
from accounts.organisations.networks import organisation_network_add  # noqa: E402
from bench.probe import session  # noqa: E402 (make bench's way of logging a reader in)
from reports.comments.services import comment_create  # noqa: E402
from reports.models import Comment, Delivery, Report, ReportDayCount, Topic  # noqa: E402
from reports.publishing import report_publish, report_save  # noqa: E402

SUBSCRIBER = "subscriber@example.com"  # load_demo_data's subscriber
AUTHOR = "lab@example.com"  # and one of its authors


def canaries(token: str) -> dict[str, object]:
    """Paid text that only an entitled reader may ever receive, unique to this run."""
    return {
        "body": f"Nginx canary {token}: the Aurel H8 idled at 7.7 watts behind the cache.",
        "comment": f"Comment canary {token}: our installer quoted 2,210 dollars.",
        # Fragments too, so a truncated snippet or a summary is caught as well.
        "fragments": [
            f"Nginx canary {token}", "7.7 watts behind the cache",
            f"Comment canary {token}", "2,210 dollars",
        ],
    }  # fmt: skip


def canary(token: str) -> dict[str, object]:
    texts = canaries(token)
    author = User.objects.get(email=AUTHOR)
    topic = Topic.objects.get(slug="solar-inverters")
    report = Report.objects.create(
        slug=f"nginx-canary-{token}", title=f"Cache probe {token}", kind=Report.Kind.TEST,
        teaser="A public teaser: every reader may read this sentence.",
        body=f"## Results\n\n{texts['body']}\n\n> {texts['body']}\n", is_free=False,
        author=author, status=Report.Status.DRAFT,
    )  # fmt: skip
    report.topics.set([topic])
    report_publish(report_id=report.pk)
    report.refresh_from_db()
    comment_create(author=User.objects.get(email=SUBSCRIBER), report=report, body=texts["comment"])
    return {
        "slug": report.slug,
        "topic": topic.slug,
        "kind": report.kind,
        "author": author.slug,
        **texts,
    }


def free_report(token: str) -> dict[str, object]:
    """A published free report whose body every reader may read, until it is made paid."""
    body = f"Edge canary {token}: the Corvid 6 held 97.1 percent at full load."
    report = report_save(
        report=Report(
            slug=f"edge-canary-{token}", title=f"Edit probe {token}", kind=Report.Kind.TEST,
            teaser="A public teaser: every reader may read this sentence.", body=body,
            is_free=True, author=User.objects.get(email=AUTHOR),
            status=Report.Status.PUBLISHED,
        ),
        topics=[Topic.objects.get(slug="solar-inverters")],
    )  # fmt: skip
    return {"slug": report.slug, "body": body, "teaser": report.teaser}


def make_paid(slug: str) -> dict[str, object]:
    """What the admin's save does when an editor unticks "free" (ReportAdmin.save_model)."""
    report = Report.objects.get(slug=slug)
    report.is_free = False
    report_save(report=report)
    return {"slug": slug, "is_free": Report.objects.get(slug=slug).is_free}


def day_counts(slug: str) -> dict[str, object]:
    """The report's counts in the database (reports/counting/), summed over its days."""
    rows = ReportDayCount.objects.filter(report__slug=slug)
    names = ["public_reads", "entitled_reads", "paywall_views", "gifts_opened"]
    return {name: sum(getattr(row, name) for row in rows) for name in names}


def load_accounts(count: int) -> dict[str, object]:
    """`count` subscribers with active memberships and one logged-in session each."""
    now = timezone.now()
    emails = [f"load-{n:04d}@example.com" for n in range(count)]
    with transaction.atomic():
        existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        users = []
        for email in emails:
            if email in existing:
                continue
            user = User(email=email, display_name=f"Load reader {email[5:9]}")
            user.set_unusable_password()
            users.append(user)
        User.objects.bulk_create(users)
        users = list(User.objects.filter(email__in=emails))
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users],
            ignore_conflicts=True,
        )
        Membership.objects.bulk_create(
            [
                Membership(
                    user=user, status=Membership.Status.ACTIVE,
                    current_period_end=now + timedelta(days=30),
                )
                for user in users
            ],
            ignore_conflicts=True,
        )  # fmt: skip
    published = Report.objects.published()
    return {
        "sessions": [session(email) for email in emails],
        "reports": list(published.order_by("-published_at").values_list("slug", flat=True)),
        "paid": list(published.filter(is_free=False).values_list("slug", flat=True)),
        "topics": list(Topic.objects.values_list("slug", flat=True)),
        "kinds": sorted(set(published.values_list("kind", flat=True))),
    }


def subscribers(prefix: str, count: int) -> dict[str, object]:
    """`count` newsletter subscribers who confirmed their address (double opt-in done)."""
    now = timezone.now()
    emails = [f"{prefix}-{n:05d}@example.net" for n in range(count)]
    NewsletterSubscriber.objects.bulk_create(
        [
            NewsletterSubscriber(
                email=email, consent_at=now, consent_source="prodlike suite", confirmed_at=now
            )
            for email in emails
        ],
        batch_size=2000,
        ignore_conflicts=True,
    )
    return {"emails": emails}


def draft(token: str) -> dict[str, object]:
    """A report written and left as a draft, for an editor to publish from the admin."""
    author, _ = User.objects.get_or_create(
        email="prodlike-editor@example.com",
        defaults={"display_name": "Prodlike Editor", "is_staff": True},
    )
    report = Report.objects.create(
        slug=f"draft-{token}", title=f"Draft {token}", kind=Report.Kind.TEST,
        teaser="A public teaser for the prod-like suites.", body="## Findings\n\nPaid.",
        author=author, status=Report.Status.DRAFT,
    )  # fmt: skip
    return {"id": report.pk, "slug": report.slug, "title": report.title}


def publish(token: str) -> dict[str, object]:
    """A draft published, as an editor's publish does (it notifies the newsletter on
    commit)."""
    report = draft(token)
    report_publish(report_id=report["id"])
    return report


def deliveries(report_id: int) -> dict[str, object]:
    """Each address's delivery row of the report: status, error and the provider's id."""
    rows = Delivery.objects.filter(report_id=report_id).values_list(
        "subscriber__email", "status", "error", "provider_message_id"
    )
    return {
        email: {"status": status, "error": error, "message_id": message_id}
        for email, status, error, message_id in rows
    }


def suppressions() -> list[dict[str, object]]:
    rows = EmailSuppression.objects.in_force().order_by("address")
    return [
        {"address": row.address, "reason": row.reason, "provider": row.provider} for row in rows
    ]


def staff(email: str, password: str) -> dict[str, object]:
    """A staff account who may read the suppressions and deliveries in the admin."""
    user, _ = User.objects.get_or_create(email=email, defaults={"display_name": "Desk editor"})
    user.is_staff = True
    user.set_password(password)
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_emailsuppression", "view_delivery"])
    )
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return {"email": email}


def office_network(name: str, cidr: str) -> dict[str, object]:
    """An organisation with a paid licence and one office range, added through the service
    (which rewrites nginx's geo file and reloads nginx once committed)."""
    with transaction.atomic():
        organisation = Organisation.objects.create(
            name=name, status="active", seats=5,
            current_period_end=timezone.now() + timedelta(days=30),
        )  # fmt: skip
        network = organisation_network_add(organisation=organisation, cidr=cidr, label="Office")
    return {"organisation": organisation.pk, "cidr": network.cidr}


if __name__ == "__main__":
    command, *rest = sys.argv[1:] or [""]
    if command == "canary":
        result: object = canary(rest[0])
    elif command == "load-accounts":
        result = load_accounts(int(rest[0]))
    elif command == "comment-count":
        result = Comment.objects.count()
    elif command == "free-report":
        result = free_report(rest[0])
    elif command == "make-paid":
        result = make_paid(rest[0])
    elif command == "day-counts":
        result = day_counts(rest[0])
    elif command == "subscribers":
        result = subscribers(rest[0], int(rest[1]))
    elif command == "publish":
        result = publish(rest[0])
    elif command == "draft":
        result = draft(rest[0])
    elif command == "deliveries":
        result = deliveries(int(rest[0]))
    elif command == "suppressions":
        result = suppressions()
    elif command == "email-events":
        result = EmailEvent.objects.count()
    elif command == "staff":
        result = staff(rest[0], rest[1])
    elif command == "office-network":
        result = office_network(rest[0], rest[1])
    else:
        sys.exit(__doc__)
    print(json.dumps(result))
