"""Lighthouse (mobile emulation, simulated throttling, median of 5 runs: one run's blocking-time
spike does not decide) on the home page,
a paid report's page and a free report's page whose body shows a library photo, served by
the live server with the demo content: accessibility, best practices and SEO 100,
performance at least 98, and the report pages at most 100 KiB on the wire excluding
images. Scores and weights are printed.

Reproduce one run by hand against `make run`:
  cd tests/a11y && CHROME_PATH=/usr/bin/chromium npx lighthouse http://127.0.0.1:8000/ \
    --chrome-flags="--headless --no-sandbox --disable-gpu" --view
"""

import json
import statistics
import subprocess

import pytest

from reports.models import Report
from reports.rendering import render_markdown
from tests.browser.a11y_tools import chrome_env
from tests.browser.conftest import CHROMIUM_ARGS
from tests.support.figures import record

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RUNS = 5
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
REQUIRED = {"performance": 98, "accessibility": 100, "best-practices": 100, "seo": 100}
REPORT_PAGE_BUDGET = 100 * 1024


ATTEMPTS = 3


def lighthouse(executable, url: str) -> dict:
    """One Lighthouse run. Chromium's trace recording occasionally fails (NO_NAVSTART and
    similar runtime errors); Lighthouse's own advice is to run it again, so we do, a
    bounded number of times. A run that completes is never retried for its scores."""
    for _ in range(ATTEMPTS - 1):
        result = _lighthouse_once(executable, url)
        if result.returncode == 0 and "runtimeError" not in json.loads(result.stdout):
            return json.loads(result.stdout)
    result = _lighthouse_once(executable, url)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def _lighthouse_once(executable, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(executable), url, "--output=json", "--output-path=stdout", "--quiet",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={' '.join(CHROMIUM_ARGS)}",
        ],
        env=chrome_env(), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def _weights(report: dict) -> tuple[int, int]:
    """(bytes transferred in all, bytes transferred excluding images)."""
    items = report["audits"]["network-requests"]["details"]["items"]
    total = sum(item.get("transferSize", 0) for item in items)
    without_images = sum(
        item.get("transferSize", 0) for item in items if item.get("resourceType") != "Image"
    )
    return total, without_images


def _failing_audits(report: dict, category: str) -> list[str]:
    refs = report["categories"][category]["auditRefs"]
    return [
        f"{ref['id']}: {report['audits'][ref['id']]['title']}"
        for ref in refs
        if ref["weight"] and (report["audits"][ref["id"]].get("score") or 0) < 1
    ]


@pytest.fixture
def site(demo_site, live_server, settings):
    # Canonical and social URLs point at the server Lighthouse is looking at.
    settings.SITE_URL = live_server.url
    report = Report.objects.published().filter(is_free=False).order_by("-published_at").first()
    with_photo = Report.objects.get(slug="inverter-datasheet-guide")
    assert "<picture>" in render_markdown(with_photo.body)
    return {
        "home": "/",
        "report": report.get_absolute_url(),
        "report-image": with_photo.get_absolute_url(),
    }


@pytest.mark.parametrize("name", ["home", "report", "report-image"])
def test_lighthouse_scores_and_weight(site, live_server, lighthouse_bin, name):
    url = f"{live_server.url}{site[name]}"
    runs = [lighthouse(lighthouse_bin, url) for _ in range(RUNS)]

    scores = {
        category: statistics.median(round(run["categories"][category]["score"] * 100)
                                    for run in runs)
        for category in CATEGORIES
    }  # fmt: skip
    total, without_images = (statistics.median(w) for w in zip(*map(_weights, runs), strict=True))
    record(
        f"lighthouse {name} (mobile, median of {RUNS}): "
        + ", ".join(f"{category} {score:g}" for category, score in scores.items())
        + f"; transfer {total / 1024:.1f} KiB, {without_images / 1024:.1f} KiB without images"
    )

    problems = [
        f"{category} {scores[category]:g} < {minimum}: {_failing_audits(runs[0], category)}"
        for category, minimum in REQUIRED.items()
        if scores[category] < minimum
    ]
    assert not problems, "\n".join(problems)
    if name.startswith("report"):
        assert without_images <= REPORT_PAGE_BUDGET
