"""Order jobs: webhook events, polling with a cursor, backfills and the sweep.

Webhooks and polls end in the same idempotent `ingest_order` (see `sync.orders.ingest`).
An event whose body is the whole order (`Connector.event_order`) is ingested from that body,
kept sealed with the workspace key until its job is done; any other event job reads the order's
current state from the channel (`connector.order`). Either way ingest ignores a state older than
the one it holds, so a late, duplicated or reordered event can only bring the latest state.
Deliveries are stored reduced to ids, topic, timestamps and their subject (never names or
addresses in the clear) and never logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import canonical
from canonical.errors import MarketsyncError
from connectors.base import Connector
from connectors.errors import AuthFailed, Interrupted
from connectors.events import ChannelEvent, EventSubject, SubjectKind
from store import tables
from store.secrets import SecretBox
from store.types import utcnow
from sync.hub import health
from sync.hub.context import Hub
from sync.hub.queues import enqueue_unique
from sync.orders.ingest import (
    IngestResult,
    content_digest,
    fetched_since,
    find_order,
    ingest_order,
    note_known_event,
)
from sync.stock.change import stock_change

log = logging.getLogger(__name__)

CURSOR_STREAM = "orders"
CHUNK = 50            # orders per transaction (and per cursor move) while polling
EVENT_GRACE = timedelta(seconds=60)


# ---- webhook events ------------------------------------------------------------------------------
# Top-level payload keys kept from a delivery: ids, kinds and times, never names or addresses.
KEPT_KEY = re.compile(r"(^|_)(id|ids|number|topic|type|status|kind|event|msg_type|timestamp|time)$"
                      r"|(^|_)(date|created|updated|modified)(_|$)|_at$|Id$|_gmt$", re.IGNORECASE)


def stored_body(payload: dict[str, Any], subject: EventSubject | None) -> dict[str, Any]:
    """What the hub keeps of a delivery: what it is about (the connector's `event_subject`) and the
    payload's scalar ids, kinds and timestamps. The order is always re-read from the channel."""
    kept: dict[str, Any] = {key: value for key, value in payload.items()
                            if KEPT_KEY.search(key) and (value is None or isinstance(value, str | int | float | bool))}
    if subject is not None:
        kept["subject"] = {"kind": subject.kind.value, "reference": subject.reference,
                           "order_reference": subject.order_reference}
    return kept


def stored_subject(payload: dict[str, Any]) -> EventSubject | None:
    """The subject recorded when the event was received (None for events stored before it was)."""
    subject = payload.get("subject")
    if not isinstance(subject, dict) or not subject.get("reference"):
        return None
    return EventSubject(SubjectKind(subject["kind"]), str(subject["reference"]),
                        str(subject["order_reference"]) if subject.get("order_reference") else None)


def store_event(session: Session, account: tables.Account, event: ChannelEvent, *, status: str = "received",
                body_digest: str | None = None, order_reference: str | None = None,
                payload: str | None = None, subject: EventSubject | None = None,
                carried: str | None = None) -> int | None:
    """Store a verified event under its unique (account, event id); None when already stored.

    The body is reduced to `stored_body` (ids, topic, timestamps and the subject, no personal data);
    `payload` replaces it (a redaction marker for an order already purged). `carried` is the order
    the body carried whole, sealed (`seal_order`): the job ingests it without a read, then drops it.
    """
    kept = stored_body(event.payload, subject) | ({CARRIED: carried} if carried else {})
    body = payload if payload is not None else json.dumps(kept, separators=(",", ":"), ensure_ascii=False)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (dialect.insert(tables.WebhookEvent)
            .values(platform=account.platform, event_id=event.event_id[:255], account_id=account.id,
                    topic=event.topic[:100], payload=body, body_digest=body_digest,
                    order_reference=order_reference, status=status,
                    received_at=utcnow(), processed_at=None if status == "received" else utcnow())
            .on_conflict_do_nothing(index_elements=["account_id", "event_id"]).returning(tables.WebhookEvent.id))
    row = session.execute(stmt).first()
    return int(row[0]) if row else None


CARRIED = "carried_order"


def carried_order(connector: Connector, event: ChannelEvent) -> canonical.Order | None:
    """The order `event` carries whole (`Connector.event_order`), or None: the job reads it instead
    (also when the body cannot be read as one: the read decides, nothing is refused for it)."""
    try:
        return connector.event_order(event)
    except (MarketsyncError, ValueError, TypeError, KeyError, AttributeError):
        return None


def seal_order(box: SecretBox, order: canonical.Order) -> str:
    """The order encrypted with the workspace key: customer data never sits in the clear."""
    return box.seal({"order": order.model_dump_json()})


def unseal_order(box: SecretBox, sealed: Any) -> canonical.Order | None:
    if not isinstance(sealed, str) or not sealed:
        return None
    try:
        return canonical.Order.model_validate_json(box.open(sealed)["order"])
    except (MarketsyncError, ValueError, KeyError):
        return None


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def replayed(session: Session, account_id: int, digest: str, window_s: int) -> bool:
    """True when the same body reached this account within the window (a captured delivery re-sent
    with a new event id or topic: the platform's signature covers only the body)."""
    if window_s <= 0:
        return False
    since = utcnow() - timedelta(seconds=window_s)
    return session.scalar(select(tables.WebhookEvent.id).where(
        tables.WebhookEvent.account_id == account_id, tables.WebhookEvent.body_digest == digest,
        tables.WebhookEvent.received_at >= since).limit(1)) is not None


def order_purged(session: Session, account_id: int, reference: str) -> bool:
    """True when the hub has purged this order's personal data (its events are stored redacted)."""
    return session.scalar(select(tables.Order.purged_at).where(
        tables.Order.account_id == account_id, tables.Order.external_id == reference)) is not None


def enqueue_event(hub: Hub, event_id: int) -> bool:
    return enqueue_unique(hub.redis, "events", "sync.jobs.process_event", (event_id,),
                          f"process-event-{event_id}")


def process_event(hub: Hub, event_id: int) -> str:
    """Ingest the order a stored webhook event is about; safe to run again (replay).

    The order is read from the channel rather than trusted from the body, unless the hub has
    read it since this event arrived (then the event has nothing newer: skipped, no API call).
    """
    with hub.db.session() as session:
        event = session.get(tables.WebhookEvent, event_id)
        if event is None:
            return "missing"
        account = session.get(tables.Account, event.account_id)
        if account is None or not account.enabled:
            return "skipped"  # kept as received: processed once the account is enabled again
        try:
            payload = json.loads(event.payload)
        except ValueError:
            payload = {}
        stored = ChannelEvent(event.event_id, event.topic, payload if isinstance(payload, dict) else {})
        received_at, known_reference = event.received_at, event.order_reference
    carried = unseal_order(hub.secret_box, stored.payload.get(CARRIED))
    if carried is not None and _ingest_carried(hub, account.id, event_id, carried):
        return "processed"
    connector = hub.connector(account)
    try:
        subject = (stored_subject(stored.payload) or connector.event_subject(stored)) if known_reference is None \
            else None
        reference = known_reference or (subject.order if subject is not None else None)
        if reference is None:
            return _finish_event(hub, event_id, "ignored")
        with hub.db.session() as session:
            if fetched_since(session, account.id, reference, received_at):
                note_known_event(session, account.id, reference, event_id)
                _mark(session, event_id, "processed", None)
                return "processed"
        fetched_at = utcnow()
        order = connector.order(reference)
    finally:  # a failure is the job's to decide (`sync.jobs`: retried, refused, or the account failing)
        connector.close()
    with stock_change(hub) as change:
        account = change.session.get(tables.Account, account.id)
        assert account is not None
        ingest_order(change, account, order, box=hub.secret_box, source=f"webhook:{event_id}",
                     fetched_at=fetched_at)
        _mark(change.session, event_id, "processed", None)
    return "processed"


def _ingest_carried(hub: Hub, account_id: int, event_id: int, order: canonical.Order) -> bool:
    """Ingest the order the event carried, unless the hub holds a state as new (then an equal
    `updated_at` with other content is read from the channel: False)."""
    with stock_change(hub) as change:
        account = change.session.get(tables.Account, account_id)
        assert account is not None
        row = find_order(change.session, account_id, order.external_id)
        if row is not None and row.channel_updated_at >= order.updated_at:
            if row.channel_updated_at == order.updated_at and row.channel_state.get("digest") != content_digest(order):
                return False
            note_known_event(change.session, account_id, order.external_id, event_id)
        else:
            ingest_order(change, account, order, box=hub.secret_box, source=f"webhook:{event_id}")
        _mark(change.session, event_id, "processed", None)
    return True


def event_account_id(hub: Hub, event_id: int) -> int | None:
    with hub.db.session() as session:
        return session.scalar(select(tables.WebhookEvent.account_id).where(tables.WebhookEvent.id == event_id))


def fail_event(hub: Hub, event_id: int, error: str) -> str:
    """The event will not be processed (refused, or its retries used up): kept with the reason, no
    payload in it; `webhooks replay` or the order poll catch up."""
    return _finish_event(hub, event_id, "failed", error)


def _mark(session: Session, event_id: int, status: str, error: str | None) -> None:
    event = session.get(tables.WebhookEvent, event_id)
    if event is not None:
        event.status, event.error, event.processed_at = status, error, utcnow()
        if CARRIED in event.payload:  # the sealed order goes once the event is done with
            try:
                body = json.loads(event.payload)
            except ValueError:
                body = None
            if isinstance(body, dict):
                body.pop(CARRIED, None)
                event.payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)


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
POLLED_STREAM = "orders-polled"  # when the account's last complete poll started (`sync.stock.reconcile`)


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
        with hub.db.session() as session:
            write_cursor(session, account_id, started, POLLED_STREAM)
            if deep:
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


def resume_account(hub: Hub, account_id: int) -> int:
    """The account works again: queue every event that waited for it."""
    with hub.db.session() as session:
        waiting = session.scalars(select(tables.WebhookEvent.id).where(
            tables.WebhookEvent.account_id == account_id, tables.WebhookEvent.status == "received")).all()
    return sum(1 for event_id in waiting if enqueue_event(hub, int(event_id)))


def sweep(hub: Hub) -> dict[str, int]:
    """Re-enqueue webhook events whose job may be lost (polls are the scheduler's periodic task)."""
    with hub.db.session() as session:
        events = session.scalars(select(tables.WebhookEvent.id).join(
            tables.Account, tables.Account.id == tables.WebhookEvent.account_id).where(
            tables.WebhookEvent.status == "received", tables.Account.failing_since.is_(None),
            tables.WebhookEvent.received_at <= utcnow() - EVENT_GRACE)).all()
    return {"events": sum(1 for event_id in events if enqueue_event(hub, int(event_id)))}
