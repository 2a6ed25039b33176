"""One full sync cycle on demand (`marketsync sync --once`), through the same queues and jobs.

Poll orders, recompute every listing of the accounts, push; the jobs run in a burst worker
inside this process (and any running workers help).
`dry_run` computes the outbound changes and sends nothing, writing nothing either.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from store import tables
from store.types import utcnow
from sync.hub import health
from sync.hub.accounts import get_account
from sync.hub.context import Hub
from sync.orders.polling import enqueue_poll
from sync.service.workers import run_worker
from sync.stock.desired import blocked_listing_ids, in_step, listing_quantities, recompute_accounts
from sync.stock.push_queue import busy_accounts, schedule_pushes


def account_ids(hub: Hub, names: list[str] | None) -> dict[int, str]:
    with hub.db.session() as session:
        if names:
            rows = [get_account(session, name) for name in names]
        else:
            rows = list(session.scalars(select(tables.Account).where(tables.Account.enabled.is_(True))
                                        .order_by(tables.Account.name)))
        return {row.id: row.name for row in rows}


def outbound_changes(hub: Hub, accounts: dict[int, str]) -> list[dict[str, Any]]:
    """What a push would send now: (account, listing, SKU, acknowledged → published). Read-only."""
    with hub.db.sessions() as session:
        computed = listing_quantities(session, hub.settings, account_ids=list(accounts))
        acknowledged = dict(session.execute(
            select(tables.Listing.id, tables.Listing.acknowledged_quantity)
            .where(tables.Listing.account_id.in_(list(accounts)))).all())
        external = dict(session.execute(
            select(tables.Listing.id, tables.Listing.external_variant_id)
            .where(tables.Listing.account_id.in_(list(accounts)))).all())
        blocked = set().union(*(blocked_listing_ids(session, a) for a in accounts)) if accounts else set()
        session.rollback()
    return [{"account": item.account, "listing": external[item.listing_id], "sku": item.sku,
             "from": acknowledged[item.listing_id], "to": item.published}
            for item in computed
            if not in_step(item.published, acknowledged[item.listing_id]) and item.listing_id not in blocked]


def drain(hub: Hub, accounts: dict[int, str], *, timeout_s: float = 600.0) -> None:
    """Run queued jobs in this process until none are left, then wait for pushes other workers run."""
    run_worker(hub.redis, burst=True)
    deadline = time.monotonic() + timeout_s
    while busy_accounts(hub, accounts) and time.monotonic() < deadline:
        time.sleep(0.1)


def sync_once(hub: Hub, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Poll, recompute and push every chosen account once; per-account figures."""
    accounts = account_ids(hub, names)
    started = utcnow()
    for account_id in accounts:
        enqueue_poll(hub, account_id)
    drain(hub, accounts)
    with hub.db.session() as session:
        recompute_accounts(session, list(accounts), hub.settings)
    schedule_pushes(hub, list(accounts))
    drain(hub, accounts)
    rows = summary(hub, accounts, started)
    failing = health.failed_since(hub, list(accounts), started)
    for row, account_id in zip(rows, accounts, strict=True):
        if account_id in failing and failing[account_id] not in row["errors"]:
            row["errors"].append(failing[account_id])
        row["ok"] = not row["errors"] and not row["failed"]
    return rows


def summary(hub: Hub, accounts: dict[int, str], since: Any) -> list[dict[str, Any]]:
    with hub.db.session() as session:
        runs = session.scalars(select(tables.SyncRun).where(
            tables.SyncRun.kind == "push", tables.SyncRun.started_at >= since,
            tables.SyncRun.account_id.in_(list(accounts)))).all()
        pending = list(session.scalars(select(tables.Listing.account_id).where(
            tables.Listing.push_pending.is_(True), tables.Listing.account_id.in_(list(accounts)))))
    rows = []
    for account_id, name in accounts.items():
        mine = [r for r in runs if r.account_id == account_id]
        rows.append({"account": name, "sent": sum(int(r.counts.get("sent", 0)) for r in mine),
                     "calls": sum(int(r.counts.get("calls", 0)) for r in mine),
                     "failed": sum(int(r.counts.get("failed", 0)) for r in mine),
                     "still_pending": sum(1 for a in pending if a == account_id),
                     "errors": [r.error for r in mine if r.error]})
    return rows
