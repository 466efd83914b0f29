"""Every request body read to its end, whatever the application did with it.

Django answers some requests without reading their body: one over DATA_UPLOAD_MAX_MEMORY_SIZE
(400), a POST without a CSRF cookie (403), a POST to a page that takes none (405). gunicorn
then drains at most 64 KB of what is left and closes the connection; nginx, still sending the
body or keeping that connection for the next request, answers 502 to the request on it (a
POST, which nginx never retries on another connection). Reading the rest here keeps the
connection whole. nginx has buffered the body already (it refuses more than
client_max_body_size, deploy/nginx-app.conf), so this is a fast read over loopback.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict, StartResponse], Iterable[bytes]]

# Above nginx's largest client_max_body_size (32 MB, the admin's newsletter import): a longer
# body did not come through nginx, and gunicorn may close that connection.
MAX_DRAIN_BYTES = 40 * 1024 * 1024
CHUNK_BYTES = 64 * 1024


class DrainRequestBody:
    def __init__(self, application: WSGIApp) -> None:
        self.application = application

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        response = self.application(environ, start_response)
        if not _has_body(environ):
            # Unwrapped: gunicorn sends a file response (wsgi.file_wrapper) with sendfile.
            return response
        return _Drained(response, environ["wsgi.input"])


def _has_body(environ: dict) -> bool:
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        return True
    try:
        return int(environ.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return False


class _Drained:
    """The application's response; closing it also reads what is left of the body."""

    def __init__(self, response: Iterable[bytes], body: Any) -> None:
        self.response = response
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.response)

    def close(self) -> None:
        try:
            close = getattr(self.response, "close", None)
            if close is not None:
                close()
        finally:
            _drain(self.body)


def _drain(body: Any) -> None:
    read = 0
    try:
        while read < MAX_DRAIN_BYTES and (chunk := body.read(CHUNK_BYTES)):
            read += len(chunk)
    except (OSError, ValueError):
        # The client went away or the stream is closed: gunicorn closes the connection.
        return
