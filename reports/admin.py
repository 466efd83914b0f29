from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from reports.models import Delivery, Report, ReportNotification, Topic
from reports.notifications import deliveries_resend_failed, notification_send_test
from reports.publishing import report_publish


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ReportAdminForm(forms.ModelForm):
    class Meta:
        model = Report
        fields = [
            "title", "slug", "kind", "topics", "author", "teaser", "body", "is_free", "status",
            "publish_at",
        ]  # fmt: skip

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if cleaned.get("status") == Report.Status.SCHEDULED and not cleaned.get("publish_at"):
            self.add_error("publish_at", "A scheduled report needs a publication time.")
        return cleaned


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    form = ReportAdminForm
    list_display = ["title", "kind", "status", "is_free", "author", "published_at", "publish_at"]
    list_filter = ["status", "kind", "is_free", "topics"]
    search_fields = ["title", "slug", "teaser"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["topics"]
    raw_id_fields = ["author"]
    date_hierarchy = "published_at"
    readonly_fields = ["published_at", "created_at", "updated_at"]
    list_select_related = ["author"]
    actions = ["publish_now"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "kind", "topics", "author"]}),
        ("Text", {"fields": ["teaser", "body", "is_free"]}),
        ("Publication", {"fields": ["status", "publish_at", "published_at", "updated_at"]}),
    ]

    def save_model(self, request: HttpRequest, obj: Report, form: forms.ModelForm, change: bool):
        if not change and obj.author_id is None:
            obj.author = request.user
        super().save_model(request, obj, form, change)
        if obj.status == Report.Status.PUBLISHED and obj.published_at is None:
            report_publish(report_id=obj.pk)
            obj.refresh_from_db()

    @admin.action(description="Publish selected reports now")
    def publish_now(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        published = sum(
            report_publish(report_id=pk) for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Published {published} report(s).", messages.SUCCESS)


# Newsletter notifications: per-report delivery counts, resending failures, test sends.


@admin.action(description="Send a test notification to me")
def send_test_notification(modeladmin, request: HttpRequest, queryset: QuerySet[Report]) -> None:
    for report_id in queryset.values_list("pk", flat=True):
        notification_send_test(report_id=report_id, to=request.user.email)
    modeladmin.message_user(
        request, f"Sent {queryset.count()} test notification(s) to {request.user.email}."
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
        return super().get_queryset(request).annotate(**counts)

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
