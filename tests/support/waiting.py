"""Waiting for a condition instead of sleeping for a guessed time.

`wait_until` polls a predicate until it returns something truthy and returns that value; at
the deadline it fails the test, saying what it waited for (`message`, or a function giving
it, for a message that reports the state at the deadline). Deadlines are on the monotonic
clock, which time-machine leaves alone, so they hold under `--frozen-clock` too.

`wait_while_progressing` is for work whose speed depends on the machine (a fan-out to
thousands of addresses on a loaded CI box): it waits as long as `progress()` keeps changing,
fails once it has not changed for `stall` seconds, and never waits longer than `timeout`. A
slow machine gets the time it needs; a stuck worker fails after `stall`, not after a total
sized for the slowest machine.
"""

import time
from collections.abc import Callable, Hashable


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


def wait_while_progressing[T](
    predicate: Callable[[], T],
    *,
    progress: Callable[[], Hashable],
    stall: float,
    timeout: float,
    message: str | Callable[[], str],
    interval: float = 0.5,
) -> T:
    started = time.monotonic()
    last, moved_at = progress(), started
    while True:
        value = predicate()
        if value:
            return value
        now = time.monotonic()
        if (seen := progress()) != last:
            last, moved_at = seen, now
        if now - moved_at >= stall or now - started >= timeout:
            what = message() if callable(message) else message
            why = (
                f"no progress for {now - moved_at:.0f} s"
                if now - moved_at >= stall
                else f"still progressing at the {timeout:g} s cap"
            )
            raise AssertionError(f"gave up after {now - started:.0f} s ({why}) waiting for {what}")
        time.sleep(interval)
