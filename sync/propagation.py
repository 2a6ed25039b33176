"""Propagation: every movement recomputes what each channel should show; pushes send it.

`recompute_desired` runs as the ledger's `on_movement` hook, in the movement's transaction:
for every listing of the changed variants it computes the published quantity (the rules in
`mapping.quantity`) and sets `push_pending` when it differs from what the channel last
acknowledged. `schedule_pushes` then enqueues one push job per account (`push-stock-{id}`,
RQ `unique=True`), and the job (`sync.pushing`) drains every pending listing of its account
in the platform's largest batch, reading the desired values at send time: ten orders for one
SKU inside a push cycle cause one write of the final value.

`channel_sold` / `channel_restocked`: the origin channel already changed its own number.
On compare-and-swap platforms (Shopify) the hub moves its acknowledged quantity by the same
amount so the next compare matches. On absolute-value platforms (WooCommerce) nothing moves:
the sale's movement makes the listing pending and the push writes the recomputed number,
which also repairs a race where the hub overwrote a sale the channel had just made.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, event, select, update
from sqlalchemy.orm import Session

from connectors.base import connector_class
from connectors.errors import UnknownPlatform
from mapping import quantity
from mapping.conflicts import ConflictKind, ConflictStatus
from store import tables
from store.settings import Settings
from sync.context import Hub
from sync.ledger import on_movement
from sync.locations import hub_location

DEFER_KEY = "marketsync.defer_recompute"
INACTIVE_STATUSES = ("deleted", "unlinked")


def current_settings() -> Settings:
    """The settings of this process's hub (jobs, CLI and tests set it)."""
    from sync.runtime import current_hub

    return current_hub().settings


def supports_cas(platform: str) -> bool:
    try:
        return connector_class(platform).supports_compare_and_swap
    except UnknownPlatform:
        return False


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

    @property
    def published(self) -> int:
        return self.chain.published


LOCATIONS_KEY = "marketsync.account_locations"


def forget_account_locations(session: Session) -> None:
    """Drop the transaction's cached location map (after a channel location changed)."""
    session.info.pop(LOCATIONS_KEY, None)


def account_locations(session: Session) -> dict[int, tuple[int, ...]]:
    """Hub locations each account sells from (accounts with no mapping use `default`).

    Cached for the transaction: a burst of movements in one transaction reads it once.
    """
    cached = session.info.get(LOCATIONS_KEY)
    if cached is None:
        cached = session.info[LOCATIONS_KEY] = _account_locations(session)
    return dict(cached)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        forget_account_locations(session)


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


def chain_for(settings: Settings, *, sku: str, account: str, variant_safety: int | None,
              levels: dict[int, tuple[int, int]], location_ids: Iterable[int]) -> tuple[quantity.Chain, int, str]:
    """(chain, safety stock, its source) for one SKU on one account from its levels by location."""
    sellable = sum(levels.get(loc, (0, 0))[0] - levels.get(loc, (0, 0))[1] for loc in location_ids)
    safety, safety_source = quantity.effective_safety_stock(settings.stock.safety_stock, variant_safety,
                                                            settings.skus, sku)
    defaults = quantity.Rules(**settings.stock.rules.model_dump())
    rules, origin = quantity.effective_rules(defaults, settings.accounts, settings.skus, sku, account)
    return quantity.publish(sellable, safety, rules, origin), safety, safety_source


def listing_quantities(session: Session, settings: Settings | None, variant_ids: Iterable[int] | None = None, *,
                       account_ids: Iterable[int] | None = None, lock: bool = False) -> list[ListingQuantity]:
    """Published quantities of the mapped, active listings of `variant_ids` (or of `account_ids`).

    A variant the ledger has never moved has no stock in the hub yet: its listings publish
    nothing (so linking a catalogue before `stock import` never zeroes a channel).

    With `lock`, the listing rows are locked first (PostgreSQL `FOR UPDATE`, in id order) so
    two concurrent recomputes of one variant serialise and the later one reads fresh levels.
    """
    stmt = (select(tables.Listing.id, tables.Listing.account_id, tables.Listing.variant_id, tables.Account.name)
            .join(tables.Account, tables.Account.id == tables.Listing.account_id)
            .where(tables.Listing.variant_id.is_not(None), tables.Listing.status.not_in(INACTIVE_STATUSES))
            .order_by(tables.Listing.id))
    if variant_ids is not None:
        stmt = stmt.where(tables.Listing.variant_id.in_(list(variant_ids)))
    if account_ids is not None:
        stmt = stmt.where(tables.Listing.account_id.in_(list(account_ids)))
    if lock:
        stmt = stmt.with_for_update(of=tables.Listing)
    listings = session.execute(stmt).all()
    if not listings:
        return []
    settings = settings or current_settings()  # read only when some listing needs it
    wanted = {int(row.variant_id) for row in listings}
    variants = {v.id: (v.sku, v.safety_stock) for v in session.execute(
        select(tables.Variant.id, tables.Variant.sku, tables.Variant.safety_stock)
        .where(tables.Variant.id.in_(wanted)))}
    levels: dict[int, dict[int, tuple[int, int]]] = {}
    for level in session.scalars(select(tables.StockLevel).where(tables.StockLevel.variant_id.in_(wanted))):
        levels.setdefault(level.variant_id, {})[level.location_id] = (level.on_hand, level.committed)
    locations = account_locations(session)
    result = []
    for row in listings:
        if row.variant_id not in levels:
            continue  # no movement yet: the hub knows no stock for it and publishes nothing
        sku, variant_safety = variants[row.variant_id]
        locs = locations.get(int(row.account_id), ())
        chain, safety, source = chain_for(settings, sku=sku, account=row.name, variant_safety=variant_safety,
                                          levels=levels.get(int(row.variant_id), {}), location_ids=locs)
        result.append(ListingQuantity(int(row.id), int(row.account_id), row.name, int(row.variant_id), sku,
                                      safety, source, locs, chain))
    return result


def store_desired(session: Session, computed: list[ListingQuantity]) -> set[int]:
    """Write desired quantities; set push_pending where desired ≠ acknowledged. Returns accounts now pending."""
    if not computed:
        return set()
    ids = [c.listing_id for c in computed]
    current = {row.id: row for row in session.execute(
        select(tables.Listing.id, tables.Listing.desired_quantity, tables.Listing.acknowledged_quantity,
               tables.Listing.push_pending).where(tables.Listing.id.in_(ids)))}
    changes: list[dict[str, Any]] = []
    pending_accounts: set[int] = set()
    for item in computed:
        row = current[item.listing_id]
        pending = item.published != row.acknowledged_quantity
        if pending:
            pending_accounts.add(item.account_id)
        if row.desired_quantity != item.published or bool(row.push_pending) != pending:
            changes.append({"id": item.listing_id, "desired_quantity": item.published, "push_pending": pending})
    if changes:
        session.execute(update(tables.Listing), changes)
    return pending_accounts


def recompute_desired(session: Session, variant_ids: set[int]) -> set[int]:
    """Recompute the desired quantity of every listing of `variant_ids`; accounts needing a push."""
    if not variant_ids:
        return set()
    return store_desired(session, listing_quantities(session, None, variant_ids, lock=True))


def recompute_accounts(session: Session, account_ids: Iterable[int], settings: Settings | None = None) -> set[int]:
    """Recompute every listing of the given accounts (after a settings or mapping change)."""
    computed = listing_quantities(session, settings, account_ids=account_ids, lock=True)
    return store_desired(session, computed)


@on_movement
def _after_movement(session: Session, variant_ids: set[int]) -> None:
    deferred = session.info.get(DEFER_KEY)
    if deferred is not None:
        deferred.update(variant_ids)
        return
    recompute_desired(session, variant_ids)


@contextmanager
def deferred_recompute(session: Session) -> Iterator[set[int]]:
    """Within the block, movements only collect their variants; one recompute runs at the end.

    For bulk work (imports, CSV receipts): one recompute instead of one per movement.
    """
    outer = session.info.get(DEFER_KEY)
    collected: set[int] = set()
    session.info[DEFER_KEY] = collected
    try:
        yield collected
    finally:
        if outer is None:
            session.info.pop(DEFER_KEY, None)
        else:
            session.info[DEFER_KEY] = outer
    if outer is not None:
        outer.update(collected)
    else:
        recompute_desired(session, collected)


def _move_acknowledged(session: Session, listing_id: int, delta: int) -> None:
    listing = session.get(tables.Listing, listing_id)
    if listing is None or listing.acknowledged_quantity is None:
        return
    account = session.get(tables.Account, listing.account_id)
    if account is None or not supports_cas(account.platform):
        return
    listing.acknowledged_quantity += delta
    listing.push_pending = listing.desired_quantity is not None and \
        listing.desired_quantity != listing.acknowledged_quantity
    session.flush()


def channel_sold(session: Session, listing_id: int, quantity: int) -> None:
    """The listing's channel sold `quantity` and lowered its own number (CAS platforms follow it)."""
    _move_acknowledged(session, listing_id, -quantity)


def channel_restocked(session: Session, listing_id: int, quantity: int) -> None:
    """The listing's channel put `quantity` back (cancel/refund with restock) on its own number."""
    _move_acknowledged(session, listing_id, quantity)


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


def schedule_pushes(hub: Hub, account_ids: Iterable[int] | None = None) -> list[str]:
    """Enqueue `push-stock-{account}` for accounts with pending listings (call after committing)."""
    from sync.pushing import request_push

    with hub.db.session() as session:
        accounts = pending_account_ids(session, account_ids)
    return [job_id for job_id in (request_push(hub.redis, a) for a in accounts) if job_id]


def sweep(hub: Hub) -> list[str]:
    """Re-enqueue pushes for every account the database says is pending (lost jobs, dead workers)."""
    return schedule_pushes(hub)


def acknowledge(session: Session, listing_id: int, written: int, *, compared: int | None) -> None:
    """Record a successful write: acknowledged follows the channel, pending only if desired moved on.

    With compare-and-swap, adjustments made meanwhile by `channel_sold` are kept (relative update).
    """
    listing = tables.Listing
    new_ack: Any = written if compared is None else written + (listing.acknowledged_quantity - compared)
    session.execute(update(listing).where(listing.id == listing_id).values(
        acknowledged_quantity=new_ack, acknowledged_at=_now(),
        push_pending=case((listing.desired_quantity == new_ack, False), else_=True)))


def _now() -> Any:
    from store.types import utcnow

    return utcnow()
