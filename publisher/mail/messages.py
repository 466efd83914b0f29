"""Every email we send is built here, from a template triplet under `templates/emails/`:
`<name>-subject.txt`, `<name>-body.txt` and `<name>-body.html`, `<name>` in kebab-case
(`report-notification`, `team-invitation`).

The helper also sets the headers a list message needs: `List-Unsubscribe` with the
recipient's personal link, `List-Unsubscribe-Post` for RFC 8058 one-click unsubscribe, and
`List-Id` (RFC 2919) so readers can filter each kind of list message. Every Message-ID ends in
the site's own domain (from `SITE_URL`): Django's default uses the sending machine's host name,
which says nothing about us and leaks an internal name.

allauth's account emails come through here too (see `accounts/adapter.py`), from templates
named its way: `account/email/<name>_subject.txt`, `_message.txt` and `_message.html`.

Two ways in:
- `email_build` renders and builds one message (confirmations, test sends).
- `BulkEmail` renders once and, for each recipient, substitutes the personal values into the
  finished text and assembles the MIME bytes directly. A notification goes to every
  subscriber; rendering templates and running Python's email generator per recipient would
  cost far more than the SMTP conversation itself.
"""

import binascii
import email.policy
import html as html_module
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage as MIMEMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context, Engine
from django.template.loader import render_to_string
from django.utils import timezone

ONE_CLICK = "List-Unsubscribe=One-Click"
# Normalised subscriber addresses are plain ASCII addr-specs; anything else (a line break, a
# display name, a non-ASCII local part) never reaches a header assembled by hand.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class EmailTemplates:
    subject: str
    text: str
    html: str

    @classmethod
    def named(cls, name: str) -> "EmailTemplates":
        return cls(
            subject=f"emails/{name}-subject.txt",
            text=f"emails/{name}-body.txt",
            html=f"emails/{name}-body.html",
        )


def _render_text(template_name: str, context: Mapping[str, Any]) -> str:
    # Subjects and text parts are plain text: a title's `&` or `<` must arrive as itself, not
    # as an HTML entity, so they are rendered with autoescaping off, whatever the template.
    template = Engine.get_default().get_template(template_name)
    return template.render(Context(dict(context), autoescape=False))


def email_render(
    *, name: str = "", context: Mapping[str, Any], templates: EmailTemplates | None = None
) -> RenderedEmail:
    """Render the triplet `name` (or `templates`); the bodies extend `emails/base.txt` and
    `emails/base.html`, and the HTML sees the finished `subject` (its `<title>`)."""
    if templates is None:
        if not name:
            raise ValueError("email_render needs a triplet name or templates.")
        templates = EmailTemplates.named(name)
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    # A subject is one line whatever the template's layout.
    subject = " ".join(_render_text(templates.subject, context).split())
    text = _render_text(templates.text, context).replace("\r\n", "\n")
    html = render_to_string(templates.html, {**context, "subject": subject})
    # An empty footer block leaves blank lines at the end of the text part.
    return RenderedEmail(subject=subject, text=text.strip() + "\n", html=html.replace("\r\n", "\n"))


def site_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


_ESCAPED = re.compile(r"[&<>\"']")


def _escape(value: str) -> str:
    """Django's `escape` (the same five characters replaced) without its lazy-string
    wrapper, and without five passes over a value that holds none of them, as a personal
    link does: per recipient, both cost more than the escaping itself."""
    return html_module.escape(value, quote=True) if _ESCAPED.search(value) else value


def list_headers(unsubscribe_url: str) -> dict[str, str]:
    return {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": ONE_CLICK}


def list_id(*, label: str, name: str) -> str:
    """A `List-Id` value: `Gridline Research new reports <reports.example.com>`."""
    return f"{settings.SITE_NAME} {label} <{name}.{site_domain()}>"


def message_id(local_part: str | None = None) -> str:
    """A Message-ID in the site's domain; a unique one unless `local_part` is given."""
    if local_part is None:
        return make_msgid(domain=site_domain())
    return f"<{local_part}@{site_domain()}>"


def email_build(
    *,
    name: str = "",
    to: str | list[str],
    context: Mapping[str, Any],
    unsubscribe_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    templates: EmailTemplates | None = None,
) -> EmailMultiAlternatives:
    """One message from the triplet `name` (or `templates`), ready for `message.send()`."""
    rendered = email_render(name=name, context=context, templates=templates)
    all_headers = {
        "Message-ID": message_id(),
        **(list_headers(unsubscribe_url) if unsubscribe_url else {}),
        **(headers or {}),
    }
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        to=[to] if isinstance(to, str) else to,
        headers=all_headers,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


class _RawMIME:
    """What `PreparedEmail.message()` returns: the finished bytes, parsed only if inspected.

    Django's SMTP and console mailers only call `as_bytes()`; tests and tools that look at
    headers get a real `email.message.EmailMessage` behind the same object.
    """

    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    def as_bytes(self, *args: object, **kwargs: object) -> bytes:
        return self._raw

    def as_string(self, *args: object, **kwargs: object) -> str:
        return self._raw.decode("ascii")

    def get_charset(self) -> None:
        return None

    @cached_property
    def parsed(self) -> MIMEMessage:
        return BytesParser(policy=email.policy.default).parsebytes(self._raw)

    def __getitem__(self, name: str) -> Any:
        return self.parsed[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.parsed, name)


class PreparedEmail(EmailMultiAlternatives):
    """A message whose MIME form was assembled in advance by `BulkEmail`.

    The ordinary attributes (subject, body, alternatives, headers) are filled in too, so
    mailers that read them instead of the MIME bytes (Anymail, locmem) see the same message.
    """

    raw: bytes
    # Anymail's `metadata` (set by a sender that has some; an SMTP mailer ignores it)
    metadata: dict[str, str]

    def message(self, *, policy: email.policy.Policy = email.policy.default) -> Any:  # type: ignore[override]
        return _RawMIME(self.raw)


def _qp(text: str) -> bytes:
    encoded = binascii.b2a_qp(text.encode("utf-8"), istext=True)
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class BulkEmail:
    """One template triplet rendered once, then personalised per recipient by substitution.

    `personal` names the context values that differ per recipient; they are rendered as
    unguessable markers and replaced in the finished subject, text and HTML (escaped there).
    """

    def __init__(
        self,
        *,
        name: str,
        context: Mapping[str, Any],
        personal: tuple[str, ...],
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        nonce = secrets.token_hex(8)
        self._markers = {key: f"%%{nonce}-{key}%%" for key in personal}
        self.rendered = email_render(name=name, context={**context, **self._markers})
        self.from_email = settings.DEFAULT_FROM_EMAIL
        self._boundary = f"==gridline-{secrets.token_hex(12)}"
        policy = email.policy.SMTP
        static = [
            policy.fold_binary("From", self.from_email),
            b"MIME-Version: 1.0\r\n",
        ]
        for header, value in (extra_headers or {}).items():
            static.append(policy.fold_binary(header, value))
        self._static_headers = b"".join(static)
        self._extra_headers = dict(extra_headers or {})
        self._subject_has_markers = any(m in self.rendered.subject for m in self._markers.values())
        self._subject_header = policy.fold_binary("Subject", self.rendered.subject)

    def _substitute(self, template: str, values: Mapping[str, str], *, html: bool) -> str:
        for key, marker in self._markers.items():
            value = values[key]
            template = template.replace(marker, _escape(value) if html else value)
        return template

    def merge_template(self, field: Callable[[str], str]) -> RenderedEmail:
        """The rendering with each personal value as a provider's merge field, for a batch
        that the provider personalises (`field(key)` gives the field's syntax)."""
        keys = self._merge_keys

        def fill(template: str, *, html: bool) -> str:
            for key, marker in self._markers.items():
                template = template.replace(marker, field(keys[key][1 if html else 0]))
            return template

        return RenderedEmail(
            subject=fill(self.rendered.subject, html=False),
            text=fill(self.rendered.text, html=False),
            html=fill(self.rendered.html, html=True),
        )

    def merge_values(self, values: Mapping[str, str]) -> dict[str, str]:
        """One recipient's values under `merge_template`'s keys (escaped for the HTML)."""
        merged = {}
        for key, (text_key, html_key) in self._merge_keys.items():
            merged[text_key] = values[key]
            merged[html_key] = _escape(values[key])
        return merged

    @cached_property
    def _merge_keys(self) -> dict[str, tuple[str, str]]:
        # The nonce keeps a title that happens to contain a merge field from being filled.
        nonce = self._boundary.rsplit("-", 1)[-1][:8]
        return {key: (f"{key}_{nonce}", f"{key}_html_{nonce}") for key in self._markers}

    @property
    def extra_headers(self) -> dict[str, str]:
        return dict(self._extra_headers)

    def message(
        self,
        *,
        to: str,
        values: Mapping[str, str],
        message_id: str,
        unsubscribe_url: str | None = None,
    ) -> PreparedEmail:
        if not _PLAIN_ADDRESS.fullmatch(to):
            raise ValueError(f"Not a plain ASCII address: {to!r}")
        for header_value in (message_id, unsubscribe_url or "x"):
            if not _HEADER_SAFE.fullmatch(header_value):
                raise ValueError(f"Unsafe header value: {header_value!r}")
        text = self._substitute(self.rendered.text, values, html=False)
        html = self._substitute(self.rendered.html, values, html=True)
        subject = self.rendered.subject
        subject_header = self._subject_header
        if self._subject_has_markers:
            subject = self._substitute(subject, values, html=False)
            subject_header = email.policy.SMTP.fold_binary("Subject", subject)
        headers = {
            "Message-ID": message_id,
            **(list_headers(unsubscribe_url) if unsubscribe_url else {}),
            **self._extra_headers,
        }
        boundary = self._boundary.encode()
        personal_headers = (
            f"To: {to}\r\n"
            f"Date: {format_datetime(timezone.now())}\r\n"
            f"Message-ID: {message_id}\r\n"
            + "".join(
                f"{name}: {headers[name]}\r\n"
                for name in ("List-Unsubscribe", "List-Unsubscribe-Post")
                if name in headers
            )
        ).encode("ascii")
        raw = b"".join(
            [
                subject_header,
                self._static_headers,
                personal_headers,
                b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n\r\n',
                b"--" + boundary + b"\r\n",
                b'Content-Type: text/plain; charset="utf-8"\r\n',
                b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                _qp(text),
                b"\r\n--" + boundary + b"\r\n",
                b'Content-Type: text/html; charset="utf-8"\r\n',
                b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                _qp(html),
                b"\r\n--" + boundary + b"--\r\n",
            ]
        )
        prepared = PreparedEmail(
            subject=subject, body=text, from_email=self.from_email, to=[to], headers=headers
        )
        prepared.attach_alternative(html, "text/html")
        prepared.raw = raw
        return prepared
