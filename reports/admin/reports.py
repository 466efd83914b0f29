"""Reports and topics in the admin: saving through `report_save`, the live preview, revisions
and the reports they may affect."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from accounts.http import request_user
from publisher.ratelimit import Limit, limit_exceeded
from reports.admin.images import IMAGE_ACCEPT, validate_image_upload
from reports.admin.notifications import (
    resend_failed_notifications,
    send_test_notification,
)
from reports.admin.preview import preview_cover, report_preview_html
from reports.citations import citing_reports_any_status
from reports.images.processing import ImageRejected
from reports.images.services import image_create
from reports.models import (
    Report,
    Topic,
)
from reports.publishing import (
    report_publish,
    report_refresh_search_names,
    report_save,
    reports_delete,
    topic_save,
    topics_delete,
)
from reports.revisions.selectors import cited_reports_updated_since, report_history
from reports.templatetags.report_tags import published_date


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    # Through the services: search finds reports by their topics' names.
    def save_model(self, request: HttpRequest, obj: Topic, form: forms.ModelForm, change: bool):
        topic_save(topic=obj)

    def delete_model(self, request: HttpRequest, obj: Topic) -> None:
        topics_delete(topics=Topic.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Topic]) -> None:
        topics_delete(topics=queryset)


# Uploads from the body's drag and drop: a burst of a whole photo set is fine, a script
# filling the storage is not.
IMAGE_UPLOAD_LIMITS = [
    Limit(30, 60, "Too many images at once: wait a minute, then try again."),
    Limit(200, 3600, "Too many images this hour: try again later."),
]


class ReportAdminForm(forms.ModelForm):
    # Adds a library image to the body without JavaScript: saved with the report, its
    # Markdown appended to the body (drag and drop onto the body inserts it at the cursor).
    body_image = forms.FileField(
        label="Image",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
        help_text="JPEG, PNG or WebP, at most 8 MB: added to the image library and to the end "
        "of the body when you save. Its metadata (camera, location) is removed.",
    )
    body_image_alt = forms.CharField(
        label="Alt text",
        required=False,
        max_length=300,
        help_text="Required with an image: describe what it shows for readers who cannot see it.",
    )
    body_image_caption = forms.CharField(label="Caption", required=False, max_length=300)

    class Meta:
        model = Report
        fields = [
            "title", "slug", "kind", "topics", "author", "teaser", "body", "is_free",
            "cover_image", "cover_alt", "video_minutes", "status", "publish_at", "revision_note",
        ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Reports are written by staff; a report keeps its author should they leave the staff.
        author = self.fields["author"]
        staff = Q(is_staff=True)
        if self.instance.author_id:
            staff |= Q(pk=self.instance.author_id)
        author.queryset = author.queryset.filter(staff)  # type: ignore[attr-defined]
        author.help_text = "A member of staff; type a name or an address to find them."

    def clean_cover_image(self) -> Any:
        cover = self.cleaned_data.get("cover_image")
        if cover and hasattr(cover, "content_type"):  # a fresh upload, not the stored one
            validate_image_upload(cover)
        return cover

    def clean_body_image(self) -> Any:
        upload = self.cleaned_data.get("body_image")
        if upload:
            validate_image_upload(upload)
        return upload

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if cleaned.get("status") == Report.Status.SCHEDULED and not cleaned.get("publish_at"):
            self.add_error("publish_at", "A scheduled report needs a publication time.")
        if cleaned.get("body_image") and not cleaned.get("body_image_alt", "").strip():
            self.add_error("body_image_alt", "An image needs alt text.")
        return cleaned


class PreviewForm(forms.Form):
    """The fields the live preview renders; anything else in the POST is ignored."""

    title = forms.CharField(required=False)
    teaser = forms.CharField(required=False, strip=False)
    body = forms.CharField(required=False, strip=False)
    kind = forms.ChoiceField(required=False, choices=Report.Kind.choices)
    is_free = forms.BooleanField(required=False)
    video_minutes = forms.IntegerField(required=False, min_value=1, max_value=24 * 60)
    cover_alt = forms.CharField(required=False)
    # The report being edited, for its saved cover; empty while adding one.
    report = forms.IntegerField(required=False, min_value=1)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    form = ReportAdminForm
    # Few, short columns so the list fits a 1280 px screen beside the admin's sidebar.
    list_display = ["title", "kind", "status_and_date", "free", "author"]
    # Only people who wrote a report appear in the author filter, never the readers.
    list_filter = [
        "status",
        "kind",
        "is_free",
        "topics",
        ("author", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["title", "slug", "teaser", "author__display_name"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["topics"]
    autocomplete_fields = ["author"]
    date_hierarchy = "published_at"
    readonly_fields = [
        "published_at", "created_at", "updated_at", "revised_at", "preview", "possibly_affected",
        "history", "cited_updates",
    ]  # fmt: skip
    list_select_related = ["author"]
    actions = ["publish_now"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "kind", "topics", "author"]}),
        ("Text", {"fields": ["teaser", "body", "is_free", "video_minutes", "preview"]}),
        (
            "Add an image to the body",
            {
                "fields": ["body_image", "body_image_alt", "body_image_caption"],
                "description": "Or drop an image onto the body. Images already in the library "
                "(Report images) are reused by pasting their Markdown.",
            },
        ),
        ("Cover image", {"fields": ["cover_image", "cover_alt"]}),
        ("Publication", {"fields": ["status", "publish_at", "published_at", "updated_at"]}),
        (
            "Revision",
            {
                "fields": [
                    "revision_note",
                    "revised_at",
                    "history",
                    "possibly_affected",
                    "cited_updates",
                ],
                "description": "Record a public note when a published report changes in "
                "substance: it is listed under the report's updates and corrections, and "
                "subscribers see the paragraphs that changed. A save without a new note is "
                "kept in the history but not listed. Reports that cite this one are listed: "
                "they may need a look too.",
            },
        ),
    ]

    def get_urls(self) -> list[URLPattern]:
        preview = path(
            "preview/",
            self.admin_site.admin_view(require_POST(self.preview_view)),
            name="reports_report_preview",
        )
        upload = path(
            "images/upload/",
            self.admin_site.admin_view(require_POST(self.image_upload_view)),
            name="reports_report_image_upload",
        )
        history = path(
            "<path:object_id>/revisions/",
            self.admin_site.admin_view(self.revisions_view),
            name="reports_report_revisions",
        )
        return [preview, upload, history, *super().get_urls()]

    def revisions_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Every kept version of the report: who saved it, when, its note, and what changed
        since the one before."""
        if not object_id.isdigit():
            raise Http404("No such report.")
        report = get_object_or_404(Report, pk=int(object_id))
        if not self.has_view_or_change_permission(request, report):
            raise Http404("No such report.")
        return TemplateResponse(
            request,
            "admin/reports/report/revisions.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": report,
                "title": f"History of “{report.title}”",
                "entries": report_history(report=report),
            },
        )

    def image_upload_view(self, request: HttpRequest) -> JsonResponse:
        """The body's drag and drop: one image into the library, its Markdown back."""
        if not (self.has_change_permission(request) or self.has_add_permission(request)):
            return JsonResponse({"error": "Not allowed."}, status=403)
        user = request_user(request)
        if limit := limit_exceeded("image-upload", user.pk, IMAGE_UPLOAD_LIMITS):
            response = JsonResponse({"error": limit.message}, status=429)
            response["Retry-After"] = str(limit.seconds)
            return response
        file = request.FILES.get("file")
        if file is None:
            return JsonResponse({"error": "Choose an image to upload."}, status=400)
        try:
            image = image_create(
                file=file,
                alt=request.POST.get("alt", ""),
                caption=request.POST.get("caption", ""),
                uploaded_by=user,
            )
        except ImageRejected as error:
            return JsonResponse({"error": str(error)}, status=400)
        return JsonResponse({"id": image.pk, "markdown": image.markdown}, status=201)

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        if not (self.has_change_permission(request) or self.has_add_permission(request)):
            return JsonResponse({"error": "Not allowed."}, status=403)
        form = PreviewForm(request.POST)
        form.is_valid()
        fields = dict(form.cleaned_data)
        saved_id, alt = fields.pop("report", None), fields.pop("cover_alt", "")
        saved = Report.objects.filter(pk=saved_id).only(
            "cover_image", "cover_alt", "cover_width", "cover_height"
        ).first() if saved_id else None  # fmt: skip
        report = Report(**{name: value for name, value in fields.items() if value is not None})
        cover = preview_cover(saved=saved, alt=alt)
        return JsonResponse(report_preview_html(request=request, report=report, cover=cover))

    @admin.display(description="Status", ordering="published_at")
    def status_and_date(self, obj: Report) -> str:
        if obj.status == Report.Status.PUBLISHED and obj.published_at:
            return f"Published {published_date(obj.published_at)}"
        if obj.status == Report.Status.SCHEDULED and obj.publish_at:
            return f"Scheduled for {published_date(obj.publish_at)}"
        return obj.get_status_display()

    @admin.display(description="Free", boolean=True, ordering="is_free")
    def free(self, obj: Report) -> bool:
        return obj.is_free

    @admin.display(description="Live preview")
    def preview(self, obj: Report | None) -> SafeString:
        report = obj or Report(teaser="", body="")
        panes = report_preview_html(request=None, report=report, cover=preview_cover(saved=obj))
        return mark_safe(  # noqa: S308 - our template, sanitized Markdown
            render_to_string("admin/reports/report/preview_panes.html", {"panes": panes})
        )

    @admin.display(description="History")
    def history(self, obj: Report | None) -> str:
        if obj is None or obj.pk is None:
            return "Kept from publication on: every saved version, with what changed."
        count = obj.revisions.count()
        return format_html(
            '<a href="{}">{} saved version{}</a>: who saved each, when, its note, what changed.',
            reverse("admin:reports_report_revisions", args=[obj.pk]),
            count,
            "" if count == 1 else "s",
        )

    @admin.display(description="Cited reports updated since publication")
    def cited_updates(self, obj: Report | None) -> str:
        cited = cited_reports_updated_since(report=obj) if obj and obj.pk else []
        if not cited:
            return "None."
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li>Cites a report updated on {}: <a href="{}#updates">{}</a></li>',
                (
                    (published_date(report.revised_at), report.get_absolute_url(), report.title)
                    for report in cited
                ),
            ),
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
        if upload := form.cleaned_data.get("body_image"):
            image = image_create(
                file=upload,
                alt=form.cleaned_data["body_image_alt"],
                caption=form.cleaned_data.get("body_image_caption", ""),
                uploaded_by=request_user(request),
            )
            obj.body = f"{obj.body.rstrip()}\n\n{image.markdown}\n"
        # Topics are many-to-many: the admin saves them after this, in save_related.
        report_save(report=obj, revised=revised, saved_by=request_user(request))
        if revised:
            self._warn_citing_reports(request, obj)

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets, change: bool):
        super().save_related(request, form, formsets, change)
        # The topics were saved just now, after report_save: search finds them by name.
        report_refresh_search_names(report=form.instance)

    # Through the service: the pages that showed the reports are retired.
    def delete_model(self, request: HttpRequest, obj: Report) -> None:
        reports_delete(reports=Report.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        reports_delete(reports=queryset)

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
            report_publish(report_id=pk, by=request_user(request))
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Published {published} report(s).", messages.SUCCESS)


ReportAdmin.actions = [*ReportAdmin.actions, send_test_notification, resend_failed_notifications]
