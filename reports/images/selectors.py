"""Reads of the image library."""

from collections.abc import Iterable
from dataclasses import dataclass

from reports.models import ReportImage


@dataclass(frozen=True)
class LibraryImage:
    """What rendering needs of a library image."""

    alt: str
    caption: str
    renditions: dict


def library_images(ids: Iterable[int]) -> dict[int, LibraryImage]:
    """The library images of these ids, in one query; ids the library lacks are absent."""
    rows = ReportImage.objects.filter(pk__in=list(ids)).values_list(
        "pk", "alt", "caption", "renditions"
    )
    return {pk: LibraryImage(alt, caption, renditions) for pk, alt, caption, renditions in rows}
