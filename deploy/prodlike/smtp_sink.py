"""A local SMTP sink for `make prodlike` and `make bench`: accepts every message on loopback.

Each message becomes one JSON line in <dir>/messages.jsonl (time, envelope, Message-ID,
Subject), so a test can count what arrived and find duplicates; with --keep-bodies the whole
message is also written to <dir>/<n>.eml for a person to read (sign-up codes, notifications).
Stops on SIGTERM or SIGINT.
"""

import argparse
import json
import re
import signal
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

# Only two headers are read, with a regular expression: at hundreds of messages a second the
# sink shares the machine with the sender, and a full parse would slow the run it measures.
_HEADER = re.compile(rb"^(Message-ID|Subject): ?(.*?)\r?$", re.M | re.I)


class Sink:
    def __init__(self, directory: Path, *, keep_bodies: bool) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.keep_bodies = keep_bodies
        self.count = (
            sum(1 for _ in (directory / "messages.jsonl").open())
            if (directory / "messages.jsonl").exists()
            else 0
        )
        self.log = (directory / "messages.jsonl").open("a", buffering=1)
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        # Relays offer PIPELINING, and so the mailer's pipelined path is the one measured
        # and put under faults here; aiosmtpd reads pipelined commands, it just omits the word.
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.original_content or envelope.content
        head = content.split(b"\r\n\r\n", 1)[0]
        headers = {
            name.decode().lower(): value.decode(errors="replace")
            for name, value in _HEADER.findall(head)
        }
        with self.lock:
            self.count += 1
            number = self.count
            record = {
                "n": number,
                "at": round(time.time(), 3),
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "message_id": headers.get("message-id", ""),
                "subject": headers.get("subject", ""),
            }
            self.log.write(json.dumps(record) + "\n")
        if self.keep_bodies:
            (self.directory / f"{number:07d}.eml").write_bytes(content)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8425)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--keep-bodies", action="store_true")
    args = parser.parse_args()
    controller = Controller(
        Sink(args.dir, keep_bodies=args.keep_bodies), hostname=args.host, port=args.port
    )
    controller.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"SMTP sink on {args.host}:{args.port}, writing to {args.dir}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
