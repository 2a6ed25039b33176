"""`marketsync report sales`: orders, units, GMV, refunds, returns and repeat purchases.

Counted orders are those placed in the period that were paid for: open, completed or refunded
(pending orders are not paid yet; cancelled ones never sold). Per group (`--by channel|sku|day|
week`) and in total:

* orders, units (ordered minus cancelled), customers identified by their salted key (per channel
  and in total);
* GMV gross (the orders' totals; by SKU, the lines' value), refunds (what the channels refunded;
  by SKU, the refunded units' value) and net = gross - refunds, per currency, and converted into
  `[reports] currency` where a rate is configured (the others are named, never added);
* average order value = gross ÷ orders; refund rate = orders with a refund ÷ orders; return rate
  = units that came back (returns and exchanges) ÷ units; repeat
  purchase rate = customers with two or more orders in the group ÷ customers (across channels
  in the total).

Each measure is one `GROUP BY` query; Python only merges the grouped rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, distinct, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from canonical.errors import MarketsyncError
from store import tables
from store.settings import Settings
from sync.aftersales.views import counted_returns
from sync.reports.currency import Amounts, Rates, add, quantize, shown
from sync.reports.period import Period
from sync.reports.sql import day_bucket, dialect, from_units, money_units, scanned, week_bucket

COUNTED_STATUSES = ("open", "completed", "refunded")
GROUPINGS = ("channel", "sku", "day", "week")
NO_SKU = "(no sku)"


class ReportError(MarketsyncError):
    """A report could not be made as asked; the message says what to change."""


@dataclass
class Figures:
    """The measures of one group, gathered from several grouped queries."""

    key: str
    orders: int = 0
    units: int = 0
    refunded_orders: int = 0
    refunded_units: int = 0
    returned_units: int = 0
    customers: int = 0
    repeat_customers: int = 0
    gross: Amounts = field(default_factory=dict)
    refunds: Amounts = field(default_factory=dict)
    orders_by_currency: dict[str, int] = field(default_factory=dict)
    per_customer: bool = True  # False: repeat purchases are not measured for this kind of group

    def add_money(self, currency: str, orders: int, refunded_orders: int, gross_units: Any,
                  refund_units: Any) -> None:
        self.orders += orders
        self.orders_by_currency[currency] = self.orders_by_currency.get(currency, 0) + orders
        self.refunded_orders += refunded_orders
        add(self.gross, currency, from_units(gross_units))
        add(self.refunds, currency, from_units(refund_units))

    def merge(self, other: Figures) -> None:
        """Add another group's additive measures (customers are not additive across groups)."""
        self.orders += other.orders
        self.units += other.units
        self.refunded_orders += other.refunded_orders
        self.refunded_units += other.refunded_units
        self.returned_units += other.returned_units
        for code, count in other.orders_by_currency.items():
            self.orders_by_currency[code] = self.orders_by_currency.get(code, 0) + count
        for code, amount in other.gross.items():
            add(self.gross, code, amount)
        for code, amount in other.refunds.items():
            add(self.refunds, code, amount)

    def as_dict(self, rates: Rates) -> dict[str, Any]:
        net = {code: self.gross.get(code, Decimal(0)) - self.refunds.get(code, Decimal(0))
               for code in set(self.gross) | set(self.refunds)}
        aov = {code: self.gross[code] / count for code, count in self.orders_by_currency.items()
               if count and code in self.gross}
        return {
            "key": self.key, "orders": self.orders, "units": self.units,
            "gross": shown(self.gross), "refunds": shown(self.refunds), "net": shown(net),
            "average_order_value": shown(aov),
            "converted": _converted(rates, self.gross, self.refunds, net, self.orders_by_currency),
            "refunded_orders": self.refunded_orders, "refund_rate": ratio(self.refunded_orders, self.orders),
            "refunded_units": self.refunded_units,
            "returned_units": self.returned_units, "return_rate": ratio(self.returned_units, self.units),
            "customers": self.customers if self.per_customer else None,
            "repeat_customers": self.repeat_customers if self.per_customer else None,
            "repeat_purchase_rate": ratio(self.repeat_customers, self.customers) if self.per_customer else None,
        }


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _converted(rates: Rates, gross: Amounts, refunds: Amounts, net: Amounts,
               orders: dict[str, int]) -> dict[str, Any] | None:
    if not rates.base:
        return None
    gross_total, missing = rates.convert(gross)
    refund_total, refund_missing = rates.convert(refunds)
    net_total, _ = rates.convert(net)
    convertible_orders = sum(count for code, count in orders.items() if rates.rate(code) is not None)
    aov = quantize(gross_total / convertible_orders, rates.base) if gross_total is not None and \
        convertible_orders else None
    return {"currency": rates.base, "gross": str(gross_total), "refunds": str(refund_total),
            "net": str(net_total), "average_order_value": None if aov is None else str(aov),
            "missing_rates": sorted(set(missing) | set(refund_missing))}


def rates_from(settings: Settings) -> Rates:
    return Rates(settings.reports.currency, dict(settings.reports.rates))


def counted_orders(session: Session, period: Period) -> list[ColumnElement[bool]]:
    """Paid orders placed in `period`.

    On SQLite, a range holding most orders is read by scanning the table rather than through the
    `placed_at` index (SQLite keeps no histogram to know; the index costs a lookup per order).
    """
    order = tables.Order
    placed = scanned(session, order.placed_at) if dialect(session) == "sqlite" and _wide(session, period) \
        else order.placed_at
    return [order.status.in_(COUNTED_STATUSES), placed >= period.since, placed < period.until]


def _wide(session: Session, period: Period) -> bool:
    order = tables.Order
    in_range = session.scalar(select(func.count()).select_from(order)
                              .where(order.placed_at >= period.since, order.placed_at < period.until)) or 0
    return in_range * 4 > (session.scalar(select(func.count()).select_from(order)) or 0)


def group_key(session: Session, by: str | None) -> ColumnElement[str] | None:
    """The SQL expression an order-level grouping groups by (None: the total; SKUs group lines)."""
    if by is None or by == "sku":
        return None
    if by == "channel":
        return tables.Account.name.expression
    if by == "day":
        return day_bucket(session, tables.Order.placed_at)
    if by == "week":
        return week_bucket(session, tables.Order.placed_at)
    raise ReportError(f"cannot group by {by!r}; choose one of {', '.join(GROUPINGS)}")


def _keyed(key: ColumnElement[str] | None, *columns: Any) -> tuple[Any, ...]:
    return (key.label("key"), *columns) if key is not None else (literal("total").label("key"), *columns)


def _grouped(stmt: Any, key: ColumnElement[str] | None, *more: Any) -> Any:
    columns = ([key] if key is not None else []) + list(more)
    return stmt.group_by(*columns) if columns else stmt


def _from_orders(stmt: Any, by: str | None) -> Any:
    stmt = stmt.select_from(tables.Order)
    return stmt.join(tables.Account, tables.Account.id == tables.Order.account_id) if by == "channel" else stmt


def _figure(figures: dict[str, Figures], key: Any) -> Figures:
    return figures.setdefault(str(key), Figures(str(key)))


def _order_money(session: Session, period: Period, by: str | None, figures: dict[str, Figures]) -> None:
    order, key = tables.Order, group_key(session, by)
    refunded = money_units(session, order.refunded_total)
    stmt = _from_orders(select(*_keyed(key, order.currency, func.count(order.id),
                                       func.sum(money_units(session, order.total)), func.sum(refunded),
                                       func.sum(case((refunded > 0, 1), else_=0)))), by)
    for row_key, currency, count, gross, refunds, refunded_orders in session.execute(
            _grouped(stmt.where(*counted_orders(session, period)), key, order.currency)):
        _figure(figures, row_key).add_money(currency, int(count), int(refunded_orders or 0), gross, refunds)


def _units(session: Session, period: Period, by: str | None, figures: dict[str, Figures]) -> None:
    line, order, key = tables.OrderLine, tables.Order, group_key(session, by)
    stmt = _from_orders(select(*_keyed(key, func.sum(line.quantity - line.cancelled_quantity),
                                       func.sum(line.refunded_quantity))), by)
    stmt = stmt.join(line, line.order_id == order.id)
    for row_key, units, refunded in session.execute(_grouped(stmt.where(*counted_orders(session, period)), key)):
        item = _figure(figures, row_key)
        item.units += int(units or 0)
        item.refunded_units += int(refunded or 0)


def _sku_figures(session: Session, period: Period, figures: dict[str, Figures]) -> None:
    """By SKU, from the lines themselves: orders with the SKU, units, the lines' value and refunds."""
    line, order = tables.OrderLine, tables.Order
    units = line.quantity - line.cancelled_quantity
    price = money_units(session, line.unit_price)
    variant = scanned(session, line.variant_id)  # SQLite: join from the orders, not through the SKU index
    stmt = (select(variant, line.sku, order.currency, func.count(distinct(line.order_id)),
                   func.sum(price * units), func.sum(price * line.refunded_quantity),
                   func.count(distinct(case((line.refunded_quantity > 0, line.order_id), else_=None))),
                   func.sum(units), func.sum(line.refunded_quantity))
            .select_from(order).join(line, line.order_id == order.id).where(*counted_orders(session, period))
            .group_by(variant, line.sku, order.currency))
    rows = session.execute(stmt).all()
    ids = {int(row[0]) for row in rows if row[0] is not None}
    skus = dict(session.execute(select(tables.Variant.id, tables.Variant.sku).where(tables.Variant.id.in_(ids))).all())
    for variant_id, line_sku, currency, count, gross, refunds, refunded_orders, sold, refunded in rows:
        item = _figure(figures, (skus.get(variant_id) if variant_id is not None else None) or line_sku or NO_SKU)
        item.add_money(currency, int(count), int(refunded_orders or 0), gross, refunds)
        item.units += int(sold or 0)
        item.refunded_units += int(refunded or 0)


def _customers(session: Session, period: Period, by: str | None, figures: dict[str, Figures]) -> None:
    order, key = tables.Order, group_key(session, by)
    inner = _from_orders(select(*_keyed(key, order.customer_key, func.count(order.id).label("orders"))), by)
    per_customer = _grouped(inner.where(*counted_orders(session, period), order.customer_key.is_not(None)), key,
                            order.customer_key).subquery()
    stmt = select(per_customer.c.key, func.count(),
                  func.sum(case((per_customer.c.orders >= 2, 1), else_=0))).group_by(per_customer.c.key)
    for row_key, customers, repeat in session.execute(stmt):
        item = _figure(figures, row_key)
        item.customers, item.repeat_customers = int(customers), int(repeat or 0)


def _returns(session: Session, period: Period, by: str | None, figures: dict[str, Figures]) -> None:
    """Units that came back (returns and exchanges, not refund-only) on the group's counted orders."""
    ret, order, line = tables.Return, tables.Order, tables.OrderLine
    if by == "sku":
        key: Any = func.coalesce(tables.Variant.sku, line.sku, literal(NO_SKU))
        stmt = (select(key, func.sum(ret.quantity)).select_from(ret).join(line, line.id == ret.order_line_id)
                .join(order, order.id == ret.order_id).outerjoin(tables.Variant, tables.Variant.id == line.variant_id))
    else:
        key = group_key(session, by)
        stmt = _from_orders(select(*_keyed(key, func.sum(ret.quantity))), by).join(ret, ret.order_id == order.id)
    stmt = stmt.where(*counted_orders(session, period), *counted_returns())
    for row_key, units in session.execute(stmt.group_by(key) if key is not None else stmt):
        _figure(figures, row_key).returned_units += int(units or 0)


def figures_for(session: Session, period: Period, by: str) -> tuple[dict[str, Figures], Figures]:
    """Every measure for each group of `by` in `period`, and the total across every channel.

    Repeat purchases are counted per channel and in total (across channels): within a day, a week
    or a SKU they would measure something else.
    """
    figures: dict[str, Figures] = {}
    if by == "sku":
        _sku_figures(session, period, figures)
        totals: dict[str, Figures] = {}
        _order_money(session, period, None, totals)
        _units(session, period, None, totals)
        _returns(session, period, None, totals)
        _returns(session, period, "sku", figures)
        total = totals.get("total", Figures("total"))
    else:
        _order_money(session, period, by, figures)
        _units(session, period, by, figures)
        _returns(session, period, by, figures)
        if by == "channel":
            _customers(session, period, by, figures)
        total = Figures("total")
        for item in figures.values():
            total.merge(item)
    identified: dict[str, Figures] = {}
    _customers(session, period, None, identified)
    if "total" in identified:
        total.customers, total.repeat_customers = identified["total"].customers, identified["total"].repeat_customers
    for item in figures.values():
        item.per_customer = by == "channel"
    return figures, total


def _ordered(by: str, rows: Iterable[Figures]) -> list[Figures]:
    if by in ("day", "week"):
        return sorted(rows, key=lambda f: f.key)
    return sorted(rows, key=lambda f: (-f.units, f.key))


def sales_report(session: Session, settings: Settings, period: Period, by: str = "channel") -> dict[str, Any]:
    """The sales report of `period` grouped `by`, with the total across every channel."""
    if by not in GROUPINGS:
        raise ReportError(f"cannot group by {by!r}; choose one of {', '.join(GROUPINGS)}")
    rates = rates_from(settings)
    groups, total = figures_for(session, period, by)
    rows = _ordered(by, groups.values())
    converted = total.as_dict(rates)["converted"]
    return {"report": "sales", **period.as_dict(), "by": by, "currency": rates.base or None,
            "rates": {code: str(rate) for code, rate in sorted(rates.rates.items())},
            "missing_rates": converted["missing_rates"] if converted else [],
            "rows": [row.as_dict(rates) for row in rows], "total": total.as_dict(rates)}
