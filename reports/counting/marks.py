"""The reading mark: a same-origin 1x1 image on each report page that counts its view.

Why an image rather than counting in the view: anonymous report pages are answered from
three caches that never run the view (the page cache in Django's middleware, the WSGI front
in front of Django's handler, nginx's proxy cache, or a CDN in its place). The page's HTML is
the same for every anonymous reader, and so is the mark in it; the browser requests the
mark on every view, from whichever cache the page came, and only that request counts, so a
view is counted once whatever served it. The mark needs no JavaScript and no cookie, and the
CSP's `img-src 'self'` allows it.

Its address names the report and how the access rule served it (`READ_KINDS`), signed so
that nobody can invent counts for another report or kind. For a reader who read the body
through an organisation's seat it also names the seat holder (organisation and user), so
the organisation's team page can show reads per member per month: such a page is rendered
for that reader alone (logged-in pages are never shared), so the mark in it is theirs.

What readers not counted have in common (documented in reports/README.md): images off or
the mark blocked, a page kept in the back/forward cache, and every request below.
"""

from typing import NamedTuple

from crawleruseragents import is_crawler
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

from accounts.membership import membership_for, membership_grants_access, seat_for
from publisher.ids import parse_id

# What one view of a report page adds, by how the access rule served it.
READ_KINDS: dict[str, tuple[str, ...]] = {
    # The body was shown: a member, a seat, staff, or anyone on a free report.
    "entitled": ("entitled_reads",),
    # The teaser and the paywall were shown to a reader who may not read the body.
    "paywall": ("public_reads", "paywall_views"),
    # A gift link opened the body of its one report.
    "gift": ("entitled_reads", "gifts_opened"),
}

_signer = signing.Signer(salt="reports.counting.mark")

# Longer user agents are not a browser's; a bound also bounds the pattern matching.
_MAX_USER_AGENT = 512


def read_kind(*, body_shown: bool, gift: bool = False) -> str:
    if gift:
        return "gift"
    return "entitled" if body_shown else "paywall"


class Mark(NamedTuple):
    report_id: int
    kind: str
    # (organisation id, user id) of a seat holder who read through the seat, else None.
    seat: tuple[int, int] | None = None


def seat_reading(reader: object, *, body_shown: bool) -> tuple[int, int] | None:
    """(organisation id, user id) when `reader` was shown a body through an organisation's
    seat: a seat holder whose licence is paid, who is neither staff nor a subscriber in
    their own right (those reads are not the licence's, and a seat whose holder pays for
    themselves is one the buyer may reclaim). Costs no query on a report page: the page's
    own access check and header load the membership and the seat anyway."""
    if not body_shown or not getattr(reader, "is_authenticated", False):
        return None
    if getattr(reader, "is_staff", False) or membership_grants_access(membership_for(reader)):
        return None
    seat = seat_for(reader)
    if seat is None or not membership_grants_access(seat.organisation):
        return None
    return seat.organisation_id, seat.user_id


def mark_url(*, report_id: int, kind: str, seat: tuple[int, int] | None = None) -> str:
    """The mark's address for one report and kind: the same for every reader served alike,
    so a page shared by anonymous readers stays one cache entry. Only a page rendered for
    one seat holder (`seat_reading`) names them."""
    if kind not in READ_KINDS:
        raise ValueError(f"unknown read kind {kind!r}")
    value = f"{report_id}.{kind}"
    if seat is not None:
        value += f".{seat[0]}.{seat[1]}"
    token = _signer.sign(value)
    return reverse("reports:reading_mark", kwargs={"token": token})


def mark_read(token: str) -> Mark | None:
    """The report, kind and seat holder a mark's token names, or None for a token we did
    not sign."""
    try:
        value = _signer.unsign(token)
    except signing.BadSignature:
        return None
    parts = value.split(".")
    if len(parts) not in (2, 4):
        return None
    report_id = parse_id(parts[0])
    kind = parts[1]
    if report_id is None or kind not in READ_KINDS:
        return None
    if len(parts) == 2:
        return Mark(report_id, kind)
    organisation_id, user_id = parse_id(parts[2]), parse_id(parts[3])
    if organisation_id is None or user_id is None:
        return None
    return Mark(report_id, kind, (organisation_id, user_id))


# Browsers say a request is speculative (a prefetch or a prerender the reader may never
# look at) in one of these headers.
_PURPOSE_HEADERS = ("HTTP_SEC_PURPOSE", "HTTP_PURPOSE", "HTTP_X_PURPOSE", "HTTP_X_MOZ")


def request_is_countable(request: HttpRequest) -> bool:
    """A person's browser showing the page: a GET (HEAD is how checkers and bots look), not
    speculative, from a user agent that is not a known crawler (the list kept by the
    `crawler-user-agents` project, which also names headless browsers and HTTP libraries)."""
    if request.method != "GET":
        return False
    if any("prefetch" in request.META.get(name, "").lower() for name in _PURPOSE_HEADERS):
        return False
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    if not user_agent or len(user_agent) > _MAX_USER_AGENT:
        return False
    return not is_crawler(user_agent)
