"""The clock of the processes a test starts.

time-machine moves this process's clock (`--frozen-clock`, or a test's own travel) but not
that of a subprocess. A worker or a manage.py started through `travelled_command` reads the
same clock as the test: the wall clock plus the same offset, ticking, so times written on
one side and compared on the other agree. time-machine's escape hatch reads the wall clock.
"""

import sys
import time

from time_machine import escape_hatch


def offset() -> float:
    """Seconds this process's clock is ahead of the wall clock (negative: behind)."""
    if not escape_hatch.is_travelling():
        return 0.0
    return time.time() - escape_hatch.time.time()


def travelled_command(target: str, *args: str) -> list[str]:
    """`python -m target args…` (or `python target args…` for a script ending in .py) with
    its clock where this process's clock is now."""
    return [sys.executable, "-m", "tests.support.travelled", f"{offset():.6f}", target, *args]
