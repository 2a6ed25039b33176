"""The chaos run's invariants, each read from the channels' own state (the simulators) and the hub's
database, never assumed.

Each channel is read through its simulator: Shopify's and WooCommerce's state, and for every other
platform (the marketplaces) the simulator interface's reads on its control plane (`GET orders`,
`GET shipments`, `POST available`).

- orders_once: every order a channel accepted is in the hub exactly once (and none the channels
  do not have);
- quantities_published: every mapped listing's live channel quantity equals the hub's published
  (desired) quantity, and the hub has acknowledged it (nothing left to push);
- ledger_replays: every stock level equals the sum of its movements;
- shipments_once: every shipment the hub pushed is on its origin channel exactly once; none is
  still pending or failed (a shipment of an order cancelled first is a conflict, not a push);
- failures_explained: everything left failed (webhook events, shipments, sync runs, RQ jobs)
  carries a reason an operator can act on;
- no_unhandled_exception: no traceback in any hub process's log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from bench.simproc import RemoteSimulator
from store import tables
from sync.hub.context import Hub
from sync.hub.queues import all_queues

INTERNAL_JOB_ERRORS = ("Failed to retrieve status", "Moved to FailedJobRegistry")


@dataclass
class ChannelView:
    """What a channel holds, read from its simulator: its orders' ids, how many times each tracking
    number is on it, and what a buyer can buy of each SKU asked for."""

    orders: set[str]
    trackings: Counter[str]
    quantities: dict[str, int | None]


def read_channel(simulator: RemoteSimulator, skus: Iterable[str]) -> ChannelView:
    """Shopify and WooCommerce from their state (the first location's available on Shopify); any
    other simulator through the interface's reads on its control plane (orders, shipments, available)."""
    if simulator.platform in ("shopify", "woocommerce"):
        state = simulator.state()
        trackings: Counter[str] = Counter()
        for fulfilment in state.get("fulfillments", []):
            trackings.update(fulfilment.get("tracking_numbers") or [])
        for order in state["orders"]:
            trackings.update(str(t) for t in order.get("trackings") or [])
        return ChannelView({str(order["id"]) for order in state["orders"]}, trackings,
                           {sku: _state_quantity(simulator.platform, state, sku) for sku in skus})
    shipments = simulator.control("GET", "shipments")["shipments"]
    available = simulator.control("POST", "available", {"skus": sorted(set(skus))})["available"]
    return ChannelView({str(order_id) for order_id in simulator.control("GET", "orders")["orders"]},
                       Counter(str(s["tracking_number"]) for s in shipments),
                       {sku: None if n is None else int(n) for sku, n in available.items()})


def _state_quantity(platform: str, state: dict[str, Any], sku: str) -> int | None:
    if platform == "woocommerce":
        value = state["stock"].get(sku)
        return None if value is None else int(value)
    for variant in state["variants"]:
        if variant["sku"] == sku and variant["quantities"]:
            return int(next(iter(variant["quantities"].values()))["available"])
    return None


def orders_once(hub: Hub, views: dict[str, ChannelView]) -> dict[str, Any]:
    with hub.db.session() as session:
        rows = session.execute(select(tables.Account.name, tables.Order.external_id)
                               .join(tables.Account, tables.Account.id == tables.Order.account_id)).all()
    held = Counter((name, external.rsplit("/", 1)[-1]) for name, external in rows)
    expected = {(name, order_id) for name, view in views.items() for order_id in view.orders}
    missing = expected - set(held)
    unexpected = set(held) - expected
    duplicates = sum(count - 1 for count in held.values() if count > 1)
    return {"ok": not missing and not unexpected and not duplicates, "channel_orders": len(expected),
            "missing": len(missing), "unexpected": len(unexpected), "duplicates": duplicates,
            "examples": sorted(f"{a}:{o}" for a, o in missing)[:5]}


def mapped_listings(hub: Hub) -> list[tuple[str, str | None, int | None, int | None, bool]]:
    """(account, channel SKU, desired, acknowledged, pending) of every mapped listing."""
    query = (select(tables.Account.name, tables.Listing.channel_sku, tables.Listing.desired_quantity,
                    tables.Listing.acknowledged_quantity, tables.Listing.push_pending)
             .join(tables.Account, tables.Account.id == tables.Listing.account_id)
             .where(tables.Listing.variant_id.is_not(None), tables.Listing.status != "deleted"))
    with hub.db.session() as session:
        return [(account, sku, desired, acknowledged, bool(pending))
                for account, sku, desired, acknowledged, pending in session.execute(query)]


def quantities_published(rows: list[tuple[str, str | None, int | None, int | None, bool]],
                         views: dict[str, ChannelView]) -> dict[str, Any]:
    mismatches = []
    for account, sku, desired, acknowledged, pending in rows:
        live = views[account].quantities.get(sku) if sku else None
        if live != desired or acknowledged != desired or pending:
            mismatches.append({"account": account, "sku": sku, "hub": desired, "acknowledged": acknowledged,
                               "channel": live})
    by_account = Counter(str(m["account"]) for m in mismatches)
    return {"ok": bool(rows) and not mismatches, "listings": len(rows), "mismatches": len(mismatches),
            "accounts": len({account for account, *_ in rows}), "mismatches_by_account": dict(by_account),
            "examples": mismatches[:5]}


def ledger_replays(hub: Hub) -> dict[str, Any]:
    with hub.db.session() as session:
        replay = {(v, loc): (int(h or 0), int(c or 0)) for v, loc, h, c in session.execute(
            select(tables.StockMovement.variant_id, tables.StockMovement.location_id,
                   func.sum(tables.StockMovement.on_hand_delta), func.sum(tables.StockMovement.committed_delta))
            .group_by(tables.StockMovement.variant_id, tables.StockMovement.location_id)).all()}
        levels = {(v, loc): (int(h), int(c)) for v, loc, h, c in session.execute(
            select(tables.StockLevel.variant_id, tables.StockLevel.location_id, tables.StockLevel.on_hand,
                   tables.StockLevel.committed)).all()}
    keys = set(replay) | set(levels)
    wrong = [key for key in keys if replay.get(key, (0, 0)) != levels.get(key, (0, 0))]
    return {"ok": not wrong, "levels": len(levels), "wrong": len(wrong)}


def shipments_once(hub: Hub, views: dict[str, ChannelView]) -> dict[str, Any]:
    with hub.db.session() as session:
        rows = session.execute(select(tables.Account.name, tables.Shipment.tracking_number,
                                      tables.Shipment.push_status)
                               .join(tables.Order, tables.Order.id == tables.Shipment.order_id)
                               .join(tables.Account, tables.Account.id == tables.Order.account_id)
                               .where(tables.Shipment.push_status != "channel")).all()
    statuses = Counter(status for _, _, status in rows)
    pushed = [(account, tracking) for account, tracking, status in rows if status == "pushed"]
    seen = {name: view.trackings for name, view in views.items()}
    missing = sum(1 for account, tracking in pushed if seen[account][tracking] == 0)
    twice = sum(seen[account][tracking] - 1 for account, tracking in pushed if seen[account][tracking] > 1)
    unfinished = statuses.get("pending", 0) + statuses.get("failed", 0)
    return {"ok": not missing and not twice and not unfinished, "shipments": len(rows),
            "by_status": dict(statuses), "pushed_by_account": dict(Counter(account for account, _ in pushed)),
            "missing_on_channel": missing, "duplicates": twice}


def failures_explained(hub: Hub) -> dict[str, Any]:
    """Everything left failed says why, in words an operator can act on."""
    unexplained: list[str] = []
    with hub.db.session() as session:
        for event_id, error in session.execute(select(tables.WebhookEvent.id, tables.WebhookEvent.error)
                                               .where(tables.WebhookEvent.status == "failed")):
            if not (error or "").strip():
                unexplained.append(f"webhook event {event_id}")
        for shipment_id, error in session.execute(
                select(tables.Shipment.id, tables.Shipment.push_error)
                .where(tables.Shipment.push_status.in_(("failed", "conflict")))):
            if not (error or "").strip():
                unexplained.append(f"shipment {shipment_id}")
        for run_id, error in session.execute(select(tables.SyncRun.id, tables.SyncRun.error)
                                             .where(tables.SyncRun.status == "failed")):
            if not (error or "").strip():
                unexplained.append(f"sync run {run_id}")
    failed_jobs = 0
    for queue in all_queues(hub.redis):
        registry = FailedJobRegistry(queue=queue)
        for job in Job.fetch_many(registry.get_job_ids(), connection=hub.redis, serializer=JSONSerializer):
            if job is None:
                continue
            failed_jobs += 1
            result = job.latest_result()
            reason = (result.exc_string or "").strip().splitlines()[-1] if result and result.exc_string else ""
            if not reason or any(internal in reason for internal in INTERNAL_JOB_ERRORS):
                unexplained.append(f"job {job.id}")
    return {"ok": not unexplained, "failed_jobs": failed_jobs, "unexplained": len(unexplained),
            "examples": unexplained[:5]}


def no_unhandled_exception(logs: list[Path]) -> dict[str, Any]:
    found: Counter[str] = Counter()
    for path in logs:
        if not path.exists():
            continue
        lines = path.read_text(errors="replace").splitlines()
        for index, line in enumerate(lines):
            if line.startswith("Traceback"):
                last = next((candidate for candidate in lines[index + 1:] if candidate and not
                             candidate.startswith((" ", "Traceback"))), "?")
                found[last.split(":", 1)[0][:80]] += 1
    return {"ok": not found, "tracebacks": sum(found.values()), "kinds": dict(found)}


def settled(hub: Hub) -> bool:
    """Nothing queued or pending in the hub's database (events, pushes, shipments)."""
    with hub.db.session() as session:
        events = session.scalar(select(func.count()).select_from(tables.WebhookEvent)
                                .where(tables.WebhookEvent.status.in_(tables.EVENTS_UNDONE))) or 0
        pushes = session.scalar(select(func.count()).select_from(tables.Listing)
                                .where(tables.Listing.push_pending.is_(True))) or 0
    return not events and not pushes


def check_all(hub: Hub, channels: dict[str, RemoteSimulator], logs: list[Path]) -> dict[str, dict[str, Any]]:
    listings = mapped_listings(hub)
    skus: dict[str, set[str]] = {name: set() for name in channels}
    for account, sku, *_ in listings:
        if sku:
            skus[account].add(sku)
    views = {name: read_channel(simulator, skus[name]) for name, simulator in channels.items()}
    return {
        "orders_once": orders_once(hub, views),
        "quantities_published": quantities_published(listings, views),
        "ledger_replays": ledger_replays(hub),
        "shipments_once": shipments_once(hub, views),
        "failures_explained": failures_explained(hub),
        "no_unhandled_exception": no_unhandled_exception(logs),
    }
