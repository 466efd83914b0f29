"""The SMTP sink of `make prodlike` and `make bench` (deploy/prodlike/smtp_sink.py) records
exactly what a mailer sent it, pipelined or step by step, and refuses commands out of order."""

import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.mail import EmailMessage

from publisher.mail.smtp import EmailBackend
from tests.publisher.test_smtp_backend import _bulk_message
from tests.support.integration_fixtures import free_port
from tests.support.waiting import wait_until

SINK = Path(__file__).resolve().parents[2] / "deploy" / "prodlike" / "smtp_sink.py"


@pytest.fixture
def sink(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SINK), "--port", str(port), "--dir", str(tmp_path), "--keep-bodies"],
        stdout=subprocess.DEVNULL,
    )
    wait_until(lambda: _accepts(port), timeout=10, message="the sink to start")
    yield port, tmp_path
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _records(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "messages.jsonl").read_text().splitlines()]


def test_messages_arrive_as_sent_pipelined_or_not(sink):
    port, directory = sink
    backend = EmailBackend(alias="sink", host="127.0.0.1", port=port, timeout=5)
    bulk = [_bulk_message("a@example.com"), _bulk_message("b@example.com")]
    dotted = EmailMessage("Dots", ".\n..two\nend", "site@example.com", ["c@example.com"])

    assert backend.send_messages([*bulk, dotted]) == 3

    records = _records(directory)
    assert [record["to"] for record in records] == [
        ["a@example.com"],
        ["b@example.com"],
        ["c@example.com"],
    ]
    message_id = re.search(rb"(?m)^Message-ID: (.+?)\r$", bulk[0].raw)
    assert message_id and records[0]["message_id"] == message_id.group(1).decode()
    assert records[2]["subject"] == "Dots"
    assert (directory / "0000001.eml").read_bytes().rstrip(b"\r\n") == bulk[0].raw.rstrip(b"\r\n")
    assert b"\r\n.\r\n..two\r\nend" in (directory / "0000003.eml").read_bytes()


def test_commands_out_of_order_are_refused_and_nothing_is_recorded(sink):
    port, directory = sink
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        reader = client.makefile("rb")
        assert reader.readline().startswith(b"220")
        client.sendall(
            b"EHLO client\r\nRCPT TO:<a@example.com>\r\nMAIL FROM:<s@example.com>\r\n"
            b"DATA\r\nMAIL FROM:nobrackets\r\nVRFY x\r\nQUIT\r\n"
        )
        replies = [line.split(b" ", 1)[0] for line in reader.read().splitlines()]

    assert replies[-6:] == [b"503", b"250", b"503", b"501", b"502", b"221"]
    assert not (directory / "messages.jsonl").read_text()
