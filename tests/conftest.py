"""Shared fixtures: real SQLite and PostgreSQL databases, a real Redis, and a hub on them.

PostgreSQL: `DATABASE_URL`, else 127.0.0.1:5432/test. Each test run works in its own schema,
so parallel runs never see each other's rows. Redis: `REDIS_URL`, else 127.0.0.1:6379 on a
spare database, else an embedded one. With CI=true a missing service fails the run.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import redis
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, event, text

from store.db import Database
from store.settings import load_settings
from sync.hub.context import Hub
from sync.jobs import set_hub

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
RUN_ID = uuid.uuid4().hex[:8]
_schemas = itertools.count()


@pytest.fixture(autouse=True)
def fresh_account_facts() -> Iterator[None]:
    """Each test starts as a new process would: no shop location or currency remembered."""
    from connectors.facts import FACTS

    FACTS.clear()
    yield
    FACTS.clear()


def service_missing(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error}); start it (see README: Development)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _postgres_admin_url() -> str:
    return POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)


def fresh_postgres_url() -> str:
    """A URL whose connections work in a brand-new schema of the test database."""
    schema = f"t_{RUN_ID}_{next(_schemas)}"
    try:
        engine = create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    except Exception as exc:
        service_missing("PostgreSQL", exc)
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{_postgres_admin_url()}{separator}options=-csearch_path%3D{schema}"


def drop_postgres_schema(url: str) -> None:
    """Drop a test schema; a connection a test left open must not hang the whole run."""
    schema = url.rsplit("%3D", 1)[1]
    engine = create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("SET lock_timeout = '5s'"))
        try:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        except Exception as exc:
            # Leave the schema behind (it is unique to this run) but say why.
            import warnings

            warnings.warn(f"could not drop test schema {schema}: {exc.__class__.__name__}", stacklevel=1)
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database on each engine: every storage test runs on both. Empty, but for a test using the
    `db` or `hub` fixture: then already at the head revision (see MigratedTemplates)."""
    migrated = bool(MIGRATED_BY & set(request.fixturenames))
    templates: MigratedTemplates | None = request.getfixturevalue("migrated_templates") if migrated else None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
        if templates is not None:
            templates.sqlite_copy(url)
        yield url
        return
    if templates is None:
        url = fresh_postgres_url()
        yield url
        drop_postgres_schema(url)
        return
    url = templates.postgres_url()
    yield url
    templates.give_back(url)


class MigratedTemplates:
    """Databases at the head revision for the `db` and `hub` fixtures, without running the
    migrations for every test (1-3 s each: alembic loads every revision script, then one round trip
    per DDL statement, and PostgreSQL's catalogue work for ~100 statements).

    SQLite: the file migrated once per test process is copied. PostgreSQL: the statements the one
    migration sent to the server (recorded at the driver's cursor, parameters and all; none names
    the schema) are sent again in a new schema, in one transaction; after the test its tables are
    emptied (TRUNCATE ... RESTART IDENTITY: the migrations insert no rows but alembic's version) and
    the schema serves the next test of this process. A schema whose tables cannot be emptied within
    5 s (a connection left open) or whose revision changed is dropped instead. Tests asking for an
    empty `database_url` alone still get a brand-new schema; `tests/store/test_migrations.py`
    migrates those on both engines and checks the clone against the table definitions.
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp_path_factory = tmp_path_factory
        self._sqlite: Path | None = None
        self._postgres: list[tuple[str, Any, bool]] | None = None
        self._postgres_revision: list[str] = []
        self._idle: list[str] = []  # emptied migrated schemas, ready for the next test

    def sqlite_copy(self, url: str) -> None:
        if self._sqlite is None:
            path = self._tmp_path_factory.mktemp("template") / "hub.db"
            database = Database(f"sqlite:///{path}")
            database.upgrade()
            database.dispose()
            self._sqlite = path
        target = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{self._sqlite}{suffix}").exists():
                shutil.copyfile(f"{self._sqlite}{suffix}", f"{target}{suffix}")

    def _statements(self) -> list[tuple[str, Any, bool]]:
        if self._postgres is None:
            url = fresh_postgres_url()
            database = Database(url)
            recorded: list[tuple[str, Any, bool]] = []

            def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                       executemany: bool) -> None:
                recorded.append((statement, parameters, executemany))

            event.listen(database.engine, "before_cursor_execute", record)
            database.upgrade()
            event.remove(database.engine, "before_cursor_execute", record)
            self._postgres_revision = _versions(database)
            database.dispose()
            drop_postgres_schema(url)
            self._postgres = recorded
        return self._postgres

    def postgres_url(self) -> str:
        """A migrated schema with no rows in its tables."""
        if self._idle:
            return self._idle.pop()
        statements = self._statements()
        url = fresh_postgres_url()
        database = Database(url)
        try:
            with database.engine.begin() as connection:
                cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                for statement, parameters, executemany in statements:
                    if executemany:
                        cursor.executemany(statement, parameters)
                    else:
                        cursor.execute(statement, parameters)
                cursor.close()
        finally:
            database.dispose()
        return url

    def give_back(self, url: str) -> None:
        """Empty the schema's tables for the next test, or drop it when that cannot be done cleanly."""
        schema = url.rsplit("%3D", 1)[1]
        database = Database(url)
        try:
            with database.engine.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '5s'"))
                names = connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :schema "
                                                "AND tablename <> 'alembic_version'"), {"schema": schema}).scalars()
                listed = ", ".join(f'"{name}"' for name in sorted(names))
                connection.execute(text(f"TRUNCATE {listed} RESTART IDENTITY CASCADE"))
            reusable = _versions(database) == self._postgres_revision
        except Exception:
            reusable = False
        finally:
            database.dispose()
        if reusable:
            self._idle.append(url)
        else:
            drop_postgres_schema(url)

    def close(self) -> None:
        while self._idle:
            drop_postgres_schema(self._idle.pop())


def _versions(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory)
    yield templates
    templates.close()


MIGRATED_BY = {"db", "hub"}  # fixtures that want the database at head; `database_url` alone is empty


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The test's database at the head revision (migrated by `database_url`)."""
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """A real Redis on a spare database number that this test process holds alone.

    Test runs in parallel (several checkouts on one machine) claim numbers 1-15 with SET NX in
    database 0, so one run's flushdb never empties another's queues.
    """
    base = REDIS_URL.rstrip("/")
    try:
        admin = redis.Redis.from_url(f"{base}/0", socket_connect_timeout=2)
        admin.ping()
    except redis.RedisError as exc:
        service_missing("Redis", exc)
    owner = f"{os.getpid()}-{RUN_ID}"
    number = next((n for n in range(1, 16) if admin.set(f"marketsync:test-db:{n}", owner, nx=True, ex=2 * 3600)),
                  None)
    if number is None:
        service_missing("a free Redis database (1-15)", RuntimeError("all are held by other test runs"))
    yield f"{base}/{number}"
    if admin.get(f"marketsync:test-db:{number}") == owner.encode():
        admin.delete(f"marketsync:test-db:{number}")
    admin.close()


@pytest.fixture
def redis_client(redis_server_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def hub_env(
    tmp_path: Path, database_url: str, redis_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Environment for a hub in a fresh workspace on the test database and Redis."""
    env = {"MARKETSYNC_HOME": str(tmp_path / "ws"), "MARKETSYNC_DATABASE__URL": database_url,
           "MARKETSYNC_REDIS__URL": redis_server_url,
           # burst workers in tests run what is queued now; a delayed stale check would wait for nobody
           "MARKETSYNC_SYNC__STALE_CHECK_DELAY_S": "0"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MARKETSYNC_SECRET_KEY", raising=False)
    monkeypatch.delenv("MARKETSYNC_CONFIG", raising=False)
    return env


@pytest.fixture
def hub(hub_env: dict[str, str], redis_client: redis.Redis) -> Iterator[Hub]:
    """An initialised hub (workspace, key, database at head: see `database_url`) on the test services."""
    instance = Hub(load_settings())
    instance.workspace.secret_box(create=True)
    instance.db.require_current()
    set_hub(instance)
    yield instance
    set_hub(None)
    instance.close()


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _entry(args: tuple[str, ...]) -> None:
    from cli.main import main

    sys.exit(main(list(args)))


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Run the CLI in-process through its real entry point (real exit codes and messages)."""
    return CliRunner().invoke(_entry, list(args), input=input, env=env, catch_exceptions=False)


@pytest.fixture
def cli() -> Any:
    return invoke
