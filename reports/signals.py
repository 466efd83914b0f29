"""Receivers for changes made in `accounts`, which may not import `reports`: an author's new
display name or a deleted account changes the names search finds reports by, and a new name,
bio or portrait changes the pages that show the author. The rules live in
`reports.search_index` and `publisher.cache`; these receivers only call them."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import User
from publisher.cache.generations import page_cache_invalidate_all, page_cache_retire_report
from reports.models import Report
from reports.search_index import reports_refresh_search_names

# What an author's page, bylines and cards show of the account.
AUTHOR_PUBLIC_FIELDS = frozenset({"display_name", "bio", "portrait"})


@receiver(post_save, sender=User)
def author_saved(sender: type[User], instance: User, update_fields=None, **kwargs) -> None:
    if update_fields is not None and not AUTHOR_PUBLIC_FIELDS & set(update_fields):
        return  # a login, a password change: nothing readers see
    if not instance.slug:
        return  # never an author (report_save gives every author a slug)
    if update_fields is None or "display_name" in update_fields:
        reports_refresh_search_names(reports=Report.objects.filter(author_id=instance.pk))
    # Report headers and cards carry the author's name and portrait on every listing.
    page_cache_invalidate_all()


@receiver(post_delete, sender=User)
def author_deleted(sender: type[User], instance: User, **kwargs) -> None:
    if not instance.slug:
        return
    # The account's reports lost their author (SET_NULL) before this runs; they are no
    # longer found by the deleted person's name.
    reports_refresh_search_names(reports=Report.objects.filter(author__isnull=True))


@receiver(post_save, sender=Report)
def report_row_saved(sender: type[Report], instance: Report, **kwargs) -> None:
    """Any save of a report retires what Django's cache holds of its own page (the shared
    page of entitled readers among it: reports/entitled_page.py), even a save that bypassed
    the publishing services, which also retire the lists showing it and purge nginx and the
    CDN."""
    page_cache_retire_report(slug=instance.slug)
