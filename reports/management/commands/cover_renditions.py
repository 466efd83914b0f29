"""Render the renditions of covers stored before the site made them: saving a report does
it for a new cover, this does it for every cover that has none, once, after deploying."""

from django.core.management.base import BaseCommand

from publisher.progress import ProgressBar
from reports.images.services import report_render_cover, reports_missing_cover_renditions


class Command(BaseCommand):
    help = "Render WebP and JPEG/PNG renditions of every report cover that has none."

    def handle(self, *args: object, **options: object) -> None:
        reports = reports_missing_cover_renditions()
        progress = ProgressBar(self.stdout, "Cover renditions", len(reports))
        rendered = 0
        for report in reports:
            rendered += report_render_cover(report=report)
            progress.advance(1)
        self.stdout.write(self.style.SUCCESS(f"Rendered the covers of {rendered} report(s)."))
