"""The tests' local fake of Stripe (tests/support/stripe_fake.py) as a small server for
`make prodlike`: the real SDK talks to it, it plays Checkout and the Billing Portal, and it
delivers signed webhooks to the site. Prints and writes its base address (the port is free
one the system picks); stops on SIGTERM or SIGINT.
"""

import argparse
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.stripe_fake import FakeStripe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--webhook-url", required=True)
    parser.add_argument("--webhook-secret", required=True)
    parser.add_argument("--price", action="append", required=True)
    parser.add_argument("--address-file", type=Path, required=True)
    args = parser.parse_args()
    fake = FakeStripe(
        api_key=args.api_key,
        prices=set(args.price),
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    ).start()
    args.address_file.write_text(fake.base_url)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"Fake Stripe on {fake.base_url}", flush=True)
    stop.wait()
    fake.stop()
    args.address_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
