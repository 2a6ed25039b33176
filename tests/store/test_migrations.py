from __future__ import annotations

from sqlalchemy import inspect

from store.db import Database
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


def test_migrations_match_the_table_definitions(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
