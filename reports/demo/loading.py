"""Loading the demo content of `make run` (`load_demo_data`): accounts, topics, reports with
covers, comment threads, newsletter subscribers, and a year of history for the publisher's
dashboard (`history.py`).

Safe to run repeatedly: rows are matched by slug or email, passwords, publication times and
comment threads are only written where this creates them, and pictures are found in storage
by their name (`reports.demo.artwork`) rather than drawn and stored again. Reports are
written through `report_save`, the one save path, like the admin does; their times are
relative to the load, so the archive looks recent in any year.
"""

import re
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
from publisher.storage.names import unhashed_stem
from reports.demo import artwork, content
from reports.demo.history import demo_history_load
from reports.demo.threads import THREADS, DemoComment
from reports.images.services import image_create
from reports.models import Citation, Comment, Report, ReportImage, Topic
from reports.publishing import report_save
from reports.rendering import clean_comment_source, render_comment
from reports.surrogate_keys import report_key

_DEMO_IMAGE = re.compile(r"\]\(demo-image:([a-z0-9-]+)")
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
        images = _library_images(editor=accounts.get("tomas"))
        reports = [
            _report(item, accounts=accounts, topics=topics, images=images, now=now)
            for item in content.REPORTS
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
            team_admin=accounts["team"],
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
                # The publication's own editors: their affiliation is checked by definition.
                "company_verified": staff and bool(person["company"]),
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


def _library_images(*, editor: User | None) -> dict[str, int]:
    """The demo's library images by key, uploaded through the library's own service (so
    stored without metadata, with renditions) unless an earlier load did."""
    ids = {}
    for item in content.IMAGES:
        image = ReportImage.objects.filter(alt=item["alt"]).first()
        if image is None or not image.file.storage.exists(str(image.file.name)):
            photo = ContentFile(
                artwork.bench_photo_jpeg(seed=item["key"]), name=f"{item['key']}.jpg"
            )
            image = image_create(
                file=photo, alt=item["alt"], caption=item["caption"], uploaded_by=editor
            )
        ids[item["key"]] = image.pk
    return ids


def _with_library_images(body: str, images: dict[str, int]) -> str:
    return _DEMO_IMAGE.sub(lambda match: f"](image:{images[match.group(1)]}", body)


def _report(
    item: content.DemoReport,
    *,
    accounts: dict[str, User],
    topics: dict[str, Topic],
    images: dict[str, int],
    now: datetime,
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
    report.body = _with_library_images(content.body(item["slug"]), images)
    report.is_free = item["is_free"]
    report.author = accounts[item["author"]]
    _cover(report, item)
    topic_list = [topics[slug] for slug in item["topics"]]
    if _history_missing(report, item):
        return _report_with_history(report, item, topics=topic_list, now=now)
    return report_save(report=report, topics=topic_list, now=now)


def _history_missing(report: Report, item: content.DemoReport) -> bool:
    """A corrected demo report is given its history once: when it has no public update yet
    (new, or loaded before histories were kept)."""
    if not content.CORRECTIONS.get(item["slug"]) or report.published_at is None:
        return False
    return report.pk is None or not report.revisions.filter(is_public=True).exists()


def _report_with_history(
    report: Report, item: content.DemoReport, *, topics: list[Topic], now: datetime
) -> Report:
    """Saved as first published, then once per correction, each dated in the past, through
    `report_save` as an editor saves them (the author signs each)."""
    if report.pk is not None:
        report.revisions.all().delete()
    report.body = content.body_before_corrections(item["slug"])
    report = report_save(report=report, topics=topics, now=report.published_at or now)
    for correction in content.CORRECTIONS[item["slug"]]:
        report.body = report.body.replace(correction["before"], correction["after"], 1)
        if correction["note"]:
            report.revision_note = correction["note"]
        when = demo_time(now=now, days=-correction["days_ago"], at=correction["at"])
        report = report_save(
            report=report, revised=bool(correction["note"]), saved_by=report.author, now=when
        )
    return report


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
    return _demo_name(file.name) == name and file.storage.exists(file.name)


def _demo_name(stored: str) -> str:
    """The demo picture a stored name holds: its name without the storage's content hash."""
    return unhashed_stem(stored) + PurePosixPath(stored).suffix


def _store(file: FieldFile, name: str, *, draw) -> str:
    """The storage path of the demo picture `name`, drawn and saved through the field's
    storage only if no earlier load stored it. Demo pictures live in a `demo` folder beside
    the dated folders of uploads, so any later load finds them, whatever the month; the
    storage names each by its content (publisher/storage/), so they are found by the name
    without that hash."""
    folder = f"{PurePosixPath(str(file.field.upload_to)).parts[0]}/demo"
    try:
        stored = sorted(file.storage.listdir(folder)[1])
    except FileNotFoundError:
        stored = []
    for existing in stored:
        if _demo_name(existing) == name:
            return f"{folder}/{existing}"
    return file.storage.save(f"{folder}/{name}", ContentFile(draw(), name=name))


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
    page_cache_invalidate_report(slug=report.slug, cdn_keys=[report_key(report.pk)])


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
