"""`stock import`: set on_hand from a channel's levels for its mapped listings, with flat memory.

The channel is read to the end before anything is written (a read that fails midway writes
nothing), and what it said is held as a few machine words a level (`LevelsRead`, arrays rather
than a dict entry and tuples each): the listings a chunk of levels belongs to are looked up as
the chunk arrives. The writes then go a chunk of (variant, location) targets at a time, in
ascending variant order, in one transaction: current levels, movements, first sight, and the
recompute of that chunk's listings (`StockChange.settle`), so nothing grows with the catalogue
but the arrays.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import canonical
from store import tables
from store.chunks import among, chunked
from sync.hub.collector import chunk_done
from sync.stock.change import StockChange
from sync.stock.first_sight import record_first_sight
from sync.stock.ledger import Movement

MOVES_PER_CHUNK = 5_000  # targets turned into movements, written and settled per chunk
LOOKUP_CHUNK = 5_000  # channel levels whose listings are looked up at a time


def mapped_listings(session: Session, account_id: int, keys: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Channel inventory item id (or external variant id, for a listing without one) → (variant,
    listing), for the account's mapped listings among `keys`."""
    found: dict[str, tuple[int, int]] = {}
    listing = tables.Listing
    base = select(listing.external_inventory_item_id, listing.external_variant_id, listing.variant_id,
                  listing.id).where(listing.account_id == account_id, listing.variant_id.is_not(None))
    for chunk in chunked(sorted(set(keys))):
        for item, _, variant, listing_id in session.execute(
                base.where(among(session, listing.external_inventory_item_id, chunk))):
            found[str(item)] = (int(variant or 0), int(listing_id))
        rest = [key for key in chunk if key not in found]
        if rest:
            for _, external, variant, listing_id in session.execute(base.where(
                    listing.external_inventory_item_id.is_(None), among(session, listing.external_variant_id, rest))):
                found[external] = (int(variant or 0), int(listing_id))
    return found


@dataclass
class LevelsRead:
    """The mapped levels a channel reported, one entry each in parallel arrays: the variant, the
    channel location (an index into `locations`), on_hand, whether the hub's committed is added,
    the listing and the channel's available."""

    locations: list[str] = field(default_factory=list)
    variant: array[int] = field(default_factory=lambda: array("q"))
    location: array[int] = field(default_factory=lambda: array("l"))
    on_hand: array[int] = field(default_factory=lambda: array("q"))
    add_committed: array[int] = field(default_factory=lambda: array("b"))
    listing: array[int] = field(default_factory=lambda: array("q"))
    available: array[int] = field(default_factory=lambda: array("q"))
    _where: dict[str, int] = field(default_factory=dict)

    def add(self, variant_id: int, listing_id: int, item: canonical.StockLevel) -> None:
        own_committed = item.on_hand is not None and item.committed is not None
        on_hand = item.on_hand if own_committed and item.on_hand is not None else item.available
        where = self._where.setdefault(item.location_external_id, len(self.locations))
        if where == len(self.locations):
            self.locations.append(item.location_external_id)
        self.variant.append(variant_id)
        self.location.append(where)
        self.on_hand.append(on_hand)
        self.add_committed.append(int(not own_committed))
        self.listing.append(listing_id)
        self.available.append(item.available)

    def targets(self, hub_of: Sequence[int | None]) -> Iterator[Target]:
        """Summed per (variant, hub location), ascending; `hub_of[channel location]` is its hub
        location (None: unmapped, skipped). A stable sort keeps the channel's order within a target."""
        ranks = {loc: rank for rank, loc in enumerate(sorted({h for h in hub_of if h is not None}))}
        width = len(ranks) + 1
        order = sorted((i for i in range(len(self.variant)) if hub_of[self.location[i]] is not None),
                       key=lambda i: self.variant[i] * width + ranks[hub_of[self.location[i]] or 0])
        current: Target | None = None
        for i in order:
            hub = hub_of[self.location[i]]
            assert hub is not None
            if current is None or (current.variant_id, current.location_id) != (self.variant[i], hub):
                if current is not None:
                    yield current
                current = Target(self.variant[i], hub)
            current.on_hand += self.on_hand[i]
            current.add_committed = current.add_committed or bool(self.add_committed[i])
            current.seen[self.listing[i]] = self.available[i]
        if current is not None:
            yield current


@dataclass
class Target:
    """One (variant, hub location)'s summed channel numbers, and the listings read for it."""

    variant_id: int
    location_id: int
    on_hand: int = 0
    add_committed: bool = False
    seen: dict[int, int] = field(default_factory=dict)  # listing → the channel's available


def current_levels(session: Session, variant_ids: list[int]) -> dict[tuple[int, int], tuple[int, int]]:
    """(variant, location) → (on_hand, committed) for `variant_ids`, a few queries in all."""
    found: dict[tuple[int, int], tuple[int, int]] = {}
    for chunk in chunked(variant_ids):
        for variant_id, location_id, on_hand, committed in session.execute(
                select(tables.StockLevel.variant_id, tables.StockLevel.location_id, tables.StockLevel.on_hand,
                       tables.StockLevel.committed).where(among(session, tables.StockLevel.variant_id, chunk))):
            found[(int(variant_id), int(location_id))] = (int(on_hand), int(committed))
    return found


def write_targets(change: StockChange, targets: Iterable[Target], *, account_id: int, source: str,
                  first_sight: bool) -> dict[str, int]:
    """The movements that bring each target's on_hand to the channel's, a chunk at a time, each
    chunk settled (its listings recomputed) before the next; the counts."""
    session = change.session
    counts: dict[str, Any] = {"targets": 0, "recorded": 0, "applied": 0}
    for chunk in chunked(targets, MOVES_PER_CHUNK):
        current = current_levels(session, sorted({t.variant_id for t in chunk}))
        movements = []
        for target in chunk:
            current_on_hand, committed = current.get((target.variant_id, target.location_id), (0, 0))
            wanted = target.on_hand + (committed if target.add_committed else 0)
            movements.append(Movement(
                f"import:{account_id}:{target.variant_id}:{target.location_id}", target.variant_id,
                target.location_id, on_hand_delta=wanted - current_on_hand, reason="import", source=source,
                reference=f"stock import from {source}"))
        recorded = change.move_many(movements)  # a few statements, not five a row
        counts["targets"] += len(chunk)
        counts["recorded"] += len(recorded)
        counts["applied"] += sum(1 for m in recorded if m.on_hand_delta)
        if first_sight:  # one channel location: what was read is what its listings show
            record_first_sight(session, {listing: available for t in chunk for listing, available in t.seen.items()})
            change.touch(t.variant_id for t in chunk)
        change.need_push(change.settle())
        chunk_done(len(chunk))
    return counts
