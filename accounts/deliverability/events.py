"""An Anymail tracking event read as what it means for us: its outcome, its ledger key and
the report it was about. Provider semantics (which bounces are soft) live here only."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import EmailEvent
from accounts.newsletter.services import newsletter_normalize_email

# The metadata key the senders put the report's id under (Anymail `metadata`).
REPORT_METADATA_KEY = "report_id"

Outcome = EmailEvent.Outcome

_OUTCOMES = {
    EventType.DELIVERED: Outcome.DELIVERED,
    EventType.OPENED: Outcome.OPENED,
    EventType.CLICKED: Outcome.CLICKED,
    EventType.COMPLAINED: Outcome.COMPLAINED,
    EventType.REJECTED: Outcome.REJECTED,
    EventType.UNSUBSCRIBED: Outcome.UNSUBSCRIBED,
    # A deferral is the provider still trying after a temporary failure: a soft bounce.
    EventType.DEFERRED: Outcome.SOFT_BOUNCED,
}


@dataclass(frozen=True)
class ProviderEvent:
    provider: str
    key: str
    outcome: str
    event_type: str
    recipient: str
    message_id: str
    report_id: int | None
    occurred_at: datetime
    detail: str


def provider_event_from_anymail(*, event: AnymailTrackingEvent, esp_name: str) -> ProviderEvent:
    provider = esp_name.lower().replace(" ", "_")
    event_type = str(event.event_type or EventType.UNKNOWN)
    if event_type == EventType.BOUNCED:
        outcome = Outcome.SOFT_BOUNCED if _is_soft(provider, event.esp_event) else Outcome.BOUNCED
    else:
        outcome = _OUTCOMES.get(event_type, Outcome.OTHER)
    recipient = _address(event.recipient)
    return ProviderEvent(
        provider=provider,
        key=_key(event, recipient),
        outcome=str(outcome),
        event_type=event_type[:24],
        recipient=recipient,
        message_id=str(event.message_id or "")[:200],
        report_id=_report_id(event.metadata),
        occurred_at=event.timestamp or timezone.now(),
        detail=" ".join(str(part) for part in (event.description, event.mta_response) if part)[
            :2000
        ],
    )


def _is_soft(provider: str, esp_event: Any) -> bool:
    """Whether a bounce is temporary, as each provider says it.

    Mailgun's temporary failures already arrive as `deferred`; Postmark's transient and DNS
    errors too. What is left as `bounced` is soft when: SES says `Transient` or
    `Undetermined`; Postmark says anything but `HardBounce` (`SoftBounce`, a virus
    notification); Resend says `Transient`.
    """
    try:
        if provider == "amazon_ses":
            return esp_event["bounce"]["bounceType"] != "Permanent"
        if provider == "postmark":
            return esp_event.get("Type") != "HardBounce"
        if provider == "resend":
            return esp_event["data"]["bounce"]["type"] == "Transient"
    except (KeyError, TypeError, AttributeError):
        return False
    return False


def _address(raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        return ""
    try:
        return newsletter_normalize_email(raw)
    except ValidationError:
        return raw.strip().lower()[:254]


def _report_id(metadata: object) -> int | None:
    if not isinstance(metadata, dict):
        return None
    value = metadata.get(REPORT_METADATA_KEY)
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


def _key(event: AnymailTrackingEvent, recipient: str) -> str:
    """The event's identity: the provider's id and the recipient (an SES notification is
    one id for every recipient it names), or a hash of the whole payload without one, so a
    redelivered payload still finds its first record."""
    event_id = _mailgun_event_id(event.esp_event) or event.event_id
    if event_id:
        return f"{event_id}:{recipient}"[:200]
    payload = json.dumps(event.esp_event, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{payload}\0{recipient}".encode()).hexdigest()
    return f"sha256:{digest}"


def _mailgun_event_id(esp_event: Any) -> str:
    """Mailgun's own event id with the event's time. Anymail's event id for Mailgun is the
    signature's token, fresh in every POST, so a retried event would look new; the event's
    id is unique within a day, and a retry repeats it with the same timestamp."""
    try:
        data = esp_event["event-data"]
        return f"mailgun:{data['id']}:{data['timestamp']}"
    except (KeyError, TypeError):
        return ""
