"""Reference rows read once per transaction, where a caller says they cannot change under it.

A drain ingests a hundred orders in one transaction; each asked again which hub location its
account commits at, whether its variant is tracked, which kits exist, and re-read the listing
it had just found (the session's identity map holds unmodified rows weakly, so a row nobody
references is gone by the next `get`). Inside `remembering(session)` those answers are kept for
the rest of the transaction. Only code that changes none of them opens it (ingesting orders
changes no kit, variant setting or location mapping; a location it creates, the first return's,
is found again because a miss is not remembered); everywhere else `recall` reads afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")
_KEY = "marketsync.memo"
_PINNED = "marketsync.pinned"


@contextmanager
def remembering(session: Session) -> Iterator[None]:
    """Keep reference answers (`recall`) and loaded rows (`pin`) until the block ends."""
    if _KEY in session.info:  # already remembering: the outer block decides when it ends
        yield
        return
    session.info[_KEY], session.info[_PINNED] = {}, []
    try:
        yield
    finally:
        session.info.pop(_KEY, None)
        session.info.pop(_PINNED, None)


def forget(session: Session) -> None:
    """Drop what was remembered (a savepoint rolled back: a row it created is gone again)."""
    memo: dict[Hashable, Any] | None = session.info.get(_KEY)
    if memo is not None:
        memo.clear()


def is_remembering(session: Session) -> bool:
    return _KEY in session.info


def recall(session: Session, key: Hashable, load: Callable[[], T]) -> T:
    """`load()`, once per `remembering` block for `key`; every time outside one. None is not kept:
    a row not found yet may be created later in the transaction (the first return's location)."""
    memo: dict[Hashable, Any] | None = session.info.get(_KEY)
    if memo is None:
        return load()
    if key not in memo:
        value = load()
        if value is None:
            return value
        memo[key] = value
    return memo[key]


def pin(session: Session, row: object) -> None:
    """Hold a loaded row for the block, so the next `session.get` of it finds it without a query."""
    pinned: list[object] | None = session.info.get(_PINNED)
    if pinned is not None and row is not None:
        pinned.append(row)
