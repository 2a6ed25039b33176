"""Idempotent order ingestion: webhooks, polls, imports and replays all end in `ingest_order`.

An order is unique per (account, external id); an update older than the stored
`channel_updated_at` is ignored (events arrive out of order). The order row keeps what the
channel last said (`status`, `channel_state`: per-line cancelled units and variant ids, refund
lines); `settle_order` then moves the ledger until it matches, idempotently:

* PENDING commits nothing. When it becomes OPEN (or COMPLETED) the lines commit then, under the
  same commit key, so PENDING→OPEN counts once. A line never un-commits except by release.
* An order paid, then cancelled or refunded before the hub committed it, commits and is released
  at once when its platform never puts a paid order's units back (`effects.kept_by_channel`): the
  channel's count kept the sale, so the hub's acknowledged number of it must follow.
* Released units (commitment given back) = all unshipped units when the order is CANCELLED or
  REFUNDED; otherwise max(channel-cancelled units, refunded units beyond those shipped), as
  refunded units that cannot have shipped were never going to. Releases only grow and never
  exceed the unshipped units, so a partial then a full cancel, or a refund of something
  already released, counts once and committed never goes negative.
* A refund line with restock puts back on hand at most the units that had shipped (the rest
  never left the shelf and was released above); each (refund, line) is decided once.
* COMPLETED on the channel with units the hub has not shipped: the channel fulfilled them
  itself. The hub records a shipment with source `channel:{account}` from the commit location
  (on_hand and committed down) that is never pushed back (push_status `channel`).
* A line whose listing is unknown or unmapped is held: stored, an `unmapped_order_line`
  conflict is opened, and nothing moves until `release_held_lines` runs after linking.
* Orders placed before the account was connected are history (`effects.is_history`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import canonical
from canonical import OrderStatus
from mapping.conflicts import ConflictKind, ConflictStatus, close_conflict, find_open, is_ignored, open_conflict
from store import tables
from store.memo import pin
from store.secrets import SecretBox
from sync.aftersales.channel import record_after_sales
from sync.orders import effects
from sync.orders.customers import customer_key
from sync.orders.shipments import record_channel_fulfilment
from sync.stock.change import StockChange


class Unread(Enum):
    """`ingest_order(stored=…)` when the caller has not looked the order up."""

    UNREAD = "unread"


@dataclass(frozen=True)
class IngestResult:
    order_id: int
    created: bool
    stale: bool
    held_lines: int


def find_order(session: Session, account_id: int, external_id: str, *, lock: bool = False) -> tables.Order | None:
    stmt = select(tables.Order).where(tables.Order.account_id == account_id, tables.Order.external_id == external_id)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def ingest_order(change: StockChange, account_row: tables.Account, order: canonical.Order, *, box: SecretBox,
                 source: str, fetched_at: datetime | None = None,
                 stored: tables.Order | Unread | None = Unread.UNREAD) -> IngestResult:
    """Store `order` for `account_row` and bring the ledger in line with it (once per change).

    Its movements go into `change` (the caller settles and commits it, then pushes); `box` gives
    the customer's pseudonymous key. `fetched_at` is when the hub started reading the order from
    the channel: an event received before it carries nothing newer (see `fetched_since`).
    `stored`: what `find_order(lock=True)` gave the caller, when it has already asked.
    """
    session = change.session
    digest = content_digest(order)
    if isinstance(stored, tables.Order):
        row, created = stored, False
    else:
        row, created = _order_row(session, account_row, order, box, look=stored is Unread.UNREAD,
                                  said=(source, fetched_at, digest))
    if not created:  # a new row was inserted with both
        note_event(row, source)
        _note_fetch(row, fetched_at)
    lines = {} if created else {line.external_id: line for line in _lines(session, row)}
    if not created and order.updated_at < row.channel_updated_at:
        return IngestResult(row.id, False, True, sum(1 for line in lines.values() if line.held))
    if not created and row.channel_state.get("digest") == digest and not any(
            line.held for line in lines.values()):
        return IngestResult(row.id, False, False, 0)  # read again unchanged: every effect is already in
    if not created:  # a new row was inserted with all of it
        _update_order(row, order)
        if row.purged_at is None:  # a purged order does not take personal data back, hashed or not
            row.customer_key = customer_key(box, order.customer, account_row.platform)
    was_held = {line.id for line in lines.values() if line.held}
    refunded_units = refunded_units_by_line(order)
    for line in order.lines:
        lines[line.external_id] = _upsert_line(session, account_row, row, lines.get(line.external_id), line,
                                               refunded_units.get(line.external_id, 0))
    session.flush()
    ordered = sorted(lines.values(), key=lambda line: line.id)
    settle_order(change, account_row, row, ordered)
    held = _open_held_conflicts(session, account_row, row, ordered, was_held)
    if not effects.is_history(account_row, row):
        record_after_sales(change, account_row, row, order, ordered)
    row.channel_state = {**row.channel_state, "last_source": source, "digest": digest}
    return IngestResult(row.id, created, False, held)


def content_digest(order: canonical.Order) -> str:
    """A fingerprint of everything the channel said about the order. Ingesting the same content
    again changes nothing once no line is held (a held line may find its listing since), so a
    re-read (a poll's lookback, a stale check, a duplicated event) stops at this comparison."""
    return hashlib.sha256(order.model_dump_json().encode()).hexdigest()[:32]


def _order_row(session: Session, account: tables.Account, order: canonical.Order, box: SecretBox, *,
               look: bool, said: tuple[str, datetime | None, str]) -> tuple[tables.Order, bool]:
    """The locked order row, inserted whole when new, with what ingesting it will say (`said`:
    source, fetch time, content digest), so it is not updated right after; a concurrent insert of
    the same order wins. `look=False`: the caller found none."""
    row = find_order(session, account.id, order.external_id, lock=True) if look else None
    if row is not None:
        return row, False
    source, fetched_at, digest = said
    row = tables.Order(account_id=account.id, external_id=order.external_id, channel_state={})
    _update_order(row, order)
    row.customer_key = customer_key(box, order.customer, account.platform)
    note_event(row, source)
    _note_fetch(row, fetched_at)
    row.channel_state = {**row.channel_state, "last_source": source, "digest": digest}
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another worker stored it first: continue on its row
        existing = find_order(session, account.id, order.external_id, lock=True)
        assert existing is not None
        return existing, False
    return row, True


def note_event(row: tables.Order, source: str) -> None:
    """Remember which webhook events told the hub about this order (`orders show`); `source` as
    `ingest_order` takes it."""
    kind, _, event_id = source.partition(":")
    events = list(row.channel_state.get("webhook_events", []))
    if kind == "webhook" and event_id.isdigit() and int(event_id) not in events:
        row.channel_state = {**row.channel_state, "webhook_events": [*events, int(event_id)]}


def note_known_event(session: Session, account_id: int, external_id: str, event_id: int) -> None:
    """Record that an event was about this order, when it brought nothing new."""
    row = find_order(session, account_id, external_id, lock=True)
    if row is not None:
        note_event(row, f"webhook:{event_id}")


def _note_fetch(row: tables.Order, fetched_at: datetime | None) -> None:
    if fetched_at is None:
        return
    known = row.channel_state.get("fetched_at")
    if known is None or fetched_at.isoformat() > known:
        row.channel_state = {**row.channel_state, "fetched_at": fetched_at.isoformat()}


def fetched_since(session: Session, account_id: int, external_id: str, moment: datetime) -> bool:
    """True when the hub read this order from the channel after `moment` (a read returns the
    channel's state as of the read, so an event received before it has nothing to add)."""
    row = find_order(session, account_id, external_id, lock=False)
    return row is not None and read_after(row, moment)


def read_after(row: tables.Order, moment: datetime) -> bool:
    """`fetched_since` for a row already at hand."""
    known = row.channel_state.get("fetched_at")
    return known is not None and known > moment.isoformat()


def find_orders(session: Session, account_id: int, external_ids: Collection[str]) -> dict[str, tables.Order]:
    """The account's stored orders among `external_ids`, locked in id order (one statement)."""
    if not external_ids:
        return {}
    rows = session.scalars(select(tables.Order).where(
        tables.Order.account_id == account_id, tables.Order.external_id.in_(sorted(external_ids)))
        .order_by(tables.Order.id).with_for_update())
    return {row.external_id: row for row in rows}


def _update_order(row: tables.Order, order: canonical.Order) -> None:
    # Paid is remembered once seen while the order was new to the hub or not yet over: an order the hub
    # had stored cancelled or refunded without `paid` (before the hub read payment times) keeps what
    # was done for it then, and never commits now (`effects.kept_by_channel`).
    paid = bool(row.channel_state.get("paid")) or (
        order.paid_at is not None and row.status not in (OrderStatus.CANCELLED.value, OrderStatus.REFUNDED.value))
    row.number = order.number
    row.status = order.status.value
    row.currency = order.currency
    row.total = order.total.amount if order.total else None
    row.refunded_total = refunded_total(order)
    row.placed_at = order.placed_at
    row.channel_updated_at = order.updated_at
    if row.purged_at is None:  # a purged order does not take personal data back
        row.customer_name = order.customer.name
        row.customer_email = order.customer.email
        row.customer_country = (order.customer.country or "")[:2] or None
    settled = row.channel_state.get("settled_refunds", [])
    row.channel_state = {
        "lines": {line.external_id: {"cancelled": line.cancelled_quantity, "variant": line.external_variant_id}
                  for line in order.lines},
        "refunds": [{"id": refund.external_id,
                     "lines": [[item.line_external_id, item.quantity, item.restock] for item in refund.lines]}
                    for refund in given_back(order)],
        "settled_refunds": settled,
        "webhook_events": row.channel_state.get("webhook_events", []),
        "fetched_at": row.channel_state.get("fetched_at"),
        "paid": paid,
    }


def find_listing(session: Session, account_id: int, external_variant_id: str | None,
                 sku: str | None) -> tables.Listing | None:
    """The account's listing by channel variant id, else by channel SKU (when exactly one has it)."""
    listing = tables.Listing
    if external_variant_id:
        found = session.scalar(select(listing).where(listing.account_id == account_id,
                                                     listing.external_variant_id == external_variant_id))
        if found is not None:
            return found
    if sku:
        candidates = session.scalars(select(listing).where(listing.account_id == account_id,
                                                           listing.channel_sku == sku).limit(2)).all()
        if len(candidates) == 1:
            return candidates[0]
    return None


def given_back(order: canonical.Order) -> list[canonical.Refund]:
    """The refunds that gave money back: completed ones (a requested or closed after-sale did not)."""
    return [refund for refund in order.refunds if refund.stage == canonical.AfterSaleStage.COMPLETED]


def refunded_units_by_line(order: canonical.Order) -> dict[str, int]:
    """Units the channel's refunds cover, per order line."""
    units: dict[str, int] = {}
    for refund in given_back(order):
        for item in refund.lines:
            units[item.line_external_id] = units.get(item.line_external_id, 0) + item.quantity
    return units


def refunded_total(order: canonical.Order) -> Decimal | None:
    """Σ of the order's refunds in its currency: each refund's amount, else the value of its lines."""
    refunds = given_back(order)
    if not refunds:
        return None
    prices = {line.external_id: line.unit_price for line in order.lines}
    total = Decimal(0)
    for refund in refunds:
        if refund.amount is not None and refund.amount.currency == order.currency:
            total += refund.amount.amount
            continue
        for item in refund.lines:
            price = prices.get(item.line_external_id)
            if price is not None and price.currency == order.currency:
                total += price.amount * item.quantity
    return total


def _upsert_line(session: Session, account: tables.Account, order: tables.Order, row: tables.OrderLine | None,
                 line: canonical.OrderLine, refunded: int) -> tables.OrderLine:
    """The stored line `row` (None: new) brought in line with the channel's `line`."""
    # looked up before a new row is added (after, its lookup would flush the row and update it again)
    listing = find_listing(session, account.id, line.external_variant_id, line.sku) \
        if row is None or row.held else None
    pin(session, listing)  # the commit's channel_sold reads it again
    if row is None:
        row = tables.OrderLine(order_id=order.id, external_id=line.external_id, quantity=line.quantity,
                               cancelled_quantity=0, shipped_quantity=0, restocked_quantity=0, held=True)
        session.add(row)
    row.sku, row.title = line.sku, line.title
    # Units refunded beyond those cancelled (a channel that cancels by refunding reports both).
    row.refunded_quantity = max(0, min(refunded, line.quantity) - line.cancelled_quantity)
    row.unit_price = line.unit_price.amount if line.unit_price else None
    if row.held:  # quantities follow the channel until the line takes effect; then the commit is fixed
        row.quantity = line.quantity
        row.listing_id = listing.id if listing else None
        row.variant_id = listing.variant_id if listing else None
        row.held = row.variant_id is None
    return row


def settle_order(change: StockChange, account: tables.Account, order: tables.Order,
                 stored: list[tables.OrderLine] | None = None) -> None:
    """Apply every effect the order's stored state calls for that the ledger does not have yet
    (`stored`: the order's lines in id order, when the caller holds them)."""
    if effects.is_history(account, order):
        return
    session = change.session
    stored = _lines(session, order) if stored is None else stored
    lines = [line for line in stored if not line.held and line.variant_id is not None]
    state = order.channel_state
    refunded = _refunded_units(state)
    locations: dict[int, int] = {}
    for line in lines:
        location = effects.commit(change, account, order, line)
        if location is None:
            continue
        locations[line.id] = location
        effects.release_to(change, account, order, line, location, _release_target(order, line, state,
                                                                                        refunded))
    if order.status == OrderStatus.COMPLETED:
        record_channel_fulfilment(change, account, order, [line for line in lines if line.id in locations])
    _restock(change, account, order, [line for line in lines if line.id in locations], locations)


def _lines(session: Session, order: tables.Order) -> list[tables.OrderLine]:
    return list(session.scalars(select(tables.OrderLine).where(tables.OrderLine.order_id == order.id)
                                .order_by(tables.OrderLine.id)))


def _refunded_units(state: dict[str, Any]) -> dict[str, int]:
    units: dict[str, int] = {}
    for refund in state.get("refunds", []):
        for line_id, quantity, _restock in refund["lines"]:
            units[line_id] = units.get(line_id, 0) + int(quantity)
    return units


def _release_target(order: tables.Order, line: tables.OrderLine, state: dict[str, Any],
                    refunded: dict[str, int]) -> int:
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return line.quantity - line.shipped_quantity
    cancelled = int(state.get("lines", {}).get(line.external_id, {}).get("cancelled", 0))
    return max(cancelled, refunded.get(line.external_id, 0) - line.shipped_quantity)


def _restock(change: StockChange, account: tables.Account, order: tables.Order, lines: list[tables.OrderLine],
             locations: dict[int, int]) -> None:
    """Each (refund, line) with restock is decided once, whatever ships later."""
    by_external = {line.external_id: line for line in lines}
    settled = list(order.channel_state.get("settled_refunds", []))
    for refund in order.channel_state.get("refunds", []):
        for line_id, quantity, restock in refund["lines"]:
            tag = f"{refund['id']}:{line_id}"
            line = by_external.get(line_id)
            if not restock or line is None or tag in settled:
                continue
            effects.restock(change, account, order, line, locations[line.id], refund["id"], int(quantity))
            settled.append(tag)
    order.channel_state = {**order.channel_state, "settled_refunds": settled}


def _open_held_conflicts(session: Session, account: tables.Account, order: tables.Order,
                         lines: list[tables.OrderLine], was_held: set[int]) -> int:
    """Open (or refresh) a conflict per held line; close those of lines held before this change
    (`was_held`, line ids) whose listing got mapped since (a line never held has no conflict)."""
    for line in lines:
        if not line.held and line.id in was_held and \
                (conflict := find_open(session, f"unmapped_order_line:{line.id}")) is not None:
            close_conflict(session, conflict, status=ConflictStatus.RESOLVED, resolution="linked", actor="hub",
                           note="the listing was mapped before the order changed again")
    for line in lines:
        if line.held and is_ignored(session, f"unmapped_order_line:{line.id}"):
            line.held = False  # an operator ignored it: it stays ignored and is not held
    held = [line for line in lines if line.held]
    for line in held:
        open_conflict(session, ConflictKind.UNMAPPED_ORDER_LINE, f"unmapped_order_line:{line.id}",
                      evidence=_evidence(account, order, line), suggestions=_suggestions(session, line),
                      account_id=account.id, listing_id=line.listing_id, order_line_id=line.id)
    return len(held)


def _evidence(account: tables.Account, order: tables.Order, line: tables.OrderLine) -> dict[str, Any]:
    variant = order.channel_state.get("lines", {}).get(line.external_id, {}).get("variant")
    return {"account": account.name, "order_number": order.number, "order_external_id": order.external_id,
            "line_external_id": line.external_id, "channel_sku": line.sku, "external_variant_id": variant,
            "quantity": line.quantity, "title": line.title}


def _suggestions(session: Session, line: tables.OrderLine) -> list[dict[str, Any]]:
    """Link to a variant with the same SKU (or the listing's barcode) when there is one; else create."""
    found: list[dict[str, Any]] = []
    if line.sku:
        variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == line.sku))
        if variant is not None:
            found.append({"resolution": "link", "variant_id": variant.id, "sku": variant.sku, "why": "same SKU"})
    listing = session.get(tables.Listing, line.listing_id) if line.listing_id else None
    if not found and listing is not None and listing.channel_barcode:
        variant = session.scalar(select(tables.Variant).where(tables.Variant.barcode == listing.channel_barcode))
        if variant is not None:
            found.append({"resolution": "link", "variant_id": variant.id, "sku": variant.sku,
                          "why": "same barcode"})
    return [*found, {"resolution": "create", "why": "no variant to link"}]


def release_held_lines(change: StockChange, listing_id: int) -> int:
    """Held lines of a now-linked listing take effect on the ledger; returns how many were released.

    Matches lines that pointed at the listing, and lines of the same account stored before the
    listing existed (by channel variant id or SKU). Their conflicts close as `linked`. The caller
    settles and commits `change`, then pushes the accounts it returned.
    """
    session = change.session
    listing = session.get(tables.Listing, listing_id)
    if listing is None or listing.variant_id is None:
        return 0
    account = session.get(tables.Account, listing.account_id)
    assert account is not None
    released: dict[int, tables.Order] = {}
    for line, order in _held_lines_for(session, listing):
        line.listing_id, line.variant_id, line.held = listing.id, listing.variant_id, False
        released[line.id] = order
        conflict = find_open(session, f"unmapped_order_line:{line.id}")
        if conflict is not None:
            close_conflict(session, conflict, status=ConflictStatus.RESOLVED, resolution="linked", actor="hub",
                           note=f"listing {listing.id} linked to variant {listing.variant_id}")
    session.flush()
    for order in {order.id: order for order in released.values()}.values():
        settle_order(change, account, order)
    return len(released)


def _held_lines_for(session: Session, listing: tables.Listing) -> list[tuple[tables.OrderLine, tables.Order]]:
    rows = session.execute(
        select(tables.OrderLine, tables.Order).join(tables.Order, tables.Order.id == tables.OrderLine.order_id)
        .where(tables.OrderLine.held.is_(True), tables.Order.account_id == listing.account_id)
        .order_by(tables.OrderLine.id)).all()
    matched = []
    for line, order in rows:
        variant = order.channel_state.get("lines", {}).get(line.external_id, {}).get("variant")
        if line.listing_id == listing.id or (line.listing_id is None and (
                (variant is not None and variant == listing.external_variant_id)
                or (line.sku is not None and line.sku == listing.channel_sku))):
            matched.append((line, order))
    return matched
