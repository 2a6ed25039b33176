"""SQL pieces that read the same on SQLite and PostgreSQL: money sums, day and week buckets, epochs.

Money is stored as exact decimal text. Sums run in the database as whole ten-thousandths of the
currency unit (`money_units`), which is exact for every ISO-4217 minor unit and for any amount
below ten billion, on both engines (SQLite reads the text through a double, exact at that size).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, Numeric, String, cast, func, literal_column, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

SCALE = 10_000


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def money_units(session: Session, column: Any) -> ColumnElement[int]:
    """A money column as whole ten-thousandths (an integer the database can sum exactly)."""
    exact = cast(column, Numeric(30, 4)) if dialect(session) == "postgresql" else cast(column, Float)
    return cast(func.round(exact * SCALE), BigInteger)


def from_units(units: Any) -> Decimal:
    """The Decimal amount of a sum of `money_units` (0 for NULL)."""
    return Decimal(int(units or 0)).scaleb(-4)


def day_bucket(session: Session, column: Any) -> ColumnElement[str]:
    """`YYYY-MM-DD` of a UTC time column."""
    if dialect(session) == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD", type_=String)
    return func.substr(column, 1, 10, type_=String)


def week_bucket(session: Session, column: Any) -> ColumnElement[str]:
    """`YYYY-MM-DD` of the Monday starting the ISO week of a UTC time column."""
    if dialect(session) == "postgresql":
        return func.to_char(func.date_trunc("week", func.timezone("UTC", column)), "YYYY-MM-DD", type_=String)
    return func.date(column, literal_column("'weekday 0'"), literal_column("'-6 days'"), type_=String)


def epoch_seconds(session: Session, column: Any) -> ColumnElement[float]:
    """Seconds since 1970 of a UTC time column (for time-weighted averages)."""
    if dialect(session) == "postgresql":
        return cast(func.extract("epoch", column), Float)
    return (func.julianday(column) - 2440587.5) * 86400.0


def scanned(session: Session, column: Any) -> Any:
    """`column` in a form SQLite will not answer from an index (`+column`), for a query that reads
    most of a table: SQLite keeps no histogram, so it would otherwise look every row up through an
    index. PostgreSQL plans by its statistics and gets the column itself."""
    if dialect(session) != "sqlite":
        return column
    return type_coerce(literal_column(f"+{column.table.name}.{column.name}"), column.type)


def whole_floor(session: Session, value: Any) -> ColumnElement[int]:
    """⌊value⌋ as an integer for a value ≥ 0 (PostgreSQL's CAST rounds, SQLite's truncates)."""
    if dialect(session) == "postgresql":
        return cast(func.floor(value), Integer)
    return cast(value, Integer)


def epoch(moment: datetime) -> float:
    return moment.timestamp()
