"""Windowed polling: these platforms list orders and after-sales only over bounded time ranges.

`windowed_stream` walks [updated_since, now] (or the last `history` when there is no cursor) in
windows of at most `span`, oldest first, asks `fetch(low, high)` for the orders changed in each
(the connector reads orders and after-sales and re-reads the orders those touch), yields each
order once, and yields `Checkpoint(high)` after every window: the stream is `WINDOWED`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta

import canonical
from connectors.paging import time_windows
from connectors.streams import Checkpoint


def start_of(updated_since: datetime | None, *, history: timedelta, now: datetime,
             oldest: timedelta | None = None) -> datetime:
    """Where polling starts: the cursor's whole second (platforms store seconds), else `history` ago;
    never before `oldest` ago when the platform lists nothing older."""
    if updated_since is None:
        start = now - history
    else:
        start = updated_since.astimezone(UTC) if updated_since.tzinfo else updated_since.replace(tzinfo=UTC)
    if oldest is not None:
        start = max(start, now - oldest + timedelta(minutes=1))
    return start.replace(microsecond=0)


def windowed_stream(updated_since: datetime | None, *, span: timedelta, history: timedelta,
                    fetch: Callable[[datetime, datetime], Iterable[canonical.Order]],
                    oldest: timedelta | None = None) -> Iterator[canonical.Order | Checkpoint]:
    now = datetime.now(UTC)
    seen: set[tuple[str, datetime]] = set()
    for low, high in time_windows(start_of(updated_since, history=history, now=now, oldest=oldest), now, span):
        for order in fetch(low, high):
            key = (order.external_id, order.updated_at)
            if key not in seen:
                seen.add(key)
                yield order
        yield Checkpoint(high)


def seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
