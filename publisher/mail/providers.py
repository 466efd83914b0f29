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

Amazon SES batches only templated email (SendBulkEmail, 50 recipients a call), so its backend
first stores our own rendering in the SES account: the batch's subject and bodies become an
SES template named by a hash of that content, created once (the layout stays in this
repository; the template is only a cache of one notification's rendering), with
`{{{vN}}}` variables where the merge fields were and every literal brace or backslash
itself a variable, so nothing in a report's text is ever read as Handlebars. Anymail's SES
backend sends the batch with each recipient's values, `List-Unsubscribe` and `X-Metadata`
as the entry's replacement data and headers. A single SES message (SendEmail, raw MIME)
carries its `metadata` as an `X-Metadata` header too, which SES hands back in its events.
"""

import email.message
import email.policy
import hashlib
import json
import re
from collections.abc import Mapping
from functools import cached_property, lru_cache
from typing import Any, ClassVar

from anymail.backends import amazon_ses, mailgun, postmark, resend
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailMessage
from anymail.utils import UNSET
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
    "ses_template",
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


# In an SES template a literal brace or backslash could open, close or escape a Handlebars
# expression (a title with "{{", a stylesheet, a backslash before a field): each is written
# as a variable whose value is that character, so the only braces left are our variables.
_SES_LITERALS = {"{": "lbrace", "}": "rbrace", "\\": "backslash"}
_SES_LITERAL = re.compile(r"[{}\\]")
_SES_LITERAL_VALUES = {name: char for char, name in _SES_LITERALS.items()}


def _ses_variable(name: str) -> str:
    # Triple braces: Handlebars inserts the value as it is (the HTML values come escaped).
    return "{{{" + name + "}}}"


def ses_template(text: str, *, keys: set[str], names: dict[str, str]) -> str:
    """`text` as SES template content: each merge field of `keys` becomes a variable, named in
    `names` in order of appearance (so the same content always makes the same template);
    everything else, another field's syntax included, stays literal."""
    pieces = _pieces(text)
    out = []
    for index, piece in enumerate(pieces):
        if index % 2 and piece in keys:
            out.append(_ses_variable(names.setdefault(piece, f"v{len(names) + 1}")))
            continue
        literal = merge_field(piece) if index % 2 else piece
        out.append(_SES_LITERAL.sub(lambda match: _ses_variable(_SES_LITERALS[match[0]]), literal))
    return "".join(out)


def _ses_error_code(response: object) -> str:
    error = response.get("Error") if isinstance(response, dict) else None
    return str(error.get("Code", "")) if isinstance(error, dict) else ""


class _SESBatchPayload(amazon_ses.AmazonSESV2SendBulkEmailPayload):
    """A batch of our rendering: the subject and bodies become the stored template, each
    recipient's values its replacement data."""

    def init_payload(self) -> None:
        super().init_payload()
        self.content: dict[str, str] = {}
        self.values: dict[str, dict[str, str]] = {}

    def set_subject(self, subject: str) -> None:
        self.content["Subject"] = subject

    def set_text_body(self, body: str) -> None:
        self.content["Text"] = body

    def set_html_body(self, body: str) -> None:
        self.content["Html"] = body

    def set_merge_data(self, merge_data: dict[str, dict[str, str]]) -> None:
        self.values = merge_data

    @cached_property
    def template(self) -> tuple[str, dict[str, str], dict[str, str]]:
        """The template's name, its content and the variable of each merge key."""
        keys = {key for values in self.values.values() for key in values}
        names: dict[str, str] = {}
        content = {
            part: ses_template(text, keys=keys, names=names)
            for part, text in self.content.items()
            if text
        }
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        return f"gridline-{digest[:40]}", content, names

    def finalize_payload(self) -> None:
        name, _, names = self.template
        self.set_template_id(name)
        self.merge_data = {}
        for to in self.recipients["to"]:
            values = self.values.get(to.addr_spec, {})
            self.merge_data[to.addr_spec] = {
                **_SES_LITERAL_VALUES,
                **{name: values.get(key, merge_field(key)) for key, name in names.items()},
            }
        self.set_merge_global_data(_SES_LITERAL_VALUES)
        super().finalize_payload()


class _SESMessagePayload(amazon_ses.AmazonSESV2SendEmailPayload):
    """One message (SendEmail). A prepared notification's MIME is already bytes, so its
    metadata header goes in front of them rather than into a MIME object."""

    def init_payload(self) -> None:
        self.metadata_header = b""
        super().init_payload()

    def set_metadata(self, metadata: dict[str, str]) -> None:
        if isinstance(self.mime_message, email.message.Message):
            super().set_metadata(metadata)
        else:
            value = self.serialize_json(metadata)
            self.metadata_header = email.policy.SMTP.fold_binary("X-Metadata", value)

    def generate_raw_message(self) -> bytes:
        return self.metadata_header + bytes(super().generate_raw_message())


class AmazonSESBackend(amazon_ses.EmailBackend):
    batch_size = 50  # SendBulkEmail takes at most 50 destinations

    # The templates this process knows exist. The account keeps them; a content hash names
    # each, so one another worker made is the same template.
    templates_known: ClassVar[set[str]] = set()

    def build_message_payload(self, message: Any, defaults: Any) -> Any:
        if getattr(message, "template_id", UNSET) is not UNSET:
            return super().build_message_payload(message, defaults)
        merge_data = getattr(message, "merge_data", UNSET)
        if merge_data is not UNSET and merge_data:
            return _SESBatchPayload(message, defaults, self)
        return _SESMessagePayload(message, defaults, self)

    def post_to_esp(self, payload: Any, message: Any) -> Any:
        if not isinstance(payload, _SESBatchPayload):
            return super().post_to_esp(payload, message)
        name, content, _ = payload.template
        self._template_ensure(name, content, payload, message)
        try:
            response = super().post_to_esp(payload, message)
        except AnymailAPIError as error:
            if _ses_error_code(error.response) == "NotFoundException":
                self.templates_known.discard(name)  # deleted since: the retry makes it again
            raise
        results = response.get("BulkEmailEntryResults") or []
        if any(result.get("Status") == "TEMPLATE_NOT_FOUND" for result in results):
            self.templates_known.discard(name)
        return response

    def _template_ensure(
        self, name: str, content: dict[str, str], payload: Any, message: Any
    ) -> None:
        if name in self.templates_known:
            return
        try:
            self.client.create_email_template(TemplateName=name, TemplateContent=content)
        except amazon_ses.BOTO_BASE_ERRORS as error:
            response = getattr(error, "response", None)
            # The name is the content's hash: a template of that name is this content.
            if _ses_error_code(response) != "AlreadyExistsException":
                raise AnymailAPIError(
                    f"Creating the SES template {name}: {error}",
                    backend=self,
                    email_message=message,
                    payload=payload,
                    response=response,
                ) from error
        if len(self.templates_known) >= 1000:
            self.templates_known.clear()  # a bound for a long-lived worker; rebuilt as it goes
        self.templates_known.add(name)


def mailer_batch_size(alias: str = "default") -> int:
    """How many recipients the mailer takes in one call (0: one message per call)."""
    backend = import_string(str(settings.MAILERS[alias]["BACKEND"]))
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
