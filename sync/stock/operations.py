"""Stock services behind `marketsync stock …`: import, adjust, receive, levels, history, explain.

Every change is a ledger movement with an idempotency key, so re-running an import or a
receipt file is a no-op; after each committed change the affected accounts get a push.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonical.errors import MarketsyncError
from canonical.quantities import bounded, parse_quantity
from store import tables
from store.chunks import among, chunked
from store.csvfile import read_rows
from sync.hub.accounts import get_account
from sync.hub.collector import chunk_done, collector_paused, with_fewer_collections
from sync.hub.context import Hub
from sync.stock import kits
from sync.stock.change import stock_change
from sync.stock.desired import listing_quantities
from sync.stock.ledger import Movement, level
from sync.stock.locations import DEFAULT_LOCATION, channel_location, hub_location
from sync.stock.stock_import import LOOKUP_CHUNK, LevelsRead, mapped_listings, write_targets

RECEIVE_COLUMNS = ("sku", "location", "quantity", "reference")


class StockError(MarketsyncError):
    """A stock command was refused; the message names the SKU/location/account and what to do."""


def unknown_sku(sku: str) -> str:
    return (f"unknown SKU {sku!r}; list SKUs with `marketsync stock levels` or import the "
            "catalogue with `marketsync catalog import --from ACCOUNT`")


def find_variant(session: Session, sku: str) -> tables.Variant:
    variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == sku.strip()))
    if variant is None:
        raise StockError(unknown_sku(sku))
    return variant


def find_location(session: Session, code: str) -> tables.Location:
    """A hub location by code; `default` always exists (created on first use)."""
    try:
        return hub_location(session, code, create=code == DEFAULT_LOCATION)
    except LookupError as exc:
        raise StockError(f"{exc}; add it with `marketsync locations add {code}`") from None


@with_fewer_collections
def import_stock(hub: Hub, account_name: str) -> dict[str, int]:
    """Set on_hand from a channel's levels for its mapped listings (key `import:{account}:{variant}:{location}`).

    The hub's available at each location then equals the channel's: on_hand = the channel's
    on_hand when it reports committed separately, else available + the hub's committed. The whole
    read comes first, held compactly (`sync.stock.stock_import`); the writes follow in one transaction.
    """
    with hub.db.session() as session:
        account = get_account(session, account_name)
        mapped_any = session.scalar(select(tables.Listing.id).where(
            tables.Listing.account_id == account.id, tables.Listing.variant_id.is_not(None)).limit(1))
        kit_ids = set(kits.direct_recipes(session))  # a kit's stock is its components': nothing to import
    if mapped_any is None:
        raise StockError(f"account {account_name!r} has no mapped listings; run "
                         f"`marketsync catalog import --from {account_name}` first")
    counts = {"levels": 0, "applied": 0, "unchanged": 0, "repeated": 0, "unmapped": 0, "kits": 0}
    read = LevelsRead()
    connector = hub.connector(account)
    try:
        for chunk in chunked(connector.stock_levels(), LOOKUP_CHUNK):
            with hub.db.session() as session:
                mapped = mapped_listings(session, account.id, [item.inventory_item_id for item in chunk])
            for item in chunk:
                counts["levels"] += 1
                found = mapped.get(item.inventory_item_id)
                if found is None:
                    counts["unmapped"] += 1
                elif found[0] in kit_ids:
                    counts["kits"] += 1
                else:
                    read.add(found[0], found[1], item)
            chunk_done(len(chunk))
    finally:
        connector.close()
    with stock_change(hub) as change:
        session = change.session
        hub_of = [channel_location(session, account.id, external).location_id for external in read.locations]
        unmapped_locations = [i for i, hub_loc in enumerate(hub_of) if hub_loc is None]
        counts["unmapped"] += len({(read.variant[i], read.location[i]) for i in range(len(read.variant))
                                   if read.location[i] in unmapped_locations}) if unmapped_locations else 0
        # One channel location: the one its listings publish to, so what was read is what they show.
        first_sight = len(read.locations) == 1 and not unmapped_locations
        written = write_targets(change, read.targets(hub_of), account_id=account.id, source=account_name,
                                first_sight=first_sight)
    counts["applied"] = written["applied"]
    counts["unchanged"] = written["recorded"] - written["applied"]
    counts["repeated"] = written["targets"] - written["recorded"]
    return counts


@dataclass(frozen=True)
class Adjusted:
    """An applied adjustment and the level it left."""

    key: str
    on_hand: int
    committed: int

    @property
    def available(self) -> int:
        return self.on_hand - self.committed


def adjust(hub: Hub, sku: str, delta: int, location_code: str, reason: str, *, actor: str,
           allow_negative: bool = False) -> Adjusted:
    """A manual on_hand change (key `adjust:{uuid}`); the level it leaves.

    An adjustment that leaves on_hand below zero is refused unless `allow_negative`."""
    if delta == 0:
        raise StockError("an adjustment of 0 changes nothing; pass e.g. +5 or -2")
    bounded(delta, "adjustment")
    key = f"adjust:{uuid.uuid4()}"
    with stock_change(hub) as change:
        variant = find_variant(change.session, sku)
        kits.refuse_own_stock(change.session, variant)
        location = find_location(change.session, location_code)
        change.move(Movement(key, variant.id, location.id, on_hand_delta=delta, reason="adjust",
                             source=f"user:{actor}", reference=reason))
        on_hand, committed = level(change.session, variant.id, location.id)
        if on_hand < 0 and not allow_negative:
            raise StockError(f"{variant.sku} at {location.code}: {delta:+d} would leave on_hand at {on_hand}; "
                             "pass --allow-negative if that is what the shelf says")
    return Adjusted(key, on_hand, committed)


@dataclass
class ReceiveReport:
    applied: int = 0
    repeated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"applied": self.applied, "repeated": self.repeated,
                "errors": [{"line": line, "error": message} for line, message in self.errors]}


def _receive_fields(row: dict[str, str]) -> tuple[str, str, int, str]:
    """(sku, location code, quantity, reference) of one receipt row, or StockError."""
    if any("\x00" in value for value in row.values() if isinstance(value, str)):  # PostgreSQL refuses NUL
        raise StockError("the row holds a NUL character (the file is damaged or not text); fix the row")
    sku, code = (row.get("sku") or "").strip(), (row.get("location") or "").strip()
    reference = (row.get("reference") or "").strip()
    raw = (row.get("quantity") or "").strip()
    if not reference:
        raise StockError("reference is empty; give every row the delivery's reference (it makes a re-run a no-op)")
    quantity = parse_quantity(raw, "quantity", minimum=1)  # StockError's sibling QuantityOutOfRange
    return sku, code, quantity, reference


def variant_ids_by_sku(session: Session, skus: Iterable[str]) -> dict[str, int]:
    """Variant ids of the SKUs that exist, a few queries in all."""
    found: dict[str, int] = {}
    for chunk in chunked(sorted(set(skus))):
        found.update((sku, int(variant_id)) for sku, variant_id in session.execute(
            select(tables.Variant.sku, tables.Variant.id).where(among(session, tables.Variant.sku, chunk))))
    return found


ReceiptRow = tuple[int, str, str, int, str]  # line, sku, location code, quantity, reference


def _refusal(session: Session, sku: str, variant_id: int | None, kit_ids: set[int],
             location: tables.Location | StockError) -> str | None:
    """Why a row cannot be received (unknown SKU, a kit, an unknown location), or None."""
    if variant_id is None:
        return unknown_sku(sku)
    if variant_id in kit_ids:
        try:
            kits.refuse_own_stock(session, session.get_one(tables.Variant, variant_id))
        except kits.KitError as exc:
            return str(exc)
    return str(location) if isinstance(location, StockError) else None


def _receipt_movements(session: Session, rows: list[ReceiptRow], report: ReceiveReport) -> list[Movement]:
    """One movement per good row; unknown SKUs or locations, kits and repeated rows are reported by line.
    SKUs and locations are looked up a few queries at a time, not per row."""
    variants = variant_ids_by_sku(session, (sku for _, sku, _, _, _ in rows))
    kit_ids = set(kits.direct_recipes(session))
    locations: dict[str, tables.Location | StockError] = {}
    for code in sorted({code for _, _, code, _, _ in rows}):
        try:
            locations[code] = find_location(session, code)
        except StockError as exc:
            locations[code] = exc
    movements: list[Movement] = []
    seen: set[str] = set()
    for line, sku, code, quantity, reference in rows:
        location = locations[code]
        refused = _refusal(session, sku, variants.get(sku), kit_ids, location)
        if refused is not None or isinstance(location, StockError):
            report.errors.append((line, refused or str(location)))
        elif (key := f"receive:{reference}:{sku}:{location.code}") in seen:
            report.errors.append((line, "the same sku and location appear twice under this reference; "
                                        "merge the rows"))
        else:
            seen.add(key)
            movements.append(Movement(key, variants[sku], location.id, on_hand_delta=quantity, reason="receive",
                                      source="csv", reference=reference))
    return movements


def _received_before(session: Session, references: set[str]) -> dict[str, dict[str, int]]:
    """reference → {movement key: units} of receipts already in the ledger."""
    found: dict[str, dict[str, int]] = {}
    for chunk in chunked(sorted(references)):
        for key, reference, units in session.execute(
                select(tables.StockMovement.idempotency_key, tables.StockMovement.reference,
                       tables.StockMovement.on_hand_delta)
                .where(tables.StockMovement.reason == "receive", tables.StockMovement.reference.in_(chunk))):
            found.setdefault(reference, {})[key] = int(units)
    return found


def _check_references(session: Session, rows: list[tuple[int, Movement]], report: ReceiveReport) -> None:
    """A reference received before must come with exactly the same lines; else an error naming it."""
    wanted: dict[str, dict[str, int]] = {}
    first_line: dict[str, int] = {}
    for line, movement in rows:
        wanted.setdefault(movement.reference, {})[movement.key] = movement.on_hand_delta
        first_line.setdefault(movement.reference, line)
    for reference, before in _received_before(session, set(wanted)).items():
        if before != wanted[reference]:
            report.errors.append((first_line[reference], (
                f"reference {reference!r} was received before with other lines ({len(before)} row(s), "
                f"{sum(before.values())} unit(s)); nothing was applied: give this delivery its own reference")))


def receive(hub: Hub, path: Path) -> ReceiveReport:
    """Apply a receipt CSV (sku, location, quantity, reference), whole or not at all.

    Every row is checked first, and each reference received before must come with the same rows;
    any error applies nothing (errors by line). Then the rows are written in a few statements
    (`StockChange.move_many`); the same file again is a no-op."""
    with collector_paused():
        return _receive(hub, path)


def _receive(hub: Hub, path: Path) -> ReceiveReport:
    report = ReceiveReport()
    header, raw_rows = read_rows(path)
    missing = [c for c in RECEIVE_COLUMNS if c not in header]
    if missing:
        raise StockError(f"{path} lacks column(s) {', '.join(missing)}; the header must be "
                         f"{','.join(RECEIVE_COLUMNS)}")
    rows: list[ReceiptRow] = []
    for line, row in raw_rows:
        try:
            rows.append((line, *_receive_fields(row)))
        except MarketsyncError as exc:  # StockError, QuantityOutOfRange
            report.errors.append((line, str(exc)))
    with stock_change(hub) as change:
        movements = _receipt_movements(change.session, rows, report)
        first_line: dict[str, int] = {}
        for line, _, _, _, reference in rows:
            first_line.setdefault(reference, line)
        _check_references(change.session, [(first_line[m.reference], m) for m in movements], report)
        if not report.errors:  # a file is applied whole or not at all
            report.applied = len(change.move_many(movements))
            report.repeated = len(movements) - report.applied
    report.errors.sort()
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
                "kit": [share.as_dict() for share in item.kit],
                "limiting": kits.limiting_share(list(item.kit)).sku if item.kit else None,
                "desired_stored": listing.desired_quantity, "push_pending": listing.push_pending,
                "acknowledged": listing.acknowledged_quantity,
                "acknowledged_at": listing.acknowledged_at.isoformat() if listing.acknowledged_at else None})
        return {"sku": variant.sku, "locations": [
                    {"location": codes.get(loc, str(loc)), "on_hand": on_hand, "committed": committed,
                     "available": on_hand - committed} for loc, (on_hand, committed) in sorted(by_location.items())],
                "open_orders": _open_orders(session, variant.id), "accounts": accounts,
                **kit_membership(session, variant.id)}


def kit_membership(session: Session, variant_id: int) -> dict[str, Any]:
    """For `stock explain`: the kit's leaf components (if it is one) and the kits using the SKU."""
    recipe = kits.leaf_recipes(session, [variant_id]).get(variant_id, {})
    users = kits.kits_using(session, [variant_id])
    ids = sorted(set(recipe) | users)
    skus = dict(session.execute(select(tables.Variant.id, tables.Variant.sku).where(tables.Variant.id.in_(ids))).all())
    return {"kit_components": sorted(({"sku": skus[c], "per_kit": units} for c, units in recipe.items()),
                                     key=lambda row: str(row["sku"])),
            "used_in_kits": sorted(skus[k] for k in users)}
