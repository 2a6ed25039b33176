"""Reports as CSV: one row per group (and the total), one column per measure and currency."""

from __future__ import annotations

import csv
import io
from typing import Any

SALES_COLUMNS = ("orders", "units", "refunded_orders", "refund_rate", "refunded_units", "returned_units",
                 "return_rate", "customers", "repeat_customers", "repeat_purchase_rate")
INVENTORY_COLUMNS = ("sku", "title", "on_hand", "committed", "available", "cost", "currency", "value",
                     "opening_on_hand", "closing_on_hand", "average_on_hand", "sold", "cogs", "turnover",
                     "days_of_inventory", "sell_through", "last_order_at", "dead_stock")


def _currencies(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({code for row in rows for part in ("gross", "refunds", "net") for code in row[part]})


def sales_csv(report: dict[str, Any]) -> str:
    rows = [*report["rows"], report["total"]]
    currencies = _currencies(rows)
    money = [f"{part}_{code}" for code in currencies for part in ("gross", "refunds", "net")]
    converted = [f"{part}_{report['currency']}_converted" for part in ("gross", "net")] if report["currency"] else []
    columns = [report["by"], *[c for c in SALES_COLUMNS if c in rows[0]], *money, *converted]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        values = [row["key"], *(row[c] for c in SALES_COLUMNS if c in rows[0])]
        values += [row[part].get(code, "") for code in currencies for part in ("gross", "refunds", "net")]
        if converted:
            values += [row["converted"]["gross"], row["converted"]["net"]]
        writer.writerow(["" if value is None else value for value in values])
    return buffer.getvalue()


def inventory_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INVENTORY_COLUMNS)
    for row in report["rows"]:
        writer.writerow(["" if row[column] is None else row[column] for column in INVENTORY_COLUMNS])
    return buffer.getvalue()
