"""RSS, Atom, sitemap.xml and robots.txt."""

import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from reports.models import Report
from reports.sharing import shorten
from tests.support.factories import ReportFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def reports():
    pumps = TopicFactory(slug="heat-pumps", name="Heat pumps")
    return {
        "pump": ReportFactory(
            slug="pump-test", title="Pump test", kind=Report.Kind.TEST, topics=[pumps],
            teaser="A **public** pump teaser.", body="Pump body, subscribers only.",
        ),
        "guide": ReportFactory(
            slug="battery-guide", title="Battery guide", kind=Report.Kind.GUIDE,
            teaser="A battery teaser.", body="Guide body.", is_free=True,
        ),
        "draft": ReportFactory(
            slug="draft", title="Draft", status=Report.Status.DRAFT, published_at=None,
            topics=[pumps],
        ),
    }  # fmt: skip


def _rss_items(client, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = ET.fromstring(response.content).find("channel")  # noqa: S314 - our own output
    return [{child.tag: child.text for child in item} for item in channel.findall("item")]


def _atom_entries(client, url: str) -> list[ET.Element]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content).findall(f"{ATOM}entry")  # noqa: S314 - our own output


def test_rss_has_teaser_and_link_only(client, reports):
    items = _rss_items(client, reverse("reports:feed"))

    assert [item["title"] for item in items] == ["Guide: Battery guide", "Test: Pump test"]
    assert items[1]["link"] == "http://testserver/reports/pump-test/"
    assert items[1]["description"] == "A public pump teaser."
    assert all("body" not in (item["description"] or "") for item in items)


def test_atom_has_teaser_and_link_only(client, reports):
    entries = _atom_entries(client, reverse("reports:atom"))

    titles = [entry.find(f"{ATOM}title").text for entry in entries]
    assert titles == ["Guide: Battery guide", "Test: Pump test"]
    assert entries[1].find(f"{ATOM}link").get("href") == "http://testserver/reports/pump-test/"
    assert entries[1].find(f"{ATOM}summary").text == "A public pump teaser."
    assert entries[1].find(f"{ATOM}content") is None


def test_topic_and_kind_feeds_filter(client, reports):
    topic_rss = _rss_items(client, reverse("reports:topic-feed", args=["heat-pumps"]))
    kind_rss = _rss_items(client, reverse("reports:kind-feed", args=["guide"]))
    topic_atom = _atom_entries(client, reverse("reports:topic-atom", args=["heat-pumps"]))
    kind_atom = _atom_entries(client, reverse("reports:kind-atom", args=["test"]))

    assert [i["title"] for i in topic_rss] == ["Test: Pump test"]
    assert [i["title"] for i in kind_rss] == ["Guide: Battery guide"]
    assert [e.find(f"{ATOM}title").text for e in topic_atom] == ["Test: Pump test"]
    assert [e.find(f"{ATOM}title").text for e in kind_atom] == ["Test: Pump test"]


@pytest.mark.parametrize(
    "url",
    [
        "/feed/topics/nope/",
        "/feed/kinds/nope/",
        "/feed/atom/topics/nope/",
        "/feed/atom/kinds/nope/",
    ],
)
def test_unknown_feed_is_404(client, url):
    assert client.get(url).status_code == 404


def test_sitemap_lists_published_reports_topics_kinds_and_authors(client, reports):
    author = reports["pump"].author
    UserFactory(slug="not-an-author")

    response = client.get("/sitemap.xml")

    assert response.status_code == 200
    body = response.content.decode()
    for path in [
        "/reports/pump-test/", "/reports/battery-guide/", "/topics/heat-pumps/", "/kinds/test/",
        "/kinds/guide/", f"/authors/{author.slug}/",
    ]:  # fmt: skip
        assert f"<loc>http://testserver{path}</loc>" in body
    assert "/reports/draft/" not in body
    assert "/kinds/news/" not in body
    assert "not-an-author" not in body
    assert "<lastmod>" in body


def test_robots_txt_points_at_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "Sitemap: http://testserver/sitemap.xml" in response.content.decode()
    assert "Disallow: /admin/" in response.content.decode()


def test_sitemap_lists_the_home_page(client, reports):
    body = client.get("/sitemap.xml").content.decode()

    assert "<loc>http://testserver/</loc>" in body


def test_rss_self_link_names_its_type(client, reports):
    for url in [reverse("reports:feed"), reverse("reports:kind-feed", args=["test"])]:
        channel = ET.fromstring(client.get(url).content).find("channel")  # noqa: S314 - ours
        self_link = channel.find(f"{ATOM}link")

        assert self_link.attrib == {
            "rel": "self",
            "href": f"http://testserver{url}",
            "type": "application/rss+xml",
        }


def test_atom_self_link_is_the_feed_itself(client, reports):
    url = reverse("reports:topic-atom", args=["heat-pumps"])
    feed = ET.fromstring(client.get(url).content)  # noqa: S314 - our own output

    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {
        "alternate": "http://testserver/topics/heat-pumps/",
        "self": f"http://testserver{url}",
    }


def test_long_teasers_are_cut_after_a_whole_word_with_an_ellipsis(client):
    words = "Two units are clearly quieter than the rest, and one is close behind them. " * 5
    ReportFactory(slug="long", teaser=words)

    (item,) = _rss_items(client, reverse("reports:feed"))
    (entry,) = _atom_entries(client, reverse("reports:atom"))

    for description in [item["description"], entry.find(f"{ATOM}summary").text]:
        assert len(description) <= 200
        assert description.endswith("…")
        kept = description.removesuffix("…").rstrip(",")
        assert words.startswith(kept) and words[len(kept)] in " ,"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Two units are clean", 19, "Two units are clean"),
        ("Two units are clean", 18, "Two units are…"),
        ("Two units, are clean", 12, "Two units…"),
        ("Two  units\n\nare clean", 14, "Two units are…"),
        ("Unbreakablewordwithoutspaces", 10, "Unbreakab…"),
    ],
)
def test_shorten_cuts_between_words(text, limit, expected):
    assert shorten(text, limit) == expected
