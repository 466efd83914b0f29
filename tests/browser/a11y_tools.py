"""Fixtures for the accessibility checks in Debian's Chromium: axe-core injected into each
page, and the Lighthouse CLI; and the Nu HTML Checker (vnu.jar, run with the machine's Java)
for markup validity. All come from the npm packages pinned in tests/a11y/ (`make test` runs
`npm ci` there when node_modules is missing). tests/conftest.py loads this module as a
plugin."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page

from tests.browser.conftest import CHROMIUM

HERE = Path(__file__).resolve().parents[1] / "a11y"
NODE_MODULES = HERE / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
LIGHTHOUSE = NODE_MODULES / ".bin" / "lighthouse"
# The jar itself, run with the machine's Java. vnu-jar's postinstall script only fetches a
# Java runtime when none is installed, and newer npm versions skip it unless approved.
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"


def npm_tools() -> None:
    """Install the pinned tools if this checkout has not yet (offline from npm's cache
    when it can)."""
    if AXE.exists() and LIGHTHOUSE.exists() and VNU.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: install Node.js 20 (Debian's nodejs and npm packages).")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=HERE, check=True)


@pytest.fixture(scope="session")
def axe_script() -> Path:
    npm_tools()
    return AXE


@pytest.fixture(scope="session")
def lighthouse_bin() -> Path:
    npm_tools()
    return LIGHTHOUSE


@pytest.fixture(scope="session")
def vnu_command() -> list[str]:
    """The Nu HTML Checker's command line, without the files to check."""
    npm_tools()
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is missing: install a Java runtime, 11 or later (Debian's default-jre).")
    return [java, "-jar", str(VNU)]


@pytest.fixture
def demo_site(transactional_db, demo_media, serve_media) -> None:
    """The demo reports (covers, tables, figures, lists, citations, comments), authors and
    personas of `make run`, with the pictures served."""
    call_command("load_demo_data", verbosity=0)


@pytest.fixture
def a11y_page(browser: Browser):
    """A page whose context lets axe's script in past the site's CSP."""
    contexts = []

    def make(*, color_scheme: str = "light") -> Page:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, bypass_csp=True, color_scheme=color_scheme
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


def chrome_env() -> dict[str, str]:
    return {**os.environ, "CHROME_PATH": CHROMIUM}
