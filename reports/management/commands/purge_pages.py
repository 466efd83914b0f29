"""Forget cached pages by hand: after a release that changes what pages look like (their
templates, their stylesheet's hashed name), which no content change purges; or, with keys,
just the pages carrying them at the CDN."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from publisher.cache.cdn import (
    KEY_PATTERN,
    PAGES_KEY,
    PurgeFailed,
    cdn_purge_configured,
    cdn_purge_keys,
)
from publisher.cache.generations import page_cache_invalidate_all


class Command(BaseCommand):
    help = (
        "Forget every cached page (Django's page cache, nginx and the CDN), or with keys "
        "only the CDN's pages carrying them (e.g. report-42 topic-3)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("keys", nargs="*", help="surrogate keys to purge at the CDN")

    def handle(self, *args: object, **options: object) -> None:
        keys = list(options["keys"])  # type: ignore[call-overload]
        bad = [key for key in keys if not KEY_PATTERN.fullmatch(key)]
        if bad:
            raise CommandError(f"Not a surrogate key: {bad[0]!r} (letters, digits and dashes).")
        if keys and not cdn_purge_configured():
            raise CommandError("CDN_PURGE_URL is not set: there is no CDN to purge keys at.")
        if not keys:
            # Django's cache and nginx here; the CDN below, waiting for its answer.
            page_cache_invalidate_all(cdn_keys=lambda: [])
            keys = [PAGES_KEY]
            self.stdout.write("Retired every page in Django's page cache and nginx.")
        if not cdn_purge_configured():
            return
        try:
            calls = cdn_purge_keys(keys=keys)
        except PurgeFailed as failure:
            raise CommandError(f"The CDN did not purge: {failure}") from failure
        self.stdout.write(
            self.style.SUCCESS(f"Purged {len(keys)} key(s) at the CDN in {calls} call(s).")
        )
