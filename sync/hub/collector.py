"""Fewer garbage collections during a large import.

CPython's cyclic collector runs after every 700 net container allocations and then walks the
young objects; a full collection also walks every long-lived one. An import of a large catalogue
allocates millions of short-lived containers (decoded lines, canonical records, row dicts) while
it holds the interpreter's ~250,000 start-up objects and its own per-catalogue sets, so the
collector took about a fifth of the import's CPU time (measured: 2.6 of 11 CPU-s importing
40,000 variants). `fewer_collections` freezes what exists when it starts (start-up objects are
never garbage, so they need not be walked again) and raises the young generation's threshold
for the duration; both are restored on the way out. Cycles are still collected, less often.
`collector_paused` holds the collector off entirely for one bounded batch (a receipt).

With collections that rare, cyclic garbage (result objects, statement caches' throwaways) lives
until the next full collection and grows with the catalogue (measured: ~400 bytes a level of a
stock import on PostgreSQL); a streaming import calls `chunk_done` after each chunk with the
records it handled, and every `COLLECT_EVERY` records a full collection (walking only what is not
frozen) frees what the chunks left behind. A collection after every chunk of 500-5,000 records
cost ~50 ms apiece (measured: 18 of them, 0.9 of a 10,000-variant catalog import's 8 CPU-s under
cProfile); every 20,000 records the garbage held between two stays a few MB.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

THRESHOLD = (20_000, 10, 10)  # allocations before a young collection; young / middle collections before the next
COLLECT_EVERY = 20_000  # records a streaming import handles between two full collections

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def fewer_collections() -> Iterator[None]:
    before = gc.get_threshold()
    gc.collect()  # nothing unreachable is frozen
    gc.freeze()
    gc.set_threshold(*THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def with_fewer_collections(function: Callable[P, R]) -> Callable[P, R]:
    """`function` run inside `fewer_collections`."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with fewer_collections():
            return function(*args, **kwargs)

    return wrapper


class _Handled:
    records = 0  # since the last full collection


def chunk_done(records: int) -> None:
    """A chunk of `records` records of a streaming import is done: collect the cycles the chunks
    left once `COLLECT_EVERY` records have been handled since the last time (module docstring)."""
    _Handled.records += records
    if _Handled.records >= COLLECT_EVERY:
        _Handled.records = 0
        gc.collect()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector for one batch (a receipt, an import).

    A 10,000-row batch makes a few hundred thousand short-lived objects (CSV rows, movements,
    result rows, quantity chains) that reference counting frees; to the collector they look like a
    growing heap, so it ran 2 or 3 full collections in the middle of a receipt, each walking every
    object the process holds (about 0.1 CPU-s apiece: a third of the receipt's CPU). The batch
    makes no cycles that need collecting while it runs; the collector resumes after it (nothing is
    changed if it was already off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
