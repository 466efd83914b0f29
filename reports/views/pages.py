from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from publisher.cache.cdn import surrogate_keys_add
from publisher.cache.pages import cached_public_page
from publisher.ids import parse_id
from publisher.site import site_url
from reports.access import can_read_body
from reports.comments.services import MAX_LENGTH, can_post_comment
from reports.comments.thread_cache import comment_thread_html
from reports.counting.marks import mark_url, read_kind, seat_reading
from reports.fragments import report_page_parts
from reports.models import KIND_PLURALS, Report, Topic
from reports.office import request_office_network
from reports.paywall import paywall_highlights
from reports.rendering import teaser_html
from reports.revisions.selectors import report_public_updates
from reports.selectors import (
    author_by_slug,
    front_page,
    paginate,
    report_body_html,
    report_for_page,
)
from reports.sharing import home_json_ld, listing_json_ld
from reports.surrogate_keys import HOME, author_key, kind_key, topic_key


@require_safe
@cached_public_page(keys=[HOME])
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/home.html",
        {
            "front": front_page(),
            "topics": Topic.objects.all(),
            "is_home": True,
            "sharing": home_json_ld(),
        },
    )


@require_safe
@cached_public_page(report_slug="slug")
def report_detail(request: HttpRequest, slug: str) -> HttpResponse:
    report, cached_parts = report_for_page(slug=slug, reader=request.user)
    if report is None:
        raise Http404("No such report.")
    # The body stays in the database until the access rule says this reader may have it.
    network = request_office_network(request)
    body_html = report_body_html(report=report, reader=request.user, network=network)
    entitled = can_read_body(request.user, report, network=network)
    parts = report_page_parts(
        report=report, body_included=body_html is not None, cached=cached_parts
    )
    surrogate_keys_add(request, parts.surrogate_keys)
    return render(
        request,
        "reports/report_detail.html",
        {
            "report": report,
            "teaser_html": teaser_html(report.teaser),
            "body_html": body_html,
            "entitled": entitled,
            # Dates and notes for everyone; the changed paragraphs only for the entitled.
            "updates": report_public_updates(report=report, reader=request.user),
            # Numbers about the body for the paywall, stored with the report: never its text.
            "paywall_highlights": paywall_highlights(report=report) if body_html is None else [],
            **comments_context(request, report),
            "parts": parts,
            # Editors' previews of unpublished reports are not readers' views.
            "reading_mark": mark_url(
                report_id=report.pk,
                kind=read_kind(body_shown=body_html is not None),
                seat=seat_reading(request.user, body_shown=body_html is not None),
            )
            if report.is_published
            else "",
        },
    )


def comments_context(request: HttpRequest, report: Report) -> dict[str, object]:
    reply_to = request.GET.get("reply", "")
    can_post = can_post_comment(request.user, report)
    return {
        # Comments are a personal account's: an office network opens the body, never them.
        "comments_open": can_read_body(request.user, report),
        "thread_html": comment_thread_html(
            request=request,
            report=report,
            can_post=can_post,
            reply_to=parse_id(reply_to),
        ),
        "can_post": can_post,
        "comment_max_length": MAX_LENGTH,
    }


def _listing_page(
    request: HttpRequest,
    reports,
    *,
    title: str,
    description: str = "",
    template: str = "reports/report_list.html",
    **context: object,
) -> HttpResponse:
    page = paginate(
        reports, page_number=request.GET.get("page"), per_page=settings.REPORTS_PER_PAGE
    )
    canonical = site_url(request.path + (f"?page={page.number}" if page.number > 1 else ""))
    sharing = listing_json_ld(
        title=title,
        description=description or f"{title}: reports from {settings.SITE_NAME}.",
        url=canonical,
    )
    return render(
        request,
        template,
        {"page": page, "title": title, "description": description, "sharing": sharing, **context},
    )


@require_safe
@cached_public_page(params=["page"])
def topic_detail(request: HttpRequest, slug: str) -> HttpResponse:
    topic = get_object_or_404(Topic, slug=slug)
    surrogate_keys_add(request, [topic_key(topic.pk)])
    return _listing_page(
        request,
        Report.objects.published().for_topic(topic),
        title=topic.name,
        description=topic.description,
        label="Topic",
        rss_url=reverse("reports:topic-feed", kwargs={"slug": topic.slug}),
        atom_url=reverse("reports:topic-atom", kwargs={"slug": topic.slug}),
    )


# /kinds/tests/ is what readers type after seeing "Tests" in the navigation: each kind's
# plural label (and any capitalisation of it or of the kind) leads to the kind's page.
_KIND_ALIASES = {
    **{label.lower(): kind for kind, label in KIND_PLURALS.items()},
    **{kind: kind for kind in Report.Kind.values},
}


@require_safe
@cached_public_page(params=["page"])
def kind_detail(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in Report.Kind.values:
        canonical = _KIND_ALIASES.get(kind.lower())
        if canonical is None:
            raise Http404("No such kind of report.")
        url = reverse("reports:kind", kwargs={"kind": canonical})
        page = request.GET.get("page", "")
        return redirect(f"{url}?{urlencode({'page': page})}" if page else url, permanent=True)
    surrogate_keys_add(request, [kind_key(kind)])
    return _listing_page(
        request,
        Report.objects.published().of_kind(kind),
        title=KIND_PLURALS[Report.Kind(kind)],
        label="Kind",
        rss_url=reverse("reports:kind-feed", kwargs={"kind": kind}),
        atom_url=reverse("reports:kind-atom", kwargs={"kind": kind}),
    )


@require_safe
@cached_public_page(params=["page"])
def author_detail(request: HttpRequest, slug: str) -> HttpResponse:
    author = author_by_slug(slug=slug)
    if author is None:
        raise Http404("No such author.")
    surrogate_keys_add(request, [author_key(author.pk)])
    return _listing_page(
        request,
        Report.objects.published().by_author(author),
        title=author.byline_name,
        description=author.company,
        template="reports/author_detail.html",
        label="Author",
        author=author,
    )


@require_safe
@cached_public_page()
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        "Disallow: /search/",
        "Disallow: /reading/",
        f"Sitemap: {settings.SITE_URL}/sitemap.xml",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
