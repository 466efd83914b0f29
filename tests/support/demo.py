"""The demo content of `make run` (`load_demo_data`) for the tests of the pages it produces.

Its generated covers and portraits go to one media folder per test session, never to the
checkout's var/media: the loader finds them there by name, so they are drawn once per
session however many tests load the demo. Browser tests also need them served: in production
nginx or a CDN serves /media/, and Django does only with DEBUG on. tests/conftest.py loads
this module as a plugin.
"""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_media_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo-media")


@pytest.fixture
def demo_media(settings, demo_media_root) -> Path:
    settings.MEDIA_ROOT = demo_media_root
    return demo_media_root


@pytest.fixture
def serve_media(settings) -> None:
    """The live server answers /media/ (tests/support/media_urls.py)."""
    settings.ROOT_URLCONF = "tests.support.media_urls"
