"""New-report notifications in the admin: per-report delivery counts, resending failures,
test sends, and each delivery."""

from django.contrib import admin
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from accounts.http import request_user
from reports.models import (
    Delivery,
    DeliveryBatch,
    Report,
    ReportNotification,
)
from reports.notifications.sending import notification_send_test
from reports.notifications.sweep import deliveries_resend_failed


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
