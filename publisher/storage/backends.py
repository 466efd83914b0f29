"""Where uploaded pictures are stored: the local disk (the default) or an S3-compatible
bucket (`MEDIA_STORAGE_URL`, publisher/env.py). Both keep the rules of publisher/media.py:
pictures only, each under its own content type, named by its content (`names.py`). Two
uploads of the same bytes still get two names (the second a suffix), so deleting one never
takes the other's file.
"""

import hashlib
from pathlib import PurePosixPath
from typing import Any

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage

from publisher.media import MEDIA_CONTENT_TYPES
from publisher.storage.names import MEDIA_CACHE_CONTROL, NotAPicture, hashed_name, picture_type


class PictureStorage:
    """Refuses anything but a picture and names each file by its content (mixed into a
    Django storage, before it)."""

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        if name is None:
            name = content.name
        if not hasattr(content, "chunks"):
            content = File(content, name)
        digest = hashlib.sha256()
        head = b""
        for chunk in content.chunks():
            if len(head) < 16:
                head += chunk[:16]
            digest.update(chunk)
        if picture_type(str(name), head) is None:
            raise NotAPicture(f"Media stores JPEG, PNG and WebP pictures only, not {name!r}.")
        named = hashed_name(str(name), digest.hexdigest(), max_length)
        return super().save(named, content, max_length)  # type: ignore[misc]


class MediaFileSystemStorage(PictureStorage, FileSystemStorage):
    """The local disk (MEDIA_ROOT): `make run`, the tests, a single server behind nginx."""


class MediaS3Storage(PictureStorage, S3Storage):
    """An S3-compatible bucket through boto3. Each object carries its content type, set
    here from what was checked rather than guessed, and a year-long immutable
    Cache-Control, which the bucket and any CDN in front of it send with the file."""

    def get_object_parameters(self, name: str) -> dict[str, str]:
        parameters = {**super().get_object_parameters(name), "CacheControl": MEDIA_CACHE_CONTROL}
        content_type = MEDIA_CONTENT_TYPES.get(PurePosixPath(name).suffix.lower())
        if content_type is not None:
            parameters["ContentType"] = content_type
        return parameters
