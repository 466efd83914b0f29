"""Loading the demo content of `make run` (`load_demo_data`): accounts, topics, reports with
covers, comment threads, newsletter subscribers, and a year of history for the publisher's
dashboard (`history.py`).

Safe to run repeatedly: rows are matched by slug or email, passwords, publication times and
comment threads are only written where this creates them, and pictures are found in storage
by their name (`reports.demo.artwork`) rather than drawn and stored again. Reports are
written through `report_save`, the one save path, like the admin does; their times are
relative to the load, so the archive looks recent in any year.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import PurePosixPath

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from accounts.models import Membership, NewsletterSubscriber, User
from publisher.cache.generations import page_cache_invalidate_report
from reports.demo import artwork, content
from reports.demo.history import demo_history_load
from reports.demo.threads import THREADS, DemoComment
from reports.models import Citation, Comment, Report, Topic
from reports.publishing import report_save
from reports.rendering import clean_comment_source, render_comment

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed by `make run` for local logins
# A comment is never dated in the future, nor in the minutes just before the load.
_LATEST_COMMENT = timedelta(minutes=7)


@dataclass(frozen=True)
class DemoSummary:
    reports: int
    scheduled: int
    topics: int
    accounts: int
    citations: int
    comments: int


def demo_load(*, now: datetime) -> DemoSummary:
    """Create or refresh every piece of demo content, as of `now`."""
    with transaction.atomic():
        accounts = _accounts(now=now)
        topics = {
            item["slug"]: Topic.objects.update_or_create(
                slug=item["slug"],
                defaults={"name": item["name"], "description": item["description"]},
            )[0]
            for item in content.TOPICS
        }
        for old, new in content.RENAMED_SLUGS.items():
            if not Report.objects.filter(slug=new).exists():
                Report.objects.filter(slug=old).update(slug=new)
        reports = [
            _report(item, accounts=accounts, topics=topics, now=now) for item in content.REPORTS
        ]
        # A report linking to one later in the list is saved again once that one exists, so
        # its citation is recorded (reading every body's links again would double the load).
        for index, report in enumerate(reports):
            if _links_to_any(report, reports[index + 1 :]):
                report_save(report=report, now=now)
        # After the saves: they write the whole row, the comment count included.
        for report in reports:
            _thread(report, THREADS.get(report.slug, []), accounts=accounts, now=now)
        _newsletter_subscribers(accounts, now=now)
        demo_history_load(
            now=now,
            persona_memberships=list(
                Membership.objects.filter(user__in=accounts.values()).order_by("pk")
            ),
        )
    return DemoSummary(
        reports=len(reports),
        scheduled=sum(1 for report in reports if report.status == Report.Status.SCHEDULED),
        topics=len(topics),
        accounts=len(accounts),
        citations=Citation.objects.count(),
        comments=Comment.objects.filter(report__in=reports).count(),
    )


# Accounts ---------------------------------------------------------------------------------


class _PasswordHash:
    """The demo password, hashed once per load: hashing is deliberately slow (about a second
    on a laptop), and every demo account shares the password `make run` prints anyway."""

    def __init__(self) -> None:
        self._encoded: str | None = None

    def __str__(self) -> str:
        if self._encoded is None:
            self._encoded = make_password(DEMO_PASSWORD)
        return self._encoded


def _accounts(*, now: datetime) -> dict[str, User]:
    """Authors (staff, each with a bio and portrait) and readers, by their key."""
    password = _PasswordHash()
    people: list[tuple[content.DemoAuthor | content.DemoReader, bool, bool]] = [
        *((author, True, author["superuser"]) for author in content.AUTHORS),
        *((reader, False, False) for reader in content.READERS),
    ]
    accounts = {}
    for person, staff, superuser in people:
        user, created = User.objects.get_or_create(
            email=person["email"],
            defaults={
                "display_name": person["display_name"],
                "company": person["company"],
                "is_staff": staff,
                "is_superuser": superuser,
            },
        )
        if created:
            user.password = str(password)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=person["email"], defaults={"verified": True, "primary": True}
        )
        accounts[person["key"]] = user
    for author in content.AUTHORS:
        _author_profile(accounts[author["key"]], author)
    for reader in content.READERS:
        if reader["membership"]:
            Membership.objects.update_or_create(
                user=accounts[reader["key"]],
                defaults={
                    "status": reader["membership"],
                    "current_period_end": now + timedelta(days=30),
                    "cancel_at_period_end": False,
                },
            )
    return accounts


def _author_profile(user: User, author: content.DemoAuthor) -> None:
    """The bio and portrait of the author page; the portrait is drawn only when missing."""
    name = artwork.portrait_name(
        key=author["key"], initials=author["initials"], colour=author["colour"]
    )
    changed = []
    if not _stored_as(user.portrait, name):
        user.portrait = _store(
            user.portrait,
            name,
            draw=lambda: artwork.portrait_webp(
                initials=author["initials"], colour=author["colour"]
            ),
        )
        changed += ["portrait", "portrait_width", "portrait_height"]
    # Paragraphs as an editor types them in the admin: the source's line wrapping is not
    # the author's (the author page keeps single line breaks).
    bio = "\n\n".join(" ".join(part.split()) for part in author["bio"].strip().split("\n\n"))
    if user.bio != bio:
        user.bio = bio
        changed.append("bio")
    if changed:
        user.full_clean(
            exclude=_all_but(User, {"portrait", "bio"}),
            validate_unique=False,
            validate_constraints=False,
        )
        user.save(update_fields=changed)


# Reports ----------------------------------------------------------------------------------


def demo_time(*, now: datetime, days: int, at: str) -> datetime:
    """`days` after the day of `now` (before it when negative), at the local time `at`
    ("07:58") in the site's time zone."""
    hour, minute = (int(part) for part in at.split(":"))
    day = timezone.localtime(now).date() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _report(
    item: content.DemoReport, *, accounts: dict[str, User], topics: dict[str, Topic], now: datetime
) -> Report:
    report = Report.objects.filter(slug=item["slug"]).first()
    if report is None:
        when = demo_time(now=now, days=-item["days_ago"], at=item["at"])
        if item["days_ago"] > 0:
            report = Report(slug=item["slug"], status=Report.Status.PUBLISHED, published_at=when)
        else:
            report = Report(slug=item["slug"], status=Report.Status.SCHEDULED, publish_at=when)
    report.title = item["title"]
    report.kind = item["kind"]
    report.teaser = item["teaser"].strip()
    report.body = content.body(item["slug"])
    report.is_free = item["is_free"]
    report.author = accounts[item["author"]]
    _cover(report, item)
    return report_save(report=report, topics=[topics[slug] for slug in item["topics"]], now=now)


def _links_to_any(report: Report, others: list[Report]) -> bool:
    text = f"{report.teaser}\n{report.body}"
    return any(other.get_absolute_url() in text for other in others)


def _cover(report: Report, item: content.DemoReport) -> None:
    """The report's generated cover, with the alt text its validation requires."""
    kind, count = item["kind"], item["cover_count"]
    name = artwork.cover_name(slug=report.slug, kind=kind, count=count)
    if not _stored_as(report.cover_image, name):
        report.cover_image = _store(
            report.cover_image,
            name,
            draw=lambda: artwork.cover_webp(slug=report.slug, kind=kind, count=count),
        )
    report.cover_alt = item["cover_alt"]
    report.full_clean(
        exclude=_all_but(Report, {"cover_image", "cover_alt"}),
        validate_unique=False,
        validate_constraints=False,
    )


def _stored_as(file: FieldFile, name: str) -> bool:
    if not file or not file.name:
        return False
    return PurePosixPath(file.name).name == name and file.storage.exists(file.name)


def _store(file: FieldFile, name: str, *, draw) -> str:
    """The storage path of the demo picture `name`, drawn and saved through the field's
    storage only if no earlier load stored it. Demo pictures live in a `demo` folder beside
    the dated folders of uploads, so any later load finds them, whatever the month."""
    folder = PurePosixPath(str(file.field.upload_to)).parts[0]
    path = f"{folder}/demo/{name}"
    if not file.storage.exists(path):
        path = file.storage.save(path, ContentFile(draw(), name=name))
    return path


def _all_but(model, fields: set[str]) -> list[str]:
    return [field.name for field in model._meta.get_fields() if field.name not in fields]


# Comments ---------------------------------------------------------------------------------


def _thread(
    report: Report, thread: list[DemoComment], *, accounts: dict[str, User], now: datetime
) -> None:
    """The report's demo comments, dated after its publication, and its exact count.

    Written once: a report that has comments keeps them, so what a moderator hid, deleted or
    an author edited in `make run` is not brought back by the next load. Written directly
    rather than through `comment_create`, which dates a comment now, limits how fast one
    member posts and emails the person replied to: a thread written at once, months back,
    would be refused and would email every demo account.
    """
    published_at = report.published_at
    if not thread or published_at is None or Comment.objects.filter(report=report).exists():
        return

    def create(item: DemoComment, parent: Comment | None) -> Comment:
        body = clean_comment_source(item["body"])
        at = min(published_at + timedelta(hours=item["hours"]), now - _LATEST_COMMENT)
        return Comment.objects.create(
            report=report,
            author=accounts[item["by"]],
            parent=parent,
            body=body,
            body_html=render_comment(body),
            created_at=max(at, published_at),
        )

    for item in thread:
        parent = create(item, None)
        for reply in item.get("replies", []):
            create(reply, parent)
    visible = Comment.objects.filter(report=report).visible().count()
    Report.objects.filter(pk=report.pk).update(comment_count=visible)
    report.comment_count = visible
    page_cache_invalidate_report(slug=report.slug)


# Newsletter -------------------------------------------------------------------------------


def _newsletter_subscribers(accounts: dict[str, User], *, now: datetime) -> None:
    """Confirmed subscribers, so publishing a report in `make run` prints emails."""
    for key in content.NEWSLETTER_READERS:
        user = accounts[key]
        NewsletterSubscriber.objects.get_or_create(
            email=user.email,
            defaults={
                "user": user,
                "confirmed_at": now,
                "consent_at": now,
                "consent_source": "demo data",
            },
        )
