"""Comment endpoints. They work as plain form posts (redirecting back to the comment) and,
for our small script, return the rendered fragment when asked with `X-Requested-With`."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import AuthenticatedHttpRequest
from publisher.errors import ApplicationError
from publisher.ids import parse_id
from publisher.mail.messages import ONE_CLICK
from reports.access import can_read_body
from reports.comments import services as comments
from reports.models import Comment, Report


def _wants_fragment(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _error(request: HttpRequest, report: Report, error: ApplicationError, **form: object):
    if _wants_fragment(request):
        return HttpResponse(error.message, status=error.status, content_type="text/plain")
    return render(
        request,
        "reports/comment_form_page.html",
        {"report": report, "error": error.message, **form},
        status=error.status,
    )


def _comment_url(comment: Comment) -> str:
    return f"{comment.report.get_absolute_url()}#comment-{comment.pk}"


@require_POST
@login_required
def comment_post(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    report = get_object_or_404(Report.objects.published().without_body(), slug=slug)
    body = request.POST.get("body", "")
    parent_id = parse_id(request.POST.get("parent"))
    try:
        comment = comments.comment_create(
            author=request.user, report=report, body=body, parent_id=parent_id
        )
    except ApplicationError as error:
        return _error(request, report, error, body=body, parent_id=parent_id)
    if _wants_fragment(request):
        html = render_to_string(
            "reports/includes/comment.html",
            {"comment": comment, "report": report, "can_post": True, "is_reply": bool(parent_id)},
            request=request,
        )
        return HttpResponse(html, status=201)
    messages.success(request, "Your comment was posted.")
    return redirect(_comment_url(comment))


def _own_comment(request: HttpRequest, comment_id: int) -> Comment:
    comment = get_object_or_404(Comment.objects.select_related("report", "author"), pk=comment_id)
    if not can_read_body(request.user, comment.report):
        raise Http404("No such comment.")
    return comment


@login_required
def comment_edit(request: AuthenticatedHttpRequest, comment_id: int) -> HttpResponse:
    comment = _own_comment(request, comment_id)
    report = comment.report
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            comments.comment_edit(editor=request.user, comment=comment, body=body)
        except ApplicationError as error:
            return _error(request, report, error, body=body, editing=comment)
        messages.success(request, "Your comment was updated.")
        return redirect(_comment_url(comment))
    if not comments.can_edit_comment(request.user, comment):
        too_late = ApplicationError(comments.EDIT_WINDOW_MESSAGE, status=403)
        return _error(request, report, too_late)
    context = {"report": report, "editing": comment, "body": comment.body}
    return render(request, "reports/comment_form_page.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def comment_delete(request: AuthenticatedHttpRequest, comment_id: int) -> HttpResponse:
    """GET asks for confirmation (a page that needs no script); only the POST deletes."""
    comment = _own_comment(request, comment_id)
    if request.method == "POST":
        try:
            comments.comment_delete(user=request.user, comment=comment)
        except ApplicationError as error:
            return _error(request, comment.report, error)
        messages.success(request, "The comment was deleted.")
        return redirect(f"{comment.report.get_absolute_url()}#comments")
    if not comments.can_delete_comment(request.user, comment):
        return _error(request, comment.report, comments.comment_delete_refusal(comment))
    return render(
        request, "reports/comment_delete.html", {"comment": comment, "report": comment.report}
    )


@require_POST
@login_required
def comment_flag(request: AuthenticatedHttpRequest, comment_id: int) -> HttpResponse:
    comment = _own_comment(request, comment_id)
    try:
        created = comments.comment_flag(
            reporter=request.user, comment=comment, reason=request.POST.get("reason", "")
        )
    except ApplicationError as error:
        return _error(request, comment.report, error)
    messages.success(
        request,
        "Thank you: the moderators will look at this comment."
        if created
        else "You have already reported this comment.",
    )
    return redirect(_comment_url(comment))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def comment_hide(request: AuthenticatedHttpRequest, comment_id: int) -> HttpResponse:
    """GET asks the moderator for the reason its author will read; the POST hides."""
    comment = _own_comment(request, comment_id)
    report = comment.report
    if refusal := comments.comment_hide_refusal(request.user, comment):
        return _error(request, report, refusal)
    reason = request.POST.get("reason", "")
    error = ""
    if request.method == "POST":
        try:
            comments.comment_hide(moderator=request.user, comment=comment, reason=reason)
        except ApplicationError as refused:
            error = refused.message
        else:
            messages.success(request, "The comment is now hidden.")
            return redirect(_comment_url(comment))
    context = {
        "comment": comment,
        "report": report,
        "reason": reason,
        "error": error,
        "reason_max_length": comments.HIDE_REASON_MAX_LENGTH,
    }
    return render(request, "reports/comment_hide.html", context, status=400 if error else 200)


@require_POST
@login_required
def comment_unhide(request: AuthenticatedHttpRequest, comment_id: int) -> HttpResponse:
    comment = _own_comment(request, comment_id)
    try:
        comments.comment_unhide(moderator=request.user, comment=comment)
    except ApplicationError as error:
        return _error(request, comment.report, error)
    messages.success(request, "The comment is now visible.")
    return redirect(_comment_url(comment))


# Like the newsletter's unsubscribe link (accounts/newsletter/views.py): RFC 8058 has mail
# providers POST without cookies or a CSRF token, so the signed token is what decides, and a
# GET only shows the button, because mail scanners open every link in a message.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def reply_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    user = comments.reply_unsubscribe_user(token=token)
    if user is None:
        return render(request, "reports/reply_unsubscribe_invalid.html", status=404)
    if request.method == "POST":
        if request.POST.get("List-Unsubscribe") != ONE_CLICK.split("=", 1)[1]:
            return render(
                request, "reports/reply_unsubscribe_invalid.html", {"bad": True}, status=400
            )
        comments.comment_replies_unsubscribe(user=user)
        return render(request, "reports/reply_unsubscribed.html")
    return render(request, "reports/reply_unsubscribe.html", {"recipient": user})
