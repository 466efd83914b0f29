"""Gift links: creating one from a report, the giver's list, and the page a link opens."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.http import AuthenticatedHttpRequest
from publisher.errors import ApplicationError
from publisher.ids import parse_id
from reports.counting.marks import mark_url
from reports.fragments import report_page_parts
from reports.gifts import services as gifts
from reports.models import GiftLink, Report
from reports.rendering import render_markdown, teaser_html


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def gift_create(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """GET asks for confirmation, saying how many gifts are left this month; the POST spends
    one of them."""
    report = get_object_or_404(Report.objects.published().without_body(), slug=slug)
    if request.method == "POST":
        try:
            gift = gifts.gift_create(giver=request.user, report=report)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect(report.get_absolute_url())
        messages.success(request, "Your gift link is ready: copy it from the list below.")
        return redirect(f"{reverse('reports:gift_list')}?new={gift.pk}#gift-{gift.pk}")
    left = gifts.gifts_left_this_month(giver=request.user)
    refusal = gifts.gift_refusal(giver=request.user, report=report, left=left)
    return render(
        request,
        "reports/gift_confirm.html",
        {
            "report": report,
            "left": left,
            "per_month": gifts.GIFTS_PER_MONTH,
            "gift_days": gifts.GIFT_DAYS,
            "refusal": refusal.message if refusal else "",
        },
        status=refusal.status if refusal else 200,
    )


@login_required
@never_cache
def gift_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    links = [
        (link, f"{settings.SITE_URL}{reverse('reports:gift_open', args=[gifts.gift_token(link)])}")
        for link in GiftLink.objects.filter(giver=request.user).select_related("report")[:50]
    ]
    return render(
        request,
        "reports/gift_list.html",
        {
            "links": links,
            "left": gifts.gifts_left_this_month(giver=request.user),
            "now": timezone.now(),
            "new": parse_id(request.GET.get("new")),
        },
    )


@require_POST
@login_required
def gift_revoke(request: AuthenticatedHttpRequest, gift_id: int) -> HttpResponse:
    try:
        gifts.gift_revoke(giver=request.user, gift_id=gift_id)
        messages.success(request, "The gift link no longer works.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("reports:gift_list")


@require_safe
def gift_open(request: HttpRequest, token: str) -> HttpResponse:
    try:
        gift = gifts.gift_open(token=token)
    except ApplicationError as error:
        response = render(request, "reports/gift_invalid.html", {"error": error.message},
                          status=error.status)  # fmt: skip
        add_never_cache_headers(response)
        return response
    report = (
        Report.objects.select_related("author").prefetch_related("topics").get(pk=gift.report_id)
    )
    response = render(
        request,
        "reports/report_detail.html",
        {
            "report": report,
            "teaser_html": teaser_html(report.teaser),
            "body_html": render_markdown(report.body),
            "gift": gift,
            # The gift opens the body only: the discussion stays for subscribers.
            "entitled": False,
            "can_post": False,
            "parts": report_page_parts(report=report, body_included=False),
            "reading_mark": mark_url(report_id=report.pk, kind="gift"),
        },
    )
    # Never stored by a shared cache, never indexed: the page carries paid text.
    patch_cache_control(response, private=True, no_store=True, max_age=0)
    response["X-Robots-Tag"] = "noindex"
    return response
