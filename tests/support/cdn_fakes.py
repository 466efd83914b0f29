"""Local fakes of the two CDN purge APIs the site calls, as real HTTP servers on free ports.

Built from the providers' API references, for the one endpoint each:

- Fastly, `POST /service/{service_id}/purge`: purges every object tagged with one of the
  keys in the `Surrogate-Key` request header (space-separated; or a JSON body
  `{"surrogate_keys": [...]}`), at most 256 a call; `Fastly-Key` authenticates;
  `Fastly-Soft-Purge: 1` marks the objects stale instead. 200 answers a JSON object of each
  key's purge id; errors answer `{"msg": ..., "detail": ...}` (401 for a missing or wrong
  token, 404 for an unknown service, 400 for a bad request, 429 when rate limited).
- Cloudflare, `POST /client/v4/zones/{zone_id}/purge_cache` with a JSON body
  `{"tags": [...]}`, at most 30 tags a call; `Authorization: Bearer <token>`. Every answer
  is the v4 envelope `{"success", "errors": [{"code", "message"}], "messages", "result"}`.

Each fake records every call (`calls`: the keys, whether it was authorised and soft) and
can be told to answer the next calls with an error (`fail_next`), as the real ones do when
they are overloaded or rate limited.
"""

import http.server
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from publisher.env import CdnPurge

FASTLY_MAX_KEYS = 256
CLOUDFLARE_MAX_TAGS = 30


@dataclass(frozen=True)
class PurgeCall:
    keys: tuple[str, ...]
    authorised: bool
    soft: bool = False
    status: int = 200


@dataclass
class _Failure:
    status: int
    retry_after: str | None


class _Fake(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler], *, token: str):
        self.token = token
        self.calls: list[PurgeCall] = []
        # What the next authorised calls meet: a failure, or None to let one through.
        self._plan: list[_Failure | None] = []
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), handler)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fail_next(
        self, status: int, *, times: int = 1, retry_after: str | None = None, after: int = 0
    ) -> None:
        """Let `after` authorised calls through, then answer `times` with `status` (and
        Retry-After)."""
        with self._lock:
            self._plan.extend([None] * after + [_Failure(status, retry_after)] * times)

    def take_failure(self) -> _Failure | None:
        with self._lock:
            return self._plan.pop(0) if self._plan else None

    def record(self, call: PurgeCall) -> None:
        with self._lock:
            self.calls.append(call)

    @property
    def purged(self) -> list[str]:
        """Every key a successful call purged, in the order purged."""
        return [key for call in self.calls if call.status == 200 for key in call.keys]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Fake

    def _answer(self, status: int, body: object, *, retry_after: str | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read `calls`, not the log."""


class _FastlyHandler(_Handler):
    server: "FastlyFake"

    def do_POST(self) -> None:
        body = self._body()
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "service" or parts[2] != "purge":
            self._answer(404, {"msg": "Record not found", "detail": f"No route {self.path}"})
            return
        authorised = secrets.compare_digest(self.headers.get("Fastly-Key", ""), self.server.token)
        keys = tuple(self.headers.get("Surrogate-Key", "").split())
        if not keys and body:
            keys = tuple(json.loads(body).get("surrogate_keys") or ())
        soft = self.headers.get("Fastly-Soft-Purge") == "1"
        if not authorised:
            self.server.record(PurgeCall(keys, authorised=False, soft=soft, status=401))
            self._answer(401, {"msg": "Provided credentials are missing or invalid"})
            return
        if parts[1] != self.server.service_id:
            self.server.record(PurgeCall(keys, authorised=True, soft=soft, status=404))
            self._answer(404, {"msg": "Record not found", "detail": "Cannot find service"})
            return
        if not keys or len(keys) > FASTLY_MAX_KEYS:
            self.server.record(PurgeCall(keys, authorised=True, soft=soft, status=400))
            self._answer(
                400,
                {"msg": "Bad request", "detail": f"Between 1 and {FASTLY_MAX_KEYS} keys a purge"},
            )
            return
        failure = self.server.take_failure()
        if failure is not None:
            self.server.record(PurgeCall(keys, authorised=True, soft=soft, status=failure.status))
            self._answer(
                failure.status, {"msg": "Service unavailable"}, retry_after=failure.retry_after
            )
            return
        self.server.record(PurgeCall(keys, authorised=True, soft=soft))
        self._answer(200, {key: f"108-{secrets.token_hex(5)}" for key in keys})


class FastlyFake(_Fake):
    def __init__(self, *, service_id: str, token: str) -> None:
        self.service_id = service_id
        super().__init__(_FastlyHandler, token=token)

    @property
    def url(self) -> str:
        """What FASTLY_API_BASE points at."""
        return self.origin


def _envelope(*, success: bool, errors: list[tuple[int, str]], result: object = None) -> dict:
    return {
        "success": success,
        "errors": [{"code": code, "message": message} for code, message in errors],
        "messages": [],
        "result": result,
    }


class _CloudflareHandler(_Handler):
    server: "CloudflareFake"

    def do_POST(self) -> None:
        body = self._body()
        parts = self.path.strip("/").split("/")
        if parts[:3] != ["client", "v4", "zones"] or len(parts) != 5 or parts[4] != "purge_cache":
            self._answer(404, _envelope(success=False, errors=[(7000, "No route for that URI")]))
            return
        authorisation = self.headers.get("Authorization", "")
        authorised = secrets.compare_digest(authorisation, f"Bearer {self.server.token}")
        if not authorised:
            self.server.record(PurgeCall((), authorised=False, status=403))
            self._answer(403, _envelope(success=False, errors=[(10000, "Authentication error")]))
            return
        if parts[3] != self.server.zone_id:
            self.server.record(PurgeCall((), authorised=True, status=400))
            self._answer(
                400,
                _envelope(
                    success=False,
                    errors=[
                        (
                            7003,
                            "Could not route to /zones/…, perhaps your object identifier is "
                            "invalid?",
                        )
                    ],
                ),
            )
            return
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            self.server.record(PurgeCall((), authorised=True, status=400))
            self._answer(400, _envelope(success=False, errors=[(6003, "Invalid request headers")]))
            return
        try:
            tags = json.loads(body).get("tags")
        except ValueError:
            tags = None
        if not isinstance(tags, list) or not tags or len(tags) > CLOUDFLARE_MAX_TAGS:
            self.server.record(PurgeCall(tuple(tags or ()), authorised=True, status=400))
            self._answer(
                400,
                _envelope(
                    success=False,
                    errors=[(1067, f"Between 1 and {CLOUDFLARE_MAX_TAGS} tags a purge")],
                ),
            )
            return
        keys = tuple(tags)
        failure = self.server.take_failure()
        if failure is not None:
            self.server.record(PurgeCall(keys, authorised=True, status=failure.status))
            self._answer(
                failure.status,
                _envelope(success=False, errors=[(971, "Please wait and consider throttling")]),
                retry_after=failure.retry_after,
            )
            return
        self.server.record(PurgeCall(keys, authorised=True))
        self._answer(200, _envelope(success=True, errors=[], result={"id": self.server.zone_id}))


class CloudflareFake(_Fake):
    def __init__(self, *, zone_id: str, token: str) -> None:
        self.zone_id = zone_id
        super().__init__(_CloudflareHandler, token=token)

    @property
    def url(self) -> str:
        """What CLOUDFLARE_API_BASE points at."""
        return f"{self.origin}/client/v4"


@contextmanager
def serving[F: _Fake](fake: F) -> Iterator[F]:
    thread = threading.Thread(target=fake.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.shutdown()
        fake.server_close()
        thread.join()


FASTLY_SERVICE_ID = "SU1Z0isxPaozGVKXdv0eY"
FASTLY_TOKEN = "fastly-test-token-0e4d"
CLOUDFLARE_ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353"
CLOUDFLARE_TOKEN = "cloudflare-test-token-7b21"
SHARED_MAX_AGE = 3600


@pytest.fixture
def fastly(settings) -> Iterator[FastlyFake]:
    """The Fastly fake, with the site purging through it as CDN_PURGE_URL would say."""
    with serving(FastlyFake(service_id=FASTLY_SERVICE_ID, token=FASTLY_TOKEN)) as fake:
        settings.CDN_PURGE = CdnPurge("fastly", FASTLY_SERVICE_ID, FASTLY_TOKEN, soft=False)
        settings.FASTLY_API_BASE = fake.url
        settings.PUBLIC_PAGE_SHARED_MAX_AGE = SHARED_MAX_AGE
        yield fake


@pytest.fixture
def cloudflare(settings) -> Iterator[CloudflareFake]:
    """The Cloudflare fake, with the site purging through it."""
    with serving(CloudflareFake(zone_id=CLOUDFLARE_ZONE_ID, token=CLOUDFLARE_TOKEN)) as fake:
        settings.CDN_PURGE = CdnPurge(
            "cloudflare", CLOUDFLARE_ZONE_ID, CLOUDFLARE_TOKEN, soft=False
        )
        settings.CLOUDFLARE_API_BASE = fake.url
        settings.PUBLIC_PAGE_SHARED_MAX_AGE = SHARED_MAX_AGE
        yield fake
