"""Cost price, supplier, lead time and safety stock per variant (`marketsync supply import|list`).

The CSV has a `sku` column and any of `cost`, `currency`, `supplier`, `lead_time_days`,
`safety_stock`; an empty cell leaves that value as it is. The file is checked whole before
anything is written: one bad row and nothing changes, every bad row is named by its line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonical.errors import MarketsyncError
from store import tables
from store.csvfile import read_rows
from sync.hub.context import Hub
from sync.stock.change import StockChange
from sync.stock.push_queue import request_pushes

COLUMNS = ("cost", "currency", "supplier", "lead_time_days", "safety_stock")


class SupplyError(MarketsyncError):
    """A supply file or value was refused; the message names the file, line and column."""


@dataclass
class SupplyImport:
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"updated": self.updated, "unchanged": self.unchanged,
                "errors": [{"line": line, "error": message} for line, message in self.errors]}


def _whole(raw: str, column: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SupplyError(f"{column} {raw!r} is not a whole number") from None
    if value < 0:
        raise SupplyError(f"{column} {value} must be 0 or more")
    return value


def _changes(row: dict[str, str], default_currency: str) -> dict[str, Any]:
    cells = {column: (row.get(column) or "").strip() for column in COLUMNS}
    changes: dict[str, Any] = {}
    if cells["cost"]:
        try:
            cost = Decimal(cells["cost"])
        except InvalidOperation:
            raise SupplyError(f"cost {cells['cost']!r} is not an amount (e.g. 4.20)") from None
        if not cost.is_finite() or cost < 0:
            raise SupplyError(f"cost {cells['cost']!r} must be 0 or more")
        currency = cells["currency"].upper() or default_currency
        if not currency:
            raise SupplyError("cost has no currency; fill the currency column or set [reports] currency")
        changes["cost_price"] = cost
        changes["cost_currency"] = currency
    if cells["currency"] and not (len(cells["currency"]) == 3 and cells["currency"].isalpha()):
        raise SupplyError(f"currency {cells['currency']!r} is not a 3-letter ISO-4217 code")
    if cells["supplier"]:
        changes["supplier"] = cells["supplier"][:255]
    if cells["lead_time_days"]:
        changes["lead_time_days"] = _whole(cells["lead_time_days"], "lead_time_days")
    if cells["safety_stock"]:
        changes["safety_stock"] = _whole(cells["safety_stock"], "safety_stock")
    return changes


def _read(path: Path) -> list[tuple[int, dict[str, str]]]:
    names, rows = read_rows(path)
    if "sku" not in names or not set(COLUMNS) & set(names):
        raise SupplyError(f"{path} needs a sku column and at least one of {', '.join(COLUMNS)} in its header")
    return rows


def _apply(session: Session, variant: tables.Variant, changes: dict[str, Any]) -> bool:
    supply = session.get(tables.VariantSupply, variant.id)
    if supply is None:
        supply = tables.VariantSupply(variant_id=variant.id)
        session.add(supply)
    changed = False
    for key, value in changes.items():
        target: Any = variant if key == "safety_stock" else supply
        if getattr(target, key) != value:
            setattr(target, key, value)
            changed = True
    return changed


def import_supply(hub: Hub, path: Path) -> SupplyImport:
    """Apply a supply CSV, all rows or none; safety stock changes are pushed to the channels."""
    rows = _read(path)
    result = SupplyImport()
    with hub.db.session() as session:
        variants = {v.sku: v for v in session.scalars(select(tables.Variant))}
        planned: list[tuple[tables.Variant, dict[str, Any]]] = []
        for line, row in rows:
            sku = (row.get("sku") or "").strip()
            try:
                if any("\x00" in value for value in row.values() if isinstance(value, str)):
                    raise SupplyError("the row holds a NUL character (the file is damaged or not text)")
                if sku not in variants:
                    raise SupplyError(f"unknown SKU {sku!r}; see `marketsync stock levels`")
                planned.append((variants[sku], _changes(row, hub.settings.reports.currency)))
            except SupplyError as exc:
                result.errors.append((line, str(exc)))
        if result.errors:
            return result
        moved_safety: set[int] = set()
        for variant, changes in planned:
            if _apply(session, variant, changes):
                result.updated += 1
                if "safety_stock" in changes:
                    moved_safety.add(variant.id)
            else:
                result.unchanged += 1
        session.flush()
        change = StockChange(session, hub.settings)
        change.touch(moved_safety)  # safety stock moved: what the channels show moves with it
        accounts = change.settle()
    request_pushes(hub, accounts)
    return result


def supply_rows(session: Session, skus: list[str] | None = None) -> list[dict[str, Any]]:
    """Cost, supplier, lead time and safety stock of every variant (or of `skus`)."""
    stmt = (select(tables.Variant, tables.VariantSupply)
            .outerjoin(tables.VariantSupply, tables.VariantSupply.variant_id == tables.Variant.id)
            .order_by(tables.Variant.sku))
    if skus:
        stmt = stmt.where(tables.Variant.sku.in_(skus))
    rows = []
    for variant, supply in session.execute(stmt):
        cost = supply.cost_price if supply is not None else None
        rows.append({"sku": variant.sku, "cost": None if cost is None else str(cost),
                     "currency": supply.cost_currency if supply else None,
                     "supplier": supply.supplier if supply else None,
                     "lead_time_days": supply.lead_time_days if supply else None,
                     "safety_stock": variant.safety_stock})
    return rows
