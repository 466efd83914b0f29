"""Names and types of stored pictures, apart from the backends (which import boto3).

Every stored name carries a hash of the file's bytes (`bench.3f9a1c2e7b4d.jpg`), so a
changed picture always gets a new URL and a URL may be cached for a year without ever
showing a stale picture.
"""

import re
from pathlib import PurePosixPath

from django.core.exceptions import SuspiciousFileOperation

from publisher.media import MEDIA_CONTENT_TYPES

HASH_LENGTH = 12
# What a picture's first bytes are, by type: what the name's extension promises is checked
# against them, so no other kind of file reaches media under a picture's name.
_SIGNATURES = {
    "image/jpeg": lambda head: head.startswith(b"\xff\xd8\xff"),
    "image/png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
}
# Room for the suffix Django adds before the extensions when a name is taken
# (`bench_Ab3dE9x.3f9a1c2e7b4d.jpg`: `_` and 7 characters).
_SUFFIX_ROOM = 8
_HASHED_STEM = re.compile(rf"^(?P<stem>.+?)(?:_[0-9A-Za-z]{{7}})?\.[0-9a-f]{{{HASH_LENGTH}}}$")
# A year: the longest lifetime HTTP caches honour; names never change content.
MEDIA_CACHE_CONTROL = "public, max-age=31536000, immutable"


class NotAPicture(SuspiciousFileOperation):
    """Something other than a JPEG, PNG or WebP under a picture's name was to be stored."""


def picture_type(name: str, head: bytes) -> str | None:
    """The content type of a picture named `name` whose file starts with `head`, or None
    when the name is not a picture's or the bytes are not what it says."""
    content_type = MEDIA_CONTENT_TYPES.get(PurePosixPath(name).suffix.lower())
    if content_type is None or not _SIGNATURES[content_type](head):
        return None
    return content_type


def unhashed_stem(name: str) -> str:
    """The stem of a stored name without its content hash: `bench` for `bench.3f9a1c2e7b4d.jpg`
    (and for `bench.jpg`, stored before names carried one)."""
    stem = PurePosixPath(name).stem
    match = _HASHED_STEM.match(stem)
    return match["stem"] if match else stem


def hashed_name(name: str, digest: str, max_length: int | None = None) -> str:
    """`name` with `digest` before its extension, its stem shortened to fit `max_length`."""
    path = PurePosixPath(name)
    tail = f".{digest[:HASH_LENGTH]}{path.suffix.lower()}"
    stem = path.stem
    if max_length is not None:
        folder = len(str(path.parent)) + 1 if str(path.parent) != "." else 0
        room = max_length - folder - len(tail) - _SUFFIX_ROOM
        if room < 1:
            raise SuspiciousFileOperation(f"No room for a file name in {path.parent}.")
        stem = stem[:room]
    return str(path.with_name(stem + tail))
