"""Shipments: recorded in the hub with their stock movements, pushed to the origin channel once.

A shipment's idempotency key derives from its order, tracking number and lines, so the same
shipment entered twice (a CSV re-run, a retried command) is stored once. Creating it moves the
stock in the same transaction (`shipment:{shipment}:{line}`: on_hand and committed down at the
line's commit location). `push_shipment_job` then records it on the order's channel through
`connector.push_shipment`, which looks for an existing fulfilment with the same tracking first,
so a retry after a timeout never creates a second one. push_status: pending → pushed, or failed
(error kept, retried by `sweep` with backoff); `channel` for fulfilments the channel reported
itself (never pushed back).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from canonical import OrderStatus
from connectors.base import ShipmentPush
from store import tables
from store.types import utcnow
from sync import order_ledger
from sync.context import Hub
from sync.runtime import current_hub
from sync.scheduler import enqueue_unique

log = logging.getLogger(__name__)

MAX_PUSH_ATTEMPTS = 10
PENDING_GRACE = timedelta(seconds=60)  # a pending push younger than this still has its job queued


class ShipmentError(Exception):
    """A shipment was refused; the message names the order, the line and the quantities."""


def order_label(account: tables.Account, order: tables.Order) -> str:
    return f"order {order.number or order.external_id} ({account.platform} account {account.name!r}, " \
           f"external id {order.external_id})"


def line_label(line: tables.OrderLine) -> str:
    return f"{line.sku or line.title or 'line'} (line {line.external_id})"


def shipment_key(prefix: str, order: tables.Order, tracking: str, items: Sequence[tuple[tables.OrderLine, int]]) -> str:
    parts = sorted(f"{line.external_id}x{qty}" for line, qty in items)
    digest = hashlib.sha256(f"{order.id}|{tracking.strip().casefold()}|{','.join(parts)}".encode()).hexdigest()
    return f"{prefix}:{order.id}:{digest[:40]}"


def find_by_key(session: Session, key: str) -> tables.Shipment | None:
    return session.scalar(select(tables.Shipment).where(tables.Shipment.idempotency_key == key))


def order_lines(session: Session, order: tables.Order) -> list[tables.OrderLine]:
    return list(session.scalars(select(tables.OrderLine).where(tables.OrderLine.order_id == order.id)
                                .order_by(tables.OrderLine.id)))


def _check(account: tables.Account, order: tables.Order, items: Sequence[tuple[tables.OrderLine, int]]) -> None:
    if order.status == OrderStatus.CANCELLED:
        raise ShipmentError(f"{order_label(account, order)} is cancelled on the channel; nothing may ship")
    if order.status == OrderStatus.PENDING:
        raise ShipmentError(f"{order_label(account, order)} is pending payment; ship it once the channel marks "
                            "it paid")
    if not items:
        raise ShipmentError(f"nothing left to ship on {order_label(account, order)}")
    for line, qty in items:
        if qty <= 0:
            raise ShipmentError(f"quantity for {line_label(line)} must be at least 1 (got {qty})")
        if line.held:
            raise ShipmentError(f"{line_label(line)} of {order_label(account, order)} is held (its listing is "
                                "unmapped); resolve its conflict (`marketsync conflicts list`) first")
        if qty > order_ledger.open_units(line):
            raise ShipmentError(
                f"cannot ship {qty} of {line_label(line)} on {order_label(account, order)}: {line.shipped_quantity} "
                f"shipped and {line.cancelled_quantity} cancelled of {line.quantity} ordered")


def create_shipment(session: Session, order: tables.Order, items: Sequence[tuple[tables.OrderLine, int]] | None, *,
                    carrier: str, tracking: str, url: str | None, source: str) -> tuple[tables.Shipment, bool]:
    """Record a shipment of `items` (None: every line's remaining units). Returns (shipment, created).

    The same order + tracking + lines again returns the stored shipment (created=False).
    """
    account = session.get(tables.Account, order.account_id)
    assert account is not None
    session.refresh(order, with_for_update=True)  # one shipment decision per order at a time
    lines = order_lines(session, order)
    if items is None:
        items = [(line, order_ledger.open_units(line)) for line in lines if order_ledger.open_units(line) > 0]
    if not carrier.strip() or not tracking.strip():
        raise ShipmentError(f"a shipment of {order_label(account, order)} needs a carrier and a tracking number")
    existing = find_by_key(session, shipment_key("ship", order, tracking, items)) if items else None
    if existing is not None:
        return existing, False
    _check(account, order, items)
    shipment = _store(session, account, order, items, key=shipment_key("ship", order, tracking, items),
                      carrier=carrier.strip(), tracking=tracking.strip(), url=url, source=source, status="pending")
    return shipment, True


def record_channel_fulfilment(session: Session, account: tables.Account, order: tables.Order,
                              lines: Sequence[tables.OrderLine]) -> tables.Shipment | None:
    """The channel shipped the units the hub had not (order COMPLETED there): record, never push."""
    items = [(line, order_ledger.open_units(line)) for line in lines if order_ledger.open_units(line) > 0]
    if not items:
        return None
    key = shipment_key("channel", order, "", items)
    return find_by_key(session, key) or _store(
        session, account, order, items, key=key, carrier="channel", tracking="", url=None,
        source=f"channel:{account.name}", status="channel")


def _store(session: Session, account: tables.Account, order: tables.Order,
           items: Sequence[tuple[tables.OrderLine, int]], *, key: str, carrier: str, tracking: str,
           url: str | None, source: str, status: str) -> tables.Shipment:
    shipment = tables.Shipment(order_id=order.id, idempotency_key=key, carrier=carrier, tracking_number=tracking,
                               tracking_url=url or None, source=source, push_status=status, push_attempts=0)
    session.add(shipment)
    session.flush()
    for line, qty in items:
        session.add(tables.ShipmentLine(shipment_id=shipment.id, order_line_id=line.id, quantity=qty))
        location = None if order_ledger.is_history(account, order) else \
            order_ledger.commit_location(session, account.id, order, line)
        order_ledger.ship(session, shipment, line, location, qty)
    session.flush()
    return shipment


def enqueue_push(hub: Hub, shipment_id: int) -> bool:
    """Queue the shipment's push (after the transaction that created it has committed)."""
    return enqueue_unique(hub.redis, "orders", "sync.shipments.push_shipment_job", (shipment_id,),
                          f"push-shipment-{shipment_id}")


def _push_request(session: Session, shipment: tables.Shipment, order: tables.Order) -> ShipmentPush:
    shipped = session.execute(select(tables.OrderLine.external_id, tables.ShipmentLine.quantity)
                              .join(tables.OrderLine, tables.OrderLine.id == tables.ShipmentLine.order_line_id)
                              .where(tables.ShipmentLine.shipment_id == shipment.id)
                              .order_by(tables.ShipmentLine.id)).all()
    complete = all(order_ledger.open_units(line) == 0 for line in order_lines(session, order))
    return ShipmentPush(idempotency_key=shipment.idempotency_key, order_external_id=order.external_id,
                        carrier=shipment.carrier, tracking_number=shipment.tracking_number,
                        tracking_url=shipment.tracking_url, lines=tuple((str(e), int(q)) for e, q in shipped),
                        complete=complete)


def push_shipment_job(shipment_id: int) -> str:
    """Record shipment `shipment_id` on its order's origin channel, once. Returns the push status."""
    hub = current_hub()
    with hub.db.session() as session:
        shipment = session.get(tables.Shipment, shipment_id, with_for_update=True)
        if shipment is None or shipment.push_status in ("pushed", "channel"):
            return shipment.push_status if shipment else "missing"
        order = session.get(tables.Order, shipment.order_id)
        assert order is not None
        account = session.get(tables.Account, order.account_id)
        assert account is not None
        request = _push_request(session, shipment, order)
        shipment.push_attempts += 1  # counted before the call, so a crash mid-push still counts
    connector = hub.connector(account)
    try:
        result = connector.push_shipment(request)
    except Exception as exc:  # recorded and retried by the sweep; the message never holds customer data
        return _record(hub, shipment_id, error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:500]}")
    finally:
        connector.close()
    return _record(hub, shipment_id, external_id=result.external_id)


def _record(hub: Hub, shipment_id: int, *, external_id: str | None = None, error: str | None = None) -> str:
    with hub.db.session() as session:
        shipment = session.get(tables.Shipment, shipment_id)
        assert shipment is not None
        if error is not None:
            shipment.push_status, shipment.push_error = "failed", error
            log.warning("shipment %s push failed (attempt %s): %s", shipment_id, shipment.push_attempts, error)
        else:
            shipment.push_status, shipment.push_error = "pushed", None
            shipment.external_id, shipment.pushed_at = external_id, utcnow()
        shipment.updated_at = utcnow()
        return shipment.push_status


def backoff(attempts: int) -> timedelta:
    """Wait before retrying a failed push: 30 s doubling per attempt, at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def due_for_push(session: Session, *, now_forced: bool = False) -> list[int]:
    """Pending pushes whose job may be lost, and failed ones whose backoff has passed."""
    now = utcnow()
    rows = session.execute(select(tables.Shipment.id, tables.Shipment.push_status, tables.Shipment.push_attempts,
                                  tables.Shipment.updated_at)
                           .where(or_(tables.Shipment.push_status == "pending",
                                      tables.Shipment.push_status == "failed"))
                           .where(tables.Shipment.push_attempts < MAX_PUSH_ATTEMPTS)).all()
    due = []
    for shipment_id, status, attempts, updated_at in rows:
        wait = PENDING_GRACE if status == "pending" else backoff(attempts)
        if now_forced or updated_at + wait <= now:
            due.append(int(shipment_id))
    return due


def sweep(hub: Hub, *, force: bool = False) -> int:
    """Re-enqueue shipment pushes the database says are due; returns how many were queued."""
    with hub.db.session() as session:
        due = due_for_push(session, now_forced=force)
    return sum(1 for shipment_id in due if enqueue_push(hub, shipment_id))
