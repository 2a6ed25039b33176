"""Order jobs: webhook events, polling with a cursor, backfills and the sweep.

Webhooks and polls end in the same idempotent `ingest_order` (see `sync.order_ingest`).
Decision: an event job does not trust the delivered body; it reads the order's current
state from the channel (`connector.order`) and ingests that, so every platform shares one
normaliser and a late, duplicated or reordered event can only bring the latest state.
Raw payloads may hold customer data: they are stored for replay, never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import canonical
from connectors.base import WebhookEvent
from store import tables
from store.types import utcnow
from sync import propagation
from sync.context import Hub
from sync.order_ingest import IngestResult, fetched_since, ingest_order, note_known_event, release_held_lines
from sync.runtime import current_hub
from sync.scheduler import enqueue_unique

__all__ = ["ingest_order", "poll_orders_job", "process_event_job", "release_held_lines", "sweep"]

log = logging.getLogger(__name__)

CURSOR_STREAM = "orders"
CHUNK = 50            # orders per transaction (and per cursor move) while polling
EVENT_GRACE = timedelta(seconds=60)


# ---- webhook events ------------------------------------------------------------------------------
def store_event(session: Session, account: tables.Account, event: WebhookEvent, body: bytes, *,
                status: str = "received") -> int | None:
    """Store a verified event under its unique (platform, event id); None when already stored."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (dialect.insert(tables.WebhookEvent)
            .values(platform=account.platform, event_id=event.event_id[:255], account_id=account.id,
                    topic=event.topic[:100], payload=body.decode("utf-8", "replace"), status=status,
                    received_at=utcnow(), processed_at=None if status == "received" else utcnow())
            .on_conflict_do_nothing(index_elements=["platform", "event_id"]).returning(tables.WebhookEvent.id))
    row = session.execute(stmt).first()
    return int(row[0]) if row else None


def enqueue_event(hub: Hub, event_id: int) -> bool:
    return enqueue_unique(hub.redis, "orders", "sync.orders.process_event_job", (event_id,),
                          f"process-event-{event_id}")


def order_reference(platform: str, topic: str, payload: dict[str, Any]) -> str | None:
    """The channel's order id an event is about; None for events that are not about an order."""
    if platform == "shopify":
        if topic.startswith("orders/"):
            return str(payload.get("admin_graphql_api_id") or f"gid://shopify/Order/{payload.get('id')}")
        if topic.startswith(("fulfillments/", "refunds/")) and payload.get("order_id"):
            return f"gid://shopify/Order/{payload['order_id']}"
        return None
    if topic.startswith(("order.", "orders/", "order/")) and payload.get("id") is not None:
        return str(payload["id"])
    return None


def process_event_job(event_id: int) -> str:
    """Ingest the order a stored webhook event is about; safe to run again (replay).

    The order is read from the channel rather than trusted from the body, unless the hub has
    read it since this event arrived (then the event has nothing newer: skipped, no API call).
    """
    import json

    hub = current_hub()
    with hub.db.session() as session:
        event = session.get(tables.WebhookEvent, event_id)
        if event is None:
            return "missing"
        account = session.get(tables.Account, event.account_id)
        assert account is not None
        try:
            payload = json.loads(event.payload)
        except ValueError:
            payload = {}
        reference = order_reference(account.platform, event.topic, payload if isinstance(payload, dict) else {})
        known = reference is not None and fetched_since(session, account.id, reference, event.received_at)
    if reference is None:
        return _finish_event(hub, event_id, "ignored")
    if known:
        with hub.db.session() as session:
            note_known_event(session, account.id, str(reference), event_id)
            _mark(session, event_id, "processed", None)
        return "processed"
    fetched_at = utcnow()
    connector = hub.connector(account)
    try:
        order = connector.order(reference)
    except Exception as exc:  # kept on the event (no payload in it); `webhooks replay` or the poll catch up
        return _finish_event(hub, event_id, "failed", f"{type(exc).__name__}: {str(exc).splitlines()[0][:500]}")
    finally:
        connector.close()
    with hub.db.session() as session:
        account = session.get(tables.Account, account.id)
        assert account is not None
        ingest_order(session, account, order, source=f"webhook:{event_id}", fetched_at=fetched_at)
        _mark(session, event_id, "processed", None)
    propagation.schedule_pushes(hub)
    return "processed"


def _mark(session: Session, event_id: int, status: str, error: str | None) -> None:
    event = session.get(tables.WebhookEvent, event_id)
    if event is not None:
        event.status, event.error, event.processed_at = status, error, utcnow()


def _finish_event(hub: Hub, event_id: int, status: str, error: str | None = None) -> str:
    with hub.db.session() as session:
        _mark(session, event_id, status, error)
    if error:
        log.warning("webhook event %s failed: %s", event_id, error)
    return status


# ---- polling and backfills -----------------------------------------------------------------------
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
            with hub.db.session() as session:
                row = session.get(tables.Account, account_id)
                assert row is not None
                for order in chunk:
                    counts.add(ingest_order(session, row, order, source="poll" if move_cursor else "import",
                                            fetched_at=fetched_at))
                if move_cursor:
                    write_cursor(session, account_id, max(order.updated_at for order in chunk))
            propagation.schedule_pushes(hub)
            if progress:
                progress(len(chunk))
        counts.skipped = [str(err) for err in connector.skipped]
    finally:
        connector.close()
    return counts


def poll_orders_job(account_id: int) -> dict[str, Any]:
    """Poll one account's orders from its cursor minus `sync.order_lookback_s` (first poll: from when
    the account was connected, minus the lookback; older orders come with `orders import`)."""
    hub = current_hub()
    lookback = timedelta(seconds=hub.settings.sync.order_lookback_s)
    with hub.db.session() as session:
        account = session.get(tables.Account, account_id)
        if account is None or not account.enabled:
            return {"skipped": "account missing or disabled"}
        cursor = read_cursor(session, account_id) or account.created_at
    counts = ingest_stream(hub, account_id, cursor - lookback, move_cursor=True)
    for problem in counts.skipped:
        log.warning("account %s: an order could not be read: %s", account_id, problem)
    return counts.as_dict()


def enqueue_poll(hub: Hub, account_id: int) -> bool:
    return enqueue_unique(hub.redis, "orders", "sync.orders.poll_orders_job", (account_id,),
                          f"poll-orders-{account_id}")


def sweep(hub: Hub) -> dict[str, int]:
    """Re-enqueue webhook events whose job may be lost (polls are the scheduler's periodic task)."""
    with hub.db.session() as session:
        events = session.scalars(select(tables.WebhookEvent.id).where(
            tables.WebhookEvent.status == "received",
            tables.WebhookEvent.received_at <= utcnow() - EVENT_GRACE)).all()
    return {"events": sum(1 for event_id in events if enqueue_event(hub, int(event_id)))}
