"""The edges of the production topology, through nginx (deploy/nginx-app.conf) on the
cross-reader and load suites' topology (tests/prodlike/topology.py):

- an edit reaches nginx's cache at once: a free report made paid loses its body for an
  anonymous reader within a second, on every URL nginx had cached it under;
- a request body over the limit is refused, and never breaks the next reader's POST;
- long addresses answer a clear 4xx (the app's 414 for paths above 2 KB, nginx's for
  request lines above 8 KB), never a 5xx, on every kind of URL that carries a token, a slug
  or a query;
- a Host that is not the site's gets no page at all.
"""

import secrets
import socket
import time
from urllib.parse import urlsplit

from tests.prodlike.logs import NGINX_LINE, LogMark, statuses
from tests.prodlike.topology import seed
from tests.prodlike.webclient import Response, WebClient
from tests.support.figures import record
from tests.support.waiting import wait_until

DEMO_PASSWORD = "demo-password-2026"  # load_demo_data's accounts
FREE_READER = "reader@example.com"
SERVED_FROM_CACHE = {"HIT", "STALE", "UPDATING"}


def _cached(client: WebClient, path: str) -> Response:
    """GET until nginx answers from its cache (Django marks the page public)."""

    def from_cache() -> Response | None:
        response = client.get(path)
        return response if response.header("X-Cache-Status") in SERVED_FROM_CACHE else None

    return wait_until(from_cache, timeout=10, message=f"nginx to cache {path}")


def test_a_report_made_paid_loses_its_body_in_nginxs_cache_within_a_second(load_topology):
    topology = load_topology
    report = seed(topology, "free-report", secrets.token_hex(4))
    anonymous = WebClient(topology.url)
    # The canonical page and a URL no exact purge could know of: both cached with the body.
    paths = [f"/reports/{report['slug']}/", f"/reports/{report['slug']}/?utm_source=edge"]
    for path in paths:
        assert report["body"] in _cached(anonymous, path).text

    seed(topology, "make-paid", report["slug"])
    changed = time.monotonic()
    for path in paths:

        def without_body(path: str = path) -> Response | None:
            response = anonymous.get(path)
            ok = response.status == 200 and report["body"] not in response.text
            return response if ok else None

        page = wait_until(
            without_body, timeout=1, message=f"{path} without its body for an anonymous reader"
        )
        assert report["teaser"] in page.text
    elapsed = time.monotonic() - changed
    # And nginx caches the paid page again (the purge retired entries, not the cache).
    for path in paths:
        assert report["body"] not in _cached(anonymous, path).text
    record(
        f"nginx purge: a free report made paid lost its body on {len(paths)} cached URLs "
        f"{elapsed * 1000:.0f} ms after the save returned"
    )


def _oversized_form(megabytes: int) -> dict[str, str]:
    return {"email": "x" * (megabytes * 1024 * 1024)}


def test_an_oversized_post_never_breaks_the_next_readers_post(load_topology):
    """Alternately a 3 MB form and a normal form from another reader. nginx refuses the
    public ones itself (413); the admin's limit is higher, so Django refuses those without
    reading them: for want of a CSRF cookie (403), or, with one, as too much form data (400)."""
    topology = load_topology
    mark = LogMark.now(topology)
    refused: list[int] = []
    normal: list[int] = []
    for round_ in range(20):
        sender, form, path = WebClient(topology.url), _oversized_form(3), "/newsletter/"
        if round_ % 2:
            path = "/admin/login/"
            if round_ % 4 == 3:
                form["csrfmiddlewaretoken"] = sender.form_token(path)
        big = sender.post(path, form)
        refused.append(big.status)
        if big.status == 413:
            assert "Too much to send" in big.text
        # Another reader's sign-up with a mistyped address: Django's form again, with 400.
        reader = WebClient(topology.url).post("/newsletter/", {"email": "not-an-address"})
        normal.append(reader.status if 'name="email"' in reader.text else -reader.status)
    assert normal == [400] * 20, normal
    assert refused[::2] == [413] * 10, refused
    assert refused[1::2] == [403, 400] * 5, refused
    logged = statuses(mark.since("nginx-access.log"), NGINX_LINE)
    assert not [status for status in logged if status >= 500], logged
    record(
        "oversized POSTs: 20 of 3 MB (public: 413 from nginx; admin: 403 and 400 from Django) "
        "alternating with 20 normal POSTs from other readers: 0 failures"
    )


# URLs whose last part a reader (or a mangled link) controls, and how long they get.
URL_KINDS = {
    "gift": "/gift/{}/",
    "newsletter confirm": "/newsletter/confirm/{}/",
    "newsletter unsubscribe": "/newsletter/unsubscribe/{}/",
    "team join": "/team/join/{}/",
    "report": "/reports/{}/",
    "topic": "/topics/{}/",
    "search": "/search/?q={}",
    # A login redirect whose Location echoes the whole query string, percent-encoded.
    "team join query": "/team/join/t/?utm_source={}",
}
LENGTHS = [1000, 2000, 2100, 3000, 4500, 6000, 8000, 8300, 12000, 16000]
APP_LIMIT = 2048  # publisher/url_length.py: paths only
NGINX_LIMIT = 8192  # large_client_header_buffers: the request line must fit 8 KB


def test_long_urls_answer_a_clear_4xx_never_a_5xx(load_topology):
    topology = load_topology
    anonymous = WebClient(topology.url)
    free_reader = WebClient(topology.url)
    free_reader.log_in(FREE_READER, DEMO_PASSWORD)
    mark = LogMark.now(topology)
    problems: list[str] = []
    answered = 0
    for kind, pattern in URL_KINDS.items():
        for length in LENGTHS:
            path = pattern.format("t" * (length - len(pattern) + 2))
            for who, client in (("anonymous", anonymous), ("free reader", free_reader)):
                response = client.get(path)
                answered += 1
                what = f"{who} {kind} ({len(path)} characters): {response.status}"
                if response.status >= 500:
                    problems.append(what)
                elif len(path) > NGINX_LIMIT or len(urlsplit(path).path) > APP_LIMIT:
                    if response.status != 414 or "Address too long" not in response.text:
                        problems.append(f"{what}, expected the 414 page")
                elif response.status in {301, 302}:
                    # The login redirect echoes the path: it must be answered too.
                    location = urlsplit(response.header("Location"))
                    target = (
                        f"{location.path}?{location.query}" if location.query else location.path
                    )
                    followed = client.get(target)
                    answered += 1
                    if followed.status >= 500:
                        problems.append(f"{what}, then {followed.status} at {target[:60]}…")
                elif response.status not in {200, 400, 404}:
                    problems.append(f"{what}, expected 200, 400 or 404")
    logged = statuses(mark.since("nginx-access.log"), NGINX_LINE)
    assert not problems, "\n".join(problems)
    assert not [status for status in logged if status >= 500], logged
    assert logged[414] > 0
    record(
        f"long URLs: {answered} requests ({len(URL_KINDS)} kinds, {LENGTHS[0]}-{LENGTHS[-1]} "
        f"characters, anonymous and logged in): 0 5xx; paths above {APP_LIMIT} the app's 414 "
        f"page, request lines above {NGINX_LIMIT} nginx's"
    )


def _raw_request(topology, host: str | None) -> bytes:
    """Everything nginx sends back to one GET / with this Host header (None: no Host)."""
    parts = urlsplit(topology.url)
    request = "GET / HTTP/1.1\r\n" if host is not None else "GET / HTTP/1.0\r\n"
    if host is not None:
        request += f"Host: {host}\r\n"
    request += "Connection: close\r\n\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_foreign_host_gets_no_page_and_the_sites_hosts_do(load_topology):
    topology = load_topology
    port = urlsplit(topology.url).port
    for host in ["evil.example", f"evil.example:{port}", "10.1.2.3", None]:
        answer = _raw_request(topology, host)
        # nginx's 444: the connection closed without a byte.
        assert answer == b"", (host, answer[:200])
    for host in [f"127.0.0.1:{port}", f"localhost:{port}"]:
        answer = _raw_request(topology, host)
        assert answer.startswith(b"HTTP/1.1 200 "), (host, answer[:200])
        assert b"Gridline" in answer
