"""The image library in the admin: a list to find an image to reuse (thumbnail, alt text,
caption, the reports that show it, the Markdown to paste), uploading through the same
service as the report form, and editing alt text and caption."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.http import request_user
from reports.images.markup import rendition_for
from reports.images.processing import ImageRejected, image_read
from reports.images.services import image_create, image_update, images_delete
from reports.models import ReportImage

IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"


def validate_image_upload(file: Any) -> None:
    """A form's check of an upload, with the message the processing would give."""
    if getattr(file, "size", 0) > 8 * 1024 * 1024:
        raise forms.ValidationError("An image may be at most 8 MB.")
    file.seek(0)
    try:
        image_read(file.read())
    except ImageRejected as error:
        raise forms.ValidationError(str(error)) from error
    finally:
        file.seek(0)


class ReportImageForm(forms.ModelForm):
    upload = forms.FileField(
        label="Image",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
        help_text="JPEG, PNG or WebP, at most 8 MB. Its metadata (camera, location) is removed.",
    )

    class Meta:
        model = ReportImage
        fields = ["alt", "caption"]

    def clean_upload(self) -> Any:
        upload = self.cleaned_data.get("upload")
        if self.instance.pk is None and not upload:
            raise forms.ValidationError("Choose an image to upload.")
        if upload:
            validate_image_upload(upload)
        return upload


@admin.register(ReportImage)
class ReportImageAdmin(admin.ModelAdmin):
    form = ReportImageForm
    list_display = ["thumbnail", "alt", "caption", "used_in", "markdown", "created_at"]
    list_display_links = ["thumbnail", "alt"]
    search_fields = ["alt", "caption"]
    readonly_fields = ["thumbnail", "markdown", "used_in", "dimensions", "uploaded_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReportImage]:
        return super().get_queryset(request).prefetch_related("reports")

    def get_fields(self, request: HttpRequest, obj: ReportImage | None = None) -> Any:
        if obj is None:
            return ["upload", "alt", "caption"]
        return ["thumbnail", "alt", "caption", "markdown", "dimensions", "used_in", "uploaded_by"]

    @admin.display(description="Image")
    def thumbnail(self, obj: ReportImage) -> str:
        small = rendition_for(obj.renditions, max_width=480)
        if small is None:
            return "-"
        width = min(160, small["width"])
        height = round(small["height"] * width / small["width"])
        return format_html(
            '<img src="{}" width="{}" height="{}" alt="{}" loading="lazy">',
            obj.file.storage.url(small["fallback"]),
            width,
            height,
            obj.alt,
        )

    @admin.display(description="Paste into a body")
    def markdown(self, obj: ReportImage) -> str:
        return format_html("<code>{}</code>", obj.markdown)

    @admin.display(description="Size")
    def dimensions(self, obj: ReportImage) -> str:
        return f"{obj.width} x {obj.height} px"

    @admin.display(description="Used in")
    def used_in(self, obj: ReportImage) -> str:
        reports = list(obj.reports.all())  # type: ignore[attr-defined]  # prefetched
        if not reports:
            return "No report yet"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:reports_report_change", args=[r.pk]), r.title) for r in reports),
        )

    def save_model(
        self, request: HttpRequest, obj: ReportImage, form: forms.ModelForm, change: bool
    ):
        if change:
            image_update(image=obj)
            return
        # The form checked the upload; the service refuses anything else as well.
        created = image_create(
            file=form.cleaned_data["upload"],
            alt=obj.alt,
            caption=obj.caption,
            uploaded_by=request_user(request),
        )
        obj.pk = created.pk
        obj.file = created.file
        obj.renditions = created.renditions

    def delete_model(self, request: HttpRequest, obj: ReportImage) -> None:
        images_delete(images=ReportImage.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ReportImage]) -> None:
        images_delete(images=queryset)
