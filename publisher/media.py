"""Uploaded files as Django serves them with DEBUG on (`make run`, live-server tests): the
same rules as nginx's /media/ location (deploy/nginx-app.conf). Only pictures, under their
own content type, never sniffed, and sandboxed should one be opened as a page."""

from pathlib import PurePosixPath

from django.conf import settings
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.static import serve

MEDIA_CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
MEDIA_CSP = "default-src 'none'; img-src 'self'; sandbox"


def media_headers(response: HttpResponseBase) -> HttpResponseBase:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = MEDIA_CSP
    response["Cross-Origin-Resource-Policy"] = "same-site"
    return response


def serve_media(request: HttpRequest, path: str) -> HttpResponseBase:
    content_type = MEDIA_CONTENT_TYPES.get(PurePosixPath(path).suffix.lower())
    if content_type is None:
        raise Http404("Only images are served from media.")
    # Read at each request: tests point MEDIA_ROOT at folders of their own.
    response = serve(request, path, document_root=str(settings.MEDIA_ROOT))
    response["Content-Type"] = content_type
    return media_headers(response)
