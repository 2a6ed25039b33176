"""The waits of a platform call (rate points, a platform's pause, a retry's backoff), cut short on stop.

A worker asked to stop (SIGTERM from `marketsync run`, Ctrl-C) lets its current job finish. A job
waiting for rate points or backing off from a dead shop could make that take minutes; so every such
wait sleeps in short slices through `nap`, and once `stop_waiting()` was called it raises
`Interrupted` instead: the job ends at once and is run again later (jobs are idempotent).

A job may also declare its patience (`patience(seconds)`): a single wait longer than that is not
slept at all but raises `Deferred`, and the job is handed back to its queue for after the wait.
A webhook event's order read waiting out a throttled marketplace's pause then frees its worker
for the other accounts' work instead of sleeping in it; so does a platform's rate-limit answer
asking for a longer wait than that (`connectors.http.call` does not retry it in the job).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from connectors.errors import Deferred, Interrupted

SLICE_S = 0.2  # how soon a wait notices the stop
_STOPPING = threading.Event()
_PATIENCE: ContextVar[float | None] = ContextVar("marketsync_wait_patience", default=None)


def stop_waiting() -> None:
    """From now on every wait in this process ends with `Interrupted` (safe in a signal handler)."""
    _STOPPING.set()


def resume_waiting() -> None:
    """Undo `stop_waiting` (a worker starting again in the same process, tests)."""
    _STOPPING.clear()


def stopping() -> bool:
    return _STOPPING.is_set()


@contextmanager
def patience(seconds: float) -> Iterator[None]:
    """Within this block a wait for a rate budget longer than `seconds` raises `Deferred` instead of
    sleeping."""
    token = _PATIENCE.set(seconds)
    try:
        yield
    finally:
        _PATIENCE.reset(token)


def current_patience() -> float | None:
    """The running job's patience (`patience`), None when it waits whatever it takes."""
    return _PATIENCE.get()


def nap(seconds: float, *, where: str = "a platform call", rate_wait: bool = False) -> None:
    """Sleep `seconds`, or raise `Interrupted` as soon as the process is asked to stop (`Deferred`
    at once when it is a wait for a rate budget, `rate_wait`, past the job's `patience`: a retry's
    backoff is the failure policy's, not handed back)."""
    limit = _PATIENCE.get()
    if rate_wait and limit is not None and seconds > limit:
        raise Deferred(where, f"a wait of {seconds:.1f} s; the job runs again after it", retry_after=seconds)
    deadline = time.monotonic() + seconds
    while True:
        if _STOPPING.is_set():
            raise Interrupted(where, "the worker is stopping; the job runs again later")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(remaining, SLICE_S))
