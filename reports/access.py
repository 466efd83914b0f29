"""The one access rule: who may read a report's body and its comments.

Every surface that could show subscriber-only text asks `can_read_body` before it renders
anything, so a template never receives text its reader is not entitled to.
"""

from datetime import datetime
from typing import Protocol

from django.utils import timezone

from accounts.membership import membership_for, membership_grants_access, seat_grants_access
from accounts.models import Organisation
from accounts.organisations.networks import OfficeNetwork
from reports.models import GiftLink, Report


class Reader(Protocol):
    """A logged-in user or Django's AnonymousUser (read-only attributes, as on both)."""

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def is_staff(self) -> bool: ...


def can_read_body(
    reader: Reader,
    report: Report,
    *,
    now: datetime | None = None,
    network: OfficeNetwork | None = None,
) -> bool:
    # Search (reports/search.py) applies this rule to whole result sets in SQL: free
    # reports' bodies for everyone, every body for an entitled reader. A new reason that
    # grants one report's body to a reader must be taught to it too.
    return report.is_free or is_entitled_reader(reader, now=now, network=network)


def is_entitled_reader(
    reader: Reader, *, now: datetime | None = None, network: OfficeNetwork | None = None
) -> bool:
    """True when the reader may read every paid report: staff, a subscriber, the holder of a
    seat in an organisation whose licence is paid (by card, or by invoice while its invoice
    is paid or open within its terms and the grace days: `accounts.membership`), or anyone
    (logged in or not) arriving from an office range of such an organisation.

    `network` is the request's network facts (accounts.organisations.networks, from the
    client address under the trusted-proxy rule); surfaces that are not a request from a
    reader's browser (emails, comments, a gift's giver) pass none. Comments never take it:
    reading and writing them stays a personal account's right."""
    if office_licence(network, now=now) is not None:
        return True
    if not reader.is_authenticated:
        return False
    return (
        reader.is_staff
        or membership_grants_access(membership_for(reader), now=now)
        or seat_grants_access(reader, now=now)
    )


def office_licence(
    network: OfficeNetwork | None, *, now: datetime | None = None
) -> Organisation | None:
    """The organisation under whose licence a request from `network` reads: one whose office
    range holds the client address and whose licence is paid now. None otherwise."""
    if network is None:
        return None
    organisation = network.organisation
    return organisation if membership_grants_access(organisation, now=now) else None


def gift_unlocks_body(gift: GiftLink, report: Report, *, now: datetime | None = None) -> bool:
    """A gift link opens the body of exactly the report it was made for, while it is neither
    revoked nor expired and its giver still has paid access. It never opens comments, other
    reports, feeds or search: only the gift page asks this."""
    now = now or timezone.now()
    return (
        gift.report_id == report.pk
        and report.is_published
        and gift.revoked_at is None
        and gift.expires_at > now
        and is_entitled_reader(gift.giver, now=now)
    )
