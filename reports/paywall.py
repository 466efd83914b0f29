"""What the paywall tells a reader who may not read a report: how much the full report holds.

Only numbers reach that reader: the reading time of the body, its tables, figures and
videos (counted once per version of the text, when `report_save` writes it), the video's
running time an editor entered, and the comment count everyone already sees. Never a word
of the body, and nothing rendered from it.
"""

from dataclasses import dataclass
from math import ceil

from reports.models import Report
from reports.rendering import body_figures

# A careful reading pace for measured, table-heavy text (general prose runs 230-250).
WORDS_PER_MINUTE = 200


@dataclass(frozen=True)
class Highlight:
    figure: str  # shown strong: "12-minute", "3"
    label: str  # "read", "tables"


def report_count_body(*, report: Report) -> None:
    """Count what the report's body holds onto the report (saved by the caller)."""
    counted = body_figures(report.body)
    report.body_words = counted.words
    report.body_tables = counted.tables
    report.body_figures = counted.figures
    report.body_videos = counted.videos


def _plural(count: int, word: str) -> Highlight:
    return Highlight(str(count), word if count == 1 else f"{word}s")


def paywall_highlights(*, report: Report) -> list[Highlight]:
    """The paywall's list, from the counts stored with the report: nothing it lacks."""
    highlights = []
    if report.body_words:
        highlights.append(Highlight(f"{ceil(report.body_words / WORDS_PER_MINUTE)}-minute", "read"))
    if report.body_tables:
        highlights.append(_plural(report.body_tables, "table"))
    if report.body_figures:
        highlights.append(_plural(report.body_figures, "figure"))
    if report.body_videos == 1 and report.video_minutes:
        highlights.append(Highlight(f"{report.video_minutes}-minute", "video"))
    elif report.body_videos and report.video_minutes:
        minutes = f"{report.video_minutes} minute{'s' if report.video_minutes > 1 else ''}"
        highlights.append(Highlight(str(report.body_videos), f"videos, {minutes} in all"))
    elif report.body_videos:
        highlights.append(_plural(report.body_videos, "video"))
    if report.comment_count:
        comments = "comment" if report.comment_count == 1 else "comments"
        highlights.append(Highlight(str(report.comment_count), f"{comments} from subscribers"))
    return highlights
