from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from publisher.cache.pages import cached_public_page
from publisher.site import site_url
from reports.models import SitePage
from reports.rendering import markdown_text, render_markdown
from reports.sharing import listing_json_ld, shorten


@require_safe
@cached_public_page()
def site_page(request: HttpRequest, slug: str) -> HttpResponse:
    page = SitePage.objects.filter(slug=slug).first()
    if page is None:
        raise Http404("No such page.")
    body_html = render_markdown(page.body)
    return render(
        request,
        "reports/site_page.html",
        {
            "page": page,
            "body_html": body_html,
            "sharing": listing_json_ld(
                title=page.title,
                description=shorten(markdown_text(page.body)),
                url=site_url(page.get_absolute_url()),
                schema_type="WebPage",
            ),
        },
    )
