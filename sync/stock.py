"""Stock services behind `marketsync stock …`: import, adjust, receive, levels, history, explain.

Every change is a ledger movement with an idempotency key, so re-running an import or a
receipt file is a no-op; after each committed change the affected accounts get a push.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import tables
from sync.accounts import get_account
from sync.context import Hub
from sync.ledger import Movement, apply_movement, level
from sync.locations import DEFAULT_LOCATION, channel_location, hub_location
from sync.propagation import deferred_recompute, listing_quantities, schedule_pushes

RECEIVE_COLUMNS = ("sku", "location", "quantity", "reference")


class StockError(Exception):
    """A stock command was refused; the message names the SKU/location/account and what to do."""


def find_variant(session: Session, sku: str) -> tables.Variant:
    variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == sku.strip()))
    if variant is None:
        raise StockError(f"unknown SKU {sku!r}; list SKUs with `marketsync stock levels` or import the "
                         "catalogue with `marketsync catalog import --from ACCOUNT`")
    return variant


def find_location(session: Session, code: str) -> tables.Location:
    """A hub location by code; `default` always exists (created on first use)."""
    try:
        return hub_location(session, code, create=code == DEFAULT_LOCATION)
    except LookupError as exc:
        raise StockError(f"{exc}; add it with `marketsync locations add {code}`") from None


def import_stock(hub: Hub, account_name: str) -> dict[str, int]:
    """Set on_hand from a channel's levels for its mapped listings (key `import:{account}:{variant}:{location}`).

    The hub's available at each location then equals the channel's: on_hand = the channel's
    on_hand when it reports committed separately (Shopify), else available + the hub's committed.
    """
    with hub.db.session() as session:
        account = get_account(session, account_name)
        by_item = {(row.external_inventory_item_id or row.external_variant_id): row.variant_id
                   for row in session.scalars(select(tables.Listing).where(
                       tables.Listing.account_id == account.id, tables.Listing.variant_id.is_not(None)))
                   if row.variant_id is not None}
    if not by_item:
        raise StockError(f"account {account_name!r} has no mapped listings; run "
                         f"`marketsync catalog import --from {account_name}` first")
    connector = hub.connector(account)
    try:
        channel_levels = list(connector.stock_levels())
    finally:
        connector.close()
    counts = {"levels": len(channel_levels), "applied": 0, "unchanged": 0, "repeated": 0, "unmapped": 0}
    with hub.db.session() as session, deferred_recompute(session):
        targets: dict[tuple[int, int], list[int]] = {}
        for item in channel_levels:
            variant_id = by_item.get(item.inventory_item_id)
            hub_loc = channel_location(session, account.id, item.location_external_id).location_id
            if variant_id is None or hub_loc is None:
                counts["unmapped"] += 1
                continue
            own_committed = item.on_hand is not None and item.committed is not None
            on_hand = item.on_hand if own_committed and item.on_hand is not None else item.available
            slot = targets.setdefault((variant_id, hub_loc), [0, 0])
            slot[0] += on_hand
            slot[1] = slot[1] or int(not own_committed)
        for (variant_id, location_id), (on_hand, add_committed) in targets.items():
            current_on_hand, committed = level(session, variant_id, location_id)
            target = on_hand + (committed if add_committed else 0)
            moved = apply_movement(session, Movement(
                f"import:{account.id}:{variant_id}:{location_id}", variant_id, location_id,
                on_hand_delta=target - current_on_hand, reason="import", source=account_name,
                reference=f"stock import from {account_name}"))
            counts["applied" if moved and target != current_on_hand else "unchanged" if moved else "repeated"] += 1
    schedule_pushes(hub)
    return counts


def adjust(hub: Hub, sku: str, delta: int, location_code: str, reason: str, *, actor: str) -> str:
    """A manual on_hand change (key `adjust:{uuid}`); returns the movement key."""
    if delta == 0:
        raise StockError("an adjustment of 0 changes nothing; pass e.g. +5 or -2")
    key = f"adjust:{uuid.uuid4()}"
    with hub.db.session() as session:
        variant = find_variant(session, sku)
        location = find_location(session, location_code)
        apply_movement(session, Movement(key, variant.id, location.id, on_hand_delta=delta, reason="adjust",
                                         source=f"user:{actor}", reference=reason))
    schedule_pushes(hub)
    return key


@dataclass
class ReceiveReport:
    applied: int = 0
    repeated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"applied": self.applied, "repeated": self.repeated,
                "errors": [{"line": line, "error": message} for line, message in self.errors]}


def _receive_row(session: Session, row: dict[str, str]) -> Movement:
    sku, code = (row.get("sku") or "").strip(), (row.get("location") or "").strip()
    reference = (row.get("reference") or "").strip()
    raw = (row.get("quantity") or "").strip()
    if not reference:
        raise StockError("reference is empty; give every row the delivery's reference (it makes a re-run a no-op)")
    try:
        quantity = int(raw)
    except ValueError:
        raise StockError(f"quantity {raw!r} is not a whole number") from None
    if quantity <= 0:
        raise StockError(f"quantity {quantity} must be positive (use `marketsync stock adjust` for decreases)")
    variant, location = find_variant(session, sku), find_location(session, code)
    return Movement(f"receive:{reference}:{variant.sku}:{location.code}", variant.id, location.id,
                    on_hand_delta=quantity, reason="receive", source="csv", reference=reference)


def receive(hub: Hub, path: Path) -> ReceiveReport:
    """Apply a receipt CSV (sku, location, quantity, reference); bad rows are reported by line."""
    report = ReceiveReport()
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise StockError(f"cannot read {path}: {exc.strerror}") from None
    with handle, hub.db.session() as session, deferred_recompute(session):
        reader = csv.DictReader(handle)
        missing = [c for c in RECEIVE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise StockError(f"{path} lacks column(s) {', '.join(missing)}; the header must be "
                             f"{','.join(RECEIVE_COLUMNS)}")
        seen: set[str] = set()
        for row in reader:
            line = reader.line_num
            try:
                movement = _receive_row(session, row)
            except StockError as exc:
                report.errors.append((line, str(exc)))
                continue
            if movement.key in seen:
                report.errors.append((line, "the same sku and location appear twice under this reference; "
                                            "merge the rows"))
                continue
            seen.add(movement.key)
            if apply_movement(session, movement):
                report.applied += 1
            else:
                report.repeated += 1
    schedule_pushes(hub)
    return report


def levels(hub: Hub, skus: Iterable[str] = ()) -> list[dict[str, Any]]:
    """on_hand, committed and available per SKU per hub location."""
    wanted = [s.strip() for s in skus]
    with hub.db.session() as session:
        for sku in wanted:
            find_variant(session, sku)
        stmt = (select(tables.Variant.sku, tables.Location.code, tables.StockLevel.on_hand,
                       tables.StockLevel.committed)
                .join(tables.StockLevel, tables.StockLevel.variant_id == tables.Variant.id)
                .join(tables.Location, tables.Location.id == tables.StockLevel.location_id)
                .order_by(tables.Variant.sku, tables.Location.code))
        if wanted:
            stmt = stmt.where(tables.Variant.sku.in_(wanted))
        return [{"sku": sku, "location": code, "on_hand": on_hand, "committed": committed,
                 "available": on_hand - committed} for sku, code, on_hand, committed in session.execute(stmt)]


def history(hub: Hub, sku: str) -> list[dict[str, Any]]:
    """Every movement of one SKU, newest first."""
    with hub.db.session() as session:
        variant = find_variant(session, sku)
        rows = session.execute(
            select(tables.StockMovement, tables.Location.code)
            .join(tables.Location, tables.Location.id == tables.StockMovement.location_id)
            .where(tables.StockMovement.variant_id == variant.id)
            .order_by(tables.StockMovement.created_at.desc(), tables.StockMovement.id.desc())).all()
        return [{"at": m.created_at.isoformat(), "location": code, "on_hand_delta": m.on_hand_delta,
                 "committed_delta": m.committed_delta, "reason": m.reason, "source": m.source,
                 "reference": m.reference, "key": m.idempotency_key} for m, code in rows]


def _open_orders(session: Session, variant_id: int) -> list[dict[str, Any]]:
    """The open order lines behind a variant's committed stock."""
    rows = session.execute(
        select(tables.OrderLine, tables.Order, tables.Account.name)
        .join(tables.Order, tables.Order.id == tables.OrderLine.order_id)
        .join(tables.Account, tables.Account.id == tables.Order.account_id)
        .where(tables.OrderLine.variant_id == variant_id, tables.OrderLine.held.is_(False),
               tables.Order.status.in_(("open", "pending")))
        .order_by(tables.Order.placed_at, tables.OrderLine.id)).all()
    result = []
    for line, order, account in rows:
        remaining = line.quantity - line.cancelled_quantity - line.shipped_quantity
        if remaining > 0 and order.status == "open":
            result.append({"account": account, "order": order.number or order.external_id,
                           "order_id": order.external_id, "line": line.external_id, "quantity": remaining})
    return result


def explain(hub: Hub, sku: str, account_name: str | None = None) -> dict[str, Any]:
    """The whole chain behind each account's published quantity of one SKU."""
    with hub.db.session() as session:
        variant = find_variant(session, sku)
        account_ids = [get_account(session, account_name).id] if account_name else None
        codes = dict(session.execute(select(tables.Location.id, tables.Location.code)).all())
        by_location = {int(row.location_id): (int(row.on_hand), int(row.committed)) for row in session.execute(
            select(tables.StockLevel).where(tables.StockLevel.variant_id == variant.id)).scalars()}
        computed = listing_quantities(session, hub.settings, [variant.id], account_ids=account_ids)
        accounts = []
        for item in computed:
            listing = session.get(tables.Listing, item.listing_id)
            assert listing is not None
            accounts.append({
                "account": item.account, "listing": listing.external_variant_id,
                "locations": [codes.get(loc, str(loc)) for loc in item.location_ids],
                "safety_stock": {"value": item.safety_stock, "source": item.safety_source},
                "steps": [step.as_dict() for step in item.chain.steps], "published": item.published,
                "desired_stored": listing.desired_quantity, "push_pending": listing.push_pending,
                "acknowledged": listing.acknowledged_quantity,
                "acknowledged_at": listing.acknowledged_at.isoformat() if listing.acknowledged_at else None})
        return {"sku": variant.sku, "locations": [
                    {"location": codes.get(loc, str(loc)), "on_hand": on_hand, "committed": committed,
                     "available": on_hand - committed} for loc, (on_hand, committed) in sorted(by_location.items())],
                "open_orders": _open_orders(session, variant.id), "accounts": accounts}
