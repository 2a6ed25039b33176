"""`marketsync demo`: the whole hub, end to end, on local simulators.

Stores of any registered platforms (by default two Shopify and one WooCommerce) share a
catalogue; the hub imports it from the first, matches the others' listings (the second lists one
product the hub does not know: a conflict), imports stock, and then runs as a merchant would run
it — worker processes and the webhook server — while buyers place orders concurrently, some
cancel, some get refunds, and the warehouse ships the rest. Then every claim is checked against
the stores themselves. Everything goes through the simulator interface and what each connector
declares: no platform is named here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sandbox.demo import business, checks
from sandbox.demo.traffic import cancel_and_refund, place_orders, ship_open_orders, unseen_changes
from sandbox.demo.world import DEFAULT_PLATFORMS, UNMATCHED_SKU, DemoWorld, default_home
from store import tables
from sync.catalog.importing import import_catalog, refresh_listings
from sync.conflicts.resolve import resolve
from sync.stock.operations import import_stock
from sync.stock.push_queue import schedule_pushes

Report = Callable[[str], None]


def _resolve_unmatched(world: DemoWorld) -> int:
    """The operator decides the second store's own product is not the hub's business: ignore, with a note."""
    hub = world.require_hub()
    with hub.db.session() as session:
        ids = session.scalars(select(tables.Conflict.id).where(tables.Conflict.status == "open")).all()
    for conflict_id in ids:
        resolve(hub, conflict_id, "ignore", actor="demo-operator",
                note=f"{UNMATCHED_SKU} is sold only on one store and not stocked by the hub")
    return len(ids)


def run_demo(*, orders: int = 300, workers: int = 2, seed: int = 7, home: Path | None = None,
             keep: bool = False, platforms: Sequence[str] = DEFAULT_PLATFORMS,
             say: Report = lambda _: None) -> dict[str, Any]:
    """Run the demo and return its figures; `ok` is true only when every check holds.

    `platforms` lists one registered simulator per store (a platform may repeat); an unknown one
    raises `sandbox.interface.UnknownSimulator` before anything starts."""
    started = time.monotonic()
    rng = random.Random(seed)
    world = DemoWorld(home=home or default_home(), platforms=tuple(platforms), workers=workers)
    try:
        world.start_stores()
        say(f"started {len(world.channels)} simulated stores ("
            + ", ".join(f"{c.account}: {c.platform}" for c in world.channels) + ") and a fresh hub"
            " (SQLite + embedded Redis)")
        hub = world.start_hub()
        world.connect_accounts()
        source, others = world.source.account, [c.account for c in world.channels[1:]]
        say(f"importing the catalogue from {source}" + (f" and matching {', '.join(others)}" if others else ""))
        import_catalog(hub, source, actor="demo")
        for account in others:
            refresh_listings(hub, account, actor="demo")
        conflicts_resolved = _resolve_unmatched(world)
        import_stock(hub, source)
        say(f"starting {workers} workers and the webhook server; first push to every channel")
        world.start_services()
        wired = world.events_wired()
        say("events: " + ", ".join(f"{name} {how}" for name, how in wired.items()))
        schedule_pushes(hub)
        world.settle()
        for channel in world.channels:
            channel.simulator.configure({"duplicate_webhooks": 0.05})
        say(f"{orders} buyers ordering concurrently across the {len(world.channels)} stores")
        placed, refused = place_orders(world, orders, rng)
        world.settle()
        say("cancelling and refunding some orders on the channels")
        aftermath = cancel_and_refund(world, placed, rng)
        world.settle(outstanding=lambda: {"changes_unseen": unseen_changes(world, aftermath)})
        say("shipping every open order through the hub")
        shipped = ship_open_orders(world)
        world.settle()
        say("costs from a CSV; three buyers send something back (restocked, written off, refund only)")
        costed = business.import_costs(world, rng)
        returned = business.take_returns(world, rng)
        world.settle()
        world.safety_net()
        leftover = world.settle()
        say("checking every claim against the stores")
        result = _summarise(world, placed, refused, aftermath.counts(), shipped, conflicts_resolved, leftover)
        result["platforms"] = {channel.account: channel.platform for channel in world.channels}
        result["events"] = wired
        say("evaluating alerts and writing the report into the workspace")
        result["business"] = {"costed_skus": costed, "returns": returned, **business.report_and_alerts(world)}
        if not result["business"]["report_written"]:
            result["failed_checks"].append("report written")
            result["ok"] = False
    finally:
        world.stop(keep)
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["workspace"] = str(world.home)
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
                                             and not shipments["shipments_missing_on_channel"]
                                             and not shipments["shipments_on_another_channel"],
        "every shipment with a carrier code": not shipments["shipments_without_carrier"],
        "every order reached every channel": result["propagation_ms"]["not_reached"] == 0,
        "nothing left in flight": not any(leftover.values()),
        "conflicts opened and resolved": conflicts["open"] == 0 and (
            len(world.channels) < 2 or (conflicts["opened"] >= 1 and conflicts_resolved >= 1)),
        "never throttled": all(c["throttled"] == 0 for c in calls.values()),
    }
    result["failed_checks"] = [name for name, held in verdicts.items() if not held]
    result["ok"] = not result["failed_checks"]
    return result
