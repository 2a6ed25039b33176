"""Listing refresh: store what a channel lists, match it to variants, and open or close conflicts.

`apply_listings` works on one full read of an account's listings, in one transaction:
upsert rows by (account, external variant id), mark absent ones deleted, link what matches
without doubt (`mapping.matching`), and keep the account's matching conflicts in step with
what was seen: a conflict that stopped being true closes with a note saying so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import canonical
from mapping import matching
from mapping.conflicts import ConflictKind, ConflictStatus, close_if_open, open_conflict, open_unless_ignored
from store import tables
from store.types import utcnow
from sync import linking
from sync.audit import audit

WATCHED = (ConflictKind.UNMATCHED_LISTING, ConflictKind.DUPLICATE_SKU, ConflictKind.SKU_BARCODE_MISMATCH,
           ConflictKind.SKU_CHANGED)
DELETED = "deleted"


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


def channel_side(listing: tables.Listing, item: canonical.Listing | None = None) -> dict[str, Any]:
    """What the channel showed, for a conflict's evidence (and for `--create`)."""
    side: dict[str, Any] = {
        "external_product_id": listing.external_product_id, "external_variant_id": listing.external_variant_id,
        "sku": listing.channel_sku, "barcode": listing.channel_barcode, "title": listing.title,
        "status": listing.status}
    if item is not None:
        side.update({"product_title": item.product_title, "variant_title": item.title,
                     "price": str(item.price.amount) if item.price else None,
                     "compare_at_price": str(item.compare_at_price.amount) if item.compare_at_price else None,
                     "currency": item.price.currency if item.price else None})
    return side


def catalog_index(session: Session) -> tuple[matching.CatalogIndex, dict[int, tables.Variant]]:
    variants = {v.id: v for v in session.scalars(select(tables.Variant))}
    index = matching.CatalogIndex.build(matching.VariantKey(v.id, v.sku, v.barcode) for v in variants.values())
    return index, variants


def display_title(item: canonical.Listing) -> str:
    if item.product_title and item.title and item.title != item.product_title:
        return f"{item.product_title} - {item.title}"[:500]
    return (item.product_title or item.title)[:500]


class Refresh:
    """One account's refresh in one session (see the module docstring)."""

    def __init__(self, session: Session, account: tables.Account, *, normalised: bool, actor: str) -> None:
        self.session, self.account, self.normalised, self.actor = session, account, normalised, actor
        self.result = Applied()
        self.index, self.variants = catalog_index(session)
        self.rows = {r.external_variant_id: r for r in session.scalars(
            select(tables.Listing).where(tables.Listing.account_id == account.id))}
        self.asserted: set[str] = set()
        self.items: dict[str, canonical.Listing] = {}

    # ---- rows --------------------------------------------------------------------------------
    def upsert(self, item: canonical.Listing) -> tables.Listing:
        row = self.rows.get(item.external_variant_id)
        values = {"external_product_id": item.external_product_id,
                  "external_inventory_item_id": item.external_inventory_item_id, "channel_sku": item.sku,
                  "channel_barcode": item.barcode, "title": display_title(item), "status": item.status.value}
        if row is None:
            row = tables.Listing(account_id=self.account.id, external_variant_id=item.external_variant_id, **values)
            self.session.add(row)
            self.rows[item.external_variant_id] = row
            self.result.created += 1
        else:
            if row.status == DELETED:
                self.result.reappeared += 1
                self.close(subject(ConflictKind.LISTING_DELETED, self.account.id, row),
                           "the listing is on the channel again")
            if any(getattr(row, k) != v for k, v in values.items()):
                self.result.updated += 1
            for key, value in values.items():
                setattr(row, key, value)
        row.last_seen_at = utcnow()
        return row

    def mark_absent(self, seen: set[str]) -> None:
        """Listings missing from a full read were deleted on the channel."""
        for external_id, row in self.rows.items():
            if external_id in seen or row.status == DELETED:
                continue
            row.status = DELETED
            self.result.deleted += 1
            if row.variant_id is not None:
                variant = self.variants.get(row.variant_id)
                self.open(ConflictKind.LISTING_DELETED, row, evidence={
                    "channel": {**channel_side(row), "status": "absent from the channel's listings"},
                    "hub": {"sku": variant.sku if variant else None},
                    "last_seen_at": row.last_seen_at.isoformat() if row.last_seen_at else None},
                    suggestions=[suggest("unlink", why="stop publishing stock to a listing that is gone"),
                                 suggest("ignore", why="keep the link in case the listing comes back")])
                self.result.accounts |= linking.recompute(self.session, {row.variant_id})

    # ---- conflicts ---------------------------------------------------------------------------
    def open(self, kind: ConflictKind, row: tables.Listing, *, evidence: dict[str, Any],
             suggestions: list[dict[str, str]], variant_id: int | None = None) -> None:
        key = subject(kind, self.account.id, row)
        self.asserted.add(key)
        opener = open_conflict if kind == ConflictKind.SKU_CHANGED else open_unless_ignored
        before = self.session.scalar(select(tables.Conflict.id).where(
            tables.Conflict.subject == key, tables.Conflict.status == ConflictStatus.OPEN.value))
        opened = opener(self.session, kind, key, evidence=evidence, suggestions=suggestions,
                        account_id=self.account.id, listing_id=row.id, variant_id=variant_id)
        if opened is not None and before is None:
            self.result.opened += 1
            audit(self.session, self.actor, "conflict.open", f"conflict:{opened.id}",
                  {"kind": kind.value, "subject": key})

    def close(self, key: str, note: str) -> None:
        closed = close_if_open(self.session, key, note)
        if closed is not None:
            self.result.closed += 1
            audit(self.session, self.actor, "conflict.self_resolved", f"conflict:{closed.id}", {"note": closed.note})

    def close_stale(self) -> None:
        """Open matching conflicts of this account not confirmed by this refresh resolved themselves."""
        stale = self.session.scalars(select(tables.Conflict).where(
            tables.Conflict.account_id == self.account.id, tables.Conflict.status == ConflictStatus.OPEN.value,
            tables.Conflict.kind.in_([k.value for k in WATCHED])))
        for conflict in list(stale):
            if conflict.subject in self.asserted:
                continue
            row = self.session.get(tables.Listing, conflict.listing_id) if conflict.listing_id else None
            self.close(conflict.subject, self.describe_now(row))

    def describe_now(self, row: tables.Listing | None) -> str:
        if row is None:
            return "the listing is no longer known"
        if row.status == DELETED:
            return "the listing was deleted on the channel"
        state = f"the channel now shows SKU {row.channel_sku!r}, barcode {row.channel_barcode!r}"
        variant = self.variants.get(row.variant_id) if row.variant_id else None
        return f"{state}; linked to SKU {variant.sku!r}" if variant else state

    # ---- matching ----------------------------------------------------------------------------
    def match_unmapped(self, row: tables.Listing, duplicates: dict[str, tuple[str, ...]]) -> None:
        key = matching.ListingKey(row.external_variant_id, row.channel_sku, row.channel_barcode)
        found = matching.match_listing(key, self.index, normalised=self.normalised, duplicates=duplicates)
        if found.links and found.variant_id is not None:
            variant = self.variants[found.variant_id]
            accounts, closed = linking.link(self.session, row, variant, actor=self.actor,
                                            how=f"matched by {found.outcome.value}", by_itself=True)
            self.result.accounts |= accounts
            self.result.linked += 1
            self.result.closed += closed
            return
        self.open_for(row, found)

    def skus(self, ids: Iterable[int]) -> list[str]:
        return [self.variants[i].sku for i in ids if i in self.variants]

    def open_for(self, row: tables.Listing, found: matching.Match) -> None:
        channel = channel_side(row, self.items.get(row.external_variant_id))
        if found.outcome == matching.Outcome.DUPLICATE:
            others = [channel_side(self.rows[i]) for i in found.duplicates if i in self.rows]
            self.open(ConflictKind.DUPLICATE_SKU, row, evidence={
                "channel": channel, "same_sku_on_account": others,
                "hub": {"variants_with_sku": self.skus(self.index.sku_matches(row.channel_sku, normalised=True)[1])}},
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

    def check_mapped(self, row: tables.Listing) -> None:
        """A mapped listing keeps its link; a changed SKU or a disagreeing barcode is reported."""
        variant = self.variants.get(row.variant_id) if row.variant_id else None
        if variant is None:
            return
        identity = (row.synced_fields or {}).get(linking.IDENTITY) or {}
        if not matching.sku_agrees(row.channel_sku, variant.sku, normalised=self.normalised) \
                and row.channel_sku != identity.get("sku"):
            self.open(ConflictKind.SKU_CHANGED, row, variant_id=variant.id, evidence={
                "channel": channel_side(row), "hub": {"sku": variant.sku, "variant_id": variant.id}},
                suggestions=[suggest("keep-channel", why="keep the link and accept the channel's SKU"),
                             suggest("unlink", why="the listing is another item now"),
                             suggest("link", row.channel_sku or "", why="link it to the variant with that SKU")])
        disagree = matching.barcode_disagrees(
            matching.ListingKey(row.external_variant_id, row.channel_sku, row.channel_barcode), variant.id, self.index)
        if disagree and row.channel_barcode != identity.get("barcode"):
            self.open(ConflictKind.SKU_BARCODE_MISMATCH, row, variant_id=variant.id, evidence={
                "channel": channel_side(row),
                "hub": {"linked_to": variant.sku, "barcode_points_to": self.skus(disagree)}},
                suggestions=[suggest("ignore", why="keep the link")]
                + [suggest("link", s, why="the barcode says so (rule barcode)") for s in self.skus(disagree)])

    def run(self, listings: Iterable[canonical.Listing]) -> Applied:
        seen: dict[str, tables.Listing] = {}
        for item in listings:
            seen[item.external_variant_id] = self.upsert(item)
            self.items[item.external_variant_id] = item
        self.session.flush()
        self.result.seen = len(seen)
        self.mark_absent(set(seen))
        keys = [matching.ListingKey(r.external_variant_id, r.channel_sku, r.channel_barcode) for r in seen.values()]
        duplicates = matching.duplicate_skus(keys, normalised=self.normalised)
        for row in seen.values():
            if row.variant_id is None:
                self.match_unmapped(row, duplicates)
            else:
                self.check_mapped(row)
        self.close_stale()
        return self.result


def suggest(resolution: str, argument: str = "", *, why: str = "") -> dict[str, str]:
    return {"resolution": resolution, "argument": argument, "why": why}


def duplicate_suggestions(row: tables.Listing, refresh: Refresh) -> list[dict[str, str]]:
    _, found = refresh.index.sku_matches(row.channel_sku, normalised=True)
    links = [suggest("link", s, why="this listing is the real one") for s in refresh.skus(found)]
    return [*links, suggest("ignore", why="leave it unlinked"),
            suggest("create", why="it is a different item: add it to the catalogue")]


def apply_listings(session: Session, account: tables.Account, listings: Iterable[canonical.Listing], *,
                   normalised: bool, actor: str = "marketsync") -> Applied:
    """Apply one full read of `account`'s listings (see the module docstring)."""
    return Refresh(session, account, normalised=normalised, actor=actor).run(listings)
