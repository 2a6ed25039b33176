"""Reading returns: per order (`orders show`), by reason (the report's chart), units per group (rates)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from store import tables
from sync.aftersales.flow import GOODS_BACK, as_dict

NO_REASON = "(no reason given)"


def _skus(session: Session, rows: list[tables.Return]) -> dict[int, str]:
    ids = {i for row in rows for i in (row.variant_id, row.replacement_variant_id) if i is not None}
    return dict(session.execute(select(tables.Variant.id, tables.Variant.sku).where(tables.Variant.id.in_(ids))).all())


def described(session: Session, rows: list[tables.Return]) -> list[dict[str, Any]]:
    skus = _skus(session, rows)
    return [as_dict(row, skus) for row in rows]


def returns_of_order(session: Session, order_id: int) -> list[dict[str, Any]]:
    rows = list(session.scalars(select(tables.Return).where(tables.Return.order_id == order_id)
                                .order_by(tables.Return.id)))
    return described(session, rows)


def counted_returns() -> list[ColumnElement[bool]]:
    """Goods that came back or are on their way (not refund-only, not withdrawn)."""
    return [tables.Return.kind.in_(GOODS_BACK), tables.Return.status != "closed"]


def returns_by_reason(session: Session, since: Any, until: Any) -> dict[str, int]:
    """Units returned per reason, for returns opened in [since, until)."""
    ret = tables.Return
    stmt = (select(ret.reason, func.sum(ret.quantity)).where(*counted_returns(), ret.created_at >= since,
                                                             ret.created_at < until).group_by(ret.reason))
    found: dict[str, int] = {}
    for reason, units in session.execute(stmt):
        key = reason.strip() or NO_REASON
        found[key] = found.get(key, 0) + int(units or 0)
    return found
