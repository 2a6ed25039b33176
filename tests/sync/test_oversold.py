"""Oversell opens an `oversold` conflict (SKU, orders, shortfall) that closes itself when stock covers it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from store import tables
from sync.hub.context import Hub
from sync.stock.operations import adjust
from tests.sync.order_world import ingest, levels, order, shop_fixture  # noqa: F401 - fixtures


def oversold(hub: Hub) -> list[tables.Conflict]:
    with hub.db.session() as session:
        return list(session.scalars(select(tables.Conflict).where(tables.Conflict.kind == "oversold")
                                    .order_by(tables.Conflict.id)))


def test_an_order_beyond_on_hand_opens_an_oversold_conflict_that_closes_itself(
        cli: Any, hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order(lines=(("1", "A-1", 8),), external_id="500"))
    assert oversold(hub) == []
    ingest(hub, order(lines=(("1", "A-1", 5),), external_id="501"))  # a backorder: 13 promised, 10 on hand
    assert levels(hub, shop) == (10, 13)
    [conflict] = oversold(hub)
    assert conflict.status == "open"
    assert conflict.evidence["sku"] == "A-1" and conflict.evidence["shortfall"] == 3
    assert [o["order"] for o in conflict.evidence["orders"]] == ["#500", "#501"]
    status = json.loads(cli("status", "--json").output)
    assert status["oversold"] == [{"conflict": conflict.id, "sku": "A-1", "location": "default", "shortfall": 3,
                                   "orders": ["woo:#500", "woo:#501"]}]
    assert "oversold A-1 at default: short 3" in cli("status").output
    adjust(hub, "A-1", 2, "default", "found two", actor="test")
    [still] = oversold(hub)
    assert still.status == "open" and still.evidence["shortfall"] == 1
    adjust(hub, "A-1", 1, "default", "found one more", actor="test")
    [closed] = oversold(hub)
    assert closed.status == "resolved" and closed.resolution == "self"
    assert json.loads(cli("status", "--json").output)["oversold"] == []
