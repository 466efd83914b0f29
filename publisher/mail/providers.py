"""Email providers' HTTP APIs, through django-anymail's backends.

`EMAIL_URL=postmark://…`, `mailgun://…`, `resend://…` or `ses://…` selects one of the
backends below (publisher/env.py builds the `MAILERS` entry). Every message, transactional or
bulk, goes through the chosen provider; a backend with a `batch_size` also takes a whole
batch of notifications in one API call (`provider_batch_send`).

A batch is one message addressed to many recipients with Anymail's `merge_data` (the
personal values of each recipient), `merge_headers` (their `List-Unsubscribe`) and
`merge_metadata` (which delivery row each copy is). The personal values sit in the bodies as
`%recipient.<key>%` fields, Mailgun's own syntax, which Mailgun substitutes itself. Postmark's
`/email/batch` and Resend's `/emails/batch` take one complete message per recipient but only
substitute values into templates stored at the provider, so their backends here fill each
recipient's copy in before Anymail serialises the batch; everything else (the request, the
errors, the per-recipient ids and statuses in `anymail_status`) is Anymail's.

Amazon SES batches only through templates stored in the SES account (SendBulkEmail), which
would put our email's layout outside this repository: its notifications go one SendEmail
call per recipient, through the ordinary path.
"""

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from anymail.backends import mailgun, postmark, resend
from anymail.backends.amazon_ses import EmailBackend as AmazonSESBackend
from anymail.message import AnymailMessage
from django.conf import settings
from django.utils.module_loading import import_string

__all__ = [
    "AmazonSESBackend",
    "MailgunBackend",
    "PostmarkBackend",
    "ResendBackend",
    "batch_message",
    "mailer_batch_size",
    "merge_field",
]


def merge_field(key: str) -> str:
    """How a personal value is written in a batch message's subject and bodies."""
    return f"%recipient.{key}%"


_FIELD = re.compile(r"%recipient\.([A-Za-z0-9_]+)%")


@lru_cache(maxsize=16)
def _pieces(text: str) -> tuple[str, ...]:
    """The text split at its merge fields: literal, key, literal, key, …, literal. A batch
    fills the same few texts for hundreds of recipients; splitting them once makes each copy
    one join instead of a scan of the whole body per field."""
    return tuple(_FIELD.split(text))


def _personalise(text: str, values: Mapping[str, str]) -> str:
    pieces = _pieces(text)
    if len(pieces) == 1:
        return text
    filled = list(pieces)
    for index in range(1, len(filled), 2):
        key = filled[index]
        filled[index] = values[key] if key in values else merge_field(key)
    return "".join(filled)


class _PostmarkPayload(postmark.PostmarkPayload):
    def get_api_endpoint(self) -> str:
        # Without a stored template Anymail refuses merge_data; here it fills the bodies in.
        if self.is_batch() and "TemplateAlias" not in self.data and "TemplateId" not in self.data:
            return "email/batch"
        return super().get_api_endpoint()

    def data_for_recipient(self, to: Any) -> dict[str, Any]:
        values = (self.merge_data or {}).get(to.addr_spec, {})
        data = super().data_for_recipient(to)
        data.pop("TemplateModel", None)  # the values are in the copy itself
        for field in ("Subject", "TextBody", "HtmlBody"):
            if field in data:
                data[field] = _personalise(data[field], values)
        return data


class PostmarkBackend(postmark.EmailBackend):
    batch_size = 500  # Postmark's /email/batch takes at most 500 messages

    def build_message_payload(self, message: Any, defaults: Any) -> _PostmarkPayload:
        return _PostmarkPayload(message, defaults, self)


class MailgunBackend(mailgun.EmailBackend):
    batch_size = 1000  # Mailgun's recipient-variables cover at most 1,000 recipients


class _ResendPayload(resend.ResendPayload):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.merge_data: dict[str, dict[str, str]] = {}
        super().__init__(*args, **kwargs)

    def set_merge_data(self, merge_data: dict[str, dict[str, str]]) -> None:
        self.merge_data = merge_data  # filled into each copy in serialize_data

    def set_esp_extra(self, extra: dict[str, Any]) -> None:
        # Resend keeps an Idempotency-Key for 24 hours: the same batch sent again with the
        # same key is answered from that record and not sent a second time.
        extra = dict(extra)
        key = extra.pop("idempotency_key", None)
        if key:
            self.headers["Idempotency-Key"] = key
        super().set_esp_extra(extra)

    def serialize_data(self) -> str:
        if not self.is_batch() or not self.merge_data:
            return super().serialize_data()
        merge_data, recipients = self.merge_data, list(self.to_recipients)
        copies = json.loads(super().serialize_data())
        for copy, to in zip(copies, recipients, strict=True):
            values = merge_data.get(to.addr_spec, {})
            for field in ("subject", "text", "html"):
                if field in copy:
                    copy[field] = _personalise(copy[field], values)
        return self.serialize_json(copies)


class ResendBackend(resend.EmailBackend):
    batch_size = 100  # Resend's /emails/batch takes at most 100 emails

    idempotent_batches = True

    def build_message_payload(self, message: Any, defaults: Any) -> _ResendPayload:
        return _ResendPayload(message, defaults, self)


def mailer_batch_size(alias: str = "default") -> int:
    """How many recipients the mailer takes in one call (0: one message per call).

    A mailer that wraps another (the suppression filter around every configured one) names
    the real backend in its options, `{"backend": "<path>", "options": {...}}`: the real
    backend's batch size is the mailer's."""
    entry: dict[str, Any] = settings.MAILERS[alias]
    backend = import_string(str(entry["BACKEND"]))
    options: dict[str, Any] = entry.get("OPTIONS") or {}
    while not hasattr(backend, "batch_size") and isinstance(options.get("backend"), str):
        backend = import_string(options["backend"])
        options = options.get("options") or {}
    return int(getattr(backend, "batch_size", 0))


def batch_message(
    *,
    subject: str,
    text: str,
    html: str,
    from_email: str,
    headers: Mapping[str, str],
    recipients: Mapping[str, Mapping[str, str]],
    recipient_headers: Mapping[str, Mapping[str, str]],
    recipient_metadata: Mapping[str, Mapping[str, str]],
    idempotency_key: str | None = None,
) -> AnymailMessage:
    """One provider call for many recipients: `recipients` maps each address to its
    personal values (`merge_field(key)` in subject, text and html)."""
    message = AnymailMessage(
        subject=subject,
        body=text,
        from_email=from_email,
        to=list(recipients),
        headers=dict(headers),
    )
    message.attach_alternative(html, "text/html")
    message.merge_data = {to: dict(values) for to, values in recipients.items()}
    message.merge_headers = {to: dict(values) for to, values in recipient_headers.items()}
    message.merge_metadata = {to: dict(values) for to, values in recipient_metadata.items()}
    if idempotency_key:  # only for a backend with `idempotent_batches`
        message.esp_extra = {"idempotency_key": idempotency_key}
    return message
