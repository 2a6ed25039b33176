"""`marketsync demo`: the whole hub, end to end, on local simulators.

Three stores (two Shopify, one WooCommerce) share a catalogue; the hub imports it, matches
listings (one stays unmatched and becomes a conflict), imports stock, and then runs as a
merchant would run it — worker processes and the webhook server — while buyers place orders
concurrently, some cancel, some get refunds, and the warehouse ships the rest. Then every
claim is checked against the stores themselves.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sandbox.demo import checks
from sandbox.demo.traffic import cancel_and_refund, place_orders, ship_open_orders
from sandbox.demo.world import UNMATCHED_SKU, DemoWorld, default_home
from store import tables
from sync.catalog import import_catalog, refresh_listings
from sync.orders import enqueue_poll
from sync.propagation import schedule_pushes
from sync.resolve import resolve
from sync.stock import import_stock

Report = Callable[[str], None]


def _resolve_unmatched(world: DemoWorld) -> int:
    """The operator decides shop-b's own product is not the hub's business: ignore, with a note."""
    hub = world.require_hub()
    with hub.db.session() as session:
        ids = session.scalars(select(tables.Conflict.id).where(tables.Conflict.status == "open")).all()
    for conflict_id in ids:
        resolve(hub, conflict_id, "ignore", actor="demo-operator",
                note=f"{UNMATCHED_SKU} is sold only on shop-b and not stocked by the hub")
    return len(ids)


def _poll_everything(world: DemoWorld) -> None:
    """The scheduler's safety net: poll every account's orders once more."""
    hub = world.require_hub()
    with hub.db.session() as session:
        account_ids = session.scalars(select(tables.Account.id)).all()
    for account_id in account_ids:
        enqueue_poll(hub, account_id)


def run_demo(*, orders: int = 300, workers: int = 2, seed: int = 7, home: Path | None = None,
             keep: bool = False, say: Report = lambda _: None) -> dict[str, Any]:
    """Run the demo and return its figures; `ok` is true only when every check holds."""
    started = time.monotonic()
    rng = random.Random(seed)
    world = DemoWorld(home=home or default_home(), workers=workers)
    try:
        say("starting three simulated stores and a fresh hub (SQLite + embedded Redis)")
        world.start_stores()
        hub = world.start_hub()
        world.connect_accounts()
        say("importing the catalogue from shop-a and matching shop-b and woo")
        import_catalog(hub, "shop-a", actor="demo")
        refresh_listings(hub, "shop-b", actor="demo")
        refresh_listings(hub, "woo", actor="demo")
        conflicts_resolved = _resolve_unmatched(world)
        import_stock(hub, "shop-a")
        say(f"starting {workers} workers and the webhook server; first push to every channel")
        world.start_services()
        schedule_pushes(hub)
        world.settle()
        for channel in world.channels:
            channel.sandbox.faults.configure({"duplicate_webhooks": 0.05})
        say(f"{orders} buyers ordering concurrently across the three stores")
        placed, refused = place_orders(world, orders, rng)
        world.settle()
        say("cancelling and refunding some orders on the channels")
        changes = cancel_and_refund(world, placed, rng)
        world.settle()
        say("shipping every open order through the hub")
        shipped = ship_open_orders(world)
        world.settle()
        _poll_everything(world)
        leftover = world.settle()
        say("checking every claim against the stores")
        result = _summarise(world, placed, refused, changes, shipped, conflicts_resolved, leftover)
    finally:
        world.stop(keep)
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["workspace"] = str(world.home) if keep else None
    return result


def _summarise(world: DemoWorld, placed: list[Any], refused: int, changes: dict[str, int], shipped: int,
               conflicts_resolved: int, leftover: dict[str, int]) -> dict[str, Any]:
    orders = checks.order_checks(world, placed)
    stock = checks.stock_checks(world)
    shipments = checks.shipment_checks(world)
    calls = checks.api_calls(world)
    conflicts = checks.conflict_checks(world)
    result: dict[str, Any] = {
        **orders, "orders_refused_out_of_stock": refused, **changes, **stock, **shipments,
        "shipments_requested": shipped, "propagation_ms": checks.propagation(world, placed),
        "api_calls": calls, "conflicts": conflicts, "still_busy": leftover,
    }
    verdicts = {
        "every order ingested": orders["orders_ingested"] == orders["orders_placed"],
        "no duplicate or unexpected orders": not orders["duplicate_orders"] and not orders["unexpected_orders"],
        "stock converged on every channel": stock["stock_converged"],
        "every shipment pushed": shipments["shipments_pushed"] == shipments["shipments_created"] == shipped,
        "each shipment once on its channel": not shipments["duplicate_fulfilments"]
                                             and not shipments["shipments_missing_on_channel"],
        "every order reached every channel": result["propagation_ms"]["not_reached"] == 0,
        "nothing left in flight": not any(leftover.values()),
        "conflicts opened and resolved": conflicts["opened"] >= 1 and conflicts["open"] == 0
                                         and conflicts_resolved >= 1,
        "never throttled": all(c["throttled_or_429"] == 0 for c in calls.values()),
    }
    result["failed_checks"] = [name for name, held in verdicts.items() if not held]
    result["ok"] = not result["failed_checks"]
    return result
