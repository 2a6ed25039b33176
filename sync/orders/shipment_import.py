"""Shipments in bulk: a CSV file, or a fulfilment-source account's reported shipments.

CSV columns: order, sku, quantity, carrier, tracking, url (url optional). Rows sharing order,
carrier and tracking form one shipment. Bad rows are reported with their line numbers; the
valid shipments are applied, each in its own transaction. A re-run is a no-op: the shipment's
idempotency key derives from order + tracking + lines.

Fulfilment source (decision): an account is a fulfilment source when settings say
`[accounts.NAME] fulfilment_source = true` (a hub-side setting, since connector options are
fixed by each connector). Its connector's `shipments()` are matched to the order they fulfil
by reference: the source reports the origin order's number (`#1001` or `1001`) or
`ACCOUNT:EXTERNAL_ID` as its order reference, and lines by SKU (else the origin's line id).
Matched shipments are recorded on the origin order and pushed to the origin channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import canonical
from store import tables
from store.csvfile import read_rows
from sync.hub.accounts import AccountError, get_account
from sync.hub.context import Hub
from sync.orders.shipment_queue import enqueue_push
from sync.orders.shipments import ShipmentError, create_shipment, order_lines
from sync.orders.views import OrderNotFound, resolve_order
from sync.stock.change import stock_change

COLUMNS = ("order", "sku", "quantity", "carrier", "tracking")


@dataclass
class ImportReport:
    created: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": len(self.created), "unchanged": len(self.unchanged), "errors": self.errors}


def find_order_by_reference(session: Session, reference: str, *, exclude_account: int | None = None) -> tables.Order:
    """Hub id, ACCOUNT:EXTERNAL_ID, or an order number unique across accounts (`#1001` or `1001`).

    With `exclude_account` (a fulfilment source's reference) a bare number is an order number,
    never a hub id, and no order of the excluded account matches.
    """
    reference = reference.strip()
    if exclude_account is None or not reference.isdigit():
        try:
            resolved = resolve_order(session, reference)
            if resolved.account_id != exclude_account:
                return resolved
        except (OrderNotFound, AccountError):
            pass
    bare = reference.lstrip("#")
    stmt = select(tables.Order).where(or_(tables.Order.number == bare, tables.Order.number == f"#{bare}"))
    if exclude_account is not None:
        stmt = stmt.where(tables.Order.account_id != exclude_account)
    found = session.scalars(stmt.limit(2)).all()
    if len(found) != 1:
        problem = "matches orders on several accounts; use ACCOUNT:EXTERNAL_ID" if found else "matches no order"
        raise OrderNotFound(f"order reference {reference!r} {problem}")
    return found[0]


def _line_for(session: Session, order: tables.Order, sku: str | None, line_id: str | None) -> tables.OrderLine:
    lines = order_lines(session, order)
    for line in lines:
        if sku and line.sku == sku:
            return line
    for line in lines:
        if line_id and line.external_id == line_id:
            return line
    raise ShipmentError(f"order {order.number or order.external_id} has no line with SKU {sku!r}; its SKUs: "
                        f"{', '.join(str(line.sku) for line in lines)}")


@dataclass
class _Group:
    order: str
    carrier: str
    tracking: str
    url: str | None
    rows: list[tuple[int, str, int]] = field(default_factory=list)  # (line number, sku, quantity)


def read_csv(path: Path, report: ImportReport) -> list[_Group]:
    """Valid rows grouped into shipments; bad rows go to `report.errors` with their line numbers."""
    groups: dict[tuple[str, str, str], _Group] = {}
    header, rows = read_rows(path)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ShipmentError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}, url")
    for number, row in rows:
        values = {key: (row.get(key) or "").strip() for key in (*COLUMNS, "url")}
        if any("\x00" in value for value in values.values()):  # PostgreSQL refuses NUL in text
            report.errors.append(f"line {number}: holds a NUL character (the file is damaged or not text)")
            continue
        empty = [key for key in COLUMNS if not values[key]]
        if empty:
            report.errors.append(f"line {number}: empty {', '.join(empty)}")
            continue
        # ASCII digits only ("²" passes str.isdigit, int() refuses it), and no more than nine of them
        raw = values["quantity"]
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or int(raw) < 1:
            report.errors.append(f"line {number}: quantity {raw[:20]!r} is not a whole number from 1 to "
                                 "999,999,999")
            continue
        key = (values["order"], values["carrier"], values["tracking"])
        group = groups.setdefault(key, _Group(values["order"], values["carrier"], values["tracking"],
                                              values["url"] or None))
        group.rows.append((number, values["sku"], int(values["quantity"])))
    return list(groups.values())


def _apply(hub: Hub, report: ImportReport, group: _Group, lines: list[tuple[str | None, str | None, int]], *,
           source: str, where: str, exclude_account: int | None = None) -> None:
    """Record one shipment of `lines` (sku, order line id, quantity) in its own transaction and
    queue its push; a refusal goes to `report.errors`, prefixed with `where`."""
    try:
        with stock_change(hub) as change:
            session = change.session
            order = find_order_by_reference(session, group.order, exclude_account=exclude_account)
            items = [(_line_for(session, order, sku, line_id), qty) for sku, line_id, qty in lines]
            shipment, created = create_shipment(change, order, items, carrier=group.carrier,
                                                tracking=group.tracking, url=group.url, source=source)
            shipment_id = shipment.id
    except (ShipmentError, OrderNotFound) as exc:
        report.errors.append(f"{where}: {exc}")
        return
    (report.created if created else report.unchanged).append(shipment_id)
    if created:
        enqueue_push(hub, shipment_id)


def import_csv(hub: Hub, path: Path, *, actor: str) -> ImportReport:
    """Apply every valid shipment of a CSV file; see the module docstring for the format."""
    report = ImportReport()
    for group in read_csv(path, report):
        lines: list[tuple[str | None, str | None, int]] = [(sku, None, qty) for _, sku, qty in group.rows]
        _apply(hub, report, group, lines, source=f"csv:{path.name}:{actor}",
               where="line " + ", ".join(str(number) for number, _, _ in group.rows))
    return report


def is_fulfilment_source(hub: Hub, account: tables.Account) -> bool:
    configured = hub.settings.accounts.get(account.name, {}).get("fulfilment_source")
    return configured is True or str(configured).lower() == "true"


def apply_source_shipments(hub: Hub, source_account: str, shipments: Iterable[canonical.Shipment]) -> ImportReport:
    """Record shipments a fulfilment source reported on the origin orders they fulfil."""
    report = ImportReport()
    with hub.db.session() as session:
        source = get_account(session, source_account)
    for item in shipments:
        # A source without `order_reference` is matched on `order_external_id`, as before the field existed.
        reference = item.order_reference or item.order_external_id
        _apply(hub, report, _Group(reference, item.carrier, item.tracking_number, item.tracking_url),
               [(line.sku, line.order_line_external_id, line.quantity) for line in item.lines],
               source=f"fulfilment:{source.name}", where=f"{source.name} shipment {item.tracking_number}",
               exclude_account=source.id)
    return report


def import_from_source(hub: Hub, account_name: str) -> ImportReport:
    """Read a fulfilment-source account's shipments from the channel and apply them."""
    with hub.db.session() as session:
        account = get_account(session, account_name)
    if not is_fulfilment_source(hub, account):
        raise ShipmentError(f"account {account_name!r} is not a fulfilment source; set "
                            f"[accounts.{account_name}] fulfilment_source = true in your settings")
    connector = hub.connector(account)
    try:
        return apply_source_shipments(hub, account_name, connector.shipments())
    finally:
        connector.close()
