"""The canary sweep: a sentence that exists only in a paid report's body must never reach
a reader who may not read it, on any surface that shows reports."""

import json
import re

import pytest
from django.urls import reverse

from tests.reports.conftest import CANARY, CANARY_WORD

NON_ENTITLED = ["anonymous", "free_reader", "lapsed_subscriber"]


def _surfaces(report, topic) -> list[str]:
    author = report.author.slug
    return [
        reverse("reports:home"),
        report.get_absolute_url(),
        reverse("reports:topic", args=[topic.slug]),
        reverse("reports:kind", args=[report.kind]),
        reverse("reports:author", args=[author]),
        f"{reverse('reports:search')}?q={CANARY_WORD}",
        f"{reverse('reports:search')}?q=inverter+watts+lab",
        f"{reverse('reports:search')}?q=%22idles+at%22&kind={report.kind}&topic={topic.slug}",
        reverse("reports:feed"),
        reverse("reports:atom"),
        reverse("reports:topic-feed", args=[topic.slug]),
        reverse("reports:topic-atom", args=[topic.slug]),
        reverse("reports:kind-feed", args=[report.kind]),
        reverse("reports:kind-atom", args=[report.kind]),
        reverse("reports:sitemap"),
        reverse("reports:robots"),
    ]


def _assert_no_canary(text: str, url: str) -> None:
    for fragment in [CANARY, "Canary sentence", "9.4 watts", CANARY_WORD + " Aurel"]:
        assert fragment not in text, f"{fragment!r} leaked on {url}"


@pytest.mark.parametrize("persona", NON_ENTITLED)
def test_body_text_never_reaches_a_non_entitled_reader_on_any_surface(
    request, client_for, canary_report, canary_topic, persona
):
    client = client_for(request.getfixturevalue(persona))

    for url in _surfaces(canary_report, canary_topic):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_no_canary(response.content.decode(), url)


@pytest.mark.parametrize("persona", NON_ENTITLED)
def test_search_never_finds_a_paid_report_by_its_body_and_shows_only_the_teaser(
    request, client_for, canary_report, persona
):
    client = client_for(request.getfixturevalue(persona))

    by_body = client.get(reverse("reports:search"), {"q": CANARY_WORD}).content.decode()
    by_title = client.get(reverse("reports:search"), {"q": "shootout"}).content.decode()

    assert "No reports match" in by_body
    assert canary_report.title not in by_body
    assert "1 report matches" in by_title
    assert canary_report.title in by_title
    assert "Five hybrid inverters, one bench, and a verdict." in by_title
    for page in [by_body, by_title]:
        _assert_no_canary(page, "search")


@pytest.mark.parametrize("persona", NON_ENTITLED)
def test_sharing_metadata_comes_from_the_teaser_and_hides_the_body_element(
    request, client_for, canary_report, persona
):
    page = client_for(request.getfixturevalue(persona)).get(canary_report.get_absolute_url())
    html = page.content.decode()

    data = _json_ld(html)
    assert data["isAccessibleForFree"] is False
    assert "hasPart" not in data
    assert data["description"].startswith("Five hybrid inverters")
    for prop in ["og:description", "twitter:description"]:
        assert 'content="Five hybrid inverters, one bench, and a verdict."' in _meta(html, prop)


@pytest.mark.parametrize("persona", ["subscriber", "editor"])
def test_entitled_reader_gets_body_snippet_and_body_marker(
    request, client_for, canary_report, persona
):
    """The positive control: the sweep above would see the canary if it leaked."""
    client = client_for(request.getfixturevalue(persona))

    search = client.get(reverse("reports:search"), {"q": CANARY_WORD}).content.decode()
    page = client.get(canary_report.get_absolute_url()).content.decode()

    assert f"<mark>{CANARY_WORD}</mark>" in search
    assert CANARY in page
    assert _json_ld(page)["hasPart"] == {
        "@type": "WebPageElement",
        "isAccessibleForFree": False,
        "cssSelector": ".report__body",
    }
    assert 'class="report__body prose"' in page


def _json_ld(html: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "no JSON-LD block"
    return json.loads(match.group(1))


def _meta(html: str, prop: str) -> str:
    match = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" [^>]*>', html)
    assert match, prop
    return match.group(0)
