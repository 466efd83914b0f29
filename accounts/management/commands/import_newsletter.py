from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.newsletter.importing import (
    MAX_FILE_BYTES,
    OUTCOME_LABELS,
    SKIPPED,
    ConsentMode,
    ImportFileError,
    Outcome,
    SourceFormat,
    newsletter_import,
)
from publisher.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Import newsletter subscribers from a Substack, Mailchimp or Ghost CSV export. "
        "Unsubscribed addresses are never resubscribed; --dry-run changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the exported CSV file")
        parser.add_argument(
            "--format",
            choices=[f.value for f in SourceFormat],
            default=SourceFormat.AUTO.value,
            help="the platform that exported the file (auto: known from its header)",
        )
        parser.add_argument(
            "--consent",
            choices=[c.value for c in ConsentMode],
            required=True,
            help="preserve: keep the source's consent and confirm at once; "
            "confirm: send each new subscriber the double opt-in email",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would happen, change nothing"
        )
        parser.add_argument(
            "--rejected-report",
            type=Path,
            metavar="OUT.csv",
            help="write every row not imported, with its reason, to this CSV file",
        )

    def handle(self, *args: object, **options: Any) -> None:
        path: Path = options["file"]
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise CommandError(
                    f"{path} is {size / 2**20:.1f} MB; at most {MAX_FILE_BYTES // 2**20} MB "
                    "can be imported at once. Split it into smaller files."
                )
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from None
        bar: ProgressBar | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                label = "rows checked" if dry_run else "rows imported"
                bar = ProgressBar(self.stdout, label, total)
            bar.show(done)

        dry_run = bool(options["dry_run"])
        try:
            report = newsletter_import(
                data=data,
                file_name=path.name,
                source_format=SourceFormat(options["format"]),
                consent=ConsentMode(options["consent"]),
                dry_run=dry_run,
                on_progress=progress,
            )
        except ImportFileError as error:
            raise CommandError(str(error)) from None
        if options["rejected_report"]:
            options["rejected_report"].write_text(report.rejected_csv(), encoding="utf-8")
        verb = "Would import" if dry_run else "Imported"
        self.stdout.write(
            f"{verb} {report.imported:,} of {report.total:,} rows "
            f"({report.source_format.value} export, consent: {options['consent']})."
        )
        for outcome in Outcome:
            if outcome != Outcome.IMPORTED and report.counts[outcome]:
                kind = "skipped" if outcome in SKIPPED else "rejected"
                self.stdout.write(
                    f"  {report.counts[outcome]:>7,}  {OUTCOME_LABELS[outcome]} ({kind})"
                )
        if options["rejected_report"]:
            self.stdout.write(f"Rows not imported, with reasons: {options['rejected_report']}")
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")
