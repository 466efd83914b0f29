"""The reader card: what the shared entitled report page (reports/entitled_page.py) needs to
know about a logged-in reader, kept in the cache so that serving them costs no query.

A card says whose session it belongs to (the session hash Django checks on every request,
so a changed password ends the card with the sessions), whether the reader may read every
report under the one rule (reports/access.py) and may comment, the seat their reads count
against, and how the header names them. Only readers who are neither staff nor inactive get
one.

It is always computed from the database by a request that went through Django (the report
page's own view), and stored with the reader's generation (accounts/readers.py), which every
change of their membership, seat, organisation or account retires. A card is also never
kept past the next moment its answer could change by the clock alone (a period's end, a
grace, an invoice's terms, a comment ban's end) nor past CARD_SECONDS.
"""

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone
from django.utils.html import escape

from accounts.membership import access_changes_at
from accounts.models import User
from accounts.readers import new_reader_generation, reader_generation_key
from publisher.cache.generations import CACHE_ERRORS
from reports.access import is_entitled_reader
from reports.comments.services import comment_ban_for
from reports.counting.marks import seat_reading

CARD_SECONDS = 300
# Changed with what a card holds, so that a release never reads another's cards.
CARD_LAYOUT = 1


@dataclass(frozen=True)
class ReaderCard:
    user_id: int
    session_hash: str
    name_html: str  # the header's name, escaped
    entitled: bool
    may_comment: bool
    seat: tuple[int, int] | None  # (organisation id, user id) when reads count against a seat
    valid_until: float  # a timestamp


def reader_card_key(user_id: int) -> str:
    return f"reader:card:{CARD_LAYOUT}:{user_id}"


def reader_card_compute(*, user: User, now: datetime | None = None) -> ReaderCard | None:
    """The card of a logged-in reader, from the database; None for staff and inactive
    accounts, whose pages are always rendered for them alone."""
    if not user.is_authenticated or user.is_staff or not user.is_active:
        return None
    now = now or timezone.now()
    ban = comment_ban_for(user, now=now)
    ends = [now + timedelta(seconds=CARD_SECONDS), access_changes_at(user, now=now)]
    if ban is not None and ban.until is not None:
        ends.append(ban.until)
    entitled = is_entitled_reader(user, now=now)
    return ReaderCard(
        user_id=user.pk,
        session_hash=user.get_session_auth_hash(),
        name_html=str(escape(user.get_short_name())),
        entitled=entitled,
        may_comment=ban is None,
        seat=seat_reading(user, body_shown=entitled),
        valid_until=min(end for end in ends if end is not None).timestamp(),
    )


def _reader_generation(user_id: int) -> str | None:
    """The reader's current generation, a first one if there is none; None without a cache."""
    key = reader_generation_key(user_id)
    try:
        generation = cache.get(key)
        if generation is None:
            cache.add(key, new_reader_generation(), timeout=None)
            generation = cache.get(key)
    except CACHE_ERRORS:
        return None
    return generation


def reader_card_current(entry: object, generation: object, *, now: float) -> ReaderCard | None:
    """The card in a cache entry, if it was stored under the reader's current generation
    and is still within its time."""
    if not isinstance(entry, tuple) or len(entry) != 2 or generation is None:
        return None
    stored_generation, card = entry
    if stored_generation != generation or not isinstance(card, ReaderCard):
        return None
    return card if now < card.valid_until else None


def reader_card_refresh(*, user: User) -> ReaderCard | None:
    """Compute the reader's card from the database and keep it for the requests after,
    under the generation read ahead of the rows: a change committed in
    between has bumped it, and retires this card at once."""
    generation = _reader_generation(user.pk)
    card = reader_card_compute(user=user)
    if card is not None and generation is not None:
        timeout = max(1, int(card.valid_until - timezone.now().timestamp()))
        with suppress(*CACHE_ERRORS):
            cache.set(reader_card_key(card.user_id), (generation, card), timeout=timeout)
    return card
