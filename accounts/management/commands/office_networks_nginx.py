from argparse import ArgumentParser

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.organisations.networks import office_networks_write_nginx


class Command(BaseCommand):
    help = (
        "Write the office networks for nginx's geo block (OFFICE_NETWORKS_NGINX_FILE) from the "
        "database, then run OFFICE_NETWORKS_NGINX_RELOAD: at deploy, before nginx starts."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--no-reload", action="store_true", help="Write the file only (nginx not running)."
        )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.OFFICE_NETWORKS_NGINX_FILE:
            raise CommandError("OFFICE_NETWORKS_NGINX_FILE is not set: no file to write.")
        office_networks_write_nginx(reload=not options["no_reload"])
        self.stdout.write(f"Wrote {settings.OFFICE_NETWORKS_NGINX_FILE}.")
