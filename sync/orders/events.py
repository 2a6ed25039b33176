"""Webhook events: what is stored of a delivery, and how one event's order is ingested.

Webhooks and polls (`sync.orders.polling`) end in the same idempotent `ingest_order` (see
`sync.orders.ingest`). An event whose body is the whole order (`Connector.event_order`) is
ingested from that body, kept sealed with the workspace key until it is done with; any other
event reads the order's current state from the channel (`connector.order`). Either way ingest
ignores a state older than the one it holds, so a late, duplicated or reordered event can only
bring the latest state. Stored events are drained per account in chunks (`sync.orders.drain`);
those that need a read are handed to their account's read job (`sync.orders.reads`, on the
`reads` queue: it calls the channel and may wait for the account's rate points, so it never holds
the queue of drains that call nothing), which reads each order once for all its events.
`process_event` ingests one event on its own (`webhooks replay`).

Deliveries are stored reduced to ids, topic, timestamps and their subject (never names or
addresses in the clear) and never logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import canonical
from canonical.errors import MarketsyncError
from connectors.base import Connector
from connectors.events import ChannelEvent, EventSubject, SubjectKind
from store import tables
from store.secrets import SecretBox
from store.types import utcnow
from sync.hub.context import Hub
from sync.orders.ingest import content_digest, fetched_since, find_order, ingest_order, note_event, note_known_event
from sync.stock.change import StockChange, stock_change

log = logging.getLogger(__name__)

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


READS_QUEUE = "reads"
RECEIVED = "received"
# Handed by the drain to its account's read job (`sync.orders.reads`): no drain looks at it again
# (every round of a drain re-handed every such event while their reads waited, see `sync.orders.drain`).
READING = "reading"
READ_PATIENCE_S = 3.0  # a longer wait for rate points hands the read job back (`sync.jobs.read_events`)


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
        account_id = account.id
        with hub.db.session() as session:
            if fetched_since(session, account_id, reference, received_at):
                note_known_event(session, account_id, reference, event_id)
                _mark(session, event_id, "processed", None)
                return "processed"
        fetched_at = utcnow()
        order = connector.order(reference)
        with stock_change(hub) as change:
            row = change.session.get(tables.Account, account_id)
            assert row is not None
            ingest_order(change, row, order, box=hub.secret_box, source=f"webhook:{event_id}",
                         fetched_at=fetched_at)
            _mark(change.session, event_id, "processed", None)
    finally:  # a failure is the job's to decide (`sync.jobs`: retried, refused, or the account failing)
        connector.close()
    return "processed"


def _ingest_carried(hub: Hub, account_id: int, event_id: int, order: canonical.Order) -> bool:
    with stock_change(hub) as change:
        account = change.session.get(tables.Account, account_id)
        assert account is not None
        if not apply_carried(change, account, event_id, order, hub.secret_box):
            return False
        _mark(change.session, event_id, "processed", None)
    return True


def apply_carried(change: StockChange, account: tables.Account, event_id: int, order: canonical.Order,
                  box: SecretBox) -> bool:
    """Ingest the order the event carried, unless the hub holds a state as new (then an equal
    `updated_at` with other content is read from the channel: False)."""
    row = find_order(change.session, account.id, order.external_id, lock=True)
    if row is not None and row.channel_updated_at >= order.updated_at:
        if row.channel_updated_at == order.updated_at and row.channel_state.get("digest") != content_digest(order):
            return False
        note_event(row, f"webhook:{event_id}")
    else:
        ingest_order(change, account, order, box=box, source=f"webhook:{event_id}", stored=row)
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
        mark_event(event, status, error)


def mark_reading(event: tables.WebhookEvent) -> None:
    """The drain handed the event to its read job: drains leave it to that job from now on."""
    event.status = READING


def mark_event(event: tables.WebhookEvent, status: str, error: str | None) -> None:
    """The event is done with (`status`, the reason when it failed); the sealed order it carried goes."""
    event.status, event.error, event.processed_at = status, error, utcnow()
    if CARRIED in event.payload:
        body = stored_payload(event)
        if body:
            body.pop(CARRIED, None)
            event.payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def stored_payload(event: tables.WebhookEvent) -> dict[str, Any]:
    """The event's stored body as a mapping (empty when it is not one: a redaction marker)."""
    try:
        body = json.loads(event.payload)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _finish_event(hub: Hub, event_id: int, status: str, error: str | None = None) -> str:
    with hub.db.session() as session:
        _mark(session, event_id, status, error)
    if error:
        log.warning("webhook event %s failed: %s", event_id, error)
    return status
