"""The SMTP mailer: Django's, with a short path for the messages `BulkEmail` assembled.

Django's SMTP backend parses the sender and every recipient with the email package's header
parser (to refuse header injection and encode international domains), and smtplib parses
them again to quote them for the envelope. For one notification per subscriber that parsing
was a third of the sender's CPU per message (`make bench`, fan-out figures). A
`PreparedEmail` has exactly one recipient that `BulkEmail.message` already checked to be a
plain ASCII addr-spec (no display name, no line break, nothing to encode), and a sender that
is the same for the whole batch: the sender is parsed once per connection and the
recipient goes into the envelope as it is. Every other message takes Django's path.

The SMTP conversation is smtplib's own `sendmail`, step by step, with its error handling:
the same exceptions for refused senders, recipients and data, so callers classify failures
exactly as before.
"""

import smtplib
from contextlib import suppress
from typing import Any

from django.core.mail.backends import smtp

from publisher.emails import PreparedEmail


class EmailBackend(smtp.EmailBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._envelope_senders: dict[str, str] = {}

    def _send(self, email_message: object) -> bool:
        if not isinstance(email_message, PreparedEmail) or len(email_message.to) != 1:
            return super()._send(email_message)  # type: ignore[misc]  # not in django-stubs
        sender = self._envelope_senders.get(email_message.from_email)
        if sender is None:
            sender = self._envelope_senders[email_message.from_email] = self.prep_address(
                email_message.from_email
            )
        assert self.connection is not None  # send_messages opened it before calling us
        try:
            _send_raw(self.connection, sender, email_message.to[0], email_message.raw)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True


def _send_raw(connection: smtplib.SMTP, sender: str, recipient: str, raw: bytes) -> None:
    """smtplib's `sendmail` for one plain recipient and ASCII bytes, without re-parsing."""
    connection.ehlo_or_helo_if_needed()
    code, reply = connection.docmd("mail", f"FROM:<{sender}>")
    if code != 250:
        _abandon(connection, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = connection.docmd("rcpt", f"TO:<{recipient}>")
    if code not in (250, 251):
        _abandon(connection, code)
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = connection.data(raw)
    if code != 250:
        _abandon(connection, code)
        raise smtplib.SMTPDataError(code, reply)


def _abandon(connection: smtplib.SMTP, code: int) -> None:
    # As smtplib does: 421 means the server is closing the connection; otherwise reset the
    # transaction so the connection can carry the next message.
    if code == 421:
        connection.close()
        return
    with suppress(smtplib.SMTPServerDisconnected):
        connection.rset()
