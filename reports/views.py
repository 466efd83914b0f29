from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from reports.access import can_read_body
from reports.comments import MAX_LENGTH, can_post_comment, comment_thread_for_reader
from reports.models import Report
from reports.rendering import render_markdown


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    reports = Report.objects.published().for_listing()
    page = Paginator(reports, settings.REPORTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "reports/home.html", {"page": page})


@require_safe
def report_detail(request: HttpRequest, slug: str) -> HttpResponse:
    # The body stays in the database until the access rule says this reader may have it.
    reports = Report.objects.without_body().select_related("author").prefetch_related("topics")
    if not request.user.is_staff:
        reports = reports.published()
    report = reports.filter(slug=slug).first()
    if report is None:
        raise Http404("No such report.")
    entitled = can_read_body(request.user, report)
    body_html = None
    if entitled:
        body = Report.objects.values_list("body", flat=True).get(pk=report.pk)
        body_html = render_markdown(body)
    return render(
        request,
        "reports/report_detail.html",
        {
            "report": report,
            "teaser_html": render_markdown(report.teaser),
            "body_html": body_html,
            "entitled": entitled,
            **comments_context(request, report),
        },
    )


def comments_context(request: HttpRequest, report: Report) -> dict[str, object]:
    reply_to = request.GET.get("reply", "")
    return {
        "thread": comment_thread_for_reader(report=report, reader=request.user),
        "can_post": can_post_comment(request.user, report),
        "reply_to": int(reply_to) if reply_to.isdigit() and len(reply_to) < 12 else None,
        "comment_max_length": MAX_LENGTH,
    }
