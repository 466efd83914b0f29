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
