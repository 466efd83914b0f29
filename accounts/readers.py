"""Reader generations: what retires everything cached about one reader's access.

Whatever is kept in the cache about a logged-in reader (the reader card of
`reports.reader_cards`: whether they may read every report, may comment, hold a seat) is
stored with their generation token and used only while it is current. Every write that can
change what a reader may do bumps it: their membership (the Stripe webhook handler, the
local checkout, reconciliation), their seat (joining, removal, SSO), their organisation's
licence (every seat holder at once), their account (password, staff, active). The receivers
at the bottom catch each of those writes through the models' signals, wherever they come
from, so no service can forget; a service that writes with `QuerySet.update()` must call
`readers_changed` itself.

Like the page-cache generations (publisher/cache/generations.py) a token is bumped at once and
again after commit: a card computed by another request from the rows as they were before the
commit was stored under the first bump, and the second retires it.
"""

import logging
import secrets
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Membership, Organisation, OrganisationMember, User
from publisher.cache.generations import CACHE_ERRORS

logger = logging.getLogger(__name__)

_PREFIX = "reader:gen:"


def reader_generation_key(user_id: int) -> str:
    return f"{_PREFIX}{user_id}"


def new_reader_generation() -> str:
    return secrets.token_hex(8)


def _bump(user_ids: list[int]) -> None:
    if not user_ids:
        return
    try:
        cache.set_many(
            {reader_generation_key(user_id): new_reader_generation() for user_id in user_ids},
            timeout=None,
        )
    except CACHE_ERRORS:
        # The cards then live out their own short lifetime (reports.reader_cards).
        logger.warning("Could not retire cached reader cards", exc_info=True)


def readers_changed(*, user_ids: Iterable[int]) -> None:
    """Retire what the cache holds about these readers' access, now and after commit."""
    ids = sorted(set(user_ids))
    _bump(ids)
    transaction.on_commit(lambda: _bump(ids))


def organisation_readers_changed(*, organisation_id: int) -> None:
    """An organisation's licence changed: every seat holder's access may have."""
    readers_changed(
        user_ids=OrganisationMember.objects.filter(organisation_id=organisation_id).values_list(
            "user_id", flat=True
        )
    )


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def _membership_changed(sender: type, instance: Membership, **kwargs: object) -> None:
    readers_changed(user_ids=[instance.user_id])


@receiver(post_save, sender=OrganisationMember)
@receiver(post_delete, sender=OrganisationMember)
def _seat_changed(sender: type, instance: OrganisationMember, **kwargs: object) -> None:
    readers_changed(user_ids=[instance.user_id])


@receiver(post_save, sender=Organisation)
def _organisation_changed(sender: type, instance: Organisation, **kwargs: object) -> None:
    organisation_readers_changed(organisation_id=instance.pk)


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def _account_changed(sender: type, instance: User, **kwargs: object) -> None:
    # A new password, name, staff flag or a deactivation: the card holds all of them.
    readers_changed(user_ids=[instance.pk])
