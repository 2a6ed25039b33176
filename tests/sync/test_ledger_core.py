from __future__ import annotations

import pytest
from sqlalchemy import func, select

from store import tables
from store.db import Database
from sync.stock.ledger import Movement, apply_movement, level
from sync.stock.locations import account_hub_location_ids, channel_location, hub_location


def _variant(db: Database) -> tuple[int, int]:
    with db.session() as session:
        product = tables.Product(title="T")
        session.add(product)
        session.flush()
        variant = tables.Variant(product_id=product.id, sku="SKU-1")
        session.add(variant)
        session.flush()
        return variant.id, hub_location(session).id


def test_a_repeated_key_counts_once(db: Database) -> None:
    variant_id, location_id = _variant(db)
    move = Movement("order:a:1:1:commit", variant_id, location_id, committed_delta=2, reason="order_commit")
    with db.session() as session:
        assert apply_movement(session, move) is True
        assert apply_movement(session, move) is False
    with db.session() as session:
        assert apply_movement(session, move) is False
        apply_movement(session, Movement("adjust:x", variant_id, location_id, on_hand_delta=10))
        assert level(session, variant_id, location_id) == (10, 2)
        assert session.scalar(select(func.count()).select_from(tables.StockMovement)) == 2


def test_a_failed_transaction_leaves_neither_movement_nor_level(db: Database) -> None:
    variant_id, location_id = _variant(db)
    with pytest.raises(RuntimeError), db.session() as session:
        apply_movement(session, Movement("adjust:y", variant_id, location_id, on_hand_delta=5))
        raise RuntimeError("crash mid-job")
    with db.session() as session:
        assert level(session, variant_id, location_id) == (0, 0)
        assert session.scalar(select(func.count()).select_from(tables.StockMovement)) == 0


def test_unknown_reason_is_refused(db: Database) -> None:
    variant_id, location_id = _variant(db)
    with pytest.raises(ValueError, match="unknown movement reason"), db.session() as session:
        apply_movement(session, Movement("k", variant_id, location_id, reason="magic"))


def test_new_channel_locations_map_to_default(db: Database) -> None:
    with db.session() as session:
        account = tables.Account(name="a", platform="shopify", options={})
        session.add(account)
        session.flush()
        assert account_hub_location_ids(session, account.id) == [hub_location(session).id]
        row = channel_location(session, account.id, "gid://shopify/Location/1", "Main")
        assert row.location_id == hub_location(session).id
        assert channel_location(session, account.id, "gid://shopify/Location/1").id == row.id
