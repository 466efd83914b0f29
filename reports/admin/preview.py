"""The admin's live preview: the report's text as an anonymous reader and as a subscriber
would see it, rendered by the same template partial, Markdown pipeline and access rule as
the report page, each as a whole document in the site's own stylesheet, under its title and
cover. The admin shows them in sandboxed frames (`srcdoc`), so the site's styles never meet
the admin's and nothing inside runs a script. Nothing is saved."""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.template.loader import render_to_string

from accounts.models import Membership, User
from reports.access import Reader
from reports.models import Report
from reports.paywall import paywall_highlights, report_count_body
from reports.rendering import render_markdown
from reports.selectors import body_html_for_reader

PREVIEW_TEMPLATE = "admin/reports/report/preview_document.html"


@dataclass(frozen=True)
class PreviewCover:
    url: str = ""
    alt: str = ""
    width: int | None = None
    height: int | None = None


def preview_cover(*, saved: Report | None, alt: str | None = None) -> PreviewCover:
    """The saved cover of the report being edited (a newly chosen file is shown by the
    admin's script, from the editor's own disk), with the alt text being typed."""
    if saved is None or not saved.cover_image:
        return PreviewCover(alt=alt or "")
    return PreviewCover(
        url=saved.cover_image.url,
        alt=saved.cover_alt if alt is None else alt,
        width=saved.cover_width,
        height=saved.cover_height,
    )


def preview_subscriber() -> User:
    """An unsaved reader whose (unsaved) membership is active: a subscriber, as the access
    rule sees one, without touching the database."""
    reader = User(email="subscriber@preview.invalid", display_name="Preview subscriber")
    reader.membership = Membership(status=Membership.Status.ACTIVE)
    return reader


def report_preview_html(
    *, request: HttpRequest | None, report: Report, cover: PreviewCover | None = None
) -> dict[str, str]:
    readers: dict[str, Reader] = {"anonymous": AnonymousUser(), "subscriber": preview_subscriber()}
    teaser_html = render_markdown(report.teaser)
    # The paywall's numbers, counted from the text being edited as report_save will count them.
    report_count_body(report=report)
    highlights = paywall_highlights(report=report)
    return {
        name: render_to_string(
            PREVIEW_TEMPLATE,
            {
                "report": report,
                "user": reader,
                "teaser_html": teaser_html,
                "body_html": body_html_for_reader(report=report, reader=reader, body=report.body),
                "paywall_highlights": highlights,
                "cover": cover or PreviewCover(),
            },
            request=request,
        )
        for name, reader in readers.items()
    }
