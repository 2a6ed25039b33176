"""After the demo: what the hub did, checked against what the stores say.

Every figure here is read from the simulators (the channels' own truth, through the shared
simulator interface) or the hub's database, never assumed.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from sandbox.demo.traffic import PlacedOrder
from sandbox.demo.world import Channel, DemoWorld
from sandbox.interface import HUB_SOURCE
from store import tables


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def order_checks(world: DemoWorld, placed: list[PlacedOrder]) -> dict[str, Any]:
    """Orders placed on the channels versus orders the hub holds: none missing, none twice."""
    hub = world.require_hub()
    with hub.db.session() as session:
        rows = session.execute(select(tables.Account.name, tables.Order.external_id)
                               .join(tables.Account, tables.Account.id == tables.Order.account_id)).all()
    held = Counter((name, external) for name, external in rows)
    expected = {(order.channel, order.order_id) for order in placed}
    return {
        "orders_placed": len(placed),
        "orders_ingested": sum(1 for key in expected if key in held),
        "missing_orders": sorted(f"{a}:{o}" for a, o in expected - set(held))[:20],
        "unexpected_orders": sorted(f"{a}:{o}" for a, o in set(held) - expected)[:20],
        "duplicate_orders": sum(count - 1 for count in held.values() if count > 1),
    }


def stock_checks(world: DemoWorld) -> dict[str, Any]:
    """Every mapped listing's live channel quantity equals what the hub publishes for it."""
    hub = world.require_hub()
    channels = {channel.account: channel for channel in world.channels}
    with hub.db.session() as session:
        rows = session.execute(
            select(tables.Account.name, tables.Listing.channel_sku, tables.Listing.desired_quantity)
            .join(tables.Account, tables.Account.id == tables.Listing.account_id)
            .where(tables.Listing.variant_id.is_not(None), tables.Listing.status != "deleted")).all()
    mismatches = []
    for account, sku, desired in rows:
        live = channels[account].quantity(sku) if sku else None
        if live != desired:
            mismatches.append({"account": account, "sku": sku, "hub": desired, "channel": live})
    return {"listings_checked": len(rows), "stock_converged": not mismatches and bool(rows),
            "mismatches": mismatches[:20], "mismatch_count": len(mismatches)}


def shipment_checks(world: DemoWorld) -> dict[str, Any]:
    """Each hub shipment is on its origin channel exactly once, under the carrier code the platform took."""
    hub = world.require_hub()
    with hub.db.session() as session:
        rows = session.execute(
            select(tables.Account.name, tables.Order.external_id, tables.Shipment.tracking_number,
                   tables.Shipment.push_status)
            .join(tables.Order, tables.Order.id == tables.Shipment.order_id)
            .join(tables.Account, tables.Account.id == tables.Order.account_id)).all()
    expected: dict[str, set[tuple[str, str]]] = {}
    for account, external_id, tracking, _status in rows:
        expected.setdefault(account, set()).add((external_id, tracking))
    missing = duplicates = elsewhere = without_carrier = 0
    carriers: dict[str, list[str]] = {}
    for channel in world.channels:
        held = channel.simulator.shipments()
        seen = Counter((shipment.order_id, shipment.tracking_number) for shipment in held)
        wanted = expected.get(channel.account, set())
        missing += sum(1 for key in wanted if seen[key] == 0)
        duplicates += sum(count - 1 for count in seen.values() if count > 1)
        elsewhere += sum(1 for key in seen if key not in wanted)  # on a channel the order did not come from
        without_carrier += sum(1 for shipment in held if not shipment.carrier)
        carriers[channel.account] = sorted({shipment.carrier for shipment in held})
    return {"shipments_created": len(rows), "shipments_pushed": sum(1 for r in rows if r[3] == "pushed"),
            "shipments_missing_on_channel": missing, "duplicate_fulfilments": duplicates,
            "shipments_on_another_channel": elsewhere, "shipments_without_carrier": without_carrier,
            "carriers_on_channels": carriers}


def _hub_writes(channel: Channel) -> dict[str, list[tuple[float, int]]]:
    """The hub's stock writes on a channel, per SKU: (time, what a buyer could buy afterwards)."""
    writes: dict[str, list[tuple[float, int]]] = {}
    for entry in channel.simulator.writes.entries():
        if entry.get("source") != HUB_SOURCE or not entry.get("sku") or entry.get("available") is None:
            continue
        writes.setdefault(str(entry["sku"]), []).append((float(entry["ts"]), int(entry["available"])))
    return writes


def propagation(world: DemoWorld, placed: list[PlacedOrder]) -> dict[str, Any]:
    """Time from an order on one channel until every other channel shows its effect.

    A channel shows it from the hub's first write for that SKU after the order that brings the
    channel to the origin's post-order quantity or lower (a later sale may have lowered it more).
    """
    writes = {channel.account: _hub_writes(channel) for channel in world.channels}
    samples: list[float] = []
    unseen = 0
    for order in placed:
        last = 0.0
        for account, by_sku in writes.items():
            if account == order.channel:
                continue
            reached = [ts for ts, value in by_sku.get(order.sku, []) if ts >= order.placed_at
                       and value <= order.quantity_after]
            if not reached:
                unseen += 1
                last = math.nan
                break
            last = max(last, min(reached) - order.placed_at)
        if not math.isnan(last):
            samples.append(last * 1000)
    return {"p50": round(percentile(samples, 0.5), 1), "p99": round(percentile(samples, 0.99), 1),
            "max": round(max(samples, default=0.0), 1), "samples": len(samples), "not_reached": unseen}


def api_calls(world: DemoWorld) -> dict[str, Any]:
    """Requests each store answered, the hub's stock writes on it, and how often it throttled."""
    counts: dict[str, Any] = {}
    for channel in world.channels:
        answered = channel.simulator.request_counts()
        counts[channel.account] = {"platform": channel.platform, "requests": int(answered["total"]),
                                   "stock_writes": sum(len(v) for v in _hub_writes(channel).values()),
                                   "throttled": int(answered.get("throttled", 0))}
    return counts


def conflict_checks(world: DemoWorld) -> dict[str, Any]:
    hub = world.require_hub()
    with hub.db.session() as session:
        total = int(session.scalar(select(func.count()).select_from(tables.Conflict)) or 0)
        open_kinds = {str(kind): int(count) for kind, count in session.execute(
            select(tables.Conflict.kind, func.count()).where(tables.Conflict.status == "open")
            .group_by(tables.Conflict.kind))}
    still_open = sum(open_kinds.values())
    return {"opened": total, "resolved": total - still_open, "open": still_open, "open_by_kind": open_kinds}
