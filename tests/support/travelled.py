"""`python -m tests.support.travelled OFFSET TARGET [ARG…]` runs TARGET, a module (as
`python -m TARGET ARG…` would) or a script ending in .py (as `python TARGET ARG…`), with its
clock OFFSET seconds from the wall clock and ticking (time-machine). Forked children
(Celery's pool processes) inherit the travelled clock. See clock.py."""

import runpy
import sys
import time

import time_machine


def main() -> None:
    offset, target, *args = sys.argv[1:]
    if float(offset):
        time_machine.travel(time.time() + float(offset), tick=True).start()
        # A travelled clock starts ticking when first read: read it now, or this process
        # lags the test by however long its imports take.
        time.time()
    sys.argv = [target, *args]
    if target.endswith(".py"):
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module(target, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
