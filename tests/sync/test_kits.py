"""Kits on the ledger (both databases): a kit's number from its components, kit sales moving components."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

import canonical
from canonical import OrderStatus
from store import tables
from sync.aftersales.service import create_return, ship_replacement, take_step
from sync.alerts.service import evaluate
from sync.hub.accounts import get_account
from sync.hub.context import Hub
from sync.orders.ingest import ingest_order
from sync.reports.inventory import inventory_report
from sync.reports.period import Period
from sync.reports.sales import sales_report
from sync.stock import kit_definitions as kits
from sync.stock import operations as stock
from sync.stock.change import StockChange
from sync.stock.kits import KitError
from sync.stock.ledger import Movement
from tests.sync.order_world import LATER, levels, ship, shop_fixture  # noqa: F401 - fixtures

LISTINGS = {"A-1": "101", "A-2": "102", "KIT-1": "103", "KIT-2": "104"}


@pytest.fixture(name="kit_shop")
def kit_shop_fixture(hub: Hub, shop: dict[str, Any]) -> dict[str, Any]:
    """`shop` (A-1, A-2: 10 on hand each) plus KIT-1 = 2 x A-1 + 1 x A-2 and KIT-2 (not a kit yet), listed on woo."""
    with hub.db.session() as session:
        product = tables.Product(title="Gift set")
        session.add(product)
        session.flush()
        for sku in ("KIT-1", "KIT-2"):
            variant = tables.Variant(product_id=product.id, sku=sku)
            session.add(variant)
            session.flush()
            session.add(tables.Listing(account_id=shop["account_id"], variant_id=variant.id, external_product_id="20",
                                       external_variant_id=LISTINGS[sku], channel_sku=sku))
            shop["variants"][sku] = variant.id
    kits.define(hub, "KIT-1", [("A-1", 2), ("A-2", 1)], actor="test")
    return shop


def desired(hub: Hub, sku: str) -> int | None:
    with hub.db.session() as session:
        return session.scalar(select(tables.Listing.desired_quantity).join(tables.Variant)
                              .where(tables.Variant.sku == sku))


def order(lines: tuple[tuple[str, str, int], ...] = (("1", "KIT-1", 2),), *, status: OrderStatus = OrderStatus.OPEN,
          minutes: int = 0, external_id: str = "700", cancelled: dict[str, int] | None = None,
          refunds: tuple[canonical.Refund, ...] = ()) -> canonical.Order:
    return canonical.Order(
        account="woo", external_id=external_id, number=f"#{external_id}", status=status, currency="EUR",
        lines=tuple(canonical.OrderLine(external_id=line_id, sku=sku, external_variant_id=LISTINGS[sku],
                                        quantity=qty, unit_price=canonical.Money.parse("30", "EUR"),
                                        cancelled_quantity=(cancelled or {}).get(line_id, 0))
                    for line_id, sku, qty in lines),
        refunds=refunds, customer=canonical.Customer(name="Kim Buyer", email="kim@example.com", country="FR"),
        placed_at=LATER, updated_at=LATER + timedelta(minutes=minutes))


def ingest(hub: Hub, data: canonical.Order) -> None:
    with hub.db.session() as session:
        change = StockChange(session, hub.settings)
        ingest_order(change, get_account(session, "woo"), data, box=hub.secret_box, source="test")
        change.settle()


def adjust(hub: Hub, key: str, variant_id: int, on_hand: int) -> None:
    with hub.db.session() as session:
        location = session.scalar(select(tables.Location.id).where(tables.Location.code == "default"))
        assert location is not None
        change = StockChange(session, hub.settings)
        change.move(Movement(key, variant_id, location, on_hand_delta=on_hand))
        change.settle()


def test_a_kit_publishes_what_its_scarcest_component_allows(hub: Hub, kit_shop: dict[str, Any]) -> None:
    assert desired(hub, "KIT-1") == 5  # min(⌊10 ÷ 2⌋, ⌊10 ÷ 1⌋)
    explained = stock.explain(hub, "KIT-1")
    (woo,) = explained["accounts"]
    assert woo["limiting"] == "A-1" and woo["published"] == 5
    assert woo["kit"] == [{"sku": "A-1", "per_kit": 2, "available": 10, "kits": 5},
                          {"sku": "A-2", "per_kit": 1, "available": 10, "kits": 10}]
    assert "limited by A-1" in woo["steps"][0]["detail"]
    assert stock.explain(hub, "A-1")["used_in_kits"] == ["KIT-1"]
    adjust(hub, "adjust:a2-down", kit_shop["variants"]["A-2"], -7)
    assert desired(hub, "KIT-1") == 3  # A-2 limits now
    assert stock.explain(hub, "KIT-1")["accounts"][0]["limiting"] == "A-2"


def test_safety_stock_is_held_by_components_and_a_kits_own_only_when_named(hub: Hub,
                                                                            kit_shop: dict[str, Any]) -> None:
    hub.settings.stock.safety_stock = 2
    hub.settings.skus = {"A-2": {"safety_stock": 6}}
    with hub.db.session() as session:
        from sync.stock.desired import recompute_accounts
        recompute_accounts(session, [kit_shop["account_id"]], hub.settings)
    assert desired(hub, "KIT-1") == 4  # min(⌊(10-2) ÷ 2⌋, 10-6); the default 2 is not taken from the kit again
    hub.settings.skus = {"A-2": {"safety_stock": 6}, "KIT-1": {"safety_stock": 1}}
    with hub.db.session() as session:
        recompute_accounts(session, [kit_shop["account_id"]], hub.settings)
    assert desired(hub, "KIT-1") == 3


def test_a_kit_sale_commits_each_component_once_and_lowers_the_kit(hub: Hub, kit_shop: dict[str, Any]) -> None:
    ingest(hub, order())
    ingest(hub, order(minutes=1))  # the same order seen again (webhook + poll)
    assert levels(hub, kit_shop, "A-1") == (10, 4) and levels(hub, kit_shop, "A-2") == (10, 2)
    assert levels(hub, kit_shop, "KIT-1") == (0, 0)  # the kit holds nothing itself
    assert desired(hub, "KIT-1") == 3 and desired(hub, "A-1") == 6 and desired(hub, "A-2") == 8
    with hub.db.session() as session:
        keys = sorted(session.scalars(select(tables.StockMovement.idempotency_key)
                                      .where(tables.StockMovement.reason == "order_commit")))
    a1, a2 = kit_shop["variants"]["A-1"], kit_shop["variants"]["A-2"]
    assert keys == sorted([f"order:{kit_shop['account_id']}:700:1:commit",
                           f"order:{kit_shop['account_id']}:700:1:commit:kit:{a1}",
                           f"order:{kit_shop['account_id']}:700:1:commit:kit:{a2}"])


def test_a_component_sale_lowers_every_kit_using_it(hub: Hub, kit_shop: dict[str, Any]) -> None:
    kits.define(hub, "KIT-2", [("KIT-1", 2), ("A-2", 1)], actor="test")  # = 4 x A-1 + 3 x A-2
    assert (desired(hub, "KIT-1"), desired(hub, "KIT-2")) == (5, 2)
    ingest(hub, order((("1", "A-1", 3),)))
    assert (desired(hub, "A-1"), desired(hub, "KIT-1"), desired(hub, "KIT-2")) == (7, 3, 1)
    ingest(hub, order((("1", "KIT-2", 1),), external_id="701"))  # a nested kit's sale moves the leaves
    assert levels(hub, kit_shop, "A-1") == (10, 7) and levels(hub, kit_shop, "A-2") == (10, 3)
    assert (desired(hub, "KIT-1"), desired(hub, "KIT-2")) == (1, 0)
    shown = kits.show(hub, "KIT-2")
    assert shown["leaves"] == [{"sku": "A-1", "quantity": 4}, {"sku": "A-2", "quantity": 3}]
    assert kits.show(hub, "KIT-1")["used_by"] == ["KIT-2"]


def test_shipping_cancelling_and_refunding_a_kit_line_move_the_components(hub: Hub, kit_shop: dict[str, Any]) -> None:
    ingest(hub, order((("1", "KIT-1", 3),)))
    assert levels(hub, kit_shop, "A-1") == (10, 6)
    ingest(hub, order((("1", "KIT-1", 3),), minutes=1, cancelled={"1": 1}))  # one kit cancelled
    assert levels(hub, kit_shop, "A-1") == (10, 4) and levels(hub, kit_shop, "A-2") == (10, 2)
    ship(hub, {"KIT-1": 2})
    assert levels(hub, kit_shop, "A-1") == (6, 0) and levels(hub, kit_shop, "A-2") == (8, 0)
    refund = canonical.Refund(external_id="r1", lines=(canonical.RefundLine(line_external_id="1", quantity=1,
                                                                            restock=True),))
    for minutes in (2, 3):  # seen twice: restocked once
        ingest(hub, order((("1", "KIT-1", 3),), status=OrderStatus.COMPLETED, minutes=minutes,
                          cancelled={"1": 1}, refunds=(refund,)))
    assert levels(hub, kit_shop, "A-1") == (8, 0) and levels(hub, kit_shop, "A-2") == (9, 0)
    assert desired(hub, "KIT-1") == 4


def test_a_returned_kit_comes_back_as_its_components(hub: Hub, kit_shop: dict[str, Any]) -> None:
    ingest(hub, order((("1", "KIT-1", 1),)))
    ship(hub, {"KIT-1": 1})
    made = create_return(hub, "woo:700", "KIT-1", 1, reason="gift not wanted", actor="test", reference="RMA-9")
    take_step(hub, made["id"], "received", actor="test")
    assert levels(hub, kit_shop, "A-1") == (8, 0)  # waiting at the returns location
    assert take_step(hub, made["id"], "restocked", actor="test")["moved"] is True
    assert levels(hub, kit_shop, "A-1") == (10, 0) and levels(hub, kit_shop, "A-2") == (10, 0)
    assert take_step(hub, made["id"], "restocked", actor="test")["moved"] is False


def test_an_exchange_for_a_kit_holds_and_ships_its_components(hub: Hub, kit_shop: dict[str, Any]) -> None:
    ingest(hub, order((("1", "A-2", 1),)))
    ship(hub, {"A-2": 1})
    swap = create_return(hub, "woo:700", "A-2", 1, reason="wanted the set", actor="test", exchange_for="KIT-1")
    assert levels(hub, kit_shop, "A-1") == (10, 2) and levels(hub, kit_shop, "A-2") == (9, 1)
    assert desired(hub, "KIT-1") == 4  # min(⌊8 ÷ 2⌋, 8)
    ship_replacement(hub, swap["id"], actor="test")
    ship_replacement(hub, swap["id"], actor="test")  # once
    assert levels(hub, kit_shop, "A-1") == (8, 0) and levels(hub, kit_shop, "A-2") == (8, 0)


def test_an_oversold_component_publishes_zero_for_the_kit_never_less(hub: Hub, kit_shop: dict[str, Any]) -> None:
    ingest(hub, order((("1", "A-1", 9),)))
    ingest(hub, order((("1", "KIT-1", 1),), external_id="701"))  # 9 + 2 committed of 10 on hand
    assert levels(hub, kit_shop, "A-1") == (10, 11)
    assert desired(hub, "KIT-1") == 0 and desired(hub, "A-1") == 0
    explained = stock.explain(hub, "KIT-1")["accounts"][0]
    assert explained["kit"][0] == {"sku": "A-1", "per_kit": 2, "available": 0, "kits": 0}
    evaluate(hub, deliver=False)
    with hub.db.session() as session:
        oversold = session.scalars(select(tables.Alert.sku).where(tables.Alert.kind == "oversold",
                                                                  tables.Alert.status == "open")).all()
    assert oversold == ["A-1"]


def test_reports_count_a_kit_sale_as_the_kit_and_its_stock_as_the_components(hub: Hub,
                                                                              kit_shop: dict[str, Any]) -> None:
    ingest(hub, order((("1", "KIT-1", 2),)))
    ship(hub, {"KIT-1": 2})
    period = Period(LATER - timedelta(days=1), LATER + timedelta(days=1))
    with hub.db.session() as session:
        sales = sales_report(session, hub.settings, period, by="sku")
        stocked = inventory_report(session, hub.settings, period, now=LATER + timedelta(days=1))
    assert {row["key"]: row["units"] for row in sales["rows"]} == {"KIT-1": 2}  # sold: the kit, at its price
    sold = {row["sku"]: row["sold"] for row in stocked["rows"]}
    assert (sold["A-1"], sold["A-2"], sold.get("KIT-1", 0)) == (4, 2, 0)  # stock out: the components


def test_definitions_refuse_cycles_unknown_untracked_and_components_in_use(hub: Hub,
                                                                           kit_shop: dict[str, Any]) -> None:
    kits.define(hub, "KIT-2", [("KIT-1", 1), ("A-2", 1)], actor="test")
    with pytest.raises(KitError, match=r"kit KIT-1 cannot contain itself: KIT-1 → KIT-2 → KIT-1"):
        kits.define(hub, "KIT-1", [("KIT-2", 1)], actor="test")
    with pytest.raises(KitError, match="kit KIT-1 cannot contain itself"):
        kits.define(hub, "KIT-1", [("KIT-1", 1)], actor="test")
    with pytest.raises(KitError, match="unknown SKU 'NOPE'"):
        kits.define(hub, "KIT-1", [("NOPE", 1)], actor="test")
    with hub.db.session() as session:
        variant = session.get(tables.Variant, kit_shop["variants"]["A-2"])
        assert variant is not None
        variant.tracked = False
    with pytest.raises(KitError, match=r"A-2 .* is not stock-tracked"):
        kits.define(hub, "KIT-1", [("A-1", 1), ("A-2", 1)], actor="test")
    with pytest.raises(KitError, match="kit KIT-1 is a component of KIT-2"):
        kits.remove(hub, "KIT-1", actor="test")
    with pytest.raises(KitError, match=r"A-1 is not a kit; it is a component of KIT-1 \(remove"):
        kits.remove(hub, "A-1", actor="test")
    assert [row["kit"] for row in kits.kit_list(hub)] == ["KIT-1", "KIT-2"]


def test_a_recipe_is_fixed_while_open_lines_hold_its_components(hub: Hub, kit_shop: dict[str, Any]) -> None:
    ingest(hub, order((("1", "KIT-1", 1),)))
    with pytest.raises(KitError, match="1 open order line"):
        kits.define(hub, "KIT-1", [("A-1", 1)], actor="test")
    with pytest.raises(KitError, match="1 open order line"):
        kits.remove(hub, "KIT-1", actor="test")
    ship(hub, {"KIT-1": 1})
    kits.define(hub, "KIT-1", [("A-1", 1)], actor="test")
    assert desired(hub, "KIT-1") == 8


def test_a_variant_becoming_a_kit_gives_up_its_own_stock(hub: Hub, kit_shop: dict[str, Any]) -> None:
    adjust(hub, "adjust:kit2", kit_shop["variants"]["KIT-2"], 20)
    kits.define(hub, "KIT-2", [("A-2", 2)], actor="test")
    assert levels(hub, kit_shop, "KIT-2") == (0, 0)
    assert [m["reason"] for m in stock.history(hub, "KIT-2")] == ["adjust", "adjust"]
    assert desired(hub, "KIT-2") == 5
    with pytest.raises(KitError, match="KIT-2 is a kit: its stock is its components'"):
        stock.adjust(hub, "KIT-2", 3, "default", "count", actor="test")
    kits.remove(hub, "KIT-2", actor="test")
    assert desired(hub, "KIT-2") == 0  # a plain SKU again, with nothing on hand
