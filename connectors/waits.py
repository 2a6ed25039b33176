"""The waits of a platform call (rate points, a platform's pause, a retry's backoff), cut short on stop.

A worker asked to stop (SIGTERM from `marketsync run`, Ctrl-C) lets its current job finish. A job
waiting for rate points or backing off from a dead shop could make that take minutes; so every such
wait sleeps in short slices through `nap`, and once `stop_waiting()` was called it raises
`Interrupted` instead: the job ends at once and is run again later (jobs are idempotent).
"""

from __future__ import annotations

import threading
import time

from connectors.errors import Interrupted

SLICE_S = 0.2  # how soon a wait notices the stop
_STOPPING = threading.Event()


def stop_waiting() -> None:
    """From now on every wait in this process ends with `Interrupted` (safe in a signal handler)."""
    _STOPPING.set()


def resume_waiting() -> None:
    """Undo `stop_waiting` (a worker starting again in the same process, tests)."""
    _STOPPING.clear()


def stopping() -> bool:
    return _STOPPING.is_set()


def nap(seconds: float, *, where: str = "a platform call") -> None:
    """Sleep `seconds`, or raise `Interrupted` as soon as the process is asked to stop."""
    deadline = time.monotonic() + seconds
    while True:
        if _STOPPING.is_set():
            raise Interrupted(where, "the worker is stopping; the job runs again later")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(remaining, SLICE_S))
