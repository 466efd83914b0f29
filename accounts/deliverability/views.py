"""Anymail's tracking webhook views, each verified as its provider authenticates:

- Amazon SES (through SNS) and Postmark: HTTP basic auth with `ANYMAIL_WEBHOOK_SECRET` in
  the URL given to the provider (SNS is first answered 401 so it sends the credentials);
  SNS subscription confirmations are confirmed by Anymail only when they carry them.
- Mailgun: the HMAC-SHA256 signature of each payload with `MAILGUN_WEBHOOK_SIGNING_KEY`.
- Resend: the Svix signature with `RESEND_SIGNING_SECRET`.

Anymail refuses a bad credential with 400 (401 for SNS without any). A payload that passes
authentication but cannot be read (a provider's format change, a garbled retry) is answered
400 here too, not 500: it can never succeed, so the provider should not retry it forever.
Errors while applying an event still answer 500, so the provider retries later.
"""

import logging
from typing import Any

from anymail.exceptions import AnymailAPIError, AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.resend import ResendTrackingWebhookView
from django.conf import settings
from django.http import HttpRequest

from publisher.metrics import webhook_failure

logger = logging.getLogger(__name__)

# What a well-authenticated but unreadable payload raises inside Anymail's parsers.
_UNREADABLE = (
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    UnicodeError,
    AnymailAPIError,
)


class _ReadablePayloads:
    def parse_events(self, request: HttpRequest) -> list[Any]:
        try:
            return super().parse_events(request)  # type: ignore[misc]
        except AnymailWebhookValidationFailure:
            webhook_failure(provider=self._provider, reason="payload")
            raise
        except _UNREADABLE as error:
            logger.warning("Unreadable %s tracking payload: %r", self.esp_name, error)  # type: ignore[attr-defined]
            webhook_failure(provider=self._provider, reason="payload")
            raise AnymailWebhookValidationFailure("Unreadable tracking payload") from error

    @property
    def _provider(self) -> str:
        return str(self.esp_name).lower().replace(" ", "_")  # type: ignore[attr-defined]

    def run_validators(self, request: HttpRequest) -> None:
        if not self.credentials_configured():
            # Anymail would only warn and accept anyone's events: refuse them instead.
            webhook_failure(provider=self._provider, reason="unconfigured")
            raise AnymailWebhookValidationFailure(f"No credentials set for {self.esp_name}")  # type: ignore[attr-defined]
        # The validators read the body before or while checking it (SES's raises
        # AnymailAPIError for one that is not JSON, Mailgun's trips over a JSON list).
        try:
            super().run_validators(request)  # type: ignore[misc]
        except AnymailWebhookValidationFailure:
            webhook_failure(provider=self._provider, reason="signature")
            raise
        except _UNREADABLE as error:
            webhook_failure(provider=self._provider, reason="payload")
            raise AnymailWebhookValidationFailure("Unreadable webhook request") from error

    def credentials_configured(self) -> bool:
        return bool(getattr(self, "basic_auth", None))


class AmazonSESTracking(_ReadablePayloads, AmazonSESTrackingWebhookView):
    pass


class PostmarkTracking(_ReadablePayloads, PostmarkTrackingWebhookView):
    pass


class MailgunTracking(_ReadablePayloads, MailgunTrackingWebhookView):
    def __init__(self, **kwargs: Any) -> None:
        # Anymail raises on every request without a key; an empty one is refused above.
        kwargs.setdefault(
            "webhook_signing_key", settings.ANYMAIL.get("MAILGUN_WEBHOOK_SIGNING_KEY", "")
        )
        super().__init__(**kwargs)

    def credentials_configured(self) -> bool:
        return bool(self.webhook_signing_key)


class ResendTracking(_ReadablePayloads, ResendTrackingWebhookView):
    def credentials_configured(self) -> bool:
        return self._svix_webhook is not None or super().credentials_configured()
