"""Returns from a channel's after-sales and refunds: what every connector's `canonical.Refund` says.

The hook is the canonical record, not a platform: a connector fills `Refund.kind` (refund only,
return, exchange) and `Refund.stage` (requested, received, completed, closed) from its own
after-sale data, and this module turns each refund line into one hub return, keyed
`channel:{account}:{refund}:{line}`, moving it forward as the stage advances:

* refund only (or, for channels that say nothing, a refund without restock): `refunded`, no stock;
* goods back, requested: `requested`; received or completed: `received` into the returns location,
  waiting for the merchant's inspection — unless the channel restocked them itself (`restock`),
  in which case the order's refund movement already put them back and the return is `restocked`;
* closed before the goods came back: `closed` (an exchange's held replacement is released);
* an exchange the channel completed has shipped its replacement (`replacement_sku`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import canonical
from canonical import AfterSaleStage
from store import tables
from sync.aftersales import flow
from sync.stock.change import StockChange


def _kind(refund: canonical.Refund, line: canonical.RefundLine) -> str:
    if refund.kind is not None:
        return refund.kind.value
    return "return" if line.restock else "refund_only"


def _replacement(session: Session, line: canonical.RefundLine) -> tables.Variant | None:
    if not line.replacement_sku:
        return None
    return session.scalar(select(tables.Variant).where(tables.Variant.sku == line.replacement_sku))


def record_after_sales(change: StockChange, account: tables.Account, order: tables.Order,
                       data: canonical.Order, stored: list[tables.OrderLine] | None = None) -> int:
    """Create or move forward the returns `data`'s refunds describe; returns how many changed
    (`stored`: the order's lines, when the caller holds them)."""
    if not data.refunds:
        return 0
    session = change.session
    if stored is None:
        stored = list(session.scalars(select(tables.OrderLine).where(tables.OrderLine.order_id == order.id)))
    lines = {row.external_id: row for row in stored}
    changed = 0
    for refund in data.refunds:
        for item in refund.lines:
            line = lines.get(item.line_external_id)
            if line is None or line.held:
                continue  # its stock effect waits for the line's mapping, and so does the return
            changed += _follow(change, account, order, line, refund, item)
    return changed


def _follow(change: StockChange, account: tables.Account, order: tables.Order, line: tables.OrderLine,
            refund: canonical.Refund, item: canonical.RefundLine) -> int:
    session = change.session
    key = f"channel:{account.id}:{refund.external_id}:{item.line_external_id}"
    kind, stage = _kind(refund, item), refund.stage
    existing = session.scalar(select(tables.Return).where(tables.Return.external_key == key))
    if existing is None and stage == AfterSaleStage.CLOSED:
        return 0
    actor = f"channel:{account.name}"
    if existing is None:
        if kind == "exchange" and _replacement(session, item) is None:
            kind = "return"  # the replacement is not a hub SKU: track the unit coming back
        row, _ = flow.create(change, order, line, item.quantity, kind=kind, reason=refund.reason,
                             source=actor, external_key=key, actor=actor, replacement=_replacement(session, item),
                             checked=False)
        changed = 1
    else:
        row, changed = existing, 0
    if row.kind == "refund_only":
        return changed
    restocked_by_channel = item.restock and stage == AfterSaleStage.COMPLETED
    if restocked_by_channel and row.status == "requested":
        changed += flow.mark_restocked_by_channel(change, row, refund.external_id, actor)
    elif stage in (AfterSaleStage.RECEIVED, AfterSaleStage.COMPLETED) and row.status == "requested":
        changed += flow.advance(change, row, flow.Step("received", "the channel reports the goods back", actor))
    elif stage == AfterSaleStage.CLOSED and row.status == "requested":
        changed += flow.advance(change, row, flow.Step("closed", "the after-sale was closed on the channel", actor))
    if row.kind == "exchange" and stage == AfterSaleStage.COMPLETED and row.replacement_status == "held":
        changed += flow.ship_replacement(change, row, actor=actor)
    return changed

