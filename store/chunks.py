"""Splitting long id lists for `IN (…)` filters.

PostgreSQL binds at most 65,535 parameters in one statement (SQLite allows what it was
built with), so a filter over an unbounded id list — every variant of a 100,000-variant
import, every row of a large receipt — is run as several statements of `IN_LIST_CHUNK` ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

T = TypeVar("T")

IN_LIST_CHUNK = 10_000
FEW_VALUES = 100


def chunked(values: Iterable[T], size: int = IN_LIST_CHUNK) -> Iterator[list[T]]:
    """`values` in lists of at most `size`, in the order given."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values` bound as one parameter: `= ANY(:array)` on PostgreSQL, `IN (SELECT value
    FROM json_each(:json))` on SQLite. An `IN` of 10,000 parameters took longer to render and
    plan than to run; these take the list whole (callers still chunk, for memory). Up to
    `FEW_VALUES` it is the plain `IN`, planned as before for one order's few ids."""
    if len(values) <= FEW_VALUES:  # a one-order change keeps the plain IN and its plans
        return cast(ColumnElement[bool], column.in_(list(values)))
    if session.get_bind().dialect.name == "postgresql":
        return cast(ColumnElement[bool],
                    column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type))))
    members: Any = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(list(values)), type_=String())))
    return cast(ColumnElement[bool], column.in_(members))
