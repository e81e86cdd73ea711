"""Loaded only by .ci/run's faked-clock step (PYTHONPATH=tests/faketime), in every Python
process it starts: libfaketime 0.9.10 with FAKETIME_DONT_FAKE_MONOTONIC=1 makes
``time.sleep`` fail with EINVAL (its clock_nanosleep wrapper refuses Python's absolute
monotonic deadline), and without that setting every ``threading.Event.wait(timeout)`` hangs
(the real sem_clockwait gets a faked monotonic deadline). Real monotonic time, and a sleep
by ``select`` (a relative timeout libfaketime leaves alone), avoid both."""

from __future__ import annotations

import select
import time

_MONOTONIC = time.monotonic


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = _MONOTONIC() + seconds
    remaining = seconds
    while remaining > 0:
        select.select([], [], [], remaining)
        remaining = deadline - _MONOTONIC()


time.sleep = _sleep
