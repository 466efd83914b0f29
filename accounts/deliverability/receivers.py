"""Anymail's tracking signal, answered: every provider's events reach one service."""

from typing import Any

from anymail.signals import AnymailTrackingEvent, tracking
from django.dispatch import receiver

from accounts.deliverability.events import provider_event_from_anymail
from accounts.deliverability.services import email_event_record


@receiver(tracking, dispatch_uid="accounts.deliverability.tracking")
def on_tracking_event(sender: Any, event: AnymailTrackingEvent, esp_name: str, **_: Any) -> None:
    email_event_record(event=provider_event_from_anymail(event=event, esp_name=esp_name))
