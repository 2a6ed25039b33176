"""One ingesting process for the ledger benchmark: `python -m bench.ledger_worker ACCOUNT FIRST COUNT`
ingests COUNT canonical orders (one line each, over every mapped listing of ACCOUNT) through
the hub's order ingest, one transaction per order as the order jobs do, then prints the
movements it wrote as JSON."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from sqlalchemy import func, select

import canonical
from store import tables
from store.settings import load_settings
from sync.hub.accounts import get_account
from sync.hub.context import Hub
from sync.orders.ingest import ingest_order
from sync.stock.change import StockChange


def main(argv: list[str]) -> int:
    account_name, first, count = argv[0], int(argv[1]), int(argv[2])
    hub = Hub(load_settings())
    with hub.db.session() as session:
        account = get_account(session, account_name)
        listings = session.execute(select(tables.Listing.external_variant_id, tables.Variant.sku)
                                   .join(tables.Variant, tables.Variant.id == tables.Listing.variant_id)
                                   .where(tables.Listing.account_id == account.id)
                                   .order_by(tables.Listing.id)).all()
        before = session.scalar(select(func.count()).select_from(tables.StockMovement)) or 0
    now = datetime.now(UTC)
    for n in range(first, first + count):
        external, sku = listings[n % len(listings)]
        order = canonical.Order(account=account_name, external_id=f"bench-{n}", number=str(n),
                                status=canonical.OrderStatus.OPEN, currency="EUR", placed_at=now, updated_at=now,
                                lines=(canonical.OrderLine(external_id=f"line-{n}", sku=sku,
                                                           external_variant_id=external, quantity=1),))
        with hub.db.session() as session:
            row = session.get(tables.Account, account.id)
            assert row is not None
            change = StockChange(session, hub.settings)
            ingest_order(change, row, order, box=hub.secret_box, source="bench")
            change.settle()
    with hub.db.session() as session:
        after = session.scalar(select(func.count()).select_from(tables.StockMovement)) or 0
    hub.close()
    print(json.dumps({"orders": count, "movements_seen": after - before}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
