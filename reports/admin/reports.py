from typing import cast

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, JsonResponse
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from accounts.http import request_user
from publisher.cache.generations import page_cache_invalidate_all
from reports.admin.preview import report_preview_html
from reports.citations import citing_reports_any_status
from reports.comments.services import comment_ban, comment_hide, comment_unhide
from reports.models import (
    Comment,
    CommentBan,
    CommentFlag,
    CommentQuerySet,
    Delivery,
    DeliveryBatch,
    Report,
    ReportNotification,
    Topic,
)
from reports.notifications.sending import notification_send_test
from reports.notifications.sweep import deliveries_resend_failed
from reports.publishing import report_publish, report_save


class InvalidatesPagesAdmin(admin.ModelAdmin):
    """Saving or deleting here changes what the public pages show: drop the cached ones."""

    def save_model(self, request: HttpRequest, obj, form: forms.ModelForm, change: bool):
        super().save_model(request, obj, form, change)
        page_cache_invalidate_all()

    def delete_model(self, request: HttpRequest, obj) -> None:
        super().delete_model(request, obj)
        page_cache_invalidate_all()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().delete_queryset(request, queryset)
        page_cache_invalidate_all()


@admin.register(Topic)
class TopicAdmin(InvalidatesPagesAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ReportAdminForm(forms.ModelForm):
    class Meta:
        model = Report
        fields = [
            "title", "slug", "kind", "topics", "author", "teaser", "body", "is_free",
            "cover_image", "cover_alt", "status", "publish_at", "revision_note",
        ]  # fmt: skip

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if cleaned.get("status") == Report.Status.SCHEDULED and not cleaned.get("publish_at"):
            self.add_error("publish_at", "A scheduled report needs a publication time.")
        return cleaned


class PreviewForm(forms.Form):
    """The fields the live preview renders; anything else in the POST is ignored."""

    title = forms.CharField(required=False)
    teaser = forms.CharField(required=False, strip=False)
    body = forms.CharField(required=False, strip=False)
    is_free = forms.BooleanField(required=False)


@admin.register(Report)
class ReportAdmin(InvalidatesPagesAdmin):
    form = ReportAdminForm
    list_display = ["title", "kind", "status", "is_free", "author", "published_at", "publish_at"]
    list_filter = ["status", "kind", "is_free", "topics", "author"]
    search_fields = ["title", "slug", "teaser", "author__display_name"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["topics"]
    raw_id_fields = ["author"]
    date_hierarchy = "published_at"
    readonly_fields = [
        "published_at", "created_at", "updated_at", "revised_at", "preview", "possibly_affected",
    ]  # fmt: skip
    list_select_related = ["author"]
    actions = ["publish_now"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "kind", "topics", "author"]}),
        ("Text", {"fields": ["teaser", "body", "is_free", "preview"]}),
        ("Cover image", {"fields": ["cover_image", "cover_alt"]}),
        ("Publication", {"fields": ["status", "publish_at", "published_at", "updated_at"]}),
        (
            "Revision",
            {
                "fields": ["revision_note", "revised_at", "possibly_affected"],
                "description": "Record a public note when a published report changes in "
                "substance. Reports that cite this one are listed: they may need a look too.",
            },
        ),
    ]

    def get_urls(self) -> list[URLPattern]:
        preview = path(
            "preview/",
            self.admin_site.admin_view(require_POST(self.preview_view)),
            name="reports_report_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        if not (self.has_change_permission(request) or self.has_add_permission(request)):
            return JsonResponse({"error": "Not allowed."}, status=403)
        form = PreviewForm(request.POST)
        form.is_valid()
        report = Report(**form.cleaned_data)
        return JsonResponse(report_preview_html(request=request, report=report))

    @admin.display(description="Live preview")
    def preview(self, obj: Report | None) -> SafeString:
        report = obj or Report(teaser="", body="")
        return mark_safe(  # noqa: S308 - our template, sanitized Markdown
            render_to_string(
                "admin/reports/report/preview_panes.html",
                {"panes": report_preview_html(request=None, report=report)},
            )
        )

    @admin.display(description="Reports citing this one (possibly affected)")
    def possibly_affected(self, obj: Report | None) -> str:
        citing = citing_reports_any_status(report=obj) if obj and obj.pk else []
        if not citing:
            return "No report cites this one."
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a> ({})</li>',
                (
                    (
                        reverse("admin:reports_report_change", args=[report.pk]),
                        report.title,
                        report.get_status_display(),
                    )
                    for report in citing
                ),
            ),
        )

    def save_model(self, request: HttpRequest, obj: Report, form: forms.ModelForm, change: bool):
        if not change and obj.author_id is None:
            obj.author = request_user(request)
        revised = change and "revision_note" in form.changed_data and bool(obj.revision_note)
        # Topics are many-to-many: the admin saves them after this, in save_related.
        report_save(report=obj, revised=revised)
        if revised:
            self._warn_citing_reports(request, obj)

    def _warn_citing_reports(self, request: HttpRequest, obj: Report) -> None:
        citing = citing_reports_any_status(report=obj)
        if citing:
            titles = "; ".join(report.title for report in citing)
            self.message_user(
                request,
                f"Revision recorded. {len(citing)} report(s) cite this one and may be "
                f"affected: {titles}.",
                messages.WARNING,
            )

    @admin.action(description="Publish selected reports now")
    def publish_now(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        published = sum(
            report_publish(report_id=pk) for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Published {published} report(s).", messages.SUCCESS)


class HiddenFilter(admin.SimpleListFilter):
    title = "visibility"
    parameter_name = "visibility"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("visible", "Visible"), ("hidden", "Hidden"), ("deleted", "Deleted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
        if self.value() == "visible":
            return cast(CommentQuerySet, queryset).visible()
        if self.value() == "hidden":
            return queryset.filter(hidden_at__isnull=False)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["pk", "report", "author", "created_at", "edited_at", "hidden_at", "deleted_at"]
    list_filter = [HiddenFilter, "created_at"]
    search_fields = ["body", "author__email", "author__display_name", "report__title"]
    list_select_related = ["report", "author"]
    raw_id_fields = ["report", "author", "parent", "hidden_by"]
    readonly_fields = [
        "body_html",
        "created_at",
        "edited_at",
        "hidden_at",
        "hidden_by",
        "deleted_at",
    ]
    actions = ["hide", "unhide"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Hide selected comments")
    def hide(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        for comment in queryset.filter(hidden_at__isnull=True):
            comment_hide(moderator=request_user(request), comment=comment)
        self.message_user(request, "Hidden.", messages.SUCCESS)

    @admin.action(description="Unhide selected comments")
    def unhide(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        for comment in queryset.filter(hidden_at__isnull=False):
            comment_unhide(moderator=request_user(request), comment=comment)
        self.message_user(request, "Visible again.", messages.SUCCESS)


class OpenFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("open", "Waiting for a moderator"), ("resolved", "Resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[CommentFlag]) -> QuerySet:
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(CommentFlag)
class CommentFlagAdmin(admin.ModelAdmin):
    """The moderation queue: comments readers reported."""

    list_display = ["comment", "comment_excerpt", "reporter", "reason", "created_at", "resolved_at"]
    list_filter = [OpenFilter]
    list_select_related = ["comment", "reporter"]
    raw_id_fields = ["comment", "reporter"]
    actions = ["hide_comments", "dismiss"]

    @admin.display(description="Comment")
    def comment_excerpt(self, flag: CommentFlag) -> str:
        return flag.comment.body[:120]

    @admin.action(description="Hide the reported comments")
    def hide_comments(self, request: HttpRequest, queryset: QuerySet[CommentFlag]) -> None:
        for flag in queryset.select_related("comment"):
            if flag.comment.hidden_at is None:
                comment_hide(moderator=request_user(request), comment=flag.comment)
        self.message_user(request, "Comments hidden.", messages.SUCCESS)

    @admin.action(description="Dismiss: the comments may stay")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[CommentFlag]) -> None:
        queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        self.message_user(request, "Dismissed.", messages.SUCCESS)


@admin.register(CommentBan)
class CommentBanAdmin(admin.ModelAdmin):
    list_display = ["user", "until", "reason", "created_by", "created_at"]
    search_fields = ["user__email", "user__display_name"]
    raw_id_fields = ["user", "created_by"]
    readonly_fields = ["created_by"]

    def save_model(
        self, request: HttpRequest, obj: CommentBan, form: forms.ModelForm, change: bool
    ):
        ban = comment_ban(
            moderator=request_user(request), user=obj.user, until=obj.until, reason=obj.reason
        )
        obj.pk, obj.created_by = ban.pk, ban.created_by


# Newsletter notifications: per-report delivery counts, resending failures, test sends.


@admin.action(description="Send a test notification to me")
def send_test_notification(modeladmin, request: HttpRequest, queryset: QuerySet[Report]) -> None:
    editor = request_user(request)
    for report_id in queryset.values_list("pk", flat=True):
        notification_send_test(report_id=report_id, to=editor.email)
    modeladmin.message_user(
        request, f"Sent {queryset.count()} test notification(s) to {editor.email}."
    )


@admin.action(description="Resend failed notifications")
def resend_failed_notifications(
    modeladmin, request: HttpRequest, queryset: QuerySet[Report]
) -> None:
    resent = sum(
        deliveries_resend_failed(report_id=report_id)
        for report_id in queryset.values_list("pk", flat=True)
    )
    modeladmin.message_user(request, f"Queued {resent} failed notification(s) again.")


ReportAdmin.actions = [*ReportAdmin.actions, send_test_notification, resend_failed_notifications]


def _status_column(status: str):
    """A changelist column showing the annotated count of deliveries in `status`."""

    @admin.display(description=status, ordering=status)
    def column(notification: ReportNotification) -> int:
        return getattr(notification, status)

    column.__name__ = status
    return column


@admin.register(ReportNotification)
class ReportNotificationAdmin(admin.ModelAdmin):
    list_display = [
        "report",
        "requested_at",
        "fanned_out_at",
        *[_status_column(status) for status in Delivery.Status.values],
        "not_started",
    ]
    list_select_related = ["report"]
    date_hierarchy = "requested_at"
    search_fields = ["report__title", "report__slug"]
    readonly_fields = ["report", "requested_at", "enqueued_at", "fanned_out_at"]
    actions = ["resend_failed", "send_test_to_me"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReportNotification]:
        counts = {
            status: Count("report__deliveries", filter=Q(report__deliveries__status=status))
            for status in Delivery.Status.values
        }
        # Recipients whose batch's task has not inserted their rows yet (a fan-out under way,
        # or a batch the sweep will re-enqueue). A subquery: a second join would multiply
        # the counts above.
        not_started = (
            DeliveryBatch.objects.filter(report_id=OuterRef("report_id"), inserted_at__isnull=True)
            .values("report_id")
            .annotate(n=Sum("size"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(**counts, not_started=Coalesce(Subquery(not_started), 0))
        )

    @admin.display(description="not started", ordering="not_started")
    def not_started(self, notification: ReportNotification) -> int:
        # Annotated by get_queryset.
        return notification.not_started  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Resend failed notifications")
    def resend_failed(self, request: HttpRequest, queryset: QuerySet[ReportNotification]) -> None:
        reports = Report.objects.filter(pk__in=queryset.values("report_id"))
        resend_failed_notifications(self, request, reports)

    @admin.action(description="Send a test notification to me")
    def send_test_to_me(self, request: HttpRequest, queryset: QuerySet[ReportNotification]):
        reports = Report.objects.filter(pk__in=queryset.values("report_id"))
        send_test_notification(self, request, reports)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["report", "subscriber", "status", "attempts", "sent_at", "error"]
    list_filter = ["status", "report"]
    search_fields = ["subscriber__email", "report__title"]
    list_select_related = ["report", "subscriber"]
    raw_id_fields = ["report", "subscriber"]
    readonly_fields = [
        "report", "subscriber", "status", "attempts", "created_at", "enqueued_at", "claimed_at",
        "claimed_by", "sent_at", "error",
    ]  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
