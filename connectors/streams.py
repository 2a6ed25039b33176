"""Incremental streams (orders, shipments): the order they come in, and checkpoints.

A connector's `order_stream(updated_since)` yields canonical records and, where it can say so,
`Checkpoint(moment)`: "every record changed before `moment` has now been yielded". The engine
commits what came before a checkpoint and only then moves the account's cursor to it, so a cursor
never passes a record that was not stored. Each stream declares its order
(`Connector.order_stream_order`):

- `OLDEST_FIRST`  ascending by `updated_at` (WooCommerce `orderby=modified&order=asc`, Shopify
                  `sortKey: UPDATED_AT`): the engine may move the cursor to each stored record's time;
- `WINDOWED`      time windows walked oldest first (`paging.time_windows`), any order inside a window
                  (Taobao, Pinduoduo: newest-first pages read from the back): the stream yields a
                  `Checkpoint` at the end of each window;
- `ANY`           no usable order (newest-first cursors): the cursor moves once, after the whole
                  stream was read, to the moment the read began.

Records before the cursor are read again through the lookback window, so a checkpoint is allowed
to be conservative; it must never be ahead of a record still to come.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class StreamOrder(StrEnum):
    OLDEST_FIRST = "oldest_first"
    WINDOWED = "windowed"
    ANY = "any"


@dataclass(frozen=True)
class Checkpoint:
    """Every record changed before `moment` has been yielded by the stream."""

    moment: datetime


def records(stream: Iterable[T | Checkpoint]) -> Iterator[T]:
    """The records of a stream, checkpoints dropped (for callers that want only the records)."""
    for item in stream:
        if not isinstance(item, Checkpoint):
            yield item
