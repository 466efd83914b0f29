from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_safe

from accounts.organisations.networks import OfficeNetwork
from publisher.cache.cdn import surrogate_keys_add
from publisher.cache.pages import cached_public_page
from publisher.ids import parse_id
from publisher.site import site_url
from reports.access import can_read_body, is_entitled_reader
from reports.comments.services import MAX_LENGTH as COMMENT_MAX_LENGTH
from reports.comments.services import can_post_comment
from reports.comments.thread_cache import comment_thread_html, comment_thread_shared_parts
from reports.counting.marks import mark_url, read_kind, seat_reading
from reports.entitled_page import (
    entitled_page_cached,
    entitled_page_response,
    entitled_page_view,
    report_shared,
    shared_page_context,
    shared_page_split,
)
from reports.fragments import report_page_parts
from reports.models import KIND_PLURALS, Report, Topic
from reports.office import request_office_network
from reports.paywall import paywall_highlights
from reports.reader_cards import reader_card_refresh
from reports.rendering import teaser_html
from reports.revisions.selectors import report_public_updates
from reports.selectors import (
    CachedPageParts,
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
@entitled_page_view
@cached_public_page(report_slug="slug")
def report_detail(request: HttpRequest, slug: str) -> HttpResponse:
    report, cached_parts = report_for_page(slug=slug, reader=request.user)
    if report is None:
        raise Http404("No such report.")
    # The body stays in the database until the access rule says this reader may have it.
    network = request_office_network(request)
    shared = _shared_report_page(request, report, network=network, cached_parts=cached_parts)
    if shared is not None:
        return shared
    body_html = report_body_html(report=report, reader=request.user, network=network)
    context = _report_context(
        request, report, network=network, body_html=body_html, cached_parts=cached_parts
    )
    return render(
        request,
        "reports/report_detail.html",
        {**context, **comments_context(request, report), "reading_mark": _reading_mark(
            request, report, body_shown=body_html is not None
        )},
    )  # fmt: skip


def _report_context(
    request: HttpRequest,
    report: Report,
    *,
    network: OfficeNetwork | None,
    body_html: str | None,
    cached_parts: CachedPageParts | None,
) -> dict[str, object]:
    """The report page's context but for the comments and the reading mark."""
    parts = report_page_parts(
        report=report, body_included=body_html is not None, cached=cached_parts
    )
    surrogate_keys_add(request, parts.surrogate_keys)
    return {
        "report": report,
        "teaser_html": teaser_html(report.teaser),
        "body_html": body_html,
        "entitled": can_read_body(request.user, report, network=network),
        # Dates and notes for everyone; the changed paragraphs only for the entitled.
        "updates": report_public_updates(report=report, reader=request.user),
        # Numbers about the body for the paywall, stored with the report: never its text.
        "paywall_highlights": paywall_highlights(report=report) if body_html is None else [],
        "parts": parts,
    }


def _reading_mark(request: HttpRequest, report: Report, *, body_shown: bool) -> str:
    # Editors' previews of unpublished reports are not readers' views.
    if not report.is_published:
        return ""
    return mark_url(
        report_id=report.pk,
        kind=read_kind(body_shown=body_shown),
        seat=seat_reading(request.user, body_shown=body_shown),
    )


def _shared_report_page(
    request: HttpRequest,
    report: Report,
    *,
    network: OfficeNetwork | None,
    cached_parts: CachedPageParts | None,
) -> HttpResponse | None:
    """The page every entitled reader shares (reports/entitled_page.py), for this reader,
    or None when theirs must be rendered for them alone. Decided from the database: the
    reader's card is refreshed here for the hits that follow."""
    user = request.user
    if not user.is_authenticated or user.is_staff or not report.is_published:
        return None
    if network is not None or "reply" in request.GET:
        return None
    if not is_entitled_reader(user):
        return None
    card = reader_card_refresh(user=user)
    if card is None or not card.entitled:
        return None
    shared = report_shared(report.slug)
    page, generations = entitled_page_cached(shared=shared, variant=shared.variant_for(card))
    fresh = page is None
    if page is None:
        thread = comment_thread_shared_parts(request, report, can_post=card.may_comment)
        if thread is None:
            return None
        body_html = report_body_html(report=report, reader=user)
        context = _report_context(
            request, report, network=None, body_html=body_html, cached_parts=cached_parts
        )
        context.update(
            shared_page_context(thread=thread),
            can_post=card.may_comment,
            comment_max_length=COMMENT_MAX_LENGTH,
        )
        html = render_to_string("reports/report_detail.html", context, request=request)
        page = shared_page_split(html, report_id=report.pk, thread=thread)
    if page is None or user.pk in page.hidden_authors:
        return None
    return entitled_page_response(
        request, page=page, card=card, shared=shared, generations=generations, fresh=fresh
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
        "comment_max_length": COMMENT_MAX_LENGTH,
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
