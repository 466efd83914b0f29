"""Local fakes of the providers' send APIs, as Anymail's backends call them.

One threaded HTTP server on loopback answers all four, so each provider's real Anymail
backend (and boto3, for SES) goes through its own request, error and response parsing; the
application only sees another API URL. Shapes follow each provider's API reference:

- Postmark `POST /email` (one message) and `POST /email/batch` (a JSON array of messages,
  answered with one result per message: `ErrorCode` 0 and a `MessageID`, or 406 for an
  inactive recipient, the partial rejection of a batch).
- Mailgun `POST /v3/<domain>/messages`, multipart form: one `to` per recipient,
  `recipient-variables` (JSON) filling `%recipient.<key>%` in subject, text and html, and
  `h:<Header>` values that may themselves be `%recipient.<key>%`; answered with one id.
- Resend `POST /emails` and `POST /emails/batch` (a JSON array, answered `{"data": [{"id"}]}`);
  an `Idempotency-Key` seen before is answered from its record, and nothing is sent again.
- Amazon SES v2 `POST /v2/email/outbound-emails` (SendEmail, raw MIME in Content.Raw.Data, an
  `X-Metadata` header read as the copy's metadata); `POST /v2/email/templates`
  (CreateEmailTemplate, `AlreadyExistsException` for a name taken), `GET
  /v2/email/templates/<name>` (GetEmailTemplate) and `POST
  /v2/email/outbound-bulk-emails` (SendBulkEmail: at most 50 entries, each rendered from the
  stored template with its ReplacementTemplateData, or DefaultContent's TemplateData, with its
  ReplacementHeaders; answered with one BulkEmailEntryResult per entry). SES renders after
  accepting: a variable missing from the data, or a brace or backslash Handlebars would read
  as syntax, drops that copy into `rendering_failures` (SES's Rendering Failure event) while
  the answer still says SUCCESS. Errors are rest-json: the status and `__type`.

`sent` lists every copy the fake accepted, personalised as the provider would deliver it.
`fail_next` queues answers (status, headers, body) given instead of the next calls (of the
path `fail_only` only, when set): a 5xx, a 429 with Retry-After. Addresses in `inactive` are
refused in a Postmark batch; `ses_entry_failures` maps an address to the status its SES bulk
entry is answered with.
Run as a process of its own (`main`), it answers `GET /_fake/sent` with what it counted, for
a test that cannot reach its attributes: `{"calls": [paths…], "counts": {address: copies}}`;
`GET /_fake/summary` with the figures only (calls, copies, addresses, the time of the last
answer; `?most` adds the most copies of one address), and `DELETE /_fake/sent` forgets it all.
"""

import base64
import email
import email.policy
import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote


@dataclass
class Copy:
    provider: str
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    message_id: str
    # What the provider would hand back with its tracking events (Postmark's Metadata,
    # Mailgun's v: variables); empty where the fake does not read it.
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeProviders:
    sent: list[Copy] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # the paths of the calls answered
    fail_next: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    fail_only: str = ""  # a path: fail_next answers only its calls
    inactive: set[str] = field(default_factory=set)
    idempotent: dict[str, tuple[int, str]] = field(default_factory=dict)
    ses_templates: dict[str, dict[str, str]] = field(default_factory=dict)
    ses_entry_failures: dict[str, str] = field(default_factory=dict)
    rendering_failures: list[tuple[str, str]] = field(default_factory=list)  # (to, why)
    # False keeps only the per-recipient counts (the benchmark's 100,000 copies)
    keep_copies: bool = True
    counts: Counter[str] = field(default_factory=Counter)
    copies: int = 0  # every copy accepted, for a reader that must not walk `counts`
    last_accepted: float = 0.0  # time.monotonic() of the last call answered
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "FakeProviders":
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def sends_per_recipient(self) -> dict[str, int]:
        return dict(self.counts)

    # Each provider's answer: (status, body), having recorded the copies it accepted.

    def postmark(self, path: str, body: bytes) -> tuple[int, Any]:
        messages = json.loads(body)
        batch = path == "/email/batch"
        results = []
        for message in messages if batch else [messages]:
            to = message["To"]
            if to.lower() in self.inactive:
                results.append(
                    {
                        "ErrorCode": 406,
                        "Message": "You tried to send to a recipient that has been marked as"
                        f" inactive. Found inactive addresses: {to.lower()}. Inactive"
                        " recipients are ones that have generated a hard bounce or a spam"
                        " complaint.",
                    }
                )
                continue
            message_id = secrets.token_hex(16)
            headers = {item["Name"]: item["Value"] for item in message.get("Headers", [])}
            self._record(
                "postmark", to, message["Subject"], message.get("TextBody", ""),
                message.get("HtmlBody", ""), headers, message_id, message.get("Metadata", {}),
            )  # fmt: skip
            results.append({"ErrorCode": 0, "Message": "OK", "MessageID": message_id, "To": to})
        return 200, results if batch else results[0]

    def mailgun(self, fields: list[tuple[str, str]]) -> tuple[int, Any]:
        values: dict[str, list[str]] = {}
        for name, value in fields:
            values.setdefault(name, []).append(value)
        variables = json.loads(values.get("recipient-variables", ["{}"])[0])
        message_id = f"<{secrets.token_hex(12)}@mg.fake>"

        def fill(text: str, to: str) -> str:
            personal = variables.get(to, {})
            return re.sub(
                r"%recipient\.([^%\s]+)%",
                lambda match: str(personal.get(match.group(1), "")),
                text,
            )

        for to in values.get("to", []):
            headers = {
                name[2:]: fill(value[0], to) for name, value in values.items() if name[:2] == "h:"
            }
            metadata = {
                name[2:]: fill(value[0], to) for name, value in values.items() if name[:2] == "v:"
            }
            self._record(
                "mailgun", to, fill(values["subject"][0], to),
                fill(values.get("text", [""])[0], to), fill(values.get("html", [""])[0], to),
                headers, message_id, metadata,
            )  # fmt: skip
        return 200, {"id": message_id, "message": "Queued. Thank you."}

    def resend(self, path: str, body: bytes) -> tuple[int, Any]:
        messages = json.loads(body)
        batch = path == "/emails/batch"
        ids = []
        for message in messages if batch else [messages]:
            message_id = secrets.token_hex(16)
            for to in message["to"]:
                self._record(
                    "resend", to, message["subject"], message.get("text", ""),
                    message.get("html", ""), dict(message.get("headers", {})), message_id,
                )  # fmt: skip
            ids.append({"id": message_id})
        return 200, {"data": ids} if batch else ids[0]

    def ses(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if path == "/v2/email/outbound-emails" and method == "POST":
            return self._ses_send(body)
        if path == "/v2/email/outbound-bulk-emails" and method == "POST":
            return self._ses_bulk(body)
        if path == "/v2/email/templates" and method == "POST":
            request = json.loads(body)
            name = request["TemplateName"]
            with self.lock:
                if name in self.ses_templates:
                    return _ses_error(400, "AlreadyExistsException", f"{name} already exists.")
                self.ses_templates[name] = dict(request["TemplateContent"])
            return 200, {}
        name = unquote(path.removeprefix("/v2/email/templates/"))
        if name not in self.ses_templates:
            return _ses_error(404, "NotFoundException", f"Template {name} does not exist.")
        return 200, {"TemplateName": name, "TemplateContent": self.ses_templates[name]}

    def _ses_send(self, body: bytes) -> tuple[int, Any]:
        request = json.loads(body)
        raw = base64.b64decode(request["Content"]["Raw"]["Data"])
        parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
        text = parsed.get_body(("plain",))
        html = parsed.get_body(("html",))
        message_id = secrets.token_hex(16)
        headers = {k: str(v) for k, v in parsed.items()}
        for to in request.get("Destination", {}).get("ToAddresses") or [parsed["To"]]:
            self._record(
                "ses", str(to), str(parsed["Subject"]), text.get_content() if text else "",
                html.get_content() if html else "", headers, message_id,
                json.loads(headers.get("X-Metadata", "{}")),
            )  # fmt: skip
        return 200, {"MessageId": message_id}

    def _ses_bulk(self, body: bytes) -> tuple[int, Any]:
        request = json.loads(body)
        default = request["DefaultContent"]["Template"]
        template = self.ses_templates.get(default.get("TemplateName", ""))
        if template is None:
            return _ses_error(404, "NotFoundException", "Template does not exist.")
        entries = request["BulkEmailEntries"]
        if not 1 <= len(entries) <= 50:
            return _ses_error(400, "BadRequestException", "Between 1 and 50 destinations.")
        for entry in entries:
            for header in entry.get("ReplacementHeaders", []):
                # SES's MessageHeader: printable ASCII, a value of at most 870 characters
                if not _SES_HEADER_VALUE.fullmatch(header["Value"]):
                    return _ses_error(400, "BadRequestException", f"Header {header['Name']}")
        results = []
        for entry in entries:
            to = entry["Destination"]["ToAddresses"][0]
            if to in self.ses_entry_failures:
                status = self.ses_entry_failures[to]
                results.append({"Status": status, "Error": f"{status} for {to}"})
                continue
            replacement = entry.get("ReplacementEmailContent", {}).get("ReplacementTemplate", {})
            data = json.loads(
                replacement.get("ReplacementTemplateData") or default.get("TemplateData") or "{}"
            )
            message_id = secrets.token_hex(16)
            results.append({"Status": "SUCCESS", "MessageId": message_id})
            try:
                subject, text, html = (
                    _ses_render(template.get(part, ""), data)
                    for part in ("Subject", "Text", "Html")
                )
            except _RenderingFailure as failure:
                with self.lock:
                    self.rendering_failures.append((to, str(failure)))
                continue
            headers = {"From": request.get("FromEmailAddress", ""), "To": to, "Subject": subject}
            headers |= {item["Name"]: item["Value"] for item in entry.get("ReplacementHeaders", [])}
            metadata = json.loads(headers.get("X-Metadata", "{}"))
            self._record("ses", to, subject, text, html, headers, message_id, metadata)
        return 200, {"BulkEmailEntryResults": results}

    def _record(self, provider: str, to: str, *args: Any) -> None:
        with self.lock:
            self.counts[to] += 1
            self.copies += 1
            if self.keep_copies:
                self.sent.append(Copy(provider, to, *args))


def _ses_error(status: int, kind: str, message: str) -> tuple[int, Any]:
    return status, {"__type": kind, "message": message}


class _RenderingFailure(Exception):
    """A copy SES would accept and then fail to render (its Rendering Failure event)."""


_SES_HEADER_VALUE = re.compile(r"[\x20-\x7e]{0,870}")
_SES_EXPRESSION = re.compile(r"\{\{\{([^{}\s]+)\}\}\}|\{\{([^{}\s#/!>^&~]+)\}\}")


def _ses_render(template: str, data: dict[str, Any]) -> str:
    """A template filled as SES fills one: `{{name}}` and `{{{name}}}` take the value as it
    is (SES does not escape HTML). The fake is stricter than Handlebars about the rest: any
    other `{{` or `}}`, a brace against an expression, or a backslash before one (an escaped
    expression) fails, as does a name missing from the data."""
    out, position = [], 0
    for match in _SES_EXPRESSION.finditer(template):
        out.append(_ses_literal(template[position : match.start()], first=not out))
        name = match[1] or match[2]
        if name not in data:
            raise _RenderingFailure(f"Attribute '{name}' is not present in the rendering data.")
        out.append(str(data[name]))
        position = match.end()
    out.append(_ses_literal(template[position:], first=not out, last=True))
    return "".join(out)


def _ses_literal(text: str, *, first: bool, last: bool = False) -> str:
    if "{{" in text or "}}" in text:
        raise _RenderingFailure(f"Unreadable expression in {text[:80]!r}")
    if (not last and text[-1:] in {"{", "\\"}) or (not first and text[:1] == "}"):
        raise _RenderingFailure(f"A brace or backslash against an expression: {text[-20:]!r}")
    return text


def _handler(fake: FakeProviders) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path not in {"/_fake/sent", "/_fake/summary"}:
                self._serve()  # a provider's GET (SES's GetEmailTemplate)
                return
            # Not a provider's endpoint: the fake's own report of what it accepted, whole or
            # (for a benchmark polling it while 100,000 copies arrive) in figures.
            with fake.lock:
                if path == "/_fake/sent":
                    report = {"calls": list(fake.calls), "counts": dict(fake.counts)}
                else:
                    report = {
                        "calls": len(fake.calls),
                        "copies": fake.copies,
                        "addresses": len(fake.counts),
                        "most_copies_of_one": max(fake.counts.values(), default=0)
                        if "most" in self.path
                        else None,
                        "last_accepted": fake.last_accepted,  # time.monotonic(), this machine's
                    }
            self._answer(200, json.dumps(report))

        def do_DELETE(self) -> None:
            if self.path.split("?")[0] != "/_fake/sent":
                self._answer(404, json.dumps({"message": f"No such endpoint: {self.path}"}))
                return
            with fake.lock:  # forget what was accepted (between a benchmark's runs)
                fake.calls.clear()
                fake.counts.clear()
                fake.copies = 0
            self._answer(204, "")

        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            key = self.headers.get("Idempotency-Key")
            with fake.lock:
                aimed = not fake.fail_only or self.path.split("?")[0] == fake.fail_only
                failure = fake.fail_next.pop(0) if fake.fail_next and aimed else None
                replay = fake.idempotent.get(key) if key else None
            if failure is not None:
                status, headers, text = failure
                self._answer(status, text, headers)
                return
            if replay is not None:
                self._answer(*replay)
                return
            # Parsed outside the lock: two workers' batches are read side by side.
            status, answer = self._route(body)
            text = json.dumps(answer)
            with fake.lock:
                if key:
                    fake.idempotent[key] = (status, text)
                fake.last_accepted = time.monotonic()
            self._answer(status, text)

        def _route(self, body: bytes) -> tuple[int, Any]:
            path = self.path.split("?")[0]
            with fake.lock:
                fake.calls.append(path)
            if path in {"/email", "/email/batch"}:
                return fake.postmark(path, body)
            if re.fullmatch(r"/v3/[^/]+/messages", path):
                return fake.mailgun(self._form(body))
            if path in {"/emails", "/emails/batch"}:
                return fake.resend(path, body)
            if path.startswith("/v2/email/"):
                return fake.ses(self.command, path, body)
            return 404, {"message": f"No such endpoint: {path}"}

        def _form(self, body: bytes) -> list[tuple[str, str]]:
            # Mailgun's fields, form-encoded (or multipart/form-data with attachments)
            content_type = self.headers["Content-Type"]
            if content_type.startswith("application/x-www-form-urlencoded"):
                return parse_qsl(body.decode(), keep_blank_values=True)
            message = email.message_from_bytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body,
                policy=email.policy.HTTP,
            )
            fields = []
            for part in message.iter_parts():  # type: ignore[attr-defined]
                name = part.get_param("name", header="content-disposition")
                fields.append((name, part.get_payload(decode=True).decode("utf-8")))
            return fields

        def _answer(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main() -> None:
    """Serve the fakes for a local topology: `python -m tests.support.providers_fake 8436`,
    then `EMAIL_URL=postmark://token@?api_url=http://127.0.0.1:8436/` (copies are counted,
    not kept: the totals print on Ctrl-C)."""
    import sys

    fake = FakeProviders(keep_copies=False)
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8436
    fake.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(fake))
    fake.server.daemon_threads = True
    print(f"Fake provider APIs at {fake.base_url}", flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        counts = fake.sends_per_recipient()
        print(f"{len(fake.calls)} calls, {sum(counts.values())} copies to {len(counts)} addresses")


if __name__ == "__main__":
    main()
