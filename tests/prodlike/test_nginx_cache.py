"""The canary sweep's last step, on the deployed topology: a subscriber requests
every page that shows a report, twice, through nginx and its anonymous page cache, so that
anything nginx could store with paid text in it is stored; then an anonymous reader (no
cookies, twice) and a logged-in free reader request the same pages. The paid body and the
comment, canaries unique to this run, reach neither; nginx did cache the anonymous pages
(the second anonymous request never reached gunicorn); every response for a logged-in reader
said `Cache-Control: private` and went past the cache (`X-Cache-Status: BYPASS`).

tests/hardening/test_cache_cross_reader.py does the same through Django's own cache.
"""

import secrets

from tests.prodlike.logs import GUNICORN_LINE, MARKER_PATH, LogMark, gunicorn_caught_up
from tests.prodlike.topology import seed
from tests.prodlike.webclient import Response, WebClient
from tests.support.figures import record

DEMO_PASSWORD = "demo-password-2026"  # load_demo_data's accounts
SUBSCRIBER = "subscriber@example.com"
FREE_READER = "reader@example.com"
# Who the subscriber is must not reach anyone else either.
IDENTITY = [SUBSCRIBER, "Sam Subscriber"]
SERVED_FROM_CACHE = {"HIT", "STALE", "UPDATING"}
LOG = "gunicorn-access.log"


def _paths(canary: dict, token: str) -> list[str]:
    report = f"/reports/{canary['slug']}/"
    topic, kind = canary["topic"], canary["kind"]
    return [
        "/", report, report[:-1],
        f"{report}?format=json", f"{report}?format=amp&full=1&raw=true",
        f"{report}?_format=rss&body=1", f"{report}?page=2",
        f"/topics/{topic}/", f"/kinds/{kind}/", f"/authors/{canary['author']}/",
        f"/search/?q={token}", f"/search/?q={token}+watts+cache",
        f"/search/?q={token}&kind={kind}&topic={topic}", "/search/?q=installer+quoted+dollars",
        "/feed/", "/feed/atom/", f"/feed/topics/{topic}/", f"/feed/kinds/{kind}/",
        f"/feed/atom/topics/{topic}/", f"/feed/atom/kinds/{kind}/", "/sitemap.xml",
    ]  # fmt: skip


def _leaks(what: str, response: Response, forbidden: list[str]) -> list[str]:
    text = response.everything()
    return [f"{what} leaked {fragment!r}" for fragment in forbidden if fragment in text]


def _public(response: Response) -> bool:
    """What nginx may store for every anonymous reader."""
    return response.status == 200 and "public" in response.header("Cache-Control")


def _not_private(what: str, response: Response) -> list[str]:
    """A logged-in reader's response must say private and must have gone past the cache."""
    cache_control, status = response.header("Cache-Control"), response.header("X-Cache-Status")
    if "private" in cache_control and status == "BYPASS":
        return []
    return [f"{what}: Cache-Control {cache_control!r}, X-Cache-Status {status!r}"]


def _anonymous_pass(topology, calls, forbidden: list[str], problems: list[str]):
    """Every call without any cookie; the answers, and the paths gunicorn was asked for."""
    gunicorn_caught_up(topology)  # the requests before this pass are not counted in it
    mark = LogMark.now(topology)
    answers = {}
    for method, path in calls:
        response = WebClient(topology.url).request(method, path)
        answers[method, path] = response
        problems += _leaks(f"anonymous {method} {path}", response, forbidden)
    gunicorn_caught_up(topology)
    paths = {line["path"] for line in GUNICORN_LINE.finditer(mark.since(LOG))}
    return answers, {path for path in paths if not path.startswith(MARKER_PATH)}


def test_subscriber_then_anonymous_and_free_reader_through_nginx_leak_nothing(load_topology):
    topology = load_topology
    token = secrets.token_hex(4)
    canary = seed(topology, "canary", token)
    calls = [(method, path) for path in _paths(canary, token) for method in ("GET", "HEAD")]
    forbidden = canary["fragments"] + IDENTITY
    problems: list[str] = []

    subscriber = WebClient(topology.url)
    subscriber.log_in(SUBSCRIBER, DEMO_PASSWORD)
    for _ in range(2):
        for method, path in calls:
            response = subscriber.request(method, path)
            problems += _not_private(f"subscriber {method} {path}", response)
    # The subscriber really received the paid text: what follows looks for something real.
    page = subscriber.get(f"/reports/{canary['slug']}/").text
    assert canary["body"] in page and canary["comment"] in page

    first, _ = _anonymous_pass(topology, calls, forbidden, problems)
    second, reached_gunicorn = _anonymous_pass(topology, calls, forbidden, problems)

    free_reader = WebClient(topology.url)
    free_reader.log_in(FREE_READER, DEMO_PASSWORD)
    for method, path in calls:
        response = free_reader.request(method, path)
        problems += _leaks(f"free reader {method} {path}", response, forbidden)
        problems += _not_private(f"free reader {method} {path}", response)

    # nginx cached the anonymous pages Django marked public: the second time round nginx
    # answered them itself, and the URLs it answered from a fresh copy never reached gunicorn.
    public = [call for call, response in first.items() if _public(response)]
    cached = {call: second[call].header("X-Cache-Status") for call in public}
    from_cache = [call for call in public if cached[call] in SERVED_FROM_CACHE]
    hits = {path for _, path in public} - {path for call, status in cached.items()
                                           if status != "HIT" for path in [call[1]]}  # fmt: skip
    assert not problems, "\n".join(problems)
    assert len(public) >= 30, sorted(public)
    assert from_cache == public, cached
    assert hits and not hits & reached_gunicorn, hits & reached_gunicorn
    record(
        f"nginx cross-reader: {len(calls)} requests ({len(calls) // 2} URLs, GET and HEAD) as "
        f"a subscriber twice (all private, BYPASS), then anonymous twice and a free reader: "
        f"0 leaks in {len(calls) * 3} responses; {len(public)} anonymous responses public, "
        f"{len(from_cache)} of them from nginx's cache the second time ({len(hits)} URLs HIT, "
        f"none reached gunicorn)"
    )
