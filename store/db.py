"""Engines and sessions for SQLite (embedded default) and PostgreSQL, and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from canonical.errors import MarketsyncError
from store.settings import mask_url

if TYPE_CHECKING:  # alembic is loaded when the schema is checked or migrated, not by every import
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The migrations' head: `require_current` compares the database's version row with it without
# loading alembic (its import and the scripts' were ~0.14 CPU-s of every hub process's start;
# issue #16). tests/store/test_migrations.py fails until a new migration's revision is put here.
HEAD = "0024_listing_inventory_item"


RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


def transaction_conflict(error: BaseException | None) -> bool:
    """The database chose this transaction as a deadlock or serialization victim: run it again."""
    if not isinstance(error, DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


class DatabaseError(MarketsyncError):
    """The database cannot be reached or is not at the expected schema version."""


def make_engine(url: str, *, busy_timeout_ms: int = 15000) -> Engine:
    """An engine with the hub's connection settings (SQLite: WAL, busy timeout, foreign keys)."""
    try:
        return _engine(url, busy_timeout_ms)
    except (ArgumentError, NoSuchModuleError, ImportError):
        raise DatabaseError(f"database.url {mask_url(url)!r} is not a database URL the hub can use; give "
                            "sqlite:///PATH or postgresql://USER@HOST/DB (database.url or "
                            "MARKETSYNC_DATABASE__URL), or leave it empty for the workspace's SQLite") from None


def _engine(url: str, busy_timeout_ms: int) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
        _sqlite_pragmas(engine, busy_timeout_ms)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    if engine.dialect.driver == "psycopg":
        _binary_arrays(engine)
    return engine


def _binary_arrays(engine: Engine) -> None:
    """Lists bind as binary arrays. The only lists the hub binds are the array parameters of
    `store.bulk` and `store.chunks` (10,000 values each in a large receipt); psycopg's text form
    quotes and escapes every element in Python — ~0.35 CPU-s of a 10,000-row receipt's 15 arrays,
    against ~0.04 s in binary. Values and types are the same (every array bind is cast to its
    column's array type)."""
    from psycopg.types.array import ListBinaryDumper

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy own transactions: BEGIN IMMEDIATE avoids lock upgrades deadlocking.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA secure_delete=FAST")  # purged personal data is overwritten where the page is written
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A reading transaction (`Database.reading`) does not take the write lock: in WAL mode
        # readers neither wait for the writer nor hold it up.
        reading = connection.get_execution_options().get(READING, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


READING = "marketsync_reading"  # an execution option: the transaction only reads


class Database:
    """One engine and its session factories."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 15000) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.reading_sessions = sessionmaker(self.engine.execution_options(**{READING: True}),
                                             expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only: on SQLite its transaction does not take the write lock
        (`session` begins IMMEDIATE, so a job's check of a flag waited for every drain's write)."""
        with self.reading_sessions() as session, session.begin():
            yield session

    def check(self) -> None:
        """Raise DatabaseError with a one-line reason when the database cannot be reached."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseError(
                f"cannot reach the database at {mask_url(self.url)}: {reason} "
                "(start it, or fix database.url / MARKETSYNC_DATABASE__URL)"
            ) from None

    def alembic_config(self) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        return config

    def upgrade(self, revision: str = "heads") -> None:
        """Create or upgrade the schema; safe to run again."""
        from alembic import command

        self.check()
        with self.engine.begin() as connection:
            config = self.alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def downgrade(self, revision: str = "base") -> None:
        from alembic import command

        with self.engine.begin() as connection:
            config = self.alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, revision)

    def current_revisions(self) -> tuple[str, ...]:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))

    def head_revisions(self) -> tuple[str, ...]:
        from alembic.script import ScriptDirectory

        return tuple(sorted(ScriptDirectory.from_config(self.alembic_config()).get_heads()))

    def current_revision(self) -> str | None:
        """The schema version as one string ("a+b" while migration branches are open)."""
        return "+".join(self.current_revisions()) or None

    def head_revision(self) -> str | None:
        return "+".join(self.head_revisions()) or None

    def require_current(self) -> None:
        """Refuse to work on a database that is missing or behind the code's schema."""
        self.check()
        if self._recorded_versions() == (HEAD,):
            return
        try:
            current = self.current_revision()
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot read the schema version: {exc}") from None
        if current != self.head_revision():
            raise DatabaseError(
                f"the database at {mask_url(self.url)} is not initialised or is out of date "
                f"(at {current or 'nothing'}); run `marketsync init`"
            )

    def _recorded_versions(self) -> tuple[str, ...] | None:
        """The version rows alembic keeps, read with plain SQL; None when they cannot be read (the
        table is missing: `require_current` then asks alembic, which says why)."""
        try:
            with self.engine.connect() as connection:
                return tuple(sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars()))
        except SQLAlchemyError:
            return None

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database and truncate it, so rows just rewritten
        (a privacy purge) leave no old copy in the -wal file. Nothing to do on PostgreSQL."""
        if self.dialect != "sqlite":
            return
        raw = self.engine.raw_connection()  # outside any transaction: a checkpoint cannot run inside one
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()

    def dispose(self) -> None:
        self.engine.dispose()
