"""Ledger movements placed at chosen times (the ledger stamps `now`; tests rewrite `created_at`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from store import tables
from sync.hub.context import Hub
from sync.stock.change import StockChange
from sync.stock.ledger import Movement
from sync.stock.locations import hub_location


def make_variants(hub: Hub, *skus: str) -> dict[str, int]:
    with hub.db.session() as session:
        product = tables.Product(title="Goods")
        session.add(product)
        session.flush()
        ids = {}
        for sku in skus:
            variant = tables.Variant(product_id=product.id, sku=sku)
            session.add(variant)
            session.flush()
            ids[sku] = variant.id
        return ids


def move(hub: Hub, variant_id: int, key: str, at: datetime, *, on_hand: int = 0, committed: int = 0,
         reason: str = "adjust", source: str = "") -> None:
    with hub.db.session() as session:
        change = StockChange(session, hub.settings)
        change.move(Movement(key, variant_id, hub_location(session).id, on_hand_delta=on_hand,
                             committed_delta=committed, reason=reason, source=source))
        change.settle()
        session.execute(update(tables.StockMovement).where(tables.StockMovement.idempotency_key == key)
                        .values(created_at=at))
