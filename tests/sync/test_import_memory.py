"""A large catalogue's listing refresh and stock import hold a chunk, not the whole account.

The refresh matches, links and settles its seen listings a chunk at a time against the variants
each chunk can match (never the whole catalogue when every SKU matches exactly), and holds no
conflict evidence for listings sure to link; stock import holds what the channel said as arrays.
Measured with tracemalloc: the peak grows by a few dozen bytes a listing, not the ~1 KB a listing
of the whole-catalogue index, listing rows and seen sets (or the ~600 bytes a level of dicts).
A full collection runs every `COLLECT_EVERY` records (20,000 in use): here every chunk, so the
garbage held between two collections stays below the sizes measured.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

import canonical
from store import tables
from sync.catalog import scan
from sync.catalog.refresh import Refresh
from sync.hub import collector
from sync.hub.context import Hub
from sync.stock import operations, stock_import
from sync.stock.change import StockChange
from sync.stock.operations import import_stock

CHUNK = 250


@pytest.fixture(autouse=True)
def collect_every_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector, "COLLECT_EVERY", CHUNK)


def seed(hub: Hub, variants: int, *, first: int = 0) -> int:
    """An account and `variants` variants (SKU `M-n`, barcode-less); the account's id."""
    with hub.db.session() as session:
        account = session.scalar(select(tables.Account).where(tables.Account.name == "big"))
        if account is None:
            account = tables.Account(name="big", platform="woocommerce", options={"url": "http://127.0.0.1:9"})
            session.add(account)
        product = tables.Product(title="Many sizes")
        session.add(product)
        session.flush()
        session.execute(insert(tables.Variant), [
            {"product_id": product.id, "sku": f"M-{n}", "title": "", "options": {}}
            for n in range(first, first + variants)])
        return int(account.id)


def listing(n: int, *, sku: str | None = None) -> canonical.Listing:
    return canonical.Listing(account="big", external_product_id=f"p{n // 4}", external_variant_id=f"v{n}",
                             external_inventory_item_id=f"i{n}", sku=sku or f"M-{n}", title=f"Size {n}",
                             product_title=f"Product {n // 4}",
                             price=canonical.Money(amount=Decimal("9.50"), currency="EUR"))


def refresh(hub: Hub, account_id: int, items: list[canonical.Listing]) -> tuple[Refresh, int]:
    """Upsert `items`, then finish; (the refresh, tracemalloc's peak bytes during `finish`)."""
    with hub.db.session() as session:
        account = session.get(tables.Account, account_id)
        assert account is not None
        run = Refresh(account, normalised=True, actor="test")
    for start in range(0, len(items), 500):
        with hub.db.session() as session:
            run.upsert(session, items[start:start + 500])
    with hub.db.session() as session:
        tracemalloc.start()
        try:
            run.finish(StockChange(session, hub.settings))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return run, peak


def test_refresh_links_a_chunk_at_a_time_without_the_whole_catalogue(hub: Hub,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "CHUNK", CHUNK)
    whole: list[int] = []
    build = scan.catalog_index
    monkeypatch.setattr(scan, "catalog_index", lambda session: whole.append(1) or build(session))
    account_id = seed(hub, 1_000)
    run, _ = refresh(hub, account_id, [listing(n) for n in range(1_000)])
    assert (run.result.seen, run.result.linked, run.result.opened) == (1_000, 1_000, 0)
    assert run.items == {}  # every listing was sure to link: no evidence held for it
    assert whole == []  # exact SKUs: only each chunk's candidates were loaded
    with hub.db.session() as session:
        wrong = session.scalar(select(func.count()).select_from(tables.Listing).join(tables.Variant).where(
            tables.Listing.external_variant_id != func.replace(tables.Variant.sku, "M-", "v")))
    assert wrong == 0
    # A listing only a normalised SKU matches needs the whole catalogue; a duplicate SKU opens its conflict.
    run, _ = refresh(hub, account_id, [listing(n) for n in range(1_000)] +
                     [listing(1_000, sku="m-5"), listing(1_001, sku="M-7")])
    assert whole == [1]
    assert run.result.opened == 2  # "M-7" is on the account twice; "m-5" normalises as "M-5" does
    # Evidence is held only for the listing whose SKU names no variant exactly: "M-7" looked sure
    # when it was stored (its duplicate conflict shows the stored row).
    assert sorted(run.items) == ["v1000"]



def test_finish_walks_the_seen_listings_once_unless_a_sku_hash_repeats(hub: Hub,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The SKU hashes for duplicate detection are taken as the listings are stored: `finish` reads
    the seen listings once (to match them), and once more only when some hash repeats."""
    monkeypatch.setattr(scan, "CHUNK", CHUNK)
    walks: list[int] = []
    walk = scan.seen_chunks
    monkeypatch.setattr(scan, "seen_chunks", lambda *args, **kwargs: walks.append(1) or walk(*args, **kwargs))
    account_id = seed(hub, 1_000)
    run, _ = refresh(hub, account_id, [listing(n) for n in range(1_000)])
    assert (run.result.linked, run.result.opened, len(walks)) == (1_000, 0, 1)
    walks.clear()
    run, _ = refresh(hub, account_id, [listing(n) for n in range(1_000)] + [listing(1_001, sku="M-7")])
    assert (run.result.opened, len(walks)) == (1, 2)  # the unlinked "M-7" gets its duplicate conflict

def test_refresh_memory_does_not_grow_with_the_account(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "CHUNK", CHUNK)
    small_account = seed(hub, 1_000)
    _, small = refresh(hub, small_account, [listing(n) for n in range(1_000)])
    with hub.db.session() as session:
        session.execute(tables.Listing.__table__.delete())
    seed(hub, 3_000, first=1_000)
    _, large = refresh(hub, small_account, [listing(n) for n in range(4_000)])
    per_listing = (large - small) / 3_000
    assert per_listing < 150, f"finish grew {per_listing:.0f} bytes a listing"


class Levels:
    """A connector whose stock read is `count` levels at one location (failing after `fail_after`)."""

    def __init__(self, count: int, fail_after: int | None = None) -> None:
        self.count, self.fail_after = count, fail_after

    def stock_levels(self) -> Iterator[canonical.StockLevel]:
        for n in range(self.count):
            if self.fail_after is not None and n == self.fail_after:
                raise RuntimeError("the channel went away")
            yield canonical.StockLevel(location_external_id="loc-1", inventory_item_id=f"i{n}", available=n % 9)

    def close(self) -> None:
        pass


def linked(hub: Hub, variants: int) -> int:
    account_id = seed(hub, variants)
    refresh(hub, account_id, [listing(n) for n in range(variants)])
    return account_id


def measured_import(hub: Hub, monkeypatch: pytest.MonkeyPatch, connector: Levels) -> tuple[dict[str, int], int]:
    monkeypatch.setattr(hub, "connector", lambda account, **_: connector)
    tracemalloc.start()
    try:
        counts = import_stock(hub, "big")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return counts, peak


def test_stock_import_holds_the_read_as_arrays(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(operations, "LOOKUP_CHUNK", CHUNK)
    monkeypatch.setattr(stock_import, "MOVES_PER_CHUNK", CHUNK)
    linked(hub, 4_000)
    _, small = measured_import(hub, monkeypatch, Levels(1_000))
    counts, large = measured_import(hub, monkeypatch, Levels(4_000))
    assert counts["levels"] == 4_000 and counts["applied"] + counts["unchanged"] + counts["repeated"] == 4_000
    per_level = (large - small) / 3_000
    assert per_level < 250, f"stock import grew {per_level:.0f} bytes a level"
    with hub.db.session() as session:
        on_hand = {sku: n for sku, n in session.execute(
            select(tables.Variant.sku, tables.StockLevel.on_hand).join(tables.StockLevel))}
        acknowledged = session.scalar(select(func.count()).select_from(tables.Listing)
                                      .where(tables.Listing.acknowledged_quantity.is_not(None)))
    assert len(on_hand) == 4_000 and all(on_hand[f"M-{n}"] == n % 9 for n in range(4_000))
    assert acknowledged == 4_000  # first sight recorded for every listing, a chunk at a time


def test_a_stock_read_that_fails_midway_writes_nothing(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(operations, "LOOKUP_CHUNK", CHUNK)
    linked(hub, 1_000)
    with pytest.raises(RuntimeError, match="went away"):
        measured_import(hub, monkeypatch, Levels(1_000, fail_after=700))
    with hub.db.session() as session:
        assert session.scalar(select(func.count()).select_from(tables.StockMovement)) == 0
        assert session.scalar(select(func.count()).select_from(tables.StockLevel)) == 0
