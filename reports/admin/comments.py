"""Moderation in the admin: comments, their flags, and bans."""

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.http import request_user
from publisher.errors import ApplicationError
from publisher.text import text_excerpt
from reports.comments.services import (
    HIDE_REASON_MAX_LENGTH,
    comment_ban,
    comment_hide,
    comment_hide_reason_clean,
    comment_unhide,
)
from reports.models import (
    Comment,
    CommentBan,
    CommentFlag,
    CommentQuerySet,
)


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


class HideReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason, for the authors",
        max_length=HIDE_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Each author sees their hidden comment marked “Hidden by a moderator” "
        "with this reason; nobody else sees the comment.",
    )

    def clean_reason(self) -> str:
        try:
            return comment_hide_reason_clean(self.cleaned_data["reason"])
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from None


def hide_with_reason(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    selected: QuerySet,
    comments: list[Comment],
) -> TemplateResponse | None:
    """An admin action's two steps: ask for the reason, then hide `comments` with it.

    `selected` is what the action was run on (comments, or flags on comments); the page
    posts the same selection back with the reason."""
    if not comments:
        model_admin.message_user(
            request, "Nothing to hide: those comments are hidden or deleted already.",
            messages.WARNING,
        )  # fmt: skip
        return None
    form = HideReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        for comment in comments:
            comment_hide(
                moderator=request_user(request), comment=comment, reason=form.cleaned_data["reason"]
            )
        model_admin.message_user(
            request, f"Hidden: {len(comments)} comment{'s' if len(comments) != 1 else ''}.",
            messages.SUCCESS,
        )  # fmt: skip
        return None
    return TemplateResponse(
        request,
        "admin/reports/comment/hide_reason.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": "Why are these comments hidden?",
            "opts": model_admin.model._meta,
            "form": form,
            "comments": comments,
            "selected": selected,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


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
        "hidden_reason",
        "deleted_at",
    ]
    actions = ["hide", "unhide"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Hide selected comments")
    def hide(self, request: HttpRequest, queryset: QuerySet[Comment]) -> TemplateResponse | None:
        comments = list(queryset.filter(hidden_at__isnull=True, deleted_at__isnull=True))
        return hide_with_reason(self, request, queryset, comments)

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
    """The moderation queue: comments readers reported, each with what a moderator decides on.

    Flags come from readers only, so the queue has no "Add" button and a flag's fields are
    not edited here: a moderator hides the comment, dismisses the flag or bans the author."""

    list_display = [
        "comment_excerpt", "reason_text", "reporter", "comment_author", "report_title",
        "created_at", "resolved_at",
    ]  # fmt: skip
    list_display_links = ["comment_excerpt"]
    list_filter = [OpenFilter]
    list_select_related = ["comment__report", "comment__author", "reporter"]
    search_fields = ["reason", "comment__body", "reporter__email", "comment__author__email"]
    raw_id_fields = ["comment", "reporter"]
    readonly_fields = ["comment", "reporter", "reason", "created_at", "resolved_at"]
    actions = ["hide_comments", "dismiss", "ban_authors"]
    ordering = ["resolved_at", "-created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Reported comment")
    def comment_excerpt(self, flag: CommentFlag) -> str:
        return text_excerpt(flag.comment.body, 120)

    @admin.display(description="Reason", ordering="reason")
    def reason_text(self, flag: CommentFlag) -> str:
        return text_excerpt(flag.reason, 80) or "(no reason given)"

    @admin.display(description="Written by", ordering="comment__author__email")
    def comment_author(self, flag: CommentFlag) -> str:
        return str(flag.comment.author) if flag.comment.author_id else "(deleted account)"

    @admin.display(description="Report", ordering="comment__report__title")
    def report_title(self, flag: CommentFlag) -> str:
        return flag.comment.report.title

    @admin.action(description="Hide the reported comments")
    def hide_comments(
        self, request: HttpRequest, queryset: QuerySet[CommentFlag]
    ) -> TemplateResponse | None:
        comments = {
            flag.comment.pk: flag.comment
            for flag in queryset.select_related("comment__report", "comment__author")
            if flag.comment.hidden_at is None and flag.comment.deleted_at is None
        }
        return hide_with_reason(self, request, queryset, list(comments.values()))

    @admin.action(description="Dismiss: the comments may stay")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[CommentFlag]) -> None:
        queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        self.message_user(request, "Dismissed.", messages.SUCCESS)

    @admin.action(description="Ban the authors of the reported comments from commenting")
    def ban_authors(self, request: HttpRequest, queryset: QuerySet[CommentFlag]) -> None:
        flags = list(queryset.select_related("comment__author"))
        authors = {f.comment.author.pk: f.comment.author for f in flags if f.comment.author}
        moderator = request_user(request)
        banned = 0
        for author in authors.values():
            if author.is_staff:
                continue
            comment_ban(moderator=moderator, user=author, reason="Reported comments")
            banned += 1
        queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        skipped = len(authors) - banned
        note = f" Staff are never banned: {skipped} skipped." if skipped else ""
        self.message_user(
            request,
            f"Banned from commenting: {banned} member{'s' if banned != 1 else ''}.{note} "
            "A ban's end date and reason can be changed under Comment bans.",
            messages.SUCCESS if banned else messages.WARNING,
        )


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
