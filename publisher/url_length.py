"""Refusing absurdly long paths before anything else reads them.

No page of the site has a path anywhere near MAX_PATH_LENGTH (the longest are signed
newsletter and invitation tokens, a few hundred characters). A longer one is a mistake or a
probe: answered with a 414 page here rather than by a view, a login redirect that echoes it,
or a database lookup of a token that cannot exist. Query strings are left to the views (a
search form says its own limit); nginx refuses request lines over 8 KB (deploy/nginx-app.conf),
and its buffer for response headers holds a login redirect echoing even those.
"""

from collections.abc import Callable
from functools import cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.encoding import escape_uri_path

# The path as sent (percent-encoded), in characters.
MAX_PATH_LENGTH = 2048


@cache
def _page() -> bytes:
    # The same page nginx answers for request lines too long to reach us: one file for both.
    path = finders.find("errors/414.html")
    return Path(str(path)).read_bytes()


class UrlLengthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if len(escape_uri_path(request.path)) > MAX_PATH_LENGTH:
            return HttpResponse(_page(), status=414)
        return self.get_response(request)
