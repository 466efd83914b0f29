"""The WSGI application production runs reads every request body to its end, also when
Django answers without reading it, so gunicorn keeps the connection nginx will reuse
(publisher/request_body.py)."""

import io
import sys
from urllib.parse import urlencode

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from publisher.cache.wsgi import PageCacheFront
from publisher.request_body import DrainRequestBody

pytestmark = pytest.mark.django_db


def _post(path: str, body: bytes, **extra: str) -> tuple[str, io.BytesIO]:
    """One POST through the production WSGI stack; its status and the body stream."""
    stream = io.BytesIO(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.url_scheme": "http",
        "wsgi.input": stream,
        "wsgi.errors": sys.stderr,
        **extra,
    }
    answer: dict = {}

    def start_response(status: str, headers: list, exc_info=None) -> None:
        answer["status"] = status

    # As Django's test client does: the test's transaction keeps its connection open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = DrainRequestBody(PageCacheFront(WSGIHandler()))(environ, start_response)
        b"".join(result)
        result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], stream


def test_a_form_over_djangos_limit_is_refused_and_its_body_read_to_the_end():
    body = urlencode({"email": "x" * (3 * 1024 * 1024)}).encode()
    status, stream = _post("/newsletter/", body)
    assert status.startswith("400")
    assert stream.tell() == len(body)


def test_a_post_refused_without_reading_its_body_still_has_it_read():
    body = urlencode({"login": "y" * 500_000}).encode()
    status, stream = _post("/accounts/login/", body)  # no CSRF cookie: 403, body unread
    assert status.startswith("403"), status
    assert stream.tell() == len(body)
