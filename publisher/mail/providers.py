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
from json.encoder import encode_basestring_ascii
from typing import Any, ClassVar

from anymail.backends import amazon_ses, mailgun, postmark, resend
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailMessage, AnymailRecipientStatus
from anymail.utils import (
    UNSET,
    EmailAddress,
    force_non_lazy_dict,
    merge_dicts_one_level,
    parse_address_list,
)
from django.conf import settings
from django.utils.module_loading import import_string

__all__ = [
    "AmazonSESBackend",
    "BatchEmail",
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


@lru_cache(maxsize=16)
def _json_pieces(text: str) -> tuple[str, ...]:
    """`_pieces` with each literal already encoded as the inside of a JSON string."""
    pieces = list(_pieces(text))
    for index in range(0, len(pieces), 2):
        pieces[index] = encode_basestring_ascii(pieces[index])[1:-1]
    return tuple(pieces)


def _json_copy(
    shared: str, own: Mapping[str, Any], bodies: Mapping[str, str], values: Mapping[str, str]
) -> str:
    """One recipient's copy as a JSON object: `shared` (the fields every copy has, already
    encoded), `own` (its address, headers and metadata) and the `bodies` (subject, text,
    HTML) filled with its values from their pre-encoded literals. Serialising each copy's
    bodies whole was a third of the sender's time per recipient."""
    entries = [shared, json.dumps(own)[1:-1]] if shared else [json.dumps(own)[1:-1]]
    encoded: dict[str, str] = {}
    for field, text in bodies.items():
        filled = list(_json_pieces(text))
        for index in range(1, len(filled), 2):
            key = filled[index]
            if key not in encoded:
                value = values.get(key)
                encoded[key] = (
                    merge_field(key) if value is None else encode_basestring_ascii(value)[1:-1]
                )
            filled[index] = encoded[key]
        entries.append(f'"{field}":"{"".join(filled)}"')
    return "{" + ",".join(entries) + "}"


def _headers_merged(shared: Mapping[str, str], own: Mapping[str, str]) -> list[tuple[str, str]]:
    """A copy's headers, as Anymail merges them: the message's, each replaced in its place
    by the recipient's own of the same name in any case, then the recipient's others."""
    merged = {name.lower(): (name, value) for name, value in shared.items()}
    for name, value in own.items():
        merged[name.lower()] = (name, value)
    return list(merged.values())


# A plain address: a dot-atom local part and an ASCII host name, what a newsletter's list holds.
_PLAIN_ADDRESS = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
)


class _PlainAddress(EmailAddress):
    """A plain address (no display name, an ASCII host): every form of it is the address as
    written. Anymail's addresses compute each form anew on every use, three times per copy."""

    def __init__(self, local_part: str, host: str) -> None:
        super().__init__(username=local_part, domain=host)
        self._written = f"{local_part}@{host}"

    @property
    def addr_spec(self) -> str:
        return self._written

    @property
    def address(self) -> str:
        return self._written

    def format(self, *, use_rfc2047: Any = False, idna_encode: Any = None) -> str:
        return self._written


def _batch_recipients(values: Any) -> list[EmailAddress]:
    """A batch's recipients as Anymail's addresses. Anymail parses each with the full RFC 5322
    parser of Python's email package, which was most of the sender's time per recipient; a
    plain address needs no parsing to be split, and anything else still goes through it."""
    parsed: list[EmailAddress] = []
    for value in [values] if isinstance(values, str) else values:
        plain = _PLAIN_ADDRESS.fullmatch(value) if isinstance(value, str) else None
        if plain is None:
            parsed.extend(parse_address_list([value], field="to"))
        else:
            parsed.append(_PlainAddress(plain[1], plain[2]))
    return parsed


def _per_recipient_values(value: Any) -> Any:
    """A batch's per-recipient values (merge data, metadata) as Anymail needs them: plain
    strings. Ours are; Anymail's own converter walks every value of every recipient to
    resolve lazy translations, which cost more than building the values."""
    for values in value.values():
        if type(values) is not dict or not all(type(item) is str for item in values.values()):
            return force_non_lazy_dict(value)
    return value


def _without_defaults(default: Any, value: Any) -> Any:
    """The per-recipient values as given when no send default applies to them. Anymail
    copies every recipient's values to merge them with its defaults even when there are
    none, which cost a batch as much as serialising it."""
    if default is UNSET:
        return value
    return merge_dicts_one_level(default, value)


def _batch_converters(attrs: tuple[tuple[Any, ...], ...]) -> tuple[tuple[Any, ...], ...]:
    per_recipient = ("merge_data", "merge_metadata")
    converted = []
    for name, combiner, converter in attrs:
        if name == "to":
            converter = _batch_recipients
        elif name in per_recipient:
            combiner, converter = _without_defaults, _per_recipient_values
        converted.append((name, combiner, converter))
    return tuple(converted)


_POSTMARK_PERSONAL = ("Subject", "TextBody", "HtmlBody")
_POSTMARK_PER_COPY = ("To", "Headers", "Metadata", "TemplateModel")


class _PostmarkPayload(postmark.PostmarkPayload):
    base_message_attrs = _batch_converters(postmark.PostmarkPayload.base_message_attrs)
    anymail_message_attrs = _batch_converters(postmark.PostmarkPayload.anymail_message_attrs)

    def get_api_endpoint(self) -> str:
        # Without a stored template Anymail refuses merge_data; here it fills the bodies in.
        if self.is_batch() and "TemplateAlias" not in self.data and "TemplateId" not in self.data:
            return "email/batch"
        return super().get_api_endpoint()

    def data_for_recipient(self, to: Any) -> dict[str, Any]:
        values = (self.merge_data or {}).get(to.addr_spec, {})
        data = super().data_for_recipient(to)
        data.pop("TemplateModel", None)  # the values are in the copy itself
        for field in _POSTMARK_PERSONAL:
            if field in data:
                data[field] = _personalise(data[field], values)
        return data

    def serialize_data(self) -> str:
        """The batch as Anymail's `data_for_recipient` would make it, one copy per
        recipient, assembled from pieces encoded once (`_json_copy`)."""
        if self.get_api_endpoint() != "email/batch" or self.backend.generate_message_id:
            return super().serialize_data()
        data = self.data
        shared = {key: value for key, value in data.items() if key not in _POSTMARK_PER_COPY}
        bodies = {field: shared.pop(field) for field in _POSTMARK_PERSONAL if field in shared}
        shared_json = json.dumps(shared)[1:-1] if shared else ""
        headers = {item["Name"]: item["Value"] for item in data.get("Headers", ())}
        metadata = data.get("Metadata", {})
        merge_data, merge_metadata = self.merge_data or {}, self.merge_metadata or {}
        copies = []
        for to in self.to_emails:
            addr_spec = to.addr_spec
            own: dict[str, Any] = {"To": to.address}
            copy_headers = _headers_merged(headers, self.merge_headers.get(addr_spec, {}))
            if copy_headers:
                own["Headers"] = [{"Name": n, "Value": v} for n, v in copy_headers]
            copy_metadata = {**metadata, **merge_metadata.get(addr_spec, {})}
            if copy_metadata:
                own["Metadata"] = copy_metadata
            values = merge_data.get(addr_spec, {})
            copies.append(_json_copy(shared_json, own, bodies, values))
        return "[" + ",".join(copies) + "]"


class PostmarkBackend(postmark.EmailBackend):
    batch_size = 500  # Postmark's /email/batch takes at most 500 messages

    def build_message_payload(self, message: Any, defaults: Any) -> _PostmarkPayload:
        return _PostmarkPayload(message, defaults, self)

    def parse_recipient_status(self, response: Any, payload: Any, message: Any) -> dict:
        accepted = _batch_accepted(response, payload)
        if accepted is not None:
            return accepted
        return super().parse_recipient_status(response, payload, message)


def _batch_accepted(response: Any, payload: _PostmarkPayload) -> dict | None:
    """The statuses of a batch Postmark accepted whole, each copy answered "OK" with its
    MessageID and the address it was sent to, read without parsing each answer's address
    again; any other answer (an error, an inactive or delayed recipient) is left to Anymail's
    parser, which knows Postmark's every error."""
    if response.status_code != 200 or not payload.is_batch():
        return None
    answers = response.json()
    sent = {to.address: to.addr_spec for to in payload.to_emails}
    if not isinstance(answers, list) or len(answers) != len(sent):
        return None
    statuses = {}
    for answer in answers:
        if not isinstance(answer, dict) or answer.get("ErrorCode", 0) != 0:
            return None
        addr_spec = sent.get(answer.get("To"))
        if answer.get("Message") != "OK" or addr_spec is None or "MessageID" not in answer:
            return None
        statuses[addr_spec] = AnymailRecipientStatus(message_id=answer["MessageID"], status="sent")
    return statuses if len(statuses) == len(sent) else None


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
    """How many recipients the mailer takes in one call (0: one message per call).

    A wrapping mailer (the suppression filter) names the real backend in its OPTIONS'
    `backend`; the batch size is the real backend's."""
    entry: Mapping[str, Any] = settings.MAILERS[alias]
    path = str(entry["BACKEND"])
    while "backend" in entry.get("OPTIONS", {}):
        path = str(entry["OPTIONS"]["backend"])
        entry = {"BACKEND": path, "OPTIONS": entry["OPTIONS"].get("options", {})}
    return int(getattr(import_string(path), "batch_size", 0))


class BatchEmail(AnymailMessage):
    """A batch of one report's notification: its recipients come from the newsletter's
    recipient query at the moment the batch was claimed, which leaves suppressed addresses
    out, as for a single notification (`PreparedEmail`)."""


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
) -> BatchEmail:
    """One provider call for many recipients: `recipients` maps each address to its
    personal values (`merge_field(key)` in subject, text and html)."""
    message = BatchEmail(
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
