from __future__ import annotations

import pytest
from sqlalchemy import inspect

from store.db import HEAD, Database, DatabaseError
from store.tables import Base


def test_upgrade_creates_every_table_and_is_idempotent(database_url: str) -> None:
    db = Database(database_url)
    db.upgrade()
    db.upgrade()
    assert db.current_revision() == db.head_revision()
    assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())
    db.dispose()


def test_downgrade_to_base_and_back(database_url: str) -> None:
    db = Database(database_url)
    db.upgrade()
    db.downgrade("base")
    assert db.current_revision() is None
    assert not set(Base.metadata.tables) & set(inspect(db.engine).get_table_names())
    db.upgrade()
    assert db.current_revision() == db.head_revision()
    db.dispose()


def _schema_diff(db: Database) -> list[object]:
    """What differs between the database's schema and the table definitions (empty: nothing)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def test_migrations_match_the_table_definitions(database_url: str) -> None:
    db = Database(database_url)
    db.upgrade()  # migrated here, not cloned from the tests' template (the next test checks the clone)
    assert _schema_diff(db) == []
    db.dispose()


def test_the_tests_template_clone_is_the_migrated_schema(db: Database) -> None:
    """The `db` fixture clones a migrated template (tests/conftest.py): same revision, same tables,
    columns, indexes and constraints as the migrations build."""
    assert db.current_revision() == db.head_revision()
    assert _schema_diff(db) == []


def test_the_head_require_current_knows_is_the_migrations_head(database_url: str) -> None:
    """`require_current` reads the version row and compares it with `store.db.HEAD` (no alembic):
    a new migration must name itself there."""
    db = Database(database_url)
    assert db.head_revision() == HEAD
    db.upgrade()
    db.require_current()
    db.downgrade("0023_shipment_claims")  # one behind: refused, as when alembic compared
    with pytest.raises(DatabaseError, match=r"out of date \(at 0023_shipment_claims\)"):
        db.require_current()
    db.downgrade("base")
    with pytest.raises(DatabaseError, match="at nothing"):
        db.require_current()
    db.dispose()
