"""What the quantity rules need beyond the variant's own safety stock: its supplier's fixed value and,
in dynamic mode, its stored dynamic safety stock (`mapping.quantity.effective_safety_stock` orders them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import tables
from store.settings import Settings


@dataclass(frozen=True)
class SafetyInputs:
    supplier: tuple[str, int | None] | None = None
    dynamic: int | None = None


def safety_inputs(session: Session, settings: Settings, variant_ids: Iterable[int]) -> dict[int, SafetyInputs]:
    """Per variant with a supplier or a stored dynamic figure; the others need nothing beyond defaults."""
    dynamic_mode = settings.planning.safety_stock_mode == "dynamic"
    suppliers = settings.planning.suppliers
    if not suppliers and not dynamic_mode:
        return {}
    ids = list(variant_ids)
    found: dict[int, SafetyInputs] = {}
    if suppliers:
        for variant_id, name in session.execute(select(tables.VariantSupply.variant_id, tables.VariantSupply.supplier)
                                                .where(tables.VariantSupply.variant_id.in_(ids),
                                                       tables.VariantSupply.supplier.is_not(None))):
            if name in suppliers:
                found[int(variant_id)] = SafetyInputs(supplier=(name, suppliers[name].safety_stock))
    if dynamic_mode:
        for variant_id, value in session.execute(
                select(tables.PlanningFigures.variant_id, tables.PlanningFigures.dynamic_safety_stock)
                .where(tables.PlanningFigures.variant_id.in_(ids))):
            previous = found.get(int(variant_id), SafetyInputs())
            found[int(variant_id)] = SafetyInputs(supplier=previous.supplier, dynamic=int(value))
    return found
