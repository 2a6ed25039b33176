"""Order polling with a cursor, and backfills: the poll that catches what webhooks missed.

A poll reads the account's orders changed since its cursor (minus an overlap) and ingests them
through the same idempotent `ingest_order` as webhook events (`sync.orders.ingest`), one
transaction per chunk; the cursor advances in the transaction of the chunk it covers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import canonical
from canonical.errors import MarketsyncError
from connectors.errors import AuthFailed, Interrupted
from store import tables
from store.types import utcnow
from sync.hub import health
from sync.hub.context import Hub
from sync.hub.queues import enqueue_unique
from sync.orders.ingest import IngestResult, ingest_order
from sync.stock.change import stock_change

log = logging.getLogger(__name__)

CURSOR_STREAM = "orders"
CHUNK = 50            # orders per transaction (and per cursor move) while polling


def read_cursor(session: Session, account_id: int, stream: str = CURSOR_STREAM) -> datetime | None:
    value = session.scalar(select(tables.Cursor.value).where(tables.Cursor.account_id == account_id,
                                                             tables.Cursor.stream == stream))
    return canonical.utc_from_iso(value) if value else None


def write_cursor(session: Session, account_id: int, moment: datetime, stream: str = CURSOR_STREAM) -> None:
    """Move the cursor forward (never back) in the caller's transaction."""
    row = session.scalar(select(tables.Cursor).where(tables.Cursor.account_id == account_id,
                                                     tables.Cursor.stream == stream).with_for_update())
    if row is None:
        session.add(tables.Cursor(account_id=account_id, stream=stream, value=moment.isoformat()))
    elif canonical.utc_from_iso(row.value) < moment:
        row.value = moment.isoformat()


@dataclass
class PollCounts:
    seen: int = 0
    created: int = 0
    updated: int = 0
    stale: int = 0
    held_lines: int = 0
    skipped: list[str] = field(default_factory=list)

    def add(self, result: IngestResult) -> None:
        self.seen += 1
        self.created += result.created
        self.stale += result.stale
        self.updated += not result.created and not result.stale
        self.held_lines += result.held_lines

    def as_dict(self) -> dict[str, Any]:
        return {"seen": self.seen, "created": self.created, "updated": self.updated, "stale": self.stale,
                "held_lines": self.held_lines, "skipped": len(self.skipped)}


def _chunks(orders: Iterator[canonical.Order], size: int = CHUNK) -> Iterator[list[canonical.Order]]:
    while chunk := list(islice(orders, size)):
        yield chunk


def ingest_stream(hub: Hub, account_id: int, since: datetime | None, *, move_cursor: bool,
                  progress: Callable[[int], None] | None = None) -> PollCounts:
    """Read the account's orders changed since `since` and ingest them, one transaction per chunk;
    with `move_cursor` the cursor advances in the same transaction as the chunk it covers."""
    with hub.db.session() as session:
        account = session.get(tables.Account, account_id)
        assert account is not None
    counts = PollCounts()
    fetched_at = utcnow()
    connector = hub.connector(account)
    try:
        for chunk in _chunks(connector.orders(updated_since=since)):
            with stock_change(hub) as change:
                row = change.session.get(tables.Account, account_id)
                assert row is not None
                for order in chunk:
                    counts.add(ingest_order(change, row, order, box=hub.secret_box,
                                            source="poll" if move_cursor else "import", fetched_at=fetched_at))
                if move_cursor:
                    write_cursor(change.session, account_id, max(order.updated_at for order in chunk))
            if progress:
                progress(len(chunk))
        counts.skipped = [str(err) for err in connector.skipped]
    finally:
        connector.close()
    return counts


DEEP_STREAM = "orders-deep"  # when the account's last deep poll (the whole lookback) finished


def poll_orders(hub: Hub, account_id: int) -> dict[str, Any]:
    """Poll one account's orders from its cursor minus an overlap (first poll: from when the account
    was connected, minus the lookback; older orders come with `orders import`).

    A quick poll re-reads `sync.order_overlap_s` before its cursor (an order a platform lists a few
    seconds late); every `sync.order_deep_poll_interval_s` one poll re-reads the whole
    `sync.order_lookback_s`. At a few orders a second, re-reading ten minutes on every poll cost
    thousands of a shop's query points a minute, and pushes waited for them."""
    settings = hub.settings.sync
    with hub.db.session() as session:
        account = session.get(tables.Account, account_id)
        if account is None or not account.enabled:
            return {"skipped": "account missing or disabled"}
        cursor = read_cursor(session, account_id)
        last_deep = read_cursor(session, account_id, DEEP_STREAM)
    started = utcnow()
    deep = cursor is None or last_deep is None or started - last_deep >= timedelta(
        seconds=settings.order_deep_poll_interval_s)
    back = settings.order_lookback_s if deep else min(settings.order_overlap_s, settings.order_lookback_s)
    since = (cursor or account.created_at) - timedelta(seconds=back)
    try:
        counts = ingest_stream(hub, account_id, since, move_cursor=True)
        if deep:
            with hub.db.session() as session:
                write_cursor(session, account_id, started, DEEP_STREAM)
    except AuthFailed as exc:  # recorded; the job's error policy marks the account failing
        health.failed(hub, account_id, "order poll", exc)
        raise
    except Interrupted:  # the worker is stopping: the job is put back, the account did nothing wrong
        raise
    except MarketsyncError as exc:  # one line, no traceback: the next poll tries again
        return health.failed(hub, account_id, "order poll", exc)
    health.succeeded(hub, account_id)
    for problem in counts.skipped:
        log.warning("account %s: an order could not be read: %s", account_id, problem)
    return counts.as_dict()


def enqueue_poll(hub: Hub, account_id: int) -> bool:
    return enqueue_unique(hub.redis, "orders", "sync.jobs.poll_orders", (account_id,),
                          f"poll-orders-{account_id}")


