"""`store.bulk` and `store.chunks.among`: one statement for many rows, on both databases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from store import tables
from store.bulk import FEW_ROWS, insert_many, insert_rows, update_rows
from store.chunks import FEW_VALUES, among
from store.types import utcnow
from sync.hub.context import Hub

SKUS = ["A-1", 'quote"d', "back\\slash", "短袖-红", "emoji-🙂", "comma,semi;"]


def test_among_matches_exactly_the_values_given_whatever_they_hold(hub: Hub) -> None:
    with hub.db.session() as session:
        product = tables.Product(title="P")
        session.add(product)
        session.flush()
        session.add_all([tables.Variant(product_id=product.id, sku=sku) for sku in [*SKUS, "NOT-ASKED"]])
        session.flush()
        padded = [*SKUS, *(f"absent-{n}" for n in range(FEW_VALUES))]  # past FEW_VALUES: one parameter
        for wanted in (SKUS, padded):
            found = set(session.scalars(select(tables.Variant.sku).where(among(session, tables.Variant.sku, wanted))))
            assert found == set(SKUS)
        ids = list(session.scalars(select(tables.Variant.id).where(tables.Variant.sku.in_(SKUS[:2]))))
        by_id = set(session.scalars(select(tables.Variant.sku).where(among(session, tables.Variant.id, ids))))
        assert by_id == set(SKUS[:2])
        assert list(session.scalars(select(tables.Variant.id).where(among(session, tables.Variant.id, [])))) == []


@pytest.mark.parametrize("count", [3, FEW_ROWS + 50])  # executemany, and unnest arrays on PostgreSQL
def test_insert_and_update_rows_write_every_row_once(hub: Hub, count: int) -> None:
    with hub.db.session() as session:
        table = tables.Product.__table__
        statement, params = insert_rows(session, table, [{"title": f"T{n}"} for n in range(count)])
        ids = [row_id for (row_id,) in session.execute(statement.returning(table.c.id), params)]
        assert len(ids) == count
        changed = ids[:-1]
        session.execute(*update_rows(session, table, "id", [{"id": i, "title": f"U{i}"} for i in changed]))
        titles = dict(session.execute(select(tables.Product.id, tables.Product.title)).all())
        assert titles == {**{i: f"U{i}" for i in changed}, ids[-1]: f"T{count - 1}"}


def test_among_past_few_values_binds_one_parameter(hub: Hub) -> None:
    with hub.db.session() as session:
        product = tables.Product(title="P")
        session.add(product)
        session.flush()
        skus = [f"S-{n}" for n in range(FEW_VALUES * 3)]
        session.add_all([tables.Variant(product_id=product.id, sku=sku) for sku in skus])
        session.flush()
        wanted = [*skus[::2], "NOT-THERE"]
        found = set(session.scalars(select(tables.Variant.sku).where(among(session, tables.Variant.sku, wanted))))
        assert found == set(skus[::2])


def test_columns_holding_one_value_in_every_row_are_written_to_every_row(hub: Hub) -> None:
    """Past FEW_ROWS PostgreSQL binds a column with one value in every row once; every row gets it."""
    count = FEW_ROWS + 50
    with hub.db.session() as session:
        product = tables.Product(title="P")
        session.add(product)
        session.flush()
        variants = [tables.Variant(product_id=product.id, sku=f"S-{n}") for n in range(count)]
        session.add_all(variants)
        session.flush()
        ids = [v.id for v in variants]
        location = tables.Location(code="here", name="Here")
        session.add(location)
        session.flush()
        table = tables.StockLevel.__table__
        at = utcnow()
        rows = [{"variant_id": i, "location_id": location.id, "on_hand": n % 7, "committed": 0, "updated_at": at}
                for n, i in enumerate(ids)]
        statement, params = insert_rows(session, table, rows)
        session.execute(statement, params)
        found = {v: (loc, on_hand, committed, updated) for v, loc, on_hand, committed, updated in session.execute(
            select(table.c.variant_id, table.c.location_id, table.c.on_hand, table.c.committed, table.c.updated_at))}
        assert found == {i: (location.id, n % 7, 0, at) for n, i in enumerate(ids)}
        session.execute(*update_rows(session, table, "variant_id", [
            {"variant_id": i, "on_hand": 9, "committed": n % 3} for n, i in enumerate(ids)]))
        found = {v: (on_hand, committed) for v, on_hand, committed in session.execute(
            select(table.c.variant_id, table.c.on_hand, table.c.committed))}
        assert found == {i: (9, n % 3) for n, i in enumerate(ids)}


@pytest.mark.parametrize("count", [3, FEW_ROWS + 50])
def test_update_rows_stamps_updated_at_and_writes_constant_columns_in_their_stored_form(hub: Hub,
                                                                                      count: int) -> None:
    """Every row gets its `onupdate` time, and a boolean or datetime the same in every row reaches each
    row as its column type stores it (SQLite binds them once, pre-processed)."""
    with hub.db.session() as session:
        account = tables.Account(name="a", platform="p")
        session.add(account)
        session.flush()
        listings = [tables.Listing(account_id=account.id, external_variant_id=str(n), external_product_id="p",
                                   status="active")
                    for n in range(count)]
        session.add_all(listings)
        session.flush()
        ids = [listing.id for listing in listings]
        before = utcnow()
        acknowledged = utcnow()
        session.execute(*update_rows(session, tables.Listing.__table__, "id", [
            {"id": i, "desired_quantity": n, "push_pending": True, "acknowledged_at": acknowledged}
            for n, i in enumerate(ids)]))
        found = session.execute(select(tables.Listing.id, tables.Listing.desired_quantity,
                                       tables.Listing.push_pending, tables.Listing.acknowledged_at,
                                       tables.Listing.updated_at).order_by(tables.Listing.id)).all()
    assert [(row.desired_quantity, row.push_pending, row.acknowledged_at) for row in found] == \
        [(n, True, acknowledged) for n in range(count)]
    assert all(before <= row.updated_at <= utcnow() for row in found)


@pytest.mark.parametrize("count", [3, FEW_ROWS + 50])  # the statement as is, then per-column conversion
def test_insert_many_writes_every_row_whole_with_the_defaults_of_columns_left_out(hub: Hub, count: int) -> None:
    """Every value of every row arrives as its column type stores it (JSON, exact decimals, None,
    any SKU text), and columns not given get their defaults (`tracked`, `created_at`)."""
    before = utcnow()
    with hub.db.session() as session:
        product = tables.Product(title="P")
        session.add(product)
        session.flush()
        rows = [{"product_id": product.id, "sku": f"{SKUS[n % len(SKUS)]}-{n}", "title": f"T {n}",
                 "options": {"Size": str(n), "Colour": "红"} if n % 2 else {},
                 "price": Decimal(f"{n}.05") if n % 3 else None, "currency": "EUR" if n % 3 else None}
                for n in range(count)]
        insert_many(session, tables.Variant.__table__, rows)
        insert_many(session, tables.Variant.__table__, [])
        found = {v.sku: v for v in session.scalars(select(tables.Variant))}
        assert len(found) == count
        for row in rows:
            variant = found[row["sku"]]
            assert (variant.product_id, variant.title, variant.options, variant.price, variant.currency) == \
                (row["product_id"], row["title"], row["options"], row["price"], row["currency"])
            assert variant.tracked is True and variant.barcode is None and variant.safety_stock is None
            assert before <= variant.created_at <= utcnow() and before <= variant.updated_at <= utcnow()


@pytest.mark.parametrize("count", [3, FEW_ROWS + 50])
def test_execute_many_writes_what_session_execute_writes(hub: Hub, count: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite past FEW_ROWS the driver gets tuples converted a column at a time; every value (JSON,
    bool, datetime, None) and the `onupdate` time arrive as they would through `session.execute`. A
    statement whose rows lack a value it binds (here its own `onupdate`) runs through `session.execute`."""
    from sqlalchemy import bindparam, update
    from sqlalchemy.engine import Connection

    from store.bulk import execute_many

    driver_calls: list[int] = []
    plain = Connection.exec_driver_sql

    def counted(self: Connection, sql: str, parameters: object = None, *args: object, **kwargs: object) -> object:
        driver_calls.append(len(parameters) if isinstance(parameters, list) else 1)
        return plain(self, sql, parameters, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Connection, "exec_driver_sql", counted)
    with hub.db.session() as session:
        account = tables.Account(name="a", platform="p")
        session.add(account)
        session.flush()
        listings = [tables.Listing(account_id=account.id, external_variant_id=str(n), external_product_id="p",
                                   status="active") for n in range(count)]
        session.add_all(listings)
        session.flush()
        ids = [listing.id for listing in listings]
        at, before = utcnow(), utcnow()
        rows = [{"id": i, "synced_fields": {"identity": {"sku": f"S-{n}", "barcode": None}},
                 "push_pending": n % 2 == 0, "acknowledged_at": at if n % 3 else None, "desired_quantity": n}
                for n, i in enumerate(ids)]
        driver_calls.clear()
        execute_many(session, *update_rows(session, tables.Listing.__table__, "id", rows))
        took_driver = [c for c in driver_calls if c == count]
        table = tables.Listing.__table__
        execute_many(session, update(table).where(table.c.id == bindparam("p_id")).values(
            title=bindparam("p_title")), [{"p_id": i, "p_title": f"T{i}"} for i in ids])
        found = session.execute(select(tables.Listing.id, tables.Listing.synced_fields, tables.Listing.push_pending,
                                       tables.Listing.acknowledged_at, tables.Listing.desired_quantity,
                                       tables.Listing.title, tables.Listing.updated_at)
                                .order_by(tables.Listing.id)).all()
    sqlite_fast = hub.db.dialect == "sqlite" and count > FEW_ROWS
    assert took_driver == ([count] if sqlite_fast else [])
    assert [(r.synced_fields, r.push_pending, r.acknowledged_at, r.desired_quantity, r.title) for r in found] == \
        [({"identity": {"sku": f"S-{n}", "barcode": None}}, n % 2 == 0, at if n % 3 else None, n, f"T{i}")
         for n, i in enumerate(ids)]
    assert all(before <= r.updated_at <= utcnow() for r in found)


def test_a_value_the_same_in_every_row_is_converted_once_and_only_a_safe_one() -> None:
    """`_converted` converts a column holding one value (a batch's `last_seen_at` object, an empty
    JSON object, one text) once; equal values that convert apart (1 and 1.0, an instant in two
    time zones) each on their own."""
    import json
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import JSON, DateTime, Integer
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from store.bulk import _converted

    dialect = sqlite_dialect.dialect()
    seen: list[object] = []

    def serializer(value: object) -> str:
        seen.append(value)
        return json.dumps(value)

    dialect._json_serializer = serializer  # what the JSON type's bind processor calls
    assert _converted(JSON(), [{} for _ in range(500)], dialect) == ["{}"] * 500 and len(seen) == 1
    seen.clear()
    assert _converted(JSON(), [{"n": 1}, {"n": 1.0}], dialect) == ['{"n": 1}', '{"n": 1.0}'] and len(seen) == 2
    now = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)
    once = _converted(DateTime(), [now] * 300, dialect)
    assert len(set(once)) == 1 and once[0].startswith("2026-12-04 19:00:00")
    same_instant = now.astimezone(timezone(timedelta(hours=2)))
    assert same_instant == now
    apart = _converted(DateTime(), [now, same_instant], dialect)
    assert apart[0] != apart[1] and apart[1].startswith("2026-12-04 21:00:00")
    assert _converted(Integer(), [7] * 3, dialect) == [7, 7, 7]
