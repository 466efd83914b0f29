"""Views answered from nginx's page cache, which never reach gunicorn, are counted all the
same: the page carries its reading mark, nginx passes the mark's request to gunicorn
uncached, and the fold moves the counts into the database."""

import re
import secrets

from tests.prodlike.topology import seed
from tests.prodlike.webclient import WebClient
from tests.support.counting import BROWSER

MARK = re.compile(r'<img src="(/reading/[^"]+\.gif)" alt="" width="1" height="1" hidden>')


def test_views_nginx_served_from_its_cache_are_counted_and_folded(load_topology):
    topology = load_topology
    canary = seed(topology, "canary", secrets.token_hex(4))
    path = f"/reports/{canary['slug']}/"
    reader = WebClient(topology.url)
    browser = {"User-Agent": BROWSER}

    pages = [reader.get(path, headers=browser) for _ in range(3)]
    marks = {mark for page in pages for mark in MARK.findall(page.text)}
    answers = [reader.get(mark, headers=browser) for page in pages for mark in marks]
    # A crawler reading the cached page and its mark counts nothing.
    reader.get(path, headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
    for mark in marks:
        reader.get(mark, headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
    topology.manage("fold_counts", capture_output=True)

    assert [page.header("X-Cache-Status") for page in pages][1:] == ["HIT", "HIT"]
    assert len(marks) == 1
    assert [(answer.status, answer.header("Content-Type")) for answer in answers] == [
        (200, "image/gif")
    ] * 3
    assert {answer.header("X-Cache-Status") for answer in answers} == {""}  # never cached
    assert seed(topology, "day-counts", canary["slug"]) == {
        "public_reads": 3,
        "entitled_reads": 0,
        "paywall_views": 3,
        "gifts_opened": 0,
    }
