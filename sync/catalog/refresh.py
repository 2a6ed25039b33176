"""Listing refresh: store what a channel lists, match it to variants, and open or close conflicts.

`apply_listings` works on one full read of an account's listings, in one transaction:
upsert rows by (account, external variant id), mark absent ones deleted, link what matches
without doubt (`mapping.matching`), and keep the account's matching conflicts in step with
what was seen: a conflict that stopped being true closes with a note saying so.

Memory stays flat however large the account: what a refresh saw is in the rows themselves
(`last_seen_at`), and `finish` matches, links and settles the seen listings a chunk at a time
(`sync.catalog.scan`) against the few variants each chunk can match.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

import canonical
from mapping import matching
from mapping.conflicts import ConflictKind, ConflictStatus, close_if_open, open_conflict, open_unless_ignored
from store import tables
from store.bulk import insert_many
from store.chunks import among, chunked
from store.types import utcnow
from sync.catalog import linking, scan
from sync.catalog.scan import Row
from sync.hub.audit import audit
from sync.hub.collector import chunk_done
from sync.stock.change import StockChange

WATCHED = (ConflictKind.UNMATCHED_LISTING, ConflictKind.DUPLICATE_SKU, ConflictKind.SKU_BARCODE_MISMATCH,
           ConflictKind.SKU_CHANGED)
DELETED = "deleted"
BATCH = 1000  # listings stored per transaction while the channel is read


@dataclass
class Applied:
    seen: int = 0
    created: int = 0
    updated: int = 0
    linked: int = 0
    deleted: int = 0
    reappeared: int = 0
    opened: int = 0
    closed: int = 0
    accounts: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


def subject(kind: ConflictKind, account_id: int, listing: tables.Listing) -> str:
    if kind in (ConflictKind.SKU_CHANGED, ConflictKind.LISTING_DELETED):
        return f"{kind.value}:{listing.id}"
    return f"{kind.value}:{account_id}:{listing.external_variant_id}"


class Shown(NamedTuple):
    """What a channel showed of an unmapped listing beyond its stored row (conflict evidence, and
    `--create`): a few strings, not the whole record, so a large first import holds little."""

    product_title: str
    variant_title: str
    price: str | None
    compare_at_price: str | None
    currency: str | None

    @classmethod
    def of(cls, item: canonical.Listing) -> Shown:
        """The strings many listings share (a product's title, prices, currency) are held once."""
        return cls(sys.intern(item.product_title), item.title, _shared(str(item.price.amount) if item.price else None),
                   _shared(str(item.compare_at_price.amount) if item.compare_at_price else None),
                   _shared(item.price.currency if item.price else None))


def _shared(text: str | None) -> str | None:
    return sys.intern(text) if text is not None else None


def channel_side(listing: tables.Listing, shown: Shown | None = None) -> dict[str, Any]:
    """What the channel showed, for a conflict's evidence (and for `--create`)."""
    side: dict[str, Any] = {
        "external_product_id": listing.external_product_id, "external_variant_id": listing.external_variant_id,
        "sku": listing.channel_sku, "barcode": listing.channel_barcode, "title": listing.title,
        "status": listing.status}
    if shown is not None:
        side.update(shown._asdict())
    return side


def display_title(item: canonical.Listing) -> str:
    if item.product_title and item.title and item.title != item.product_title:
        return f"{item.product_title} - {item.title}"[:500]
    return (item.product_title or item.title)[:500]


def listing_values(item: canonical.Listing) -> dict[str, Any]:
    return {"external_product_id": item.external_product_id,
            "external_inventory_item_id": item.external_inventory_item_id, "channel_sku": item.sku,
            "channel_barcode": item.barcode, "title": display_title(item), "status": item.status.value,
            "tracked": item.tracked}


class Refresh:
    """One account's refresh (see the module docstring): `upsert` each batch of the channel's
    listings as it is read, each batch in its own short transaction, then `finish` in one."""

    def __init__(self, account: tables.Account, *, normalised: bool, actor: str) -> None:
        self.account_id, self.normalised, self.actor = account.id, normalised, actor
        self.result = Applied()
        self.started = utcnow()  # a listing stored by this refresh has last_seen_at >= started
        # Conflict evidence for unmapped listings that may not link (one whose SKU names exactly one
        # variant, its barcode agreeing, is not held: its conflict, if any, shows the stored row).
        self.items: dict[str, Shown] = {}
        self.asserted: set[str] = set()
        self.session: Session | None = None
        self.stock: StockChange | None = None
        self.sku_hashes = array("q")  # each stored listing's SKU key hash (`scan.duplicate_skus`)
        self.index = matching.CatalogIndex()  # the variants the current chunk can match
        self.whole: matching.CatalogIndex | None = None  # the whole catalogue, built only if needed

    @property
    def db(self) -> Session:
        assert self.session is not None, "Refresh.upsert / finish set the session"
        return self.session

    @property
    def change(self) -> StockChange:
        assert self.stock is not None, "Refresh.finish sets the stock change"
        return self.stock

    # ---- rows --------------------------------------------------------------------------------
    def upsert(self, session: Session, items: Iterable[canonical.Listing]) -> None:
        """Store one batch of listings: new rows inserted, changed ones updated, all marked seen."""
        self.session = session
        batch = {item.external_variant_id: item for item in items}  # a repeat in one read: the last wins
        stored = {r.external_variant_id: r for r in session.execute(
            select(tables.Listing).where(tables.Listing.account_id == self.account_id,
                                         among(session, tables.Listing.external_variant_id, list(batch))))
            .scalars()}
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        sure = self.sure_links(session, batch.values())
        for external_id, item in batch.items():
            hashed = scan.sku_hash(item.sku, normalised=self.normalised)
            if hashed is not None:
                self.sku_hashes.append(hashed)
            values = listing_values(item)
            row = stored.get(external_id)
            if row is None:
                inserts.append({"account_id": self.account_id, "external_variant_id": external_id,
                                "synced_fields": {}, "last_seen_at": now, **values})
                self.result.created += 1
                if external_id not in sure:
                    self.items[external_id] = Shown.of(item)
            else:
                if row.status == DELETED:
                    self.result.reappeared += 1
                    self.close(subject(ConflictKind.LISTING_DELETED, self.account_id, row),
                               "the listing is on the channel again")
                if any(getattr(row, k) != v for k, v in values.items()):
                    self.result.updated += 1
                    for key, value in values.items():
                        setattr(row, key, value)
                row.last_seen_at = now
                if not item.tracked:  # the channel keeps no count: nothing to push to it
                    row.push_pending = False
                if row.variant_id is None and external_id not in sure:
                    self.items[external_id] = Shown.of(item)
        session.flush()
        insert_many(session, tables.Listing.__table__, inserts)  # no ORM bookkeeping, no per-row parameters

    def sure_links(self, session: Session, items: Iterable[canonical.Listing]) -> set[str]:
        """External ids of `items` whose SKU names exactly one variant whose barcode agrees (or that
        have no barcode): they link unless their SKU turns out shared on the account."""
        items = list(items)
        barcodes = scan.barcodes_by_sku(session, (item.sku for item in items if item.sku))
        return {item.external_variant_id for item in items
                if item.sku in barcodes and (not item.barcode or item.barcode == barcodes[item.sku])}

    def listing(self, row: Row) -> tables.Listing:
        found = self.db.get(tables.Listing, row.id)
        assert found is not None
        return found

    def mark_absent(self) -> None:
        """Listings missing from a full read were deleted on the channel."""
        unpublished: set[int] = set()
        for listing_id in scan.absent_ids(self.db, self.account_id, self.started):
            row = self.db.get(tables.Listing, listing_id)
            assert row is not None
            row.status = DELETED
            self.result.deleted += 1
            if row.variant_id is not None:
                self.open(ConflictKind.LISTING_DELETED, row, evidence={
                    "channel": {**channel_side(row), "status": "absent from the channel's listings"},
                    "hub": {"sku": self.sku_of(row.variant_id)},
                    "last_seen_at": row.last_seen_at.isoformat() if row.last_seen_at else None},
                    suggestions=[suggest("unlink", why="stop publishing stock to a listing that is gone"),
                                 suggest("ignore", why="keep the link in case the listing comes back")])
                unpublished.add(row.variant_id)
        if unpublished:
            self.db.flush()
            self.change.touch(unpublished)

    # ---- conflicts ---------------------------------------------------------------------------
    def open(self, kind: ConflictKind, row: tables.Listing, *, evidence: dict[str, Any],
             suggestions: list[dict[str, str]], variant_id: int | None = None) -> None:
        key = subject(kind, self.account_id, row)
        self.asserted.add(key)
        opener = open_conflict if kind == ConflictKind.SKU_CHANGED else open_unless_ignored
        before = self.db.scalar(select(tables.Conflict.id).where(
            tables.Conflict.subject == key, tables.Conflict.status == ConflictStatus.OPEN.value))
        opened = opener(self.db, kind, key, evidence=evidence, suggestions=suggestions,
                        account_id=self.account_id, listing_id=row.id, variant_id=variant_id)
        if opened is not None and before is None:
            self.result.opened += 1
            audit(self.db, self.actor, "conflict.open", f"conflict:{opened.id}",
                  {"kind": kind.value, "subject": key})

    def close(self, key: str, note: str) -> None:
        closed = close_if_open(self.db, key, note)
        if closed is not None:
            self.result.closed += 1
            audit(self.db, self.actor, "conflict.self_resolved", f"conflict:{closed.id}", {"note": closed.note})

    def close_stale(self) -> None:
        """Open matching conflicts of this account not confirmed by this refresh resolved themselves."""
        stale = self.db.scalars(select(tables.Conflict).where(
            tables.Conflict.account_id == self.account_id, tables.Conflict.status == ConflictStatus.OPEN.value,
            tables.Conflict.kind.in_([k.value for k in WATCHED])))
        for conflict in list(stale):
            if conflict.subject in self.asserted:
                continue
            row = self.db.get(tables.Listing, conflict.listing_id) if conflict.listing_id else None
            self.close(conflict.subject, self.describe_now(row))

    def describe_now(self, row: tables.Listing | None) -> str:
        if row is None:
            return "the listing is no longer known"
        if row.status == DELETED:
            return "the listing was deleted on the channel"
        state = f"the channel now shows SKU {row.channel_sku!r}, barcode {row.channel_barcode!r}"
        sku = self.sku_of(row.variant_id) if row.variant_id else None
        return f"{state}; linked to SKU {sku!r}" if sku else state

    # ---- matching ----------------------------------------------------------------------------
    def match_unmapped(self, light: Row, duplicates: dict[str, tuple[str, ...]], links: list[linking.Link]) -> None:
        key = matching.ListingKey(light.external_variant_id, light.sku, light.barcode)
        found = matching.match_listing(key, self.index_for(light.sku), normalised=self.normalised,
                                       duplicates=duplicates)
        if found.links and found.variant_id is not None:
            note = f"listing linked to SKU {self.sku_of(found.variant_id)!r} (matched by {found.outcome.value})"
            links.append(linking.Link(light.id, self.account_id, found.variant_id, light.sku, light.barcode, note))
            self.result.linked += 1
            return
        self.open_for(self.listing(light), found)

    def index_for(self, sku: str | None, *, normalised: bool | None = None) -> matching.CatalogIndex:
        """The chunk's index, or the whole catalogue's when a normalised lookup misses the exact SKU
        (the chunk holds only exact-SKU and barcode candidates)."""
        loose = self.normalised if normalised is None else normalised
        if not (loose and sku and sku not in self.index.by_sku):
            return self.index
        if self.whole is None:
            self.whole = scan.catalog_index(self.db)
        return self.whole

    def sku_of(self, variant_id: int | None) -> str | None:
        if variant_id is None:
            return None
        for index in (self.index, self.whole):
            if index is not None and variant_id in index.skus:
                return index.skus[variant_id]
        return scan.variant_skus(self.db, [variant_id]).get(variant_id)

    def skus(self, ids: Iterable[int]) -> list[str]:
        return [sku for sku in (self.sku_of(i) for i in ids) if sku is not None]

    def others(self, external_ids: Iterable[str]) -> list[tables.Listing]:
        """The account's listings with these external ids, in that order."""
        wanted = list(external_ids)
        found = {row.external_variant_id: row for row in self.db.scalars(select(tables.Listing).where(
            tables.Listing.account_id == self.account_id, tables.Listing.external_variant_id.in_(wanted)))}
        return [found[i] for i in wanted if i in found]

    def open_for(self, row: tables.Listing, found: matching.Match) -> None:
        channel = channel_side(row, self.items.get(row.external_variant_id))
        if found.outcome == matching.Outcome.DUPLICATE:
            others = [channel_side(other) for other in self.others(found.duplicates)]
            matches = self.index_for(row.channel_sku, normalised=True).sku_matches(row.channel_sku, normalised=True)
            self.open(ConflictKind.DUPLICATE_SKU, row, evidence={
                "channel": channel, "same_sku_on_account": others,
                "hub": {"variants_with_sku": self.skus(matches[1])}},
                suggestions=duplicate_suggestions(row, self))
        elif found.outcome == matching.Outcome.MISMATCH:
            by_sku, by_barcode = self.skus(found.by_sku), self.skus(found.by_barcode)
            self.open(ConflictKind.SKU_BARCODE_MISMATCH, row, evidence={
                "channel": channel, "hub": {"sku_points_to": by_sku, "barcode_points_to": by_barcode}},
                suggestions=[suggest("link", s, why="the SKU says so") for s in by_sku]
                + [suggest("link", s, why="the barcode says so (rule barcode)") for s in by_barcode]
                + [suggest("ignore")])
        else:
            candidates = self.skus(found.by_sku) + self.skus(found.by_barcode)
            reason = ("several variants match: " + ", ".join(candidates)) if candidates else \
                "no variant has this SKU or barcode"
            self.open(ConflictKind.UNMATCHED_LISTING, row, evidence={
                "channel": channel, "hub": {"candidates": candidates}, "reason": reason},
                suggestions=[suggest("link", s, why="a candidate") for s in candidates]
                + [suggest("create", why="add it to the catalogue from the listing"), suggest("ignore")])

    def check_mapped(self, light: Row) -> None:
        """A mapped listing keeps its link; a changed SKU or a disagreeing barcode is reported."""
        sku = self.sku_of(light.variant_id)
        if sku is None or light.variant_id is None:
            return
        key = matching.ListingKey(light.external_variant_id, light.sku, light.barcode)
        sku_ok = matching.sku_agrees(light.sku, sku, normalised=self.normalised)
        disagree = matching.barcode_disagrees(key, light.variant_id, self.index)
        if sku_ok and not disagree:
            return
        row = self.listing(light)
        identity = (row.synced_fields or {}).get(linking.IDENTITY) or {}
        if not sku_ok and row.channel_sku != identity.get("sku"):
            self.open(ConflictKind.SKU_CHANGED, row, variant_id=light.variant_id, evidence={
                "channel": channel_side(row), "hub": {"sku": sku, "variant_id": light.variant_id}},
                suggestions=[suggest("keep-channel", why="keep the link and accept the channel's SKU"),
                             suggest("unlink", why="the listing is another item now"),
                             suggest("link", row.channel_sku or "", why="link it to the variant with that SKU")])
        if disagree and row.channel_barcode != identity.get("barcode"):
            self.open(ConflictKind.SKU_BARCODE_MISMATCH, row, variant_id=light.variant_id, evidence={
                "channel": channel_side(row),
                "hub": {"linked_to": sku, "barcode_points_to": self.skus(disagree)}},
                suggestions=[suggest("ignore", why="keep the link")]
                + [suggest("link", s, why="the barcode says so (rule barcode)") for s in self.skus(disagree)])

    def link(self, links: list[linking.Link]) -> None:
        """Link a chunk of matched listings (`linking.link_many`) and empty `links`: a first import
        of a large catalogue never holds all its links at once."""
        accounts, closed = linking.link_many(self.change, links, actor=self.actor, by_itself=True)
        self.result.accounts |= accounts
        self.result.closed += closed
        links.clear()

    def finish(self, change: StockChange) -> Applied:
        """After the last batch: deletions, matching, links (in bulk) and conflicts, in one transaction.

        `change` is settled here: `result.accounts` holds the accounts that need a stock push."""
        self.session, self.stock = change.session, change
        session = change.session
        self.result.seen = scan.count_seen(session, self.account_id, self.started)
        self.mark_absent()
        duplicates = scan.duplicate_skus(session, self.account_id, self.started, normalised=self.normalised,
                                         hashes=self.sku_hashes)
        self.sku_hashes = array("q")
        for rows in scan.seen_chunks(session, self.account_id, self.started):
            self.index = scan.chunk_index(session, rows)
            links: list[linking.Link] = []
            for row in rows:
                if row.variant_id is None:
                    self.match_unmapped(row, duplicates, links)
                else:
                    self.check_mapped(row)
            self.link(links)
            self.result.accounts |= change.settle()  # recomputed a chunk at a time, not all at the end
            chunk_done(len(rows))
        self.close_stale()
        return self.result


def suggest(resolution: str, argument: str = "", *, why: str = "") -> dict[str, str]:
    return {"resolution": resolution, "argument": argument, "why": why}


def duplicate_suggestions(row: tables.Listing, refresh: Refresh) -> list[dict[str, str]]:
    _, found = refresh.index_for(row.channel_sku, normalised=True).sku_matches(row.channel_sku, normalised=True)
    links = [suggest("link", s, why="this listing is the real one") for s in refresh.skus(found)]
    return [*links, suggest("ignore", why="leave it unlinked"),
            suggest("create", why="it is a different item: add it to the catalogue")]


def apply_listings(change: StockChange, account: tables.Account, listings: Iterable[canonical.Listing], *,
                   normalised: bool, actor: str = "marketsync") -> Applied:
    """Apply one full read of `account`'s listings in one transaction (see the module docstring)."""
    refresh = Refresh(account, normalised=normalised, actor=actor)
    for batch in chunked(listings, BATCH):
        refresh.upsert(change.session, batch)
    return refresh.finish(change)
