"""Pushing a shipment to its origin channel, once, and only while its order still wants it.

During a backlog an order can be cancelled on the channel seconds before the hub ships it, while
the cancel event still waits in the queue. So a push first compares the order's last read from the
channel (`channel_state.fetched_at`) with the newest event stored about it; when an event is newer,
the order is read again and ingested. A push the channel refuses gets the same re-read. An order
found cancelled turns the shipment into a `cancelled_before_shipment` conflict for the operator
(push status `conflict`, never retried), instead of a push failing ten times.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canonical import OrderStatus
from connectors.base import Connector
from connectors.errors import Rejected
from mapping.conflicts import ConflictKind, open_conflict
from store import tables
from store.types import utcnow
from sync.hub.context import Hub
from sync.orders.ingest import ingest_order
from sync.orders.shipments import push_request, record_push
from sync.stock.change import stock_change


def read_is_stale(session: Session, order: tables.Order) -> bool:
    """True when an event about `order` not processed yet (still queued, or failed) arrived after the
    hub last read it from the channel. A processed event is in the hub already: the order it carried
    was ingested, or read from the channel; reading again only spends the shop's rate budget."""
    newest = session.scalar(select(func.max(tables.WebhookEvent.received_at)).where(
        tables.WebhookEvent.account_id == order.account_id,
        tables.WebhookEvent.order_reference == order.external_id,
        tables.WebhookEvent.status.not_in(("processed", "ignored"))))
    if newest is None:
        return False
    fetched = order.channel_state.get("fetched_at")
    return fetched is None or newest.isoformat() > fetched


def reread_status(hub: Hub, connector: Connector, account_id: int, external_id: str) -> str:
    """Read the order from the channel, ingest it, and return its status in the hub."""
    fetched_at = utcnow()
    order = connector.order(external_id)
    with stock_change(hub) as change:
        account = change.session.get(tables.Account, account_id)
        assert account is not None
        ingest_order(change, account, order, box=hub.secret_box, source="shipment-check", fetched_at=fetched_at)
        row = change.session.scalar(select(tables.Order).where(tables.Order.account_id == account_id,
                                                               tables.Order.external_id == external_id))
        return row.status if row is not None else order.status.value


def is_cancelled(status: str) -> bool:
    return status == OrderStatus.CANCELLED.value


def hold_as_conflict(hub: Hub, shipment_id: int) -> str:
    """Stop pushing a shipment of an order cancelled on the channel; open a conflict saying what to do."""
    with hub.db.session() as session:
        shipment = session.get(tables.Shipment, shipment_id)
        assert shipment is not None
        order = session.get(tables.Order, shipment.order_id)
        assert order is not None
        account = session.get(tables.Account, order.account_id)
        assert account is not None
        label = f"order {order.number or order.external_id} ({account.platform} account {account.name!r})"
        conflict = open_conflict(
            session, ConflictKind.CANCELLED_BEFORE_SHIPMENT, f"shipment:{shipment.id}", account_id=account.id,
            evidence={"shipment": shipment.id, "order": order.number or order.external_id,
                      "order_external_id": order.external_id, "carrier": shipment.carrier,
                      "tracking": shipment.tracking_number,
                      "message": f"{label} was cancelled on the channel before shipment {shipment.id} "
                                 "reached it; the hub counted its units as shipped"},
            suggestions=["if the parcel did not leave, put the units back with `marketsync stock adjust`; "
                         "if it did, recover it from the carrier; then `marketsync conflicts resolve "
                         "ID --ignore`"])
        shipment.push_status = "conflict"
        shipment.push_error = (f"{label} was cancelled on the channel before this shipment reached it; "
                               f"not pushed (conflict #{conflict.id})")
        shipment.updated_at = utcnow()
        return shipment.push_status


def push_shipment(hub: Hub, shipment_id: int, connector: Connector | None = None) -> str:
    """Record shipment `shipment_id` on its order's origin channel, once. Returns the push status.

    With `connector` (the account's, kept open by a drain of its shipments) no connector is built."""
    with hub.db.session() as session:
        shipment = session.get(tables.Shipment, shipment_id, with_for_update=True)
        if shipment is None or shipment.push_status in ("pushed", "channel", "conflict"):
            return shipment.push_status if shipment else "missing"
        order = session.get(tables.Order, shipment.order_id)
        assert order is not None
        account = session.get(tables.Account, order.account_id)
        if account is None or not account.enabled:
            return "skipped"  # a disabled account pushes nothing; the sweep sends it once enabled
        request = push_request(session, shipment, order)
        stale, account_id = read_is_stale(session, order), account.id
        shipment.push_attempts += 1  # counted before the call, so a crash mid-push still counts
    own = connector is None
    connector = connector or hub.connector(account)
    try:
        if stale and is_cancelled(reread_status(hub, connector, account_id, request.order_external_id)):
            return hold_as_conflict(hub, shipment_id)
        try:
            result = connector.push_shipment(request)
        except Rejected:  # refused: is it because the order was cancelled meanwhile?
            if is_cancelled(reread_status(hub, connector, account_id, request.order_external_id)):
                return hold_as_conflict(hub, shipment_id)
            raise
    finally:  # any other failure is the caller's to decide (`sync.orders.shipment_queue`)
        if own:
            connector.close()
    return record_push(hub, shipment_id, external_id=result.external_id)
