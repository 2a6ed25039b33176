from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from store import tables
from store.db import Database, DatabaseError


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=4321)
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 4321
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_money_and_times_round_trip_exactly(db: Database) -> None:
    with db.session() as session:
        product = tables.Product(title="T")
        session.add(product)
        session.flush()
        session.add(tables.Variant(product_id=product.id, sku="A", price=Decimal("0.1000000000000000055511")))
    with db.session() as session:
        variant = session.scalar(select(tables.Variant))
        assert variant is not None
        assert variant.price == Decimal("0.1000000000000000055511")
        assert variant.created_at.tzinfo is not None and variant.created_at.utcoffset().total_seconds() == 0
        assert datetime.now(UTC) - variant.created_at < __import__("datetime").timedelta(minutes=1)


def test_movement_idempotency_key_is_unique(db: Database) -> None:
    with db.session() as session:
        product = tables.Product(title="T")
        location = tables.Location(code="main")
        session.add_all([product, location])
        session.flush()
        variant = tables.Variant(product_id=product.id, sku="A")
        session.add(variant)
        session.flush()
        session.add(tables.StockMovement(idempotency_key="k", variant_id=variant.id, location_id=location.id,
                                         reason="adjust"))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(tables.StockMovement(idempotency_key="k", variant_id=variant.id, location_id=location.id,
                                         reason="adjust"))


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive"), db.session() as session:
        session.add(tables.AuditEntry(actor="a", action="x", subject="s", at=datetime(2026, 1, 1)))


def test_unreachable_database_is_one_clear_line() -> None:
    with pytest.raises(DatabaseError) as info:
        Database("postgresql+psycopg://nobody:hunter2@127.0.0.1:1/none").check()
    message = str(info.value)
    assert "hunter2" not in message and "********" in message
    assert "database.url" in message and "\n" not in message


def test_uninitialised_database_asks_for_init(tmp_path) -> None:
    with pytest.raises(DatabaseError, match="marketsync init"):
        Database(f"sqlite:///{tmp_path / 'empty.db'}").require_current()


def test_a_reading_transaction_on_sqlite_does_not_wait_for_the_writer(tmp_path) -> None:
    """Every transaction began IMMEDIATE (the write lock), so a job's read of a flag waited for
    every drain's write; `reading()` begins deferred and reads the last committed state."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    Database(url).upgrade()
    writer, other = Database(url), Database(url, busy_timeout_ms=50)
    with writer.session() as session:
        session.add(tables.Location(code="north", name="North"))
        session.flush()  # the write lock is held until this block commits
        with other.reading() as reader:
            assert reader.scalar(select(tables.Location.code).where(tables.Location.code == "north")) is None
        with pytest.raises(OperationalError, match="locked"), other.session() as blocked:
            blocked.scalar(select(tables.Location.code))
    with other.reading() as reader:
        assert reader.scalar(select(tables.Location.code).where(tables.Location.code == "north")) == "north"
