from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from reports.access import can_read_body
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
        },
    )
