"""Receivers for changes made in `accounts`, which may not import `reports`: an author's new
display name or a deleted account changes the names search finds reports by. The rule lives
in `reports.search_index`; these receivers only call it."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import User
from reports.models import Report
from reports.search_index import reports_refresh_search_names


@receiver(post_save, sender=User)
def author_saved(sender: type[User], instance: User, update_fields=None, **kwargs) -> None:
    if update_fields is not None and "display_name" not in update_fields:
        return  # a login, a password change: nothing search shows
    if not instance.slug:
        return  # never an author (report_save gives every author a slug)
    reports_refresh_search_names(reports=Report.objects.filter(author_id=instance.pk))


@receiver(post_delete, sender=User)
def author_deleted(sender: type[User], instance: User, **kwargs) -> None:
    if not instance.slug:
        return
    # The account's reports lost their author (SET_NULL) before this runs; they are no
    # longer found by the deleted person's name.
    reports_refresh_search_names(reports=Report.objects.filter(author__isnull=True))
