"""The site's URLs plus /media/, for live-server tests that show uploaded pictures (see
tests/support/demo.py)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.views.static import serve

from publisher import urls as site


def media(request: HttpRequest, path: str) -> HttpResponse:
    # Read at each request: tests point MEDIA_ROOT at folders of their own.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


handler500 = site.handler500
urlpatterns = [*site.urlpatterns, re_path(r"^media/(?P<path>.+)$", media)]
