"""A local Sentry ingest server for the real sentry-sdk: the envelope endpoint only.

Built from Sentry's developer documentation ("Envelopes", "Envelope endpoint"): the SDK
POSTs to `/api/<project_id>/envelope/`, authenticating with an `X-Sentry-Auth` header
that names its public key (`sentry_key=…`), a body compressed as `Content-Encoding` says
(gzip, br or none). An envelope is newline-separated: a JSON header, then items, each a
JSON item header (its `type`, and the payload's `length` in bytes, or none: the payload
ends at the next newline) followed by its payload. Events are items of type `event`
(errors) or `transaction`; the SDK also sends `session` and `client_report` items, kept
here too. Anything else the endpoint is asked is answered 404, a wrong key 401.
"""

import gzip
import json
import threading
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.integration_fixtures import free_port
from tests.support.waiting import wait_until

PUBLIC_KEY = "0123456789abcdef0123456789abcdef"
PROJECT_ID = "42"


@dataclass
class Envelope:
    headers: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]]
    raw: bytes  # the envelope as decompressed, to search for what must not be in it

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(payload) for header, payload in self.items if header["type"] == kind]


def envelope_parse(body: bytes) -> Envelope:
    header_line, _, rest = body.partition(b"\n")
    items = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item_header = json.loads(item_line)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:]
            if rest.startswith(b"\n"):
                rest = rest[1:]
        items.append((item_header, payload))
    return Envelope(json.loads(header_line), items, body)


def _decompressed(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # only when the SDK found brotli installed

        return brotli.decompress(body)
    return body


class SentryFake:
    def __init__(self) -> None:
        self.port = free_port()
        self.envelopes: list[Envelope] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != f"/api/{PROJECT_ID}/envelope/":
                    self._answer(404, b'{"detail":"not found"}')
                    return
                auth = self.headers.get("X-Sentry-Auth", "")
                if f"sentry_key={PUBLIC_KEY}" not in auth:
                    self._answer(401, b'{"detail":"bad key"}')
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                raw = _decompressed(body, self.headers.get("Content-Encoding", ""))
                envelope = envelope_parse(raw)
                with fake._lock:
                    fake.envelopes.append(envelope)
                self._answer(200, json.dumps({"id": envelope.headers.get("event_id")}).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://{PUBLIC_KEY}@127.0.0.1:{self.port}/{PROJECT_ID}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def events(self) -> list[tuple[dict[str, Any], Envelope]]:
        """Every error event received so far, with the envelope that carried it."""
        with self._lock:
            return [(event, env) for env in self.envelopes for event in env.payloads("event")]

    def wait_for_event(self, *, timeout: float = 30) -> tuple[dict[str, Any], Envelope]:
        wait_until(lambda: self.events(), timeout=timeout, message="an event at the Sentry fake")
        return self.events()[0]
