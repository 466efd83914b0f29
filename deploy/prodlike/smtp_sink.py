"""A local SMTP sink for `make prodlike` and `make bench`: accepts every message on loopback.

Each message becomes one JSON line in <dir>/messages.jsonl (time, envelope, Message-ID,
Subject), so a test can count what arrived and find duplicates; with --keep-bodies the whole
message is also written to <dir>/<n>.eml for a person to read (sign-up codes, notifications).
Stops on SIGTERM or SIGINT.

It stands in for a relay on another machine, yet shares this machine's two cores with the
sender it measures, so it is kept lean: a plain asyncio protocol that takes a message's data
in one piece (aiosmtpd, which the test suite's sink uses, reads it line by line and spent
0.6-0.8 ms of CPU per notification in `make bench`, more than the sender itself). It speaks
the part of SMTP a mailer uses, with PIPELINING as relays offer it: EHLO/HELO, MAIL, RCPT,
DATA, RSET, NOOP and QUIT; anything else gets a 502.
"""

import argparse
import asyncio
import json
import re
import signal
import time
from pathlib import Path

# Only two headers are read, with a regular expression: a full parse would slow the run.
_HEADER = re.compile(rb"^(Message-ID|Subject): ?(.*?)\r?$", re.M | re.I)
_ADDRESS = re.compile(rb"^(?:FROM|TO):\s*<([^>]*)>", re.I)
_DOT_STUFFED = re.compile(rb"(?m)^\.")
_END_OF_DATA = b"\r\n.\r\n"
_MAX_LINE = 4096
_MAX_MESSAGE = 32 * 2**20
_EHLO = (
    b"250-sink.localhost\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
    + f"250 SIZE {_MAX_MESSAGE}".encode()
)


class Mailbox:
    """Where accepted messages go: the JSON log and, if asked, one .eml file each."""

    def __init__(self, directory: Path, *, keep_bodies: bool) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.keep_bodies = keep_bodies
        log = directory / "messages.jsonl"
        self.count = sum(1 for _ in log.open()) if log.exists() else 0
        self.log = log.open("a", buffering=1)

    def accept(self, sender: str, recipients: list[str], content: bytes) -> None:
        head = content.split(b"\r\n\r\n", 1)[0]
        headers = {
            name.decode().lower(): value.decode(errors="replace")
            for name, value in _HEADER.findall(head)
        }
        self.count += 1
        record = {
            "n": self.count,
            "at": round(time.time(), 3),
            "from": sender,
            "to": recipients,
            "message_id": headers.get("message-id", ""),
            "subject": headers.get("subject", ""),
        }
        self.log.write(json.dumps(record) + "\n")
        if self.keep_bodies:
            (self.directory / f"{self.count:07d}.eml").write_bytes(content)


class SmtpSession(asyncio.Protocol):
    """One client connection. Replies to pipelined commands go out together, in order."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.buffer = bytearray()
        self.scanned = 0  # in DATA: how far the buffer was searched for the end marker
        self.in_data = False
        self.sender: str | None = None
        self.recipients: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 sink.localhost ESMTP ready\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies: list[bytes] = []
        closing = False
        while not closing:
            if self.in_data:
                reply = self._take_message()
            else:
                reply, closing = self._take_command()
            if reply is None:
                break
            replies.append(reply + b"\r\n")
        if replies:
            self.transport.write(b"".join(replies))
        if closing or len(self.buffer) > _MAX_MESSAGE:
            self.transport.close()

    def _take_command(self) -> tuple[bytes | None, bool]:
        end = self.buffer.find(b"\r\n")
        if end < 0:
            return (b"500 Line too long", True) if len(self.buffer) > _MAX_LINE else (None, False)
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        verb, _, argument = line.partition(b" ")
        verb = verb.upper()
        if verb == b"EHLO":
            self._reset()
            return _EHLO, False
        if verb == b"HELO":
            self._reset()
            return b"250 sink.localhost", False
        if verb == b"MAIL":
            address = _ADDRESS.match(argument)
            if address is None:
                return b"501 Syntax: MAIL FROM:<address>", False
            self._reset()
            self.sender = address.group(1).decode(errors="replace")
            return b"250 OK", False
        if verb == b"RCPT":
            address = _ADDRESS.match(argument)
            if self.sender is None:
                return b"503 Need MAIL first", False
            if address is None:
                return b"501 Syntax: RCPT TO:<address>", False
            self.recipients.append(address.group(1).decode(errors="replace"))
            return b"250 OK", False
        if verb == b"DATA":
            if not self.recipients:
                return b"503 Need RCPT first", False
            self.in_data, self.scanned = True, 0
            return b"354 End data with <CR><LF>.<CR><LF>", False
        if verb in (b"RSET", b"NOOP"):
            if verb == b"RSET":
                self._reset()
            return b"250 OK", False
        if verb == b"QUIT":
            return b"221 Bye", True
        return b"502 Command not implemented", False

    def _take_message(self) -> bytes | None:
        if self.buffer.startswith(b".\r\n"):  # an empty message
            end, content = 0, b""
            del self.buffer[:3]
        else:
            end = self.buffer.find(_END_OF_DATA, max(self.scanned - len(_END_OF_DATA), 0))
            if end < 0:
                self.scanned = len(self.buffer)
                return None
            content = _DOT_STUFFED.sub(b"", bytes(self.buffer[: end + 2]))
            del self.buffer[: end + len(_END_OF_DATA)]
        assert self.sender is not None
        self.mailbox.accept(self.sender, self.recipients, content)
        self._reset()
        return b"250 Message accepted for delivery"

    def _reset(self) -> None:
        self.in_data, self.sender, self.recipients = False, None, []


async def serve(host: str, port: int, mailbox: Mailbox) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SmtpSession(mailbox), host, port)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"SMTP sink on {host}:{port}, writing to {mailbox.directory}", flush=True)
    await stop.wait()
    server.close()
    server.close_clients()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8425)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--keep-bodies", action="store_true")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, Mailbox(args.dir, keep_bodies=args.keep_bodies)))


if __name__ == "__main__":
    main()
