"""The fault suite's waits: patient with slow progress, quick to call a stall."""

import itertools

import pytest

from tests.support.waiting import wait_while_progressing


def test_waits_past_the_stall_window_while_progress_continues():
    ticks = itertools.count()
    # Ready on the 8th look, about 0.35 s in: longer than the stall window, but every look
    # sees progress, so it is still waiting when the condition comes true.
    looks = iter(range(8))
    value = wait_while_progressing(
        lambda: next(looks, 7) >= 7 and "done",
        progress=lambda: next(ticks),
        stall=0.2,
        timeout=30,
        message="the work",
        interval=0.05,
    )
    assert value == "done"


def test_a_stall_fails_with_how_long_nothing_moved():
    with pytest.raises(AssertionError, match=r"no progress for \d+ s\) waiting for the work"):
        wait_while_progressing(
            lambda: False, progress=lambda: 42, stall=0.2, timeout=30, message="the work",
            interval=0.02,
        )  # fmt: skip


def test_the_cap_holds_even_while_progressing():
    ticks = itertools.count()
    with pytest.raises(AssertionError, match=r"still progressing at the 0.3 s cap"):
        wait_while_progressing(
            lambda: False, progress=lambda: next(ticks), stall=30, timeout=0.3,
            message=lambda: "the work", interval=0.02,
        )  # fmt: skip
