from datetime import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.expressions import CombinedExpression, RawSQL
from django.urls import reverse
from django.utils import timezone

SEARCH_CONFIG = "english"
COVER_MAX_BYTES = 8 * 1024 * 1024


def search_vector() -> CombinedExpression:
    """Title, teaser and body weighted A, B and C: the document migrations 0002 and 0007
    indexed (their reverse operations rebuild it). Search uses the stored columns below."""
    return (
        SearchVector("title", weight="A", config=SEARCH_CONFIG)
        + SearchVector("teaser", weight="B", config=SEARCH_CONFIG)
        + SearchVector("body", weight="C", config=SEARCH_CONFIG)
    )


def stored_search_document() -> RawSQL:
    """A report's whole search document, stored on PostgreSQL (migration 0011): its public
    text (`stored_search_public`) and its body (weight C), GIN-indexed for all reports and,
    separately, for free reports alone. Only readers who may read a report's body are
    matched against it (reports/search.py)."""
    return RawSQL('"reports_report"."search_document"', (), output_field=SearchVectorField())


def stored_search_public() -> RawSQL:
    """A report's public text as a search vector, stored on PostgreSQL (migration 0011):
    title (A), teaser (B), and its topics' names and author's display name
    (`Report.search_names`, D). Readers who may not read a paid report's body are matched
    against this alone, and every match is ranked by it: small enough to stay in the row,
    so ranking never reads the long bodies' vectors."""
    return RawSQL('"reports_report"."search_public"', (), output_field=SearchVectorField())


def validate_cover_size(file: object) -> None:
    if getattr(file, "size", 0) > COVER_MAX_BYTES:
        raise ValidationError(f"A cover image may be at most {COVER_MAX_BYTES // 2**20} MB.")


class Topic(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReportQuerySet(models.QuerySet["Report"]):
    def published(self, *, now: datetime | None = None) -> "ReportQuerySet":
        return self.filter(status=Report.Status.PUBLISHED, published_at__lte=now or timezone.now())

    def without_body(self) -> "ReportQuerySet":
        """Lists never need the subscriber-only text; leave it in the database."""
        return self.defer("body")

    def for_topic(self, topic: "Topic") -> "ReportQuerySet":
        return self.filter(topics=topic)

    def of_kind(self, kind: str) -> "ReportQuerySet":
        return self.filter(kind=kind)

    def by_author(self, author: models.Model) -> "ReportQuerySet":
        return self.filter(author=author)


class Report(models.Model):
    class Kind(models.TextChoices):
        TEST = "test", "Test"
        SHOOTOUT = "shootout", "Shootout"
        INVESTIGATION = "investigation", "Investigation"
        GUIDE = "guide", "Guide"
        NEWS = "news", "News"
        SHOW = "show", "Show"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        PUBLISHED = "published", "Published"

    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    topics = models.ManyToManyField(Topic, related_name="reports", blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    teaser = models.TextField(help_text="Markdown. Public: shown to everyone, in feeds and emails.")
    body = models.TextField(
        help_text="Markdown. Subscriber-only: the full report after the teaser."
    )
    is_free = models.BooleanField(
        default=False, help_text="Free reports show their body to every reader."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    publish_at = models.DateTimeField(
        null=True, blank=True, help_text="For scheduled reports: when to publish."
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Visible comments, kept exact in the same transaction as every comment change.
    comment_count = models.PositiveIntegerField(default=0, editable=False)
    cover_image = models.ImageField(
        upload_to="covers/%Y/%m/",
        width_field="cover_width",
        height_field="cover_height",
        blank=True,
        validators=[
            FileExtensionValidator(["jpg", "jpeg", "png", "webp"]),
            validate_cover_size,
        ],
        help_text="JPEG, PNG or WebP, at most 8 MB. Shown above the teaser and in link previews.",
    )
    # The cover's renditions (reports/images/): written by `report_save` when the cover
    # changes, kept on the row so a list of cards costs no query per picture.
    cover_renditions = models.JSONField(default=dict, blank=True, editable=False)
    cover_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    cover_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    cover_alt = models.CharField(
        "cover alt text",
        max_length=300,
        blank=True,
        help_text="Describe what the image shows for readers who cannot see it.",
    )
    # The library images the body and teaser show, read from their Markdown by `report_save`.
    images: "models.ManyToManyField[ReportImage, models.Model]" = models.ManyToManyField(
        "ReportImage", blank=True, related_name="reports", editable=False
    )
    revision_note = models.CharField(
        max_length=300,
        blank=True,
        help_text='Public: what changed, shown next to "Updated". Saving a new note dates it.',
    )
    revised_at = models.DateTimeField(null=True, blank=True, editable=False)
    video_minutes = models.PositiveSmallIntegerField(
        "video length (minutes)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="The running time of the video in the body (of them all, if several), in "
        "minutes. Public: the paywall shows it to readers who cannot watch yet.",
    )
    # What the body holds, as numbers the paywall may show to readers who may not read it:
    # counted from the rendered body by `report_save` (reports/rendering.py `body_figures`),
    # so once per version of the text, never per view.
    body_words = models.PositiveIntegerField(default=0, editable=False)
    body_tables = models.PositiveSmallIntegerField(default=0, editable=False)
    body_figures = models.PositiveSmallIntegerField(default=0, editable=False)
    body_videos = models.PositiveSmallIntegerField(default=0, editable=False)
    # The other public text a reader finds a report by: its topics' names and its author's
    # display name, one per line. Those live in other tables, which a generated search
    # column cannot read, so reports/search_index.py keeps this copy for the stored vectors
    # (migration 0011) and the SQLite search to use.
    search_names = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="report_status_published"),
            models.Index(fields=["status", "publish_at"], name="report_status_publish_at"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("reports:detail", kwargs={"slug": self.slug})

    def clean(self) -> None:
        if self.cover_image and not self.cover_alt.strip():
            raise ValidationError({"cover_alt": "A cover image needs alt text."})

    @property
    def is_published(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )


class ReportImage(models.Model):
    """A picture in the image library, shown in report bodies as `![alt](image:<id>)`.

    The stored original and every rendition were re-encoded without metadata at upload
    (reports/images/processing.py); `renditions` lists them, so rendering needs no storage
    call."""

    file = models.ImageField(
        upload_to="images/%Y/%m/", width_field="width", height_field="height", editable=False
    )
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    alt = models.CharField(
        "alt text",
        max_length=300,
        help_text="Describe what the image shows for readers who cannot see it.",
    )
    caption = models.CharField(
        max_length=300, blank=True, help_text="Optional: shown under the image."
    )
    renditions = models.JSONField(default=dict, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.alt[:60]} (image:{self.pk})"

    @property
    def markdown(self) -> str:
        """What an editor pastes into a body to show this image."""
        alt = self.alt.replace("[", "(").replace("]", ")")
        return f"![{alt}](image:{self.pk})"


class CommentQuerySet(models.QuerySet["Comment"]):
    def visible(self) -> "CommentQuerySet":
        return self.filter(hidden_at__isnull=True, deleted_at__isnull=True)


class Comment(models.Model):
    """A subscriber's comment on a report; replies go one level deep."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="comments")
    # SET_NULL: a deleted account's comments stay, shown as from a deleted account.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    body = models.TextField(help_text="As the author wrote it (Markdown-lite).")
    body_html = models.TextField(help_text="Sanitized HTML rendered from the body at save.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    hidden_reason = models.CharField(
        max_length=300, blank=True, help_text="Why a moderator hid it; shown to its author."
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["report", "created_at"], name="comment_report_created")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.report_id}"

    @property
    def is_visible(self) -> bool:
        return self.hidden_at is None and self.deleted_at is None


class CommentFlag(models.Model):
    """A reader reported a comment to the moderators: one report per reader per comment."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="flags")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "reporter"], name="one_flag_per_reader"),
        ]

    def __str__(self) -> str:
        return f"Report on comment {self.comment_id}"


class CommentBan(models.Model):
    """A member barred from commenting, for good or until a date."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_ban"
    )
    until = models.DateTimeField(null=True, blank=True, help_text="Empty: no end date.")
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Ban of {self.user_id}"

    def is_active(self, *, now: datetime | None = None) -> bool:
        return self.until is None or self.until > (now or timezone.now())


KIND_PLURALS = {
    Report.Kind.TEST: "Tests",
    Report.Kind.SHOOTOUT: "Shootouts",
    Report.Kind.INVESTIGATION: "Investigations",
    Report.Kind.GUIDE: "Guides",
    Report.Kind.NEWS: "News",
    Report.Kind.SHOW: "Shows",
}


class Citation(models.Model):
    """One report linking to another, derived from the links in its teaser and body.

    Rows are rewritten by `reports.citations.report_sync_citations` whenever a report is
    saved through the admin or the demo loader; nobody edits them by hand.
    """

    citing = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="citations_made")
    cited = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="citations_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["citing", "cited"], name="citation_unique"),
            models.CheckConstraint(
                condition=~models.Q(citing=models.F("cited")), name="citation_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.citing_id} cites {self.cited_id}"


class GiftLink(models.Model):
    """A subscriber's link that lets anyone read one report's body for a while."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="gift_links")
    giver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gift_links"
    )
    key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    opened_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["giver", "created_at"], name="gift_giver_created")]

    def __str__(self) -> str:
        return f"Gift of {self.report_id} by {self.giver_id}"


class NotificationPreference(models.Model):
    """What a newsletter subscriber wants to hear about: every report, or chosen kinds/topics.

    With `all_reports` off, a report is sent when its kind is among `kinds` or it has one of
    `topics`. Subscribers without a row receive every report.
    """

    subscriber = models.OneToOneField(
        "accounts.NewsletterSubscriber",
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    all_reports = models.BooleanField(default=True)
    kinds = models.JSONField(default=list, blank=True, help_text="Report kinds, e.g. ['test'].")
    topics = models.ManyToManyField(Topic, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Preferences of {self.subscriber}"


class ReportNotification(models.Model):
    """The decision to tell subscribers about a report, made when it is published.

    It outlives the broker message that carries it: the sweep re-enqueues a fan-out that
    has not finished, so a broker restart between publishing and fan-out loses nothing.
    """

    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="notification")
    requested_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"Notification of {self.report}"


class DeliveryBatch(models.Model):
    """A range of one report's recipients, handed to one send task.

    The fan-out writes one of these per SEND_BATCH_SIZE recipients (400 rows for 100,000)
    instead of a Delivery per recipient, so every recipient is queued in a fraction of a
    second; the send task then inserts its range's Delivery rows and sends them. Subscriber
    ids in (after_subscriber_id, last_subscriber_id] belong to it. It outlives the broker
    message: the sweep re-enqueues a batch whose rows were never inserted.
    """

    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="delivery_batches", db_index=False
    )
    after_subscriber_id = models.BigIntegerField()
    last_subscriber_id = models.BigIntegerField()
    # Recipients in the range when the fan-out counted them (for progress; informational).
    size = models.PositiveIntegerField()
    enqueued_at = models.DateTimeField()
    inserted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "delivery batches"
        constraints = [
            models.UniqueConstraint(
                fields=["report", "after_subscriber_id"], name="delivery_batch_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["enqueued_at"],
                condition=models.Q(inserted_at__isnull=True),
                name="delivery_batch_waiting",
            ),
        ]

    def __str__(self) -> str:
        after, last = self.after_subscriber_id, self.last_subscriber_id
        return f"{self.report_id}: subscribers after {after} up to {last}"


class Delivery(models.Model):
    """One notification email: one report to one subscriber, sent at most once (unique)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    # No index of its own: `delivery_once` and `delivery_report_status` both start with the
    # report, and every index is written for each of a fan-out's rows.
    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    subscriber = models.ForeignKey(
        "accounts.NewsletterSubscriber", on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # When a send task carrying this row was last put on the broker.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The Celery task id holding the claim: a redelivery of the same task may resume it.
    claimed_by = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The id a provider's API gave this copy (its events name it); empty over SMTP.
    provider_message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["report", "subscriber"], name="delivery_once"),
        ]
        indexes = [
            models.Index(fields=["report", "status"], name="delivery_report_status"),
            models.Index(
                fields=["enqueued_at"],
                condition=models.Q(status="queued"),
                name="delivery_queued",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(status="sending"),
                name="delivery_sending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} → {self.subscriber_id} ({self.status})"


class SitePage(models.Model):
    """A page about the publication that editors write in the admin (About, Contact,
    Privacy, Terms), at /<slug>/. Saved through `reports.site_pages.services.site_page_save`,
    which retires the cached copies."""

    slug = models.SlugField(
        max_length=60,
        unique=True,
        help_text="Its address: /<slug>/. Cannot be an address the site already uses.",
    )
    title = models.CharField(max_length=120)
    body = models.TextField(help_text="Markdown, shown to everyone.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("site_pages:page", kwargs={"slug": self.slug})


class ReportDayCount(models.Model):
    """What happened around one report on one day, counted first-party: no reader is named,
    only totals. Requests count into Redis (`reports.counting`) and a periodic task folds the
    day's totals into these rows, so a page view never writes to the database."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="day_counts")
    day = models.DateField()
    # Views of the report's page by readers who may not read its body (anonymous or free)...
    public_reads = models.PositiveIntegerField(default=0)
    # ...and by readers who may (members, seats, gift links, free reports for everyone).
    entitled_reads = models.PositiveIntegerField(default=0)
    # Views that showed the paywall (a paid report to a reader not entitled to it).
    paywall_views = models.PositiveIntegerField(default=0)
    # Checkouts started from this report's paywall, and subscriptions paid that came from it
    # (the checkout's metadata names the report).
    checkouts_started = models.PositiveIntegerField(default=0)
    subscriptions_paid = models.PositiveIntegerField(default=0)
    gifts_opened = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "day"], name="report_day_count_unique"),
        ]
        indexes = [models.Index(fields=["day"], name="report_day_count_day")]

    def __str__(self) -> str:
        return f"{self.report_id} on {self.day}"


class ReportRevision(models.Model):
    """One saved version of a published report: its text as readers could see it from
    `saved_at` on. The first is the version published; each later save that changed the
    text, or carried a public note, adds one (`reports.revisions.services`). The body is
    subscriber-only text like the report's own: only `reports.revisions.selectors` reads it,
    and only for readers the access rule lets read the report's body."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="revisions")
    saved_at = models.DateTimeField()
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    title = models.CharField(max_length=200)
    teaser = models.TextField()
    body = models.TextField()
    # The public note of this save ("Corrected the standby figure"), empty for a silent one.
    note = models.CharField(max_length=300, blank=True)
    is_public = models.BooleanField(
        default=False, help_text="Listed under the report's updates and corrections."
    )

    class Meta:
        ordering = ["report", "saved_at", "id"]
        indexes = [models.Index(fields=["report", "saved_at"], name="revision_report_saved")]

    def __str__(self) -> str:
        return f"{self.report_id} as saved at {self.saved_at:%Y-%m-%d %H:%M}"


class DayCountFold(models.Model):
    """One Redis hash of counts that was added to `ReportDayCount`, recorded in the same
    transaction as the additions: a hash seen again (a fold that crashed after committing, or
    two folds at once) is then recognised and never added twice (reports/counting/folding.py)."""

    key = models.CharField(max_length=120, unique=True)
    folded_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.key
