"""Uploaded pictures made safe to store and serve: checked, turned upright, stripped of
every piece of metadata, and rendered at the widths pages ask for.

Everything is re-encoded from pixels, so no EXIF block (a phone's GPS position, its serial
number), XMP packet, ICC profile or comment survives into any stored file, the kept
original included. Files go through Django's storage API only, so object storage can
replace the disk without a change here (publisher/storage/: names carry a content hash).
"""

import io
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from PIL import Image, ImageOps, UnidentifiedImageError

from publisher.storage.names import unhashed_stem

MAX_BYTES = 8 * 1024 * 1024
# Far above any photograph an editor uploads (a 50 MP camera), far below what would take the
# worker's memory: the pixels are counted from the header, before any is decoded.
MAX_PIXELS = 60_000_000
RENDITION_WIDTHS = (480, 960, 1600)
ACCEPTED_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}
CONTENT_TYPES = {"webp": "image/webp", "jpeg": "image/jpeg", "png": "image/png"}
_QUALITY = {"jpeg": 85, "webp": 80}


class ImageRejected(ValueError):
    """The upload is not a picture we store; the message says why, for the editor."""


@dataclass(frozen=True)
class CleanImage:
    image: Image.Image
    # The format the original is kept in and the fallback renditions use: JPEG or PNG.
    # A WebP original falls back to PNG when it has transparency, else to JPEG.
    fallback: str


def image_read(data: bytes) -> CleanImage:
    """Decode and check an upload; returns its pixels, upright, with nothing else."""
    if len(data) > MAX_BYTES:
        raise ImageRejected(f"An image may be at most {MAX_BYTES // 2**20} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ImageRejected("Upload a JPEG, PNG or WebP image.")
            if image.width * image.height > MAX_PIXELS:
                raise ImageRejected(
                    f"That image has too many pixels ({image.width} x {image.height}); "
                    "scale it down below 60 megapixels."
                )
            image.load()
            kind = ACCEPTED_FORMATS[image.format]
            upright = ImageOps.exif_transpose(image)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejected("That image has too many pixels to process safely.") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageRejected("That file is not an image we can read (JPEG, PNG or WebP).") from error
    has_alpha = upright.mode in {"RGBA", "LA", "PA"} or (
        upright.mode == "P" and "transparency" in upright.info
    )
    mode = "RGBA" if has_alpha else "RGB"
    converted = upright.convert(mode)
    # A new image from the raw pixels: no info, no EXIF, no ICC profile, nothing to leak.
    pixels = Image.frombytes(mode, converted.size, converted.tobytes())
    fallback = kind if kind in {"jpeg", "png"} else ("png" if has_alpha else "jpeg")
    return CleanImage(image=pixels, fallback=fallback)


def encode(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    if kind == "jpeg":
        image.convert("RGB").save(out, "JPEG", quality=_QUALITY["jpeg"], optimize=True,
                                  progressive=True)  # fmt: skip
    elif kind == "webp":
        image.save(out, "WEBP", quality=_QUALITY["webp"], method=4)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def rendition_widths(width: int) -> list[int]:
    """The widths to render, never above the original's: a narrower original is its own
    largest rendition."""
    widths = [w for w in RENDITION_WIDTHS if w < width]
    if width <= RENDITION_WIDTHS[-1]:
        widths.append(width)
    return widths


def _resized(image: Image.Image, width: int) -> Image.Image:
    if width == image.width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def renditions_store(
    *, clean: CleanImage, storage: Storage, source: str, stored: list[str]
) -> dict:
    """Write the renditions beside `source` (a stored name); every name written is added to
    `stored`, so a caller whose save fails later can remove them.

    Returns what pages need to show them: `{"source", "width", "height", "fallback",
    "items": [{"width", "height", "webp", "fallback"}, …]}`, names in storage."""
    path = PurePosixPath(source)
    # The storage adds each rendition's own content hash to its name (publisher/storage/).
    stem = unhashed_stem(source)
    items = []
    for width in rendition_widths(clean.image.width):
        picture = _resized(clean.image, width)
        names = {}
        for kind in ("webp", clean.fallback):
            extension = "jpg" if kind == "jpeg" else kind
            name = str(path.with_name(f"{stem}-{width}w.{extension}"))
            names[kind] = storage.save(name, ContentFile(encode(picture, kind)))
            stored.append(names[kind])
        items.append({"width": picture.width, "height": picture.height, "webp": names["webp"],
                      "fallback": names[clean.fallback]})  # fmt: skip
    return {
        "source": source,
        "width": clean.image.width,
        "height": clean.image.height,
        "fallback": clean.fallback,
        "items": items,
    }


def original_file(clean: CleanImage, *, name: str) -> ContentFile:
    """The kept original, re-encoded without metadata, named for its format."""
    extension = "jpg" if clean.fallback == "jpeg" else clean.fallback
    stem = PurePosixPath(name).stem or "image"
    return ContentFile(encode(clean.image, clean.fallback), name=f"{stem}.{extension}")


def files_delete(*, storage: Storage, names: list[str]) -> None:
    for name in names:
        storage.delete(name)
