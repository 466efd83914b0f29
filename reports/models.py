from datetime import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


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

    def for_listing(self) -> "ReportQuerySet":
        return (
            self.without_body()
            .select_related("author")
            .prefetch_related("topics")
            .order_by("-published_at", "-id")
        )


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

    @property
    def is_published(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )


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


class Delivery(models.Model):
    """One notification email: one report to one subscriber, sent at most once (unique)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="deliveries")
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
