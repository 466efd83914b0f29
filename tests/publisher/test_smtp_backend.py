"""The SMTP mailer's short path for bulk messages sends exactly the bytes `BulkEmail`
assembled to exactly one plain recipient, and fails the way smtplib fails, so the sender
classifies refusals the same way on either path; every other message goes through Django's
own path. A server that offers PIPELINING gets each message in two round trips, one that does
not in four."""

import smtplib

import pytest
from django.core.mail import EmailMessage

from publisher.mail.smtp import EmailBackend
from tests.support.notification_messages import notification_message

pytestmark = pytest.mark.integration

both_kinds_of_server = pytest.mark.parametrize(
    "smtp_sink", [{"pipelining": True}, {"pipelining": False}], indirect=True, ids=str
)


def _backend(sink) -> EmailBackend:
    return EmailBackend(alias="sink", host="127.0.0.1", port=sink.port, timeout=5)


def _bulk_message(to: str):
    return notification_message(to)


@both_kinds_of_server
def test_a_bulk_message_goes_out_as_assembled(smtp_sink):
    message = _bulk_message("reader@example.com")
    backend = _backend(smtp_sink)

    assert backend.send_messages([message, _bulk_message("second@example.com")]) == 2

    (first_rcpts, first_bytes), (second_rcpts, _) = smtp_sink.messages
    assert first_rcpts == ["reader@example.com"] and second_rcpts == ["second@example.com"]
    assert first_bytes.rstrip(b"\r\n") == message.raw.rstrip(b"\r\n")


def test_other_messages_take_djangos_path(smtp_sink):
    message = EmailMessage("Hi", "Body", "Site <site@example.com>", ["A <a@example.com>"])

    assert _backend(smtp_sink).send_messages([message]) == 1

    assert smtp_sink.messages[0][0] == ["a@example.com"]


@both_kinds_of_server
def test_a_refused_recipient_raises_as_smtplib_does_and_the_connection_carries_on(smtp_sink):
    backend = _backend(smtp_sink)
    backend.open()
    smtp_sink.refusing = True
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        backend.send_messages([_bulk_message("reader@example.com")])
    smtp_sink.refusing = False

    assert refused.value.recipients["reader@example.com"][0] == 451
    assert backend.send_messages([_bulk_message("reader@example.com")]) == 1
    backend.close()
    assert smtp_sink.per_recipient() == {"reader@example.com": 1}


@pytest.mark.parametrize(
    ("smtp_sink", "writes"), [({"pipelining": True}, 2), ({"pipelining": False}, 4)],
    indirect=["smtp_sink"], ids=["pipelining", "step-by-step"],
)  # fmt: skip
def test_a_pipelining_server_gets_each_message_in_two_writes(smtp_sink, writes, monkeypatch):
    backend = _backend(smtp_sink)
    backend.open()
    assert backend.connection is not None
    writes_seen = []
    send = backend.connection.send
    monkeypatch.setattr(
        backend.connection, "send", lambda data: [writes_seen.append(data), send(data)]
    )

    assert backend.send_messages([_bulk_message("a@example.com"), _bulk_message("b@example.com")])

    transaction_writes = [data for data in writes_seen if data[:4].lower() not in ("ehlo", b"ehlo")]
    assert len(transaction_writes) == 2 * writes
    assert smtp_sink.per_recipient() == {"a@example.com": 1, "b@example.com": 1}
    backend.close()


@both_kinds_of_server
def test_lines_starting_with_a_dot_arrive_intact(smtp_sink):
    message = _bulk_message("reader@example.com")
    message.raw = message.raw.replace(b"\r\n\r\n", b"\r\n\r\n.dot\r\n..two\r\n", 1)

    assert _backend(smtp_sink).send_messages([message]) == 1

    assert b"\r\n\r\n.dot\r\n..two\r\n" in smtp_sink.messages[0][1]


def test_a_refused_sender_under_pipelining_raises_as_smtplib_does(smtp_sink, monkeypatch):
    async def refuse(server, session, envelope, address, mail_options):
        return "550 5.7.1 Sender not allowed"

    monkeypatch.setattr(smtp_sink, "handle_MAIL", refuse, raising=False)
    backend = _backend(smtp_sink)

    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        backend.send_messages([_bulk_message("reader@example.com")])

    assert refused.value.smtp_code == 550
    assert smtp_sink.count() == 0
