from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from reports.models import Report, Topic
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
