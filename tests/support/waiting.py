"""Waiting for a condition instead of sleeping for a guessed time.

`wait_until` polls a predicate until it returns something truthy and returns that value; at
the deadline it fails the test, saying what it waited for (`message`, or a function giving
it, for a message that reports the state at the deadline). Deadlines are on the monotonic
clock, which time-machine leaves alone, so they hold under `--frozen-clock` too.
"""

import time
from collections.abc import Callable


def wait_until[T](
    predicate: Callable[[], T],
    *,
    timeout: float,
    message: str | Callable[[], str],
    interval: float = 0.05,
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            what = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
