"""The report page and the search page of entitled readers, rendered once and shared by all
of them.

What a reader who may read every report sees of a published report is the same for all such
readers who are not staff, except for a few parts: the header's name, the CSRF token in the
page's forms, the reading mark (which names a seat holder: reports/counting/marks.py), flash
messages, and the actions under each comment (the reader's own comments or everyone
else's, as in the shared comment thread: reports/comments/thread_cache.py). So the page is
rendered with markers in those places, split at them into pieces, and kept in the cache,
one entry per report and comment form (a reader barred from commenting sees none), under
the report's page-cache generations: an edit, a publish or a comment retires it at once. It
is kept for the comment thread's minute, so relative times ("5 minutes ago") are no staler
than the thread's; once due, one request renders it again while the others keep getting it
(PAGE_GRACE_SECONDS). Each request joins the pieces with its own parts: string joins, no
template.

The search page is shared the same way, one entry per query string under the site's
generation (any report's change retires it): a search answers every entitled reader alike
(reports/search.py), and its page has no comments and no reading mark.

The entry lives only in the server-side cache, under a key no URL names; nginx, a CDN and
browsers are told `private, no-store` as for every logged-in page. It is given only to a
request whose reader card (reports/reader_cards.py) says that reader may read every report
now, and whose session is the card's. Readers it does not fit are each rendered by the
view for themselves alone: staff, anyone not entitled, a reader reading through an office
network (the header names the licence), the author of a hidden comment (who sees it), the
no-JavaScript reply form (`?reply=`), editors' previews.

Two ways in:

- The report view (reports/views/pages.py) and the search view (reports/views/search.py),
  for every request Django handles: each decides from the database (and refreshes the
  reader's card), renders the shared page when the cache has none, and attaches it to its
  response; `EntitledPageMiddleware`, second in MIDDLEWARE, stores it with the response's
  final headers (security headers, CSP, `Cache-Control`), which a hit repeats.
- `entitled_page_answer`: a hit without Django's request handling. The WSGI front
  (publisher/cache/wsgi.py, PAGE_CACHE_FRONT_ANSWERS) asks it before Django's handler, and
  `EntitledPageMiddleware` for every other way in (the test client, runserver). It reads
  the session from the cache (the `cached_db` engine keeps every session there), then the
  card, its generation and the page's stamp in one more round trip: no query at all. The
  page itself is read only when this process does not hold the one the stamp names. It
  answers only when Django's own path would do nothing else for the request: no flash message, a
  session holding nothing but the sign-in's keys, a well-formed CSRF cookie, nothing for the
  session's last-seen record to write (accounts.sessions.services), the same host and
  HTTPS checks. Anything else goes to Django's full request handling.
"""

import dataclasses
import hashlib
import re
import secrets
import threading
from collections.abc import Callable
from functools import cache, lru_cache
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.html import escape
from django.utils.module_loading import import_string

from accounts.readers import reader_generation_key
from accounts.sessions.services import TRACKED_SESSION_KEY, session_seen_key
from publisher.cache.generations import (
    CACHE_ERRORS,
    generations_settled,
    versioned_get,
    versioned_get_many,
    versioned_get_many_with,
    versioned_set,
)
from publisher.csrf import csrf_token_for_secret
from publisher.replica import reading_from_replica
from reports.comments.thread_cache import FRAGMENT_SECONDS
from reports.counting.marks import mark_url
from reports.reader_cards import ReaderCard, reader_card_current, reader_card_key

TEMPLATE = "reports/report_detail.html"
PAGE_SECONDS = FRAGMENT_SECONDS
# How long past PAGE_SECONDS a page is still given while one request renders its successor:
# its generations still say it is current (only its relative times age), and the readers of
# a busy report do not all render it at once.
PAGE_GRACE_SECONDS = 30
# Changed with what an entry holds, so that a release never reads another's entries.
PAGE_LAYOUT = 3
# What a session may hold for its page to be served without Django: the sign-in's own keys.
# Anything else (a flash message kept in the session, allauth's half-finished flows, the
# office-network marker) is something Django's path would act on or show.
SIGN_IN_SESSION_KEYS = frozenset(
    {
        SESSION_KEY,
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        TRACKED_SESSION_KEY,
        # When it expires (a sign-in without "Remember me" ends with the browser): read only
        # when the session is saved, which a hit never does.
        "_session_expiry",
        # allauth's record of how the reader signed in, for reauthentication.
        "account_authentication_methods",
        "account_authentication_methods_user",
    }
)
# Where the response's headers are attached for the middleware, and a request's answer kept.
_ATTACHED = "entitled_page"
_ANSWER_META = "reports.entitled_page_answer"
_NO_ANSWER = "none"

# The markers rendered where the personal parts go. Random per process: no report or
# comment text can contain them, and entries hold pieces, never markers.
_TOKEN = secrets.token_hex(8)
_PARTS = ("name", "csrf", "mark", "messages", "thread")
MARKS = {part: f"\x00{_TOKEN}:{part}\x00" for part in _PARTS}
_MARK_PATTERN = re.compile(f"\x00{_TOKEN}:({'|'.join(_PARTS)})\x00")


@dataclasses.dataclass(frozen=True)
class Shared:
    """Which shared page: its name in the cache's keys, the report whose generation guards
    it besides the site's (None for the search page, which any report's change retires
    through the site's), and its variant (None: the reader's card decides)."""

    name: str
    report_slug: str | None
    variant: str | None = None

    def variant_for(self, card: ReaderCard) -> str:
        if self.variant is not None:
            return self.variant
        return "posting" if card.may_comment else "reading"


def report_shared(slug: str) -> Shared:
    return Shared(name=slug, report_slug=slug)


def search_shared(request: HttpRequest) -> Shared:
    """The search page of this query string: the same for every entitled reader (its only
    form is a GET), whether or not they may comment."""
    return Shared(name=f"search:{search_query_digest(request)}", report_slug=None, variant="search")


def search_query_digest(request: HttpRequest) -> str:
    """The query string in a fixed order, hashed: what a search's cached parts are named by."""
    query = "&".join(sorted(request.GET.urlencode().split("&")))
    return hashlib.sha256(query.encode()).hexdigest()[:40]


def entitled_page_key(name: str, *, variant: str) -> str:
    return f"entitled-page:{PAGE_LAYOUT}:{name}:{variant}"


def entitled_page_stamp_key(name: str, *, variant: str) -> str:
    """Where the stamp of the stored page is kept: a few bytes a hit reads instead of the
    page itself when its process already holds that page (`_held_page`)."""
    return f"entitled-page-stamp:{PAGE_LAYOUT}:{name}:{variant}"


# Pieces: literal HTML (UTF-8) at even positions; at odd ones a personal part's name, or for
# a comment (author id, the actions its author sees, the actions everyone else sees).
Piece = bytes | str | tuple[str, bytes, bytes]


@dataclasses.dataclass(frozen=True)
class SharedPage:
    report_id: int | None  # None: not a report's page (the search page)
    pieces: tuple[Piece, ...]
    hidden_authors: frozenset[int]
    headers: tuple[tuple[str, str], ...] = ()
    # The reading mark's address for readers without a seat, escaped.
    mark: str = ""
    # Drawn afresh for every stored page, and stored beside it (entitled_page_stamp_key).
    stamp: str = ""
    # When it is due to be rendered again (a timestamp): PAGE_SECONDS after it was stored.
    fresh_until: float = 0.0


def entitled_page_cached(*, shared: Shared, variant: str) -> tuple[SharedPage | None, tuple | None]:
    """The shared page in this variant if the cache holds a current one that its stamp
    names (hits join no other), and the generations to store a fresh one under (None
    without a cache)."""
    page_key, stamp_key = (
        entitled_page_key(shared.name, variant=variant),
        entitled_page_stamp_key(shared.name, variant=variant),
    )
    try:
        entries, generations = versioned_get_many([page_key, stamp_key], slug=shared.report_slug)
    except CACHE_ERRORS:
        return None, None
    page = entries[page_key]
    if not isinstance(page, SharedPage) or page.stamp != entries[stamp_key]:
        return None, generations
    if timezone.now().timestamp() >= page.fresh_until:
        return None, generations  # due: this request renders its successor
    return page, generations


# What a page without comments (the search page) gives for the thread.
NO_THREAD: dict[str, list] = {"parts": [""], "hidden_authors": []}


def thread_is_empty(thread: dict[str, list]) -> bool:
    return len(thread["parts"]) == 1 and not thread["parts"][0].strip()


def shared_page_context(*, thread: dict[str, list]) -> dict[str, object]:
    """What the template gets in place of the reader: markers where their parts go, and
    the answers every entitled reader shares."""
    return {
        "user": SharedReader(),
        "reader": SimpleNamespace(entitled=True, office_licence=None, newsletter=None),
        "csrf_token": MARKS["csrf"],
        "messages_html": MARKS["messages"],
        "thread_html": "" if thread_is_empty(thread) else MARKS["thread"],
        "reading_mark": MARKS["mark"],
        "entitled": True,
        "comments_open": True,
    }


class SharedReader:
    """The reader of a shared rendering: logged in, not staff, named by a marker."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    def get_short_name(self) -> str:
        return MARKS["name"]


def shared_page_split(
    html: str, *, report_id: int | None, thread: dict[str, list]
) -> SharedPage | None:
    """The rendered page as pieces, the comment thread's shared parts (thread_cache) in
    place of its marker (a thread without comments has no marker: the page says so
    instead); None when the page is not what the markers promise."""
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]*)"', html)
    if any(token != MARKS["csrf"] for token in tokens):
        return None  # a token other than the marker reached the page: never share it
    # Built as text, encoded once at the end.
    pieces: list[str | tuple[str, str, str]] = []

    def literal(text: str) -> None:
        if len(pieces) % 2 == 1:  # the last piece is a literal: extend it
            pieces[-1] = f"{pieces[-1]}{text}"
        else:
            pieces.append(text)

    def part(piece: str | tuple[str, str, str]) -> None:
        if len(pieces) % 2 == 0:
            pieces.append("")
        pieces.append(piece)

    split = _MARK_PATTERN.split(html)
    if split[1::2].count("thread") != (0 if thread_is_empty(thread) else 1):
        return None
    for index, text in enumerate(split):
        if index % 2 == 0:
            literal(text)
        elif text != "thread":
            part(text)
        else:
            thread_parts = thread["parts"]
            literal(thread_parts[0])
            for at in range(1, len(thread_parts), 4):
                author, own, other, following = thread_parts[at : at + 4]
                part((author, own, other))
                literal(following)
    literal("")
    return SharedPage(
        report_id=report_id,
        pieces=tuple(_encoded(piece, literal=index % 2 == 0) for index, piece in enumerate(pieces)),
        hidden_authors=frozenset(int(author) for author in thread["hidden_authors"]),
        mark=""
        if report_id is None
        else str(escape(mark_url(report_id=report_id, kind="entitled"))),
    )


def _encoded(piece: str | tuple[str, str, str], *, literal: bool) -> Piece:
    """A piece as it is stored: its HTML already encoded, so that joining is bytes alone
    (a part's name stays a name)."""
    if isinstance(piece, tuple):
        author, own, other = piece
        return (author, _utf8(own), _utf8(other))
    return _utf8(piece) if literal else piece


def _utf8(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


def shared_page_join(page: SharedPage, *, card: ReaderCard, parts: dict[str, str]) -> bytes:
    """The page for one reader, encoded: `parts` holds the CSRF token, the reading mark's
    address and the messages' HTML; the name and each comment's actions come from the
    card."""
    me = str(card.user_id)
    personal = {name: value.encode() for name, value in parts.items()}
    personal["name"] = card.name_html.encode()
    out = []
    for index, piece in enumerate(page.pieces):
        if index % 2 == 0:
            out.append(piece)
        elif isinstance(piece, tuple):
            author, own, other = piece
            out.append(own if author == me else other)
        else:
            out.append(personal[piece])  # type: ignore[index]  # a part's name
    return b"".join(out)  # type: ignore[arg-type]  # literals and chosen parts are bytes


def reader_mark(*, page: SharedPage, card: ReaderCard) -> str:
    """The reading mark's address, escaped as the template would: the page's own for every
    reader but a seat holder, whose reads count against the seat."""
    if page.report_id is None or (card.seat is None and page.mark):
        return page.mark
    return str(escape(mark_url(report_id=page.report_id, kind="entitled", seat=card.seat)))


def entitled_page_response(
    request: HttpRequest,
    *,
    page: SharedPage,
    card: ReaderCard,
    shared: Shared,
    generations: tuple | None,
    fresh: bool,
) -> HttpResponse:
    """The view's response from a shared page; a freshly rendered one goes to the cache
    with the response's final headers (`EntitledPageMiddleware`)."""
    storage = get_messages(request)
    messages_html = (
        render_to_string("includes/messages.html", {"messages": storage}) if storage else ""
    )
    body = shared_page_join(
        page,
        card=card,
        parts={
            "csrf": get_token(request),
            "mark": reader_mark(page=page, card=card),
            "messages": messages_html,
        },
    )
    response = HttpResponse(body)
    if fresh and generations is not None:
        setattr(
            response,
            _ATTACHED,
            (shared, shared.variant_for(card), generations, page, reading_from_replica()),
        )  # fmt: skip
    return response


# The hit ------------------------------------------------------------------------------------


@cache
def _session_cache_prefix() -> str | None:
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    # Only engines that keep every session in the cache: the cache and cached_db backends.
    return getattr(store_class, "cache_key_prefix", None)


def _csrf_secret(request: HttpRequest) -> str | None:
    secret = request.COOKIES.get(settings.CSRF_COOKIE_NAME, "")
    if settings.CSRF_USE_SESSIONS or len(secret) != CSRF_SECRET_LENGTH:
        return None
    return secret if all(c in CSRF_ALLOWED_CHARS for c in secret) else None


@lru_cache(maxsize=4096)
def _target(path_info: str) -> tuple[str, str | None] | None:
    """What a path shows of the shared pages: ("report", its slug) or ("search", None), or
    None for any other path (the URL configuration never changes while a process runs)."""
    try:
        match = resolve(path_info)
    except Resolver404:
        return None
    kind = getattr(match.func, "entitled_page", None)
    if kind == "report":
        slug = str(match.kwargs.get("slug", ""))
        return ("report", slug) if slug else None
    return ("search", None) if kind == "search" else None


# Session key -> the user id its session held when this process last read it. Only to ask
# for the session and everything else in one round trip: the session is still read on
# every request and must still name that user.
_SESSION_USERS: dict[str, int] = {}
_SESSION_USERS_LIMIT = 50_000


@cache
def _bypass_checks() -> tuple[Callable[[HttpRequest], bool], ...]:
    return tuple(import_string(path) for path in settings.PAGE_CACHE_BYPASS_CHECKS)


def entitled_page_answer(request: HttpRequest) -> tuple[int, bytes, list] | None:
    """The shared page for this request's reader as (status, body, headers), or None when
    Django must answer (see the module's docstring). Never queries the database."""
    if _ANSWER_META in request.META:
        found = request.META[_ANSWER_META]
        return None if found == _NO_ANSWER else found
    try:
        answer = _answer(request)
    except CACHE_ERRORS:
        answer = None
    request.META[_ANSWER_META] = answer if answer is not None else _NO_ANSWER
    return answer


def _answer(request: HttpRequest) -> tuple[int, bytes, list] | None:
    if request.method not in ("GET", "HEAD"):
        return None
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    # An emptied messages cookie (Django deletes it once shown) holds no message.
    if not session_key or request.COOKIES.get(CookieStorage.cookie_name):
        return None
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        return None
    target = _target(request.path_info)
    secret = _csrf_secret(request)
    if target is None or secret is None or not session_key.isalnum():
        return None
    kind, slug = target
    if kind == "report":
        if "reply" in request.GET:
            return None  # the form under one comment: rendered by Django
        shared, variant = report_shared(str(slug)), "posting"
    else:
        shared = search_shared(request)
        variant = str(shared.variant)
    prefix = _session_cache_prefix()
    if prefix is None:
        return None
    request.get_host()  # ALLOWED_HOSTS is checked on hits too (DisallowedHost: Django answers)
    if any(check(request) for check in _bypass_checks()):
        return None
    now = timezone.now()
    session_cache_key = prefix + session_key
    # One round trip when this process has seen the session (the sessions' cache is the
    # default one), two otherwise: the session first, for its user.
    known = _SESSION_USERS.get(session_key) if settings.SESSION_CACHE_ALIAS == "default" else None
    session = None
    if known is None:
        session = caches[settings.SESSION_CACHE_ALIAS].get(session_cache_key)
        user_id = _signed_in_user(session)
        if user_id is None:
            return None
    else:
        user_id = known
    seen = session_seen_key(request=request, session_key=session_key, now=now)
    card_key, generation_key = reader_card_key(user_id), reader_generation_key(user_id)
    stamp_key = entitled_page_stamp_key(shared.name, variant=variant)
    entries, _, found = versioned_get_many_with(
        [stamp_key],
        slug=shared.report_slug,
        also=[
            card_key,
            generation_key,
            *([seen] if seen else []),
            *([session_cache_key] if known else []),
        ],
    )
    if known is not None:
        session = found.get(session_cache_key)
        if _signed_in_user(session) != known:
            _SESSION_USERS.pop(session_key, None)
            return None
    elif len(_SESSION_USERS) < _SESSION_USERS_LIMIT:
        _SESSION_USERS[session_key] = user_id
    if not isinstance(session, dict):  # cannot be: _signed_in_user read it
        return None
    if session.get(TRACKED_SESSION_KEY) and seen is not None and seen not in found:
        return None  # the session's last-seen record is due: Django writes it
    card = reader_card_current(found.get(card_key), found.get(generation_key), now=now.timestamp())
    if (
        card is None
        or not card.entitled
        or shared.variant_for(card) != variant
        or not constant_time_compare(str(session.get(HASH_SESSION_KEY, "")), card.session_hash)
    ):
        return None
    stamp = entries[stamp_key]
    page = (
        _held_page(shared, variant=variant, stamp=stamp)
        if isinstance(stamp, str) and stamp
        else None
    )
    if page is None or not page.headers or card.user_id in page.hidden_authors:
        return None
    if now.timestamp() >= page.fresh_until and _renders_successor(page):
        return None
    body = shared_page_join(
        page,
        card=card,
        parts={
            "csrf": csrf_token_for_secret(secret),
            "mark": reader_mark(page=page, card=card),
            "messages": "",
        },
    )
    headers = [*page.headers, ("Content-Length", str(len(body))), ("X-Entitled-Page", "hit")]
    return 200, body, headers


# The shared pages this process holds, by key: a hit whose stamp (read with the reader's
# card) names the page held here joins it without reading it again, which is most of what a
# hit would move from the cache and unpickle. At most HELD_BYTES of HTML, the oldest dropped
# first.
_HELD: dict[str, SharedPage] = {}
_HELD_SIZES: dict[str, int] = {}
_HELD_LOCK = threading.Lock()
HELD_BYTES = 32 * 1024 * 1024


def _held_page(shared: Shared, *, variant: str, stamp: str) -> SharedPage | None:
    """The current shared page (the one `stamp` names), from this process if it holds it,
    otherwise from the cache; None when the cache holds no page with that stamp (replaced or
    retired since the stamp was read: Django answers)."""
    key = entitled_page_key(shared.name, variant=variant)
    held = _HELD.get(key)
    if held is not None and held.stamp == stamp:
        return held
    page, _ = versioned_get(key, slug=shared.report_slug)
    if not isinstance(page, SharedPage) or page.stamp != stamp:
        return None
    size = sum(len(piece) for piece in page.pieces[::2])
    with _HELD_LOCK:
        _HELD_SIZES.pop(key, None)
        _HELD.pop(key, None)
        while _HELD and sum(_HELD_SIZES.values()) + size > HELD_BYTES:
            oldest = next(iter(_HELD))
            del _HELD[oldest], _HELD_SIZES[oldest]
        if size <= HELD_BYTES:
            _HELD[key], _HELD_SIZES[key] = page, size
    return page


def _renders_successor(page: SharedPage) -> bool:
    """True for the one request that renders a due page afresh (through Django); the others
    keep getting it meanwhile, for at most PAGE_GRACE_SECONDS."""
    renewal = f"entitled-page-renewal:{page.stamp}"
    return bool(caches["default"].add(renewal, 1, PAGE_GRACE_SECONDS))


def _signed_in_user(session: object) -> int | None:
    """The user id of a session that holds nothing but a sign-in by one of our backends."""
    if not isinstance(session, dict) or not set(session) <= SIGN_IN_SESSION_KEYS:
        return None
    if session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return None
    user_id = str(session.get(SESSION_KEY, ""))
    return int(user_id) if user_id.isdigit() else None


class EntitledPageMiddleware:
    """Answers hits for every way in but the WSGI front, and stores what the view rendered
    afresh, with the response's final headers. Second in MIDDLEWARE, after the anonymous
    page cache: everything below it has set its headers by the time a response comes back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        answer = entitled_page_answer(request)
        if answer is not None:
            status, body, headers = answer
            hit = HttpResponse(body, status=status)
            for name, value in headers:
                hit.headers[name] = value
            return hit
        response = self.get_response(request)
        attached = getattr(response, _ATTACHED, None)
        if attached is not None and response.status_code == 200:
            _store(response, *attached)
        return response


# Headers a hit computes for itself or that describe one response only.
_OWN_HEADERS = {"content-length", "x-entitled-page", "x-page-cache", "set-cookie"}


def _store(
    response: HttpResponseBase,
    shared: Shared,
    variant: str,
    generations: tuple,
    page: SharedPage,
    replica: bool,
) -> None:
    if replica and not generations_settled(generations):
        return  # rendered from a replica that may lack the change behind the generations
    headers = tuple(
        (name, value)
        for name, value in response.headers.items()
        if name.lower() not in _OWN_HEADERS
    )
    if "private" not in response.headers.get("Cache-Control", ""):
        return  # never: a logged-in page is private (publisher/cache/pages.py)
    stored = dataclasses.replace(
        page,
        headers=headers,
        stamp=secrets.token_hex(8),
        fresh_until=timezone.now().timestamp() + PAGE_SECONDS,
    )
    try:
        # The page before its stamp: a hit that reads this stamp finds this page, or a
        # later one (whose stamp differs: Django answers).
        versioned_set(
            entitled_page_key(shared.name, variant=variant),
            stored,
            generations=generations,
            timeout=PAGE_SECONDS + PAGE_GRACE_SECONDS,
        )
        versioned_set(
            entitled_page_stamp_key(shared.name, variant=variant),
            stored.stamp,
            generations=generations,
            timeout=PAGE_SECONDS + PAGE_GRACE_SECONDS,
        )
    except CACHE_ERRORS:
        return
    response.headers["X-Entitled-Page"] = "miss"


def entitled_page_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Mark the report view as the one whose URL `entitled_page_answer` answers."""
    view.entitled_page = "report"  # type: ignore[attr-defined]
    return view


def entitled_search_view(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Mark the search view, whose shared pages `entitled_page_answer` answers too."""
    view.entitled_page = "search"  # type: ignore[attr-defined]
    return view
