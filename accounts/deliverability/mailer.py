"""The mailer every email goes through, wrapped so that no suppressed address is mailed.

Configured in `MAILERS` around the real backend (SMTP, an Anymail provider, the console):
`{"BACKEND": "accounts.deliverability.mailer.SuppressingMailer", "OPTIONS": {"backend":
"<the real one>", "options": {...}}}`. Each `send_messages` call asks once for all its
recipients; a suppressed recipient is dropped (and logged), and a message left with none is
not sent. Notification emails (`PreparedEmail`, and a provider's `BatchEmail`) pass unchecked:
their recipients come from `newsletter_recipients`, which excludes suppressed addresses in the
query, and checking every address again would cost the fan-out more than the rest of its work.
"""

import logging
from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.module_loading import import_string

from accounts.deliverability.selectors import addresses_suppressed
from publisher.mail.messages import PreparedEmail
from publisher.mail.providers import BatchEmail

logger = logging.getLogger(__name__)

_CHECKED_BY_THEIR_QUERY = (PreparedEmail, BatchEmail)


class SuppressingMailer(BaseEmailBackend):
    def __init__(
        self,
        *,
        backend: str,
        options: dict[str, Any] | None = None,
        alias: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(alias=alias)
        self.inner: BaseEmailBackend = import_string(backend)(
            alias=alias, **(options or {}), **kwargs
        )

    def __getattr__(self, name: str) -> Any:
        # What callers read of the real backend (an Anymail backend's `esp_name`, the SMTP
        # connection) is the real backend's.
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    def open(self) -> Any:
        return self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        checked = [
            message
            for message in email_messages
            if not isinstance(message, _CHECKED_BY_THEIR_QUERY)
        ]
        suppressed = addresses_suppressed(
            parseaddr(address)[1] for message in checked for address in message.recipients()
        )
        if not suppressed:
            return self.inner.send_messages(email_messages)
        sendable = [message for message in email_messages if _without(message, suppressed)]
        return self.inner.send_messages(sendable) if sendable else 0


def _without(message: EmailMessage, suppressed: set[str]) -> bool:
    """Drop suppressed addresses from the message; whether anyone is left to send it to."""
    if isinstance(message, _CHECKED_BY_THEIR_QUERY):
        return True
    dropped = [a for a in message.recipients() if parseaddr(a)[1] in suppressed]
    if not dropped:
        return True
    logger.warning("Not mailing suppressed address(es) %s", ", ".join(dropped))
    message.to = [a for a in message.to if parseaddr(a)[1] not in suppressed]
    message.cc = [a for a in message.cc if parseaddr(a)[1] not in suppressed]
    message.bcc = [a for a in message.bcc if parseaddr(a)[1] not in suppressed]
    return bool(message.recipients())
