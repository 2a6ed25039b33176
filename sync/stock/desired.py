"""Desired quantities: what each channel listing should show, from the ledger and the rules.

`recompute_desired` computes, for every listing of the given variants, the published quantity
(the rules in `mapping.quantity`, with the settings it is given) and sets `push_pending` where
it differs from what the channel last acknowledged; it returns the accounts that now need a
push. It is called by a stock change's unit of work (`sync.stock.change.StockChange.settle`) in
the change's transaction; the push itself (`sync.stock.push`) reads the desired values when it
sends, so ten orders for one SKU inside a push cycle cause one write of the final value.

`channel_sold` / `channel_restocked`: the origin channel already changed its own number.
Where a write is relative to what the channel holds (compare-and-swap, delta) the hub moves its
acknowledged quantity by the same amount so the next compare matches. Where writes are
absolute nothing moves: the sale's movement makes the listing pending and the push writes the
recomputed number, which also repairs a race where the hub overwrote a sale the channel had
just made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Integer, Table, and_, bindparam, case, select, update
from sqlalchemy.orm import Session

from connectors.base import connector_class
from connectors.errors import UnknownPlatform
from connectors.stock import StockWriteMode
from mapping import quantity
from mapping.conflicts import ConflictKind, ConflictStatus
from store import tables
from store.bulk import execute_many, update_rows
from store.chunks import among, chunked
from store.memo import recall
from store.settings import Settings
from store.types import utcnow
from sync.planning.safety import SafetyInputs, safety_inputs
from sync.stock import kits
from sync.stock.locations import hub_location

INACTIVE_STATUSES = ("deleted", "unlinked")
RECOMPUTE_CHUNK = 10_000  # variants recomputed at a time (a 10,000-row receipt: one round of statements)


def follows_channel_sales(platform: str) -> bool:
    """Whether the hub's acknowledged quantity must follow the channel's own sales and restocks.

    A compare-and-swap or delta write is relative to what the channel holds, so a sale the
    channel made itself moves the acknowledged number; an absolute write overwrites it anyway.
    """
    try:
        mode = connector_class(platform).stock_write_mode
    except UnknownPlatform:
        return False
    return mode in (StockWriteMode.ABSOLUTE_CAS, StockWriteMode.DELTA)


@dataclass(frozen=True)
class Stored:
    """What a listing's row held when its quantity was computed: `store_desired` compares with it."""

    desired_quantity: int | None
    acknowledged_quantity: int | None
    push_pending: bool


@dataclass(frozen=True)
class ListingQuantity:
    """The published quantity of one listing and the chain that explains it."""

    listing_id: int
    account_id: int
    account: str
    variant_id: int
    sku: str
    safety_stock: int
    safety_source: str
    location_ids: tuple[int, ...]
    chain: quantity.Chain
    kit: tuple[kits.Share, ...] = ()  # a kit's components, their available and the kits each allows
    stored: Stored | None = None  # the listing's row as read with it (locked when `lock`)

    @property
    def published(self) -> int:
        return self.chain.published


def account_locations(session: Session) -> dict[int, tuple[int, ...]]:
    """Hub locations each account sells from (accounts with no mapping use `default`)."""
    return dict(recall(session, "locations_by_account", lambda: _account_locations(session)))


def _account_locations(session: Session) -> dict[int, tuple[int, ...]]:
    mapped: dict[int, set[int]] = {}
    rows = session.execute(select(tables.ChannelLocation.account_id, tables.ChannelLocation.location_id)
                           .where(tables.ChannelLocation.location_id.is_not(None)))
    for account_id, location_id in rows:
        if location_id is not None:
            mapped.setdefault(int(account_id), set()).add(int(location_id))
    default = hub_location(session).id
    accounts = session.scalars(select(tables.Account.id)).all()
    return {int(a): tuple(sorted(mapped.get(int(a), {default}))) for a in accounts}


def default_rules(settings: Settings) -> quantity.Rules:
    """`[stock.rules]` as the rules every override starts from."""
    return quantity.Rules(**settings.stock.rules.model_dump())


def chain_for(settings: Settings, *, sku: str, account: str, variant_safety: int | None,
              levels: dict[int, tuple[int, int]], location_ids: Iterable[int],
              planned: SafetyInputs | None = None,
              defaults: quantity.Rules | None = None) -> tuple[quantity.Chain, int, str]:
    """(chain, safety stock, its source) for one SKU on one account from its levels by location
    (`defaults`: `default_rules(settings)`, passed in by callers computing many listings)."""
    sellable = sum(levels.get(loc, (0, 0))[0] - levels.get(loc, (0, 0))[1] for loc in location_ids)
    planned = planned or SafetyInputs()
    safety, safety_source = quantity.effective_safety_stock(settings.stock.safety_stock, variant_safety,
                                                            settings.skus, sku, supplier=planned.supplier,
                                                            dynamic=planned.dynamic)
    defaults = defaults or default_rules(settings)
    rules, origin = quantity.effective_rules(defaults, settings.accounts, settings.skus, sku, account)
    return quantity.publish(sellable, safety, rules, origin), safety, safety_source


def listing_quantities(session: Session, settings: Settings, variant_ids: Iterable[int] | None = None, *,
                       account_ids: Iterable[int] | None = None, lock: bool = False) -> list[ListingQuantity]:
    """Published quantities of the mapped, active, tracked listings of `variant_ids` (or of `account_ids`).

    A variant the ledger has never moved has no stock in the hub yet: its listings publish
    nothing (so linking a catalogue before `stock import` never zeroes a channel).

    With `lock`, the listing rows are locked first (PostgreSQL `FOR UPDATE`, in id order) so
    two concurrent recomputes of one variant serialise and the later one reads fresh levels.
    """
    stmt = (select(tables.Listing.id, tables.Listing.account_id, tables.Listing.variant_id, tables.Account.name,
                   tables.Listing.desired_quantity, tables.Listing.acknowledged_quantity, tables.Listing.push_pending)
            .join(tables.Account, tables.Account.id == tables.Listing.account_id)
            .join(tables.Variant, tables.Variant.id == tables.Listing.variant_id)
            .where(tables.Listing.variant_id.is_not(None), tables.Listing.status.not_in(INACTIVE_STATUSES),
                   # untracked on either side (gift cards, digital goods): the channel keeps no count
                   tables.Listing.tracked.is_(True), tables.Variant.tracked.is_(True))
            .order_by(tables.Listing.id))
    if account_ids is not None:
        stmt = stmt.where(tables.Listing.account_id.in_(list(account_ids)))
    if lock:
        stmt = stmt.with_for_update(of=tables.Listing)
    if variant_ids is None:
        listings = list(session.execute(stmt).all())
    else:
        # in chunks of ascending variant ids (IN-list limits); concurrent lockers take the same order
        listings = [row for chunk in chunked(sorted(set(variant_ids)))
                    for row in session.execute(stmt.where(among(session, tables.Listing.variant_id, chunk))).all()]
        listings.sort(key=lambda row: row.id)
    if not listings:
        return []
    wanted = sorted({int(row.variant_id) for row in listings})
    recipes = kits.leaf_recipes(session, wanted)
    wanted = sorted(set(wanted).union(*recipes.values()))  # a kit's number needs its components' levels
    variants: dict[int, tuple[str, int | None]] = {}
    levels: dict[int, dict[int, tuple[int, int]]] = {}
    for chunk in chunked(wanted):
        variants.update((v.id, (v.sku, v.safety_stock)) for v in session.execute(
            select(tables.Variant.id, tables.Variant.sku, tables.Variant.safety_stock)
            .where(among(session, tables.Variant.id, chunk))))
        for level in session.execute(select(tables.StockLevel.variant_id, tables.StockLevel.location_id,
                                            tables.StockLevel.on_hand, tables.StockLevel.committed)
                                     .where(among(session, tables.StockLevel.variant_id, chunk))):
            levels.setdefault(level.variant_id, {})[level.location_id] = (level.on_hand, level.committed)
    locations = account_locations(session)
    planned = safety_inputs(session, settings, wanted)
    defaults = default_rules(settings)
    # A SKU without its own table gets a chain that depends only on the account, the variant's safety
    # stock and planning inputs, and the sellable sum: listings alike share one (frozen) chain instead
    # of each building its steps and their texts again (most of a 100,000-listing recompute's Python).
    shared: dict[tuple[Any, ...], tuple[quantity.Chain, int, str]] = {}
    result = []
    for row in listings:
        sku, variant_safety = variants[row.variant_id]
        locs = locations.get(int(row.account_id), ())
        if row.variant_id in recipes:
            kit = kits.kit_quantity(settings, sku=sku, account=row.name, variant_safety=variant_safety,
                                    recipe=recipes[row.variant_id], variants=variants, levels=levels,
                                    location_ids=locs, planned=planned)
            if kit is not None:
                result.append(ListingQuantity(int(row.id), int(row.account_id), row.name, int(row.variant_id),
                                              sku, kit[1], kit[2], locs, kit[0], kit[3], stored=_stored(row)))
            continue
        if row.variant_id not in levels:
            continue  # no movement yet: the hub knows no stock for it and publishes nothing
        held, inputs = levels[row.variant_id], planned.get(int(row.variant_id))
        key = None if sku in settings.skus else (row.name, variant_safety, inputs, sum(
            held.get(loc, (0, 0))[0] - held.get(loc, (0, 0))[1] for loc in locs))
        found = shared.get(key) if key is not None else None
        if found is None:
            found = chain_for(settings, sku=sku, account=row.name, variant_safety=variant_safety, levels=held,
                              location_ids=locs, planned=inputs, defaults=defaults)
            if key is not None:
                shared[key] = found
        chain, safety, source = found
        result.append(ListingQuantity(int(row.id), int(row.account_id), row.name, int(row.variant_id), sku,
                                      safety, source, locs, chain, stored=_stored(row)))
    return result


def _stored(row: Any) -> Stored:
    return Stored(row.desired_quantity, row.acknowledged_quantity, bool(row.push_pending))


def in_step(published: int | None, acknowledged: int | None) -> bool:
    """Whether the channel shows what the hub publishes. Publishing 0 is in step with any level at or
    below 0: an oversold channel already sells nothing, and writing 0 there would invent stock."""
    return published == acknowledged or (published == 0 and acknowledged is not None and acknowledged < 0)


def store_desired(session: Session, computed: list[ListingQuantity]) -> set[int]:
    """Write desired quantities; set push_pending where desired ≠ acknowledged. Returns accounts now pending.

    Each listing is compared with the row `listing_quantities` read (and locked) with it; only a
    `ListingQuantity` built without one makes its row be read here."""
    if not computed:
        return set()
    current = {c.listing_id: c.stored for c in computed if c.stored is not None}
    unread = [c.listing_id for c in computed if c.stored is None]
    current.update((row.id, _stored(row)) for chunk in chunked(unread) for row in session.execute(
        select(tables.Listing.id, tables.Listing.desired_quantity, tables.Listing.acknowledged_quantity,
               tables.Listing.push_pending).where(among(session, tables.Listing.id, chunk))))
    changes: list[dict[str, Any]] = []
    pending_accounts: set[int] = set()
    for item in computed:
        row = current[item.listing_id]
        pending = not in_step(item.published, row.acknowledged_quantity)
        if pending:
            pending_accounts.add(item.account_id)
        if row.desired_quantity != item.published or row.push_pending != pending:
            changes.append({"id": item.listing_id, "desired_quantity": item.published, "push_pending": pending})
    if changes:  # one compiled UPDATE (`store.bulk`), not the ORM's bulk path that builds each row
        execute_many(session, *update_rows(session, tables.Listing.__table__, "id", changes))
    return pending_accounts


def recompute_desired(session: Session, settings: Settings, variant_ids: Iterable[int]) -> set[int]:
    """Recompute the desired quantity of every listing of `variant_ids` and of every kit using one of
    them (`sync.stock.kits`); the accounts needing a push."""
    variant_ids = kits.with_kits(session, variant_ids)
    pending: set[int] = set()
    # A chunk at a time (ascending, as concurrent lockers take them): memory stays flat however
    # many variants an import touched.
    for chunk in chunked(sorted(variant_ids), RECOMPUTE_CHUNK):
        pending |= store_desired(session, listing_quantities(session, settings, chunk, lock=True))
    return pending


def recompute_accounts(session: Session, account_ids: Iterable[int], settings: Settings) -> set[int]:
    """Recompute every listing of the given accounts (after a settings or mapping change)."""
    computed = listing_quantities(session, settings, account_ids=account_ids, lock=True)
    return store_desired(session, computed)


def restocks_paid_orders(platform: str) -> bool:
    """Whether the platform puts a paid order's cancelled or returned units back on its own count."""
    try:
        return connector_class(platform).restocks_paid_orders
    except UnknownPlatform:
        return True


def _move_acknowledged(session: Session, listing_id: int, delta: int, *, restock: bool = False) -> int | None:
    """Move the listing's acknowledged number by `delta` (`restock`: units put back, which a
    platform that never restocks paid orders did not do); the account when it now needs a push."""
    listing = session.get(tables.Listing, listing_id)
    if listing is None or listing.acknowledged_quantity is None:
        return None
    account = session.get(tables.Account, listing.account_id)
    if account is None or not follows_channel_sales(account.platform):
        return None
    if restock and not restocks_paid_orders(account.platform):
        # The channel kept its count: the hub's number goes up at settle (the units are sellable
        # again), the channel's did not, so the recompute finds the listing pending and it is pushed.
        return None
    listing.acknowledged_quantity += delta
    listing.push_pending = listing.desired_quantity is not None and \
        not in_step(listing.desired_quantity, listing.acknowledged_quantity)
    stale = session.get(tables.StaleRead, listing_id)
    if stale is not None and stale.observed == listing.acknowledged_quantity:
        session.delete(stale)  # this sale is what the refused compare saw: explained, push again now
    session.flush()
    return listing.account_id if listing.push_pending else None


def channel_sold(session: Session, listing_id: int, quantity: int) -> int | None:
    """The listing's channel sold `quantity` and lowered its own number (relative writers follow it).

    Returns the account when the listing now needs a push."""
    return _move_acknowledged(session, listing_id, -quantity)


def channel_restocked(session: Session, listing_id: int, quantity: int) -> int | None:
    """The listing's channel put `quantity` back (cancel/refund with restock) on its own number."""
    return _move_acknowledged(session, listing_id, quantity, restock=True)


def blocked_listing_ids(session: Session, account_id: int) -> set[int]:
    """Listings held back from pushes by an open stock-drift conflict (an operator decides)."""
    return {int(i) for i in session.scalars(select(tables.Conflict.listing_id).where(  # type: ignore[arg-type]
        tables.Conflict.account_id == account_id, tables.Conflict.kind == ConflictKind.STOCK_DRIFT.value,
        tables.Conflict.status == ConflictStatus.OPEN.value, tables.Conflict.listing_id.is_not(None)))}


def pending_account_ids(session: Session, account_ids: Iterable[int] | None = None) -> list[int]:
    stmt = (select(tables.Listing.account_id).join(tables.Account, tables.Account.id == tables.Listing.account_id)
            .where(tables.Listing.push_pending.is_(True), tables.Account.enabled.is_(True)).distinct())
    if account_ids is not None:
        stmt = stmt.where(tables.Listing.account_id.in_(list(account_ids)))
    return sorted(int(a) for a in session.scalars(stmt))


def acknowledge(session: Session, listing_id: int, written: int, *, compared: int | None) -> None:
    """Record a successful write: acknowledged follows the channel, pending only if desired moved on.

    With compare-and-swap, adjustments made meanwhile by `channel_sold` are kept (relative update).
    """
    acknowledge_many(session, [(listing_id, written, compared)])


def acknowledge_many(session: Session, writes: Sequence[tuple[int, int, int | None]]) -> None:
    """`acknowledge` each (listing id, written, compared): one statement per kind (absolute, relative),
    executed for every listing, instead of one compiled statement each. Listings loaded in `session`
    are not refreshed (the push and the confirmation read none afterwards)."""
    listing = cast(Table, tables.Listing.__table__)
    now = utcnow()
    for relative in (False, True):
        rows = [{"p_id": listing_id, "p_written": written, "p_compared": compared}
                for listing_id, written, compared in writes if (compared is not None) is relative]
        if not rows:
            continue
        written_param = bindparam("p_written", type_=Integer)
        new_ack: Any = (written_param + (listing.c.acknowledged_quantity - bindparam("p_compared", type_=Integer))
                        if relative else written_param)
        session.execute(update(listing).where(listing.c.id == bindparam("p_id")).values(
            acknowledged_quantity=new_ack, acknowledged_at=now,
            push_pending=case((listing.c.desired_quantity == new_ack, False),
                              (and_(listing.c.desired_quantity == 0, new_ack < 0), False), else_=True)),
            [{k: v for k, v in row.items() if relative or k != "p_compared"} for row in rows])

