"""Recording revisions. `report_save` and publishing call `revision_record` inside their own
transaction, so a report's row and its history never disagree."""

from datetime import datetime

from accounts.models import User
from reports.models import Report, ReportRevision


def revision_record(
    *, report: Report, saved_by: User | None, note: str = "", at: datetime
) -> ReportRevision | None:
    """Keep the report's text as just saved. `note`, when given, is the public note of an
    update or correction; without one the save is a silent edit, kept but never listed.

    A save that changed none of the text and carries no note is no new version (the admin's
    "Save" pressed twice, the demo loader run again): nothing is recorded, and None returned.
    """
    latest = (
        ReportRevision.objects.filter(report=report)
        .order_by("-saved_at", "-id")
        .only("title", "teaser", "body")
        .first()
    )
    unchanged = latest is not None and (latest.title, latest.teaser, latest.body) == (
        report.title,
        report.teaser,
        report.body,
    )
    if unchanged and not note:
        return None
    return ReportRevision.objects.create(
        report=report,
        saved_at=at,
        saved_by=saved_by,
        title=report.title,
        teaser=report.teaser,
        body=report.body,
        note=note,
        is_public=bool(note),
    )
