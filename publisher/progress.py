"""The progress bar that long management commands draw on one line of their output."""

import time
from typing import Any

WIDTH = 30


class ProgressBar:
    """`label [#####-----] done/total elapsed` redrawn in place; a newline once complete.

    `stream` is a command's `self.stdout` (Django's OutputWrapper).
    """

    def __init__(self, stream: Any, label: str, total: int) -> None:
        self.stream, self.label, self.total, self.done = stream, label, total, 0
        self.started = time.monotonic()
        self.show(0)

    def advance(self, count: int) -> None:
        self.show(self.done + count)

    def show(self, done: int, *, total: int | None = None, detail: str = "") -> None:
        self.done = done
        if total is not None:
            self.total = total
        filled = WIDTH * min(self.done, self.total) // max(self.total, 1)
        elapsed = time.monotonic() - self.started
        self.stream.write(
            f"\r{self.label:<24} [{'#' * filled}{'-' * (WIDTH - filled)}] "
            f"{self.done:>7,}/{self.total:,} {elapsed:5.1f}s{detail}",
            ending="",
        )
        self.stream.flush()
        if self.done >= self.total:
            self.stream.write("")
