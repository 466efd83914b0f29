"""The publisher's dashboard: the page (a chart, a table and a CSV per figure), each chart
as an SVG image, and each table as a CSV. Staff only; never cached."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.csp import CSP
from django.views.decorators.cache import never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET

from accounts.figures import month_range
from publisher.downloads import csv_download, csv_safe
from reports.dashboard.charts import chart_svg
from reports.dashboard.figures import FIGURES, Figure, Figures
from reports.dashboard.forms import DashboardRangeForm

# The chart's own styles are an inline <style> (pygal's); it carries no script (removed) and
# loads nothing, so this policy holds if the image is opened on its own.
SVG_POLICY = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "frame-ancestors": [CSP.SELF],
}


def _figure(slug: str) -> Figure:
    if slug not in FIGURES:
        raise Http404("No such figure.")
    return FIGURES[slug]


def _range_error(form: DashboardRangeForm) -> HttpResponse:
    return HttpResponse(
        " ".join(str(error) for error in form.errors.get("months") or ["Choose a range."]),
        status=400,
        content_type="text/plain; charset=utf-8",
    )


@require_GET
@staff_member_required
@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardRangeForm(request.GET)
    context = {
        **admin.site.each_context(request),
        "title": "Publisher's dashboard",
        "form": form,
        "sections": [],
    }
    if not form.is_valid():
        return render(request, "reports/dashboard/dashboard.html", context, status=400)
    months = form.chosen_months
    figures = Figures(month_range(months=months))
    context["sections"] = [
        {"figure": figure, "table": figure.table(figures)} for figure in FIGURES.values()
    ]
    context["months"] = months
    context["period"] = figures.period
    return render(request, "reports/dashboard/dashboard.html", context)


@require_GET
@staff_member_required
@never_cache
@csp_override(SVG_POLICY)
def figure_chart(request: HttpRequest, slug: str) -> HttpResponse:
    figure = _figure(slug)
    form = DashboardRangeForm(request.GET)
    if not form.is_valid():
        return _range_error(form)
    svg = chart_svg(figure.slug, Figures(month_range(months=form.chosen_months)))
    return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")


@require_GET
@staff_member_required
@never_cache
def figure_csv(request: HttpRequest, slug: str) -> HttpResponse:
    figure = _figure(slug)
    form = DashboardRangeForm(request.GET)
    if not form.is_valid():
        return _range_error(form)
    # Every report counted, not only the page's top ones.
    table = figure.table(Figures(month_range(months=form.chosen_months), limit=None))
    today = timezone.localdate().isoformat()
    response, writer = csv_download(f"{figure.slug}-{form.chosen_months}-months-{today}.csv")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return response
