"""Writes of the image library and of report covers: every stored picture passes through
`reports.images.processing` first."""

import logging
import re
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from publisher.cache.generations import page_cache_invalidate_all
from reports.images.processing import (
    MAX_BYTES,
    ImageRejected,
    files_delete,
    image_read,
    original_file,
    renditions_store,
)
from reports.models import Report, ReportImage

logger = logging.getLogger(__name__)

# How a body names a library image: `![alt](image:42)` or `![alt](image:42 "caption")`.
IMAGE_REFERENCE = re.compile(r"\]\(\s*image:(\d{1,18})\b")


def _read_upload(file: Any) -> bytes:
    if getattr(file, "size", 0) > MAX_BYTES:
        raise ImageRejected(f"An image may be at most {MAX_BYTES // 2**20} MB.")
    file.seek(0)
    return file.read(MAX_BYTES + 1)


def image_create(*, file: Any, alt: str, caption: str = "", uploaded_by: Any = None) -> ReportImage:
    """Store an uploaded picture in the library, with its renditions.

    Raises `ImageRejected` (nothing stored) for a file that is not a JPEG, PNG or WebP we can
    read, is too large or has too many pixels, or when the alt text is missing."""
    alt = " ".join(alt.split())
    if not alt:
        raise ImageRejected("Describe the image in its alt text.")
    if len(alt) > 300 or len(caption) > 300:
        raise ImageRejected("Alt text and caption may be at most 300 characters each.")
    clean = image_read(_read_upload(file))
    image = ReportImage(alt=alt, caption=" ".join(caption.split()), uploaded_by=uploaded_by)
    storage = image.file.storage
    stored: list[str] = []
    try:
        original = original_file(clean, name=getattr(file, "name", "") or "image")
        image.file.save(str(original.name), original, save=False)
        source = str(image.file.name)
        stored.append(source)
        image.renditions = renditions_store(
            clean=clean, storage=storage, source=source, stored=stored
        )
        image.save()
    except BaseException:
        files_delete(storage=storage, names=stored)
        raise
    return image


def image_update(*, image: ReportImage) -> ReportImage:
    """Save an edited alt text or caption; the reports showing it render it anew."""
    with transaction.atomic():
        image.save(update_fields=["alt", "caption"])
        # The rendered bodies are cached by their report's last change (reports/selectors.py).
        Report.objects.filter(images=image).update(updated_at=timezone.now())
        page_cache_invalidate_all()
    return image


def images_delete(*, images: QuerySet[ReportImage]) -> None:
    """Delete library images and their files; bodies that still name one show its place
    empty (reports/rendering.py renders an unknown image as nothing)."""
    doomed = list(images)
    with transaction.atomic():
        Report.objects.filter(images__in=doomed).update(updated_at=timezone.now())
        images.filter(pk__in=[image.pk for image in doomed]).delete()
        page_cache_invalidate_all()
    for image in doomed:
        names = [image.file.name] + [
            name
            for item in image.renditions.get("items", [])
            for name in (item["webp"], item["fallback"])
        ]
        files_delete(storage=image.file.storage, names=names)


def image_ids_in(*texts: str) -> set[int]:
    return {int(match) for text in texts for match in IMAGE_REFERENCE.findall(text)}


def report_sync_images(*, report: Report) -> None:
    """Which library images the report shows, for the library's "used in" column."""
    ids = image_ids_in(report.teaser, report.body)
    report.images.set(ReportImage.objects.filter(pk__in=ids))


def report_prepare_cover(*, report: Report) -> None:
    """Before a report is saved: a freshly uploaded cover is re-encoded without metadata, so
    the uploaded bytes themselves are never stored. Raises `ImageRejected`."""
    cover = report.cover_image
    if not cover or getattr(cover, "_committed", True):
        return
    clean = image_read(_read_upload(cover.file))
    original = original_file(clean, name=cover.name or "cover")
    cover.save(str(original.name), original, save=False)


def report_cover_renditions(*, report: Report) -> bool:
    """Render the cover's renditions when the cover changed since they were made (or drop
    them when the cover went). Returns whether the row's `cover_renditions` changed."""
    cover = report.cover_image
    current = report.cover_renditions or {}
    if not cover:
        report.cover_renditions = {}
        return bool(current)
    source = str(cover.name)
    if current.get("source") == source:
        return False
    storage = cover.storage
    try:
        with storage.open(source, "rb") as stored_file:
            clean = image_read(stored_file.read(MAX_BYTES + 1))
    except (OSError, ImageRejected):
        # A cover stored before renditions existed that is gone or unreadable: the page
        # shows the file as it is (reports/images/markup.py), the save goes on.
        logger.warning("No renditions for the cover %s of report %s", source, report.pk)
        report.cover_renditions = {}
        return bool(current)
    written: list[str] = []
    try:
        report.cover_renditions = renditions_store(
            clean=clean, storage=storage, source=source, stored=written
        )
    except BaseException:
        files_delete(storage=storage, names=written)
        raise
    return True


def reports_missing_cover_renditions() -> list[Report]:
    """Reports whose cover has no renditions yet (stored before renditions existed)."""
    covered = Report.objects.without_body().exclude(cover_image="").order_by("pk")
    return [
        report
        for report in covered
        if (report.cover_renditions or {}).get("source") != report.cover_image.name
    ]


def report_render_cover(*, report: Report) -> bool:
    """Give one stored cover its renditions; True when the row changed."""
    with transaction.atomic():
        changed = report_cover_renditions(report=report)
        if changed:
            Report.objects.filter(pk=report.pk).update(
                cover_renditions=report.cover_renditions, updated_at=timezone.now()
            )
            page_cache_invalidate_all()
    return changed
