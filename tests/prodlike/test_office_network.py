"""Reading from an office network, through nginx on the deployed topology.

An organisation with a paid licence lists 127.0.0.2/32 as its office (loopback addresses
other than 127.0.0.1 play other networks: nginx sees the peer address). The application
rewrites nginx's geo file and reloads nginx. Then, with nginx's cache warmed with every
page's teaser by anonymous readers elsewhere:

- a reader at 127.0.0.2 requests the canary sweep's pages (test_nginx_cache.py), each first
  without any cookie and then with the session the first response gave: every response is
  `private` and went past nginx's cache (`X-Cache-Status: BYPASS`), the report page carries
  the paid body and "Reading through …'s licence", and no comment (those need an account);
- a reader at the neighbouring 127.0.0.3, and one who sends `X-Forwarded-For: 127.0.0.2`
  from there, get no canary at all, and the neighbour's pages still come from nginx's cache.
"""

import secrets

from tests.prodlike.test_nginx_cache import SERVED_FROM_CACHE, _leaks, _not_private, _paths
from tests.prodlike.topology import seed
from tests.prodlike.webclient import WebClient
from tests.support.figures import record
from tests.support.waiting import wait_until

OFFICE = "127.0.0.2"
NEIGHBOUR = "127.0.0.3"
ORGANISATION = "Acme Cooling"
MARKER = f"Reading through {ORGANISATION}"


def test_the_office_reads_through_nginx_and_its_neighbour_does_not(load_topology):
    topology = load_topology
    token = secrets.token_hex(4)
    canary = seed(topology, "canary", token)
    report = f"/reports/{canary['slug']}/"
    calls = [(method, path) for path in _paths(canary, token) for method in ("GET", "HEAD")]
    comment_fragments = [f"Comment canary {token}", "2,210 dollars"]
    problems: list[str] = []

    # nginx's cache holds the teaser of every page before the office range exists.
    for _ in range(2):
        for method, path in calls:
            WebClient(topology.url, source=NEIGHBOUR).request(method, path)
    teaser = WebClient(topology.url, source=OFFICE).get(report)
    assert teaser.header("X-Cache-Status") in SERVED_FROM_CACHE
    assert canary["body"] not in teaser.text

    seed(topology, "office-network", ORGANISATION, f"{OFFICE}/32")
    # The reload is nginx's own, a moment after the signal: wait for its new workers.
    wait_until(
        lambda: (
            WebClient(topology.url, source=OFFICE).get(report).header("X-Cache-Status") == "BYPASS"
        ),
        timeout=20,
        message="nginx to bypass its cache for the office address after the reload",
    )

    first = WebClient(topology.url, source=OFFICE).get(report)  # no cookie at all
    assert first.status == 200
    assert canary["body"] in first.text, "the office reader's first request got no body"
    assert MARKER in first.text
    assert "sessionid" in (first.header("Set-Cookie") or "")
    problems += _not_private("office first GET report", first)

    for method, path in calls:
        response = WebClient(topology.url, source=OFFICE).request(method, path)
        problems += _not_private(f"office, no cookie, {method} {path}", response)
        problems += _leaks(f"office, no cookie, {method} {path}", response, comment_fragments)
    office = WebClient(topology.url, source=OFFICE)
    office.get("/")
    assert "sessionid" in office.cookies, "the office reader got no session"
    for method, path in calls:
        response = office.request(method, path)
        problems += _not_private(f"office, session, {method} {path}", response)
        problems += _leaks(f"office, session, {method} {path}", response, comment_fragments)
    page = office.get(report).text
    assert canary["body"] in page and MARKER in page

    forbidden = [*canary["fragments"], MARKER]
    neighbour_second = {}
    for round_ in range(2):
        for method, path in calls:
            response = WebClient(topology.url, source=NEIGHBOUR).request(method, path)
            problems += _leaks(f"neighbour {method} {path}", response, forbidden)
            if round_:
                neighbour_second[method, path] = response.header("X-Cache-Status")
    forged = WebClient(topology.url, source=NEIGHBOUR)
    for method, path in calls:
        response = forged.request(method, path, headers={"X-Forwarded-For": OFFICE})
        problems += _leaks(f"forged {method} {path}", response, forbidden)
    assert "sessionid" not in forged.cookies

    assert not problems, "\n".join(problems)
    # Only the office lost the shared cache: the neighbour's report page still comes from it.
    assert neighbour_second["GET", report] in SERVED_FROM_CACHE, neighbour_second
    from_cache = sum(1 for status in neighbour_second.values() if status in SERVED_FROM_CACHE)
    record(
        f"office network through nginx: {len(calls)} requests at {OFFICE} without cookies and "
        f"{len(calls)} with the session, all private and BYPASS, the body on the report page, "
        f"no comment; {len(calls) * 3} at {NEIGHBOUR} (one pass forging X-Forwarded-For): 0 "
        f"leaks, {from_cache} of {len(calls)} from nginx's cache the second time"
    )
