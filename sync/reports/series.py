"""Time series for the charts: sales per channel per day (or week), grouped by the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import tables
from store.settings import Settings
from sync.reports.currency import Amounts, add
from sync.reports.period import Period
from sync.reports.sales import counted_orders, rates_from
from sync.reports.sql import day_bucket, from_units, money_units, week_bucket


@dataclass
class ChannelSeries:
    """Per channel and bucket: orders and gross GMV, in `currency` when every amount converts."""

    buckets: list[str]
    orders: dict[str, dict[str, int]] = field(default_factory=dict)
    gross: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    currency: str | None = None  # None: GMV could not be put in one currency; charts show orders


def bucket_labels(period: Period, bucket: str) -> list[str]:
    """Every day (or Monday) in the period, so days without sales show as zero."""
    first: date = period.since.date()
    last: date = (period.until - timedelta(microseconds=1)).date()
    if bucket == "week":
        first -= timedelta(days=first.weekday())
    step = timedelta(days=7 if bucket == "week" else 1)
    labels = []
    while first <= last:
        labels.append(first.isoformat())
        first += step
    return labels


def channel_series(session: Session, settings: Settings, period: Period, bucket: str = "day") -> ChannelSeries:
    order = tables.Order
    key = week_bucket(session, order.placed_at) if bucket == "week" else day_bucket(session, order.placed_at)
    stmt = (select(key.label("bucket"), tables.Account.name, order.currency, func.count(order.id),
                   func.sum(money_units(session, order.total)))
            .join(tables.Account, tables.Account.id == order.account_id)
            .where(*counted_orders(session, period)).group_by(key, tables.Account.name, order.currency))
    series = ChannelSeries(bucket_labels(period, bucket))
    amounts: dict[tuple[str, str], Amounts] = {}
    for label, channel, currency, count, gross in session.execute(stmt):
        per_channel = series.orders.setdefault(channel, {})
        per_channel[label] = per_channel.get(label, 0) + int(count)
        add(amounts.setdefault((channel, label), {}), currency, from_units(gross))
    rates = rates_from(settings)
    currencies = {code for values in amounts.values() for code in values}
    if len(currencies) == 1:
        series.currency = next(iter(currencies))
        for (channel, label), values in amounts.items():
            series.gross.setdefault(channel, {})[label] = values[series.currency]
    elif currencies and rates.base and all(rates.rate(code) is not None for code in currencies):
        series.currency = rates.base
        for (channel, label), values in amounts.items():
            converted, _ = rates.convert(values)
            series.gross.setdefault(channel, {})[label] = converted or Decimal(0)
    return series
