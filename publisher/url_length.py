"""Refusing absurdly long addresses before anything else reads them.

No page of the site has an address anywhere near MAX_URL_LENGTH (the longest are signed
newsletter and invitation tokens, a few hundred characters). A longer one is a mistake or a
probe, and answering it as usual is what hurts: the login redirect echoes it in `Location`
(percent-encoded, so up to three times as long), which a proxy in front may refuse to pass on
as a too-big header. nginx refuses request lines over 8 KB itself (deploy/nginx-app.conf).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template import loader

# Path and query string as sent (percent-encoded), in characters.
MAX_URL_LENGTH = 4096


class UrlLengthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if len(request.get_full_path()) > MAX_URL_LENGTH:
            return HttpResponse(loader.render_to_string("414.html"), status=414)
        return self.get_response(request)
