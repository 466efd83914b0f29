"""The site's URLs plus /media/, for live-server tests that show uploaded pictures (see
tests/support/demo.py)."""

from django.urls import re_path

from publisher import urls as site
from publisher.media import serve_media

handler500 = site.handler500
urlpatterns = [*site.urlpatterns, re_path(r"^media/(?P<path>.+)$", serve_media)]
