"""What happens to the stores during the demo: buyers order, some cancel or get refunds, the
warehouse ships the rest (through the hub, which pushes tracking back to each origin)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import func, select

from sandbox.demo.world import Channel, DemoWorld
from sandbox.interface import OutOfStock
from store import tables
from sync.orders.effects import open_units
from sync.orders.shipment_queue import enqueue_push
from sync.orders.shipments import create_shipment
from sync.stock.change import stock_change

BUYERS = 150  # distinct buyers behind the demo's orders
# The warehouse's carrier, by the hub's own name for it: each connector maps it to its platform's
# code (顺丰 / SF Express is on every platform's list).
CARRIER = "SF"


@dataclass(frozen=True)
class PlacedOrder:
    channel: str
    order_id: str          # the platform's own id, exactly as the hub stores it
    sku: str
    quantity: int
    placed_at: float       # wall clock, comparable with the simulators' write log `ts`
    quantity_after: int    # what the origin channel showed right after the order


def place_orders(world: DemoWorld, count: int, rng: random.Random, *, threads: int = 8
                 ) -> tuple[list[PlacedOrder], int]:
    """`count` buyer orders spread over every channel, several at once. Returns (placed, refused)."""
    plan = [(rng.choice(world.channels), rng.choice(world.skus), rng.randint(1, 2), rng.randrange(BUYERS))
            for _ in range(count)]
    placed: list[PlacedOrder] = []
    refused = 0
    lock = threading.Lock()

    def buy(channel: Channel, sku: str, quantity: int, buyer: int) -> None:
        nonlocal refused
        started = time.time()
        try:  # buyers come back, on any channel: the reports count repeat purchases across channels
            order = channel.simulator.place_order([(sku, quantity)], buyer=f"buyer{buyer}")
        except OutOfStock:
            with lock:
                refused += 1
            return
        after = channel.quantity(sku)
        with lock:
            placed.append(PlacedOrder(channel.account, order.order_id, sku, quantity, started,
                                      after if after is not None else 0))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for channel, sku, quantity, buyer in plan:
            pool.submit(buy, channel, sku, quantity, buyer)
            time.sleep(rng.uniform(0, 0.01))  # buyers arrive over time, not all in one instant
    return placed, refused


@dataclass(frozen=True)
class Aftermath:
    """What buyers and merchants changed on the channels after the orders: (account, order id) pairs."""
    cancelled: list[tuple[str, str]]
    refunded: list[tuple[str, str]]

    def counts(self) -> dict[str, int]:
        return {"cancelled": len(self.cancelled), "refunded": len(self.refunded)}


def cancel_and_refund(world: DemoWorld, placed: list[PlacedOrder], rng: random.Random, *,
                      cancel_share: float = 0.1, refund_share: float = 0.05) -> Aftermath:
    """Buyers cancel some orders and merchants refund others (with restock), on the channels."""
    by_account = {channel.account: channel for channel in world.channels}
    chosen = rng.sample(placed, k=int(len(placed) * (cancel_share + refund_share)))
    cut = int(len(placed) * cancel_share)
    for order in chosen[:cut]:
        by_account[order.channel].simulator.cancel_order(order.order_id, restock=True)
    for order in chosen[cut:]:
        by_account[order.channel].simulator.refund_order(order.order_id, restock=True)
    return Aftermath(cancelled=[(o.channel, o.order_id) for o in chosen[:cut]],
                     refunded=[(o.channel, o.order_id) for o in chosen[cut:]])


def unseen_changes(world: DemoWorld, aftermath: Aftermath) -> int:
    """How many of the channels' cancellations and refunds the hub has not ingested yet. The warehouse
    ships what the hub says is open: shipping before the hub knows of a cancellation is the race that
    the `cancelled_before_shipment` conflict exists for, and the demo waits it out instead."""
    hub = world.require_hub()
    with hub.db.session() as session:
        rows = session.execute(
            select(tables.Account.name, tables.Order.external_id, tables.Order.status,
                   func.sum(tables.OrderLine.refunded_quantity + tables.OrderLine.cancelled_quantity))
            .join(tables.Order, tables.Order.account_id == tables.Account.id)
            .join(tables.OrderLine, tables.OrderLine.order_id == tables.Order.id)
            .group_by(tables.Account.name, tables.Order.external_id, tables.Order.status)).all()
    seen = {(name, external_id): (status, int(undone or 0)) for name, external_id, status, undone in rows}
    missing = sum(seen.get(key, ("open", 0))[0] != "cancelled" for key in aftermath.cancelled)
    return missing + sum(seen.get(key, ("open", 0)) == ("open", 0) for key in aftermath.refunded)


def ship_open_orders(world: DemoWorld) -> int:
    """The warehouse ships every open order's remaining units, one tracking number per order."""
    hub = world.require_hub()
    created: list[int] = []
    with stock_change(hub) as change:
        session = change.session
        orders = session.scalars(select(tables.Order).where(tables.Order.status == "open")).all()
        for order in orders:
            lines = session.scalars(select(tables.OrderLine).where(tables.OrderLine.order_id == order.id)).all()
            if not any(open_units(line) > 0 and not line.held for line in lines):
                continue
            tracking = f"SF{1_400_000_000_000 + order.id}"
            shipment, is_new = create_shipment(
                change, order, None, carrier=CARRIER, tracking=tracking,
                url=f"https://tracking.example/{tracking}", source="demo-warehouse")
            if is_new:
                created.append(shipment.id)
    for shipment_id in created:
        enqueue_push(hub, shipment_id)
    return len(created)
