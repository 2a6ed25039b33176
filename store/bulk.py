"""Many rows in one statement, without compiling a parameter per value.

A multi-row `VALUES` built by SQLAlchemy binds one parameter per value and compiles them all on
every call: a 10,000-row receipt spent most of its time there. Here a statement is compiled once:

* PostgreSQL: `INSERT … SELECT * FROM unnest(:a, :b, …)` / `UPDATE … FROM unnest(…)`, one array
  parameter per column — one round trip, no 65,535-parameter limit, and `RETURNING` as usual. A
  column holding one value in every row (a receipt's reason, source and timestamp) is bound once, as
  a scalar, rather than as an array of 10,000 copies to encode, send and unpack.
* SQLite: the same statement executed for every row (`executemany`; SQLAlchemy renders inserts as
  multi-row pages under SQLite's own limit), in process, so a row costs no round trip.
  `insert_many` (no `RETURNING`, no `ON CONFLICT`) goes further: each column's values are
  converted by its type once per column, not per row and parameter, and handed to the driver's
  `executemany` as tuples (a 10,000-variant catalogue import spent ~1 of its 8 CPU-s under
  cProfile building and processing SQLAlchemy's parameters row by row).

The caller adds `on_conflict_…` / `returning` to the insert as to any dialect insert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update
from sqlalchemy.types import String

Rows = Sequence[Mapping[str, Any]]

# Up to this many rows PostgreSQL gets the plain statement executemany'd, so one order's change runs
# exactly the statements it ran before the arrays (a precaution: 4 concurrent ingests measured slower
# once, within this shared machine's noise).
FEW_ROWS = 100

# A value already in the form the driver stores (`_stored`): bound as is, no processor per row.
_AS_STORED = String()


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _unnest(table: Table, names: Sequence[str], prefix: str = "") -> Any:
    """`unnest(:a, :b, …) AS rows(a, b, …)`, one array parameter per column of `table`."""
    arrays = [bindparam(f"{prefix}{name}", type_=postgresql.ARRAY(table.c[name].type)) for name in names]
    return func.unnest(*arrays).table_valued(*names).render_derived(name="rows")


def _columns(rows: Rows, names: Sequence[str], prefix: str = "") -> dict[str, list[Any]]:
    return {f"{prefix}{name}": [row[name] for row in rows] for name in names}


def _constants(rows: Rows, names: Sequence[str], keep: str) -> dict[str, Any]:
    """The columns (but `keep`) holding the same value, of the same type, in every row: name → value."""
    found: dict[str, Any] = {}
    for name in names:
        first = rows[0][name]
        kind = type(first)
        if name != keep and all(type(value) is kind and value == first for value in (row[name] for row in rows)):
            found[name] = first
    return found


def _scalar(table: Table, name: str, prefix: str) -> Any:
    return bindparam(f"{prefix}{name}", type_=table.c[name].type)


def insert_rows(session: Session, table: Any, rows: Rows) -> tuple[Any, Any]:
    """(insert statement, parameters) that insert `rows` (dicts with the same keys) into `table`;
    execute them with `session.execute(statement, parameters)`."""
    table = cast(Table, table)
    names = list(rows[0])
    if not is_postgresql(session):
        return sqlite.insert(table), list(rows)
    if len(rows) <= FEW_ROWS:
        return postgresql.insert(table), list(rows)
    constants = _constants(rows, names, keep=names[0])
    varying = [n for n in names if n not in constants]
    source = _unnest(table, varying)
    statement = postgresql.insert(table).from_select(names, select(*[
        _scalar(table, n, "c_").label(n) if n in constants else source.c[n] for n in names]))
    return statement, {**_columns(rows, varying), **{f"c_{n}": v for n, v in constants.items()}}


def insert_many(session: Session, table: Any, rows: Rows) -> None:
    """Insert `rows` (dicts with the same keys) into `table`, nothing returned. A column left out
    gets its default, a callable one called once for all the rows (a batch's `created_at`)."""
    if not rows:
        return
    table = cast(Table, table)
    if is_postgresql(session) or len(rows) <= FEW_ROWS:
        session.execute(*insert_rows(session, table, rows))
        return
    names = list(rows[0])
    defaults = {c.name: c.default for c in table.c if c.name not in names and c.default is not None}
    if any(not (d.is_scalar or d.is_callable) for d in defaults.values()):  # a sequence or SQL default
        session.execute(*insert_rows(session, table, rows))
        return
    dialect = session.get_bind().dialect
    columns = [_converted(table.c[n].type, [row[n] for row in rows], dialect) for n in names]
    for name, default in defaults.items():
        value = default.arg(None) if default.is_callable else default.arg
        columns.append([_stored(table.c[name].type, value, dialect)] * len(rows))
    quote = dialect.identifier_preparer.quote
    every = [*names, *defaults]
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({', '.join(quote(n) for n in every)}) "
           f"VALUES ({', '.join('?' * len(every))})")
    session.connection().exec_driver_sql(sql, list(zip(*columns, strict=True)))


def _converted(kind: Any, values: list[Any], dialect: Any) -> list[Any]:
    """`values` of one column as the column type `kind` hands them to the driver; a value the same
    in every row (a batch's `last_seen_at`, an empty JSON object) is converted once."""
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    if process is None or not values:
        return values
    if _same(values):
        return [process(values[0])] * len(values)
    return [process(value) for value in values]


def _same(values: list[Any]) -> bool:
    """Whether every value converts as the first: the same object, or an equal text, whole number,
    flag, None or empty JSON container (not any equal value: 1 and 1.0, or one instant in two time
    zones, are equal but stored apart)."""
    first = values[0]
    if type(first) in (str, int, bool, type(None)) or (type(first) in (dict, list) and not first):
        return all(type(value) is type(first) and value == first for value in values)
    return all(value is first for value in values)


def execute_many(session: Session, statement: Any, rows: Any) -> None:
    """`session.execute(statement, rows)` for a list of parameter dicts. On SQLite, past `FEW_ROWS`, the
    statement is compiled once as SQLAlchemy would for an executemany, each bound value converted a
    column at a time by its type, and the driver handed tuples: SQLAlchemy otherwise builds, orders
    and processes every row's parameters (400,000 of them, ~3.7 of a 100,000-level stock import's
    34 CPU-s under cProfile). Anything it cannot hand over as is (a value the rows do not give, such
    as an `onupdate` default, or a list parameter) runs through `session.execute`."""
    if is_postgresql(session) or not isinstance(rows, list) or len(rows) <= FEW_ROWS:
        session.execute(statement, rows)
        return
    dialect = session.get_bind().dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(rows[0]), for_executemany=True)
    names = compiled.positiontup
    if names is None or compiled.post_compile_params or compiled.literal_execute_params \
            or any(name not in rows[0] for name in names):
        session.execute(statement, rows)
        return
    columns = [_converted(compiled.binds[name].type, [row[name] for row in rows], dialect) for name in names]
    session.connection().exec_driver_sql(compiled.string, list(zip(*columns, strict=True)))


def update_rows(session: Session, table: Any, key: str, rows: Rows) -> tuple[Update, Any]:
    """(update statement, parameters) that set, for each of `rows`, its other columns on the row
    of `table` whose `key` column matches."""
    table = cast(Table, table)
    names = list(rows[0])
    others = [n for n in names if n != key]
    if is_postgresql(session) and len(rows) > FEW_ROWS:
        constants = _constants(rows, names, keep=key)
        varying = [n for n in names if n not in constants]
        source = _unnest(table, varying, "p_")
        statement = update(table).where(table.c[key] == source.c[key]).values(
            {n: _scalar(table, n, "c_") if n in constants else source.c[n] for n in others})
        return statement, {**_columns(rows, varying, "p_"), **{f"c_{n}": v for n, v in constants.items()}}
    if is_postgresql(session):  # a few rows: the plain statement, executemany'd
        statement = update(table).where(table.c[key] == bindparam(f"p_{key}")).values(
            {n: bindparam(f"p_{n}") for n in others})
        return statement, [{f"p_{n}": row[n] for n in names} for row in rows]
    # SQLite: executemany, where every parameter of every row goes through its type's bind processor
    # and an `onupdate` default is called per row. A value the same in every row (and the onupdate
    # time, taken once) is processed once here and bound as its stored form.
    dialect = session.get_bind().dialect
    constants = _constants(rows, names, keep=key) if len(rows) > FEW_ROWS else {}
    constants.update({c.name: c.onupdate.arg(None) for c in table.c
                      if c.name not in names and c.onupdate is not None and c.onupdate.is_callable})
    varying = [n for n in names if n not in constants]
    stored = {n: _stored(table.c[n].type, v, dialect) for n, v in constants.items()}
    statement = update(table).where(table.c[key] == bindparam(f"p_{key}")).values(
        {**{n: bindparam(f"p_{n}") for n in varying if n != key},
         **{n: bindparam(f"c_{n}", type_=_AS_STORED) for n in stored}})
    return statement, [{**{f"p_{n}": row[n] for n in varying}, **{f"c_{n}": v for n, v in stored.items()}}
                       for row in rows]


def _stored(kind: Any, value: Any, dialect: Any) -> Any:
    """`value` as the column type `kind` hands it to the driver."""
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value
