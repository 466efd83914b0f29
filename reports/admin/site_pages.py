"""Site pages (About, Contact, Privacy, Terms) in the admin, saved and deleted through
their services, which retire the cached pages."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from publisher.errors import ApplicationError
from reports.models import SitePage
from reports.site_pages.services import (
    FOOTER_SLUGS,
    site_page_save,
    site_page_slug_problem,
    site_pages_delete,
)


class SitePageForm(forms.ModelForm):
    class Meta:
        model = SitePage
        fields = ["title", "slug", "body"]

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if problem := site_page_slug_problem(slug=slug):
            raise forms.ValidationError(problem)
        return slug


@admin.register(SitePage)
class SitePageAdmin(admin.ModelAdmin):
    form = SitePageForm
    list_display = ["title", "slug", "updated_at"]
    search_fields = ["title", "slug", "body"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: SitePage | None = None):
        # The footer links to these by address.
        if obj is not None and obj.slug in FOOTER_SLUGS:
            return [*self.readonly_fields, "slug"]
        return self.readonly_fields

    def get_prepopulated_fields(self, request: HttpRequest, obj: SitePage | None = None):
        if obj is not None and obj.slug in FOOTER_SLUGS:
            return {}
        return self.prepopulated_fields

    def has_delete_permission(self, request: HttpRequest, obj: SitePage | None = None) -> bool:
        if obj is not None and obj.slug in FOOTER_SLUGS:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: SitePage, form: forms.ModelForm, change: bool):
        site_page_save(page=obj)

    def delete_model(self, request: HttpRequest, obj: SitePage) -> None:
        site_pages_delete(pages=SitePage.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SitePage]) -> None:
        try:
            site_pages_delete(pages=queryset)
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
