"""Mailers for tests that need an SMTP server's refusals without a server."""

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager

from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class ScriptedBackend(LocmemBackend):
    """The locmem outbox, but each send first takes the next item of `script`:
    None delivers, an exception is raised instead (as smtplib would)."""

    script: list[Exception | None] = []

    def send_messages(self, messages):
        for message in messages:
            outcome = type(self).script.pop(0) if type(self).script else None
            if outcome is not None:
                raise outcome
            super().send_messages([message])
        return len(messages)


@contextmanager
def scripted_mailer(settings, script: list[Exception | None]) -> Iterator[list]:
    ScriptedBackend.script = list(script)
    settings.MAILERS = {"default": {"BACKEND": "tests.support.mailers.ScriptedBackend"}}
    mail.outbox = []
    try:
        yield mail.outbox
    finally:
        ScriptedBackend.script = []


def refused(code: int, address: str = "x@example.com") -> smtplib.SMTPRecipientsRefused:
    return smtplib.SMTPRecipientsRefused({address: (code, b"try again later")})
