"""Shared report-test helpers: two channels with mapped listings, and orders placed on given days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

import canonical
from canonical import Money, OrderStatus
from store import tables
from sync.hub.accounts import add_account, get_account
from sync.hub.context import Hub
from sync.orders.ingest import ingest_order
from sync.stock.change import StockChange
from sync.stock.ledger import Movement
from sync.stock.locations import hub_location

DAY0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
SKUS = ("R-1", "R-2", "R-3")


@pytest.fixture(name="channels")
def channels_fixture(hub: Hub) -> dict[str, Any]:
    """Accounts `woo` and `shop`, each listing R-1..R-3 (20 on hand each at `default`)."""
    ids: dict[str, int] = {}
    for platform, name in (("woocommerce", "woo"), ("shopify", "shop")):
        options = {"url": "http://127.0.0.1:9"} if platform == "woocommerce" else {"shop": "x.myshopify.com"}
        secrets = {"consumer_key": "ck", "consumer_secret": "cs"} if platform == "woocommerce" else \
            {"access_token": "t", "client_secret": "s"}
        ids[name] = add_account(hub, platform, name, options, secrets, actor="test").id
    variants: dict[str, int] = {}
    with hub.db.session() as session:
        product = tables.Product(title="Mug")
        session.add(product)
        session.flush()
        location = hub_location(session).id
        change = StockChange(session, hub.settings)
        for n, sku in enumerate(SKUS, start=1):
            variant = tables.Variant(product_id=product.id, sku=sku, title=f"Mug {n}")
            session.add(variant)
            session.flush()
            variants[sku] = variant.id
            for name, account_id in ids.items():
                session.add(tables.Listing(account_id=account_id, variant_id=variant.id, external_product_id="1",
                                           external_variant_id=f"{name}-{n}", channel_sku=sku))
            change.move(Movement(f"adjust:seed:{sku}", variant.id, location, on_hand_delta=20))
        change.settle()
    return {"accounts": ids, "variants": variants}


def place(hub: Hub, account: str, external_id: str, lines: list[tuple[str, int, str]], *, day: int = 0,
          currency: str = "EUR", email: str | None = None, buyer: str | None = None,
          status: OrderStatus = OrderStatus.OPEN, refunds: tuple[canonical.Refund, ...] = (),
          total: str | None = None) -> int:
    """Ingest an order on `account` placed DAY0 + `day` days; lines are (sku, quantity, unit price)."""
    placed = DAY0 + timedelta(days=day)
    value = sum((Decimal(price) * qty for _, qty, price in lines), Decimal(0))
    order = canonical.Order(
        account=account, external_id=external_id, number=f"#{external_id}", status=status, currency=currency,
        total=Money.parse(total or value, currency),
        lines=tuple(canonical.OrderLine(external_id=f"{external_id}-{n}", sku=sku,
                                        external_variant_id=f"{account}-{SKUS.index(sku) + 1}", quantity=qty,
                                        unit_price=Money.parse(price, currency))
                    for n, (sku, qty, price) in enumerate(lines)),
        refunds=refunds, customer=canonical.Customer(email=email, buyer_id=buyer),
        placed_at=placed, updated_at=placed + timedelta(minutes=1))
    with hub.db.session() as session:
        change = StockChange(session, hub.settings)
        order_id = ingest_order(change, get_account(session, account), order, box=hub.secret_box,
                                source="test").order_id
        change.settle()
        return order_id


def refund(external_id: str, line_id: str, quantity: int, amount: str | None = None,
           currency: str = "EUR") -> canonical.Refund:
    return canonical.Refund(external_id=external_id,
                            lines=(canonical.RefundLine(line_external_id=line_id, quantity=quantity, restock=False),),
                            amount=Money.parse(amount, currency) if amount else None)
