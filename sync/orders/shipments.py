"""Shipments: recorded in the hub with their stock movements, pushed to the origin channel once.

A shipment's idempotency key derives from its order, tracking number and lines, so the same
shipment entered twice (a CSV re-run, a retried command) is stored once. Creating it moves the
stock in the same transaction (`shipment:{shipment}:{line}`: on_hand and committed down at the
line's commit location). `sync.orders.shipment_push.push_shipment` (drained per account by `sync.orders.shipment_queue`)
then records it on the order's channel through
`connector.push_shipment`, which looks for an existing fulfilment with the same tracking first,
so a retry after a timeout never creates a second one. push_status: pending → pushed; a transient
failure stays pending while the drain tries again (`sync.orders.shipment_queue`), then failed; refused by the channel:
rejected (never retried); conflict (the order was cancelled on the channel before the push reached
it; see `sync.orders.shipment_push`); `channel` for fulfilments the channel reported itself (never
pushed back).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonical import OrderStatus
from canonical.errors import MarketsyncError
from connectors.base import ShipmentPush
from store import tables
from store.types import utcnow
from sync.hub.context import Hub
from sync.orders import effects
from sync.stock.change import StockChange

log = logging.getLogger(__name__)

class ShipmentError(MarketsyncError):
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
        if qty > effects.open_units(line):
            raise ShipmentError(
                f"cannot ship {qty} of {line_label(line)} on {order_label(account, order)}: {line.shipped_quantity} "
                f"shipped and {line.cancelled_quantity} cancelled of {line.quantity} ordered")


def create_shipment(change: StockChange, order: tables.Order, items: Sequence[tuple[tables.OrderLine, int]] | None,
                    *, carrier: str, tracking: str, url: str | None, source: str) -> tuple[tables.Shipment, bool]:
    """Record a shipment of `items` (None: every line's remaining units). Returns (shipment, created).

    The same order + tracking + lines again returns the stored shipment (created=False).
    """
    session = change.session
    account = session.get(tables.Account, order.account_id)
    assert account is not None
    session.refresh(order, with_for_update=True)  # one shipment decision per order at a time
    lines = order_lines(session, order)
    if items is None:
        items = [(line, effects.open_units(line)) for line in lines if effects.open_units(line) > 0]
    if not carrier.strip() or not tracking.strip():
        raise ShipmentError(f"a shipment of {order_label(account, order)} needs a carrier and a tracking number")
    existing = find_by_key(session, shipment_key("ship", order, tracking, items)) if items else None
    if existing is not None:
        return existing, False
    _check(account, order, items)
    shipment = _store(change, account, order, items, key=shipment_key("ship", order, tracking, items),
                      carrier=carrier.strip(), tracking=tracking.strip(), url=url, source=source, status="pending")
    return shipment, True


def record_channel_fulfilment(change: StockChange, account: tables.Account, order: tables.Order,
                              lines: Sequence[tables.OrderLine]) -> tables.Shipment | None:
    """The channel shipped the units the hub had not (order COMPLETED there): record, never push."""
    items = [(line, effects.open_units(line)) for line in lines if effects.open_units(line) > 0]
    if not items:
        return None
    key = shipment_key("channel", order, "", items)
    return find_by_key(change.session, key) or _store(
        change, account, order, items, key=key, carrier="channel", tracking="", url=None,
        source=f"channel:{account.name}", status="channel")


def _store(change: StockChange, account: tables.Account, order: tables.Order,
           items: Sequence[tuple[tables.OrderLine, int]], *, key: str, carrier: str, tracking: str,
           url: str | None, source: str, status: str) -> tables.Shipment:
    session = change.session
    shipment = tables.Shipment(order_id=order.id, idempotency_key=key, carrier=carrier, tracking_number=tracking,
                               tracking_url=url or None, source=source, push_status=status, push_attempts=0)
    session.add(shipment)
    session.flush()
    for line, qty in items:
        session.add(tables.ShipmentLine(shipment_id=shipment.id, order_line_id=line.id, quantity=qty))
        location = None if effects.is_history(account, order) else \
            effects.commit_location(session, account.id, order, line)
        effects.ship(change, shipment, line, location, qty)
    session.flush()
    return shipment


def push_request(session: Session, shipment: tables.Shipment, order: tables.Order) -> ShipmentPush:
    shipped = session.execute(select(tables.OrderLine.external_id, tables.ShipmentLine.quantity)
                              .join(tables.OrderLine, tables.OrderLine.id == tables.ShipmentLine.order_line_id)
                              .where(tables.ShipmentLine.shipment_id == shipment.id)
                              .order_by(tables.ShipmentLine.id)).all()
    complete = all(effects.open_units(line) == 0 for line in order_lines(session, order))
    others = session.scalars(select(tables.Shipment.external_id).where(
        tables.Shipment.order_id == order.id, tables.Shipment.id != shipment.id,
        tables.Shipment.external_id.is_not(None)).order_by(tables.Shipment.id))
    return ShipmentPush(idempotency_key=shipment.idempotency_key, order_external_id=order.external_id,
                        carrier=shipment.carrier, tracking_number=shipment.tracking_number,
                        tracking_url=shipment.tracking_url, lines=tuple((str(e), int(q)) for e, q in shipped),
                        complete=complete, other_external_ids=tuple(str(i) for i in others if i))


def record_push(hub: Hub, shipment_id: int, *, external_id: str | None) -> str:
    """The channel took the shipment: mark it pushed with the channel's id for it."""
    with hub.db.session() as session:
        shipment = session.get(tables.Shipment, shipment_id)
        assert shipment is not None
        shipment.push_status, shipment.push_error = "pushed", None
        shipment.external_id, shipment.pushed_at, shipment.updated_at = external_id, utcnow(), utcnow()
        return shipment.push_status


def shipment_account_id(hub: Hub, shipment_id: int) -> int | None:
    with hub.db.session() as session:
        return session.scalar(select(tables.Order.account_id).join(tables.Shipment,
                                                                    tables.Shipment.order_id == tables.Order.id)
                              .where(tables.Shipment.id == shipment_id))


def note_failure(hub: Hub, shipment_id: int, status: str, error: str) -> None:
    """Keep why a push did not succeed: `pending` (the drain tries again), `rejected` (the channel refused
    it: never retried) or `failed` (retries used up; `marketsync ship push` tries again). The
    message never holds customer data."""
    with hub.db.session() as session:
        shipment = session.get(tables.Shipment, shipment_id)
        if shipment is None or shipment.push_status in ("pushed", "channel", "conflict"):
            return
        shipment.push_status, shipment.push_error, shipment.updated_at = status, error, utcnow()
    log.warning("shipment %s push %s (attempt %s): %s", shipment_id, status, shipment.push_attempts, error)


def due_for_push(session: Session, *, now_forced: bool = False) -> list[int]:
    """Pending pushes (of working accounts); with `now_forced`, the failed ones too — what an
    operator asks for. Failed and refused pushes are never retried on their own."""
    statuses = ("pending", "failed") if now_forced else ("pending",)
    stmt = (select(tables.Shipment.id).join(tables.Order, tables.Order.id == tables.Shipment.order_id)
            .join(tables.Account, tables.Account.id == tables.Order.account_id)
            .where(tables.Shipment.push_status.in_(statuses), tables.Account.failing_since.is_(None)))
    return [int(shipment_id) for shipment_id in session.scalars(stmt.order_by(tables.Shipment.id))]
