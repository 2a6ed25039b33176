"""Matching channel listings to canonical variants: pure, no database, no I/O.

Passes, in order: exact SKU, normalised SKU (case and whitespace; `mapping.normalised_sku`),
barcode (GTIN). A pass links only when it points at exactly one variant and nothing else
disagrees; every other outcome names why, so the caller can open the right conflict instead
of guessing:

- `duplicate`: another listing of the same account carries the same SKU (or normalised SKU);
- `mismatch`: the SKU points at one variant and the barcode at another;
- `ambiguous`: a pass found several variants (e.g. two catalogue SKUs that normalise alike);
- `none`: nothing matched.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from canonical import normalised_sku


class Outcome(StrEnum):
    SKU = "sku"
    NORMALISED_SKU = "normalised_sku"
    BARCODE = "barcode"
    DUPLICATE = "duplicate"
    MISMATCH = "mismatch"
    AMBIGUOUS = "ambiguous"
    NONE = "none"


LINKING = (Outcome.SKU, Outcome.NORMALISED_SKU, Outcome.BARCODE)


@dataclass(frozen=True)
class VariantKey:
    """What matching needs to know about a canonical variant."""

    id: int
    sku: str
    barcode: str | None = None


@dataclass(frozen=True)
class ListingKey:
    """What matching needs to know about a channel listing."""

    external_variant_id: str
    sku: str | None
    barcode: str | None = None


@dataclass(frozen=True)
class Match:
    outcome: Outcome
    variant_id: int | None = None
    # Variant ids each side pointed at, for the conflict's evidence.
    by_sku: tuple[int, ...] = ()
    by_barcode: tuple[int, ...] = ()
    duplicates: tuple[str, ...] = ()

    @property
    def links(self) -> bool:
        return self.outcome in LINKING


@dataclass
class CatalogIndex:
    """Variants indexed by exact SKU, normalised SKU and barcode.

    A normalised SKU or barcode most variants hold alone maps to that variant's id, and only a
    shared one to a list (`_put`): a list per key cost about 180 bytes a variant in a large
    catalogue's index."""

    by_sku: dict[str, int] = field(default_factory=dict)
    by_normalised: dict[str, int | list[int]] = field(default_factory=dict)
    by_barcode: dict[str, int | list[int]] = field(default_factory=dict)
    skus: dict[int, str] = field(default_factory=dict)

    @classmethod
    def build(cls, variants: Iterable[VariantKey]) -> CatalogIndex:
        index = cls()
        for variant in variants:
            index.add(variant)
        return index

    def add(self, variant: VariantKey) -> None:
        self.by_sku[variant.sku] = variant.id
        _put(self.by_normalised, normalised_sku(variant.sku), variant.id)
        if variant.barcode:
            _put(self.by_barcode, variant.barcode, variant.id)
        self.skus[variant.id] = variant.sku

    def sku_matches(self, sku: str | None, *, normalised: bool) -> tuple[Outcome, tuple[int, ...]]:
        """(pass, variant ids) for a SKU: the exact match, else the normalised candidates."""
        if not sku:
            return Outcome.NONE, ()
        if sku in self.by_sku:
            return Outcome.SKU, (self.by_sku[sku],)
        if normalised:
            found = _ids(self.by_normalised.get(normalised_sku(sku)))
            if found:
                return Outcome.NORMALISED_SKU, found
        return Outcome.NONE, ()

    def barcode_matches(self, barcode: str | None) -> tuple[int, ...]:
        return _ids(self.by_barcode.get(barcode)) if barcode else ()


def _put(index: dict[str, int | list[int]], key: str, variant_id: int) -> None:
    found = index.get(key)
    if found is None:
        index[key] = variant_id
    elif isinstance(found, list):
        found.append(variant_id)
    else:
        index[key] = [found, variant_id]


def _ids(found: int | list[int] | None) -> tuple[int, ...]:
    """The sorted distinct ids of an index entry."""
    if found is None:
        return ()
    return (found,) if isinstance(found, int) else tuple(sorted(set(found)))


def sku_key(sku: str | None, *, normalised: bool) -> str | None:
    """The key duplicates are counted by: the SKU, or its normalised form when that is on."""
    if not sku:
        return None
    return normalised_sku(sku) if normalised else sku


def duplicate_skus(listings: Iterable[ListingKey], *, normalised: bool) -> dict[str, tuple[str, ...]]:
    """Duplicate SKU keys of one account → the external variant ids that carry them."""
    listings = list(listings)
    counts = Counter(k for k in (sku_key(item.sku, normalised=normalised) for item in listings) if k)
    result: dict[str, list[str]] = defaultdict(list)
    for item in listings:
        key = sku_key(item.sku, normalised=normalised)
        if key and counts[key] > 1:
            result[key].append(item.external_variant_id)
    return {key: tuple(ids) for key, ids in result.items()}


def match_listing(listing: ListingKey, index: CatalogIndex, *, normalised: bool,
                  duplicates: dict[str, tuple[str, ...]] | None = None) -> Match:
    """Which variant `listing` is, or why that cannot be said without guessing."""
    by_barcode = index.barcode_matches(listing.barcode)
    key = sku_key(listing.sku, normalised=normalised)
    if key and duplicates and key in duplicates:
        others = tuple(i for i in duplicates[key] if i != listing.external_variant_id)
        return Match(Outcome.DUPLICATE, by_barcode=by_barcode, duplicates=others)
    sku_pass, by_sku = index.sku_matches(listing.sku, normalised=normalised)
    if len(by_sku) > 1:
        return Match(Outcome.AMBIGUOUS, by_sku=by_sku, by_barcode=by_barcode)
    if by_sku:
        if by_barcode and by_sku[0] not in by_barcode:
            return Match(Outcome.MISMATCH, by_sku=by_sku, by_barcode=by_barcode)
        return Match(sku_pass, by_sku[0], by_sku=by_sku, by_barcode=by_barcode)
    if len(by_barcode) == 1:
        return Match(Outcome.BARCODE, by_barcode[0], by_barcode=by_barcode)
    if len(by_barcode) > 1:
        return Match(Outcome.AMBIGUOUS, by_barcode=by_barcode)
    return Match(Outcome.NONE)


def barcode_disagrees(listing: ListingKey, linked_variant_id: int, index: CatalogIndex) -> tuple[int, ...]:
    """For a mapped listing: the other variants its barcode points at (empty when it agrees)."""
    found = index.barcode_matches(listing.barcode)
    if not found or linked_variant_id in found:
        return ()
    return found


def sku_agrees(channel_sku: str | None, variant_sku: str, *, normalised: bool) -> bool:
    """True when a mapped listing's SKU still names its variant."""
    if channel_sku is None:
        return False
    if channel_sku == variant_sku:
        return True
    return normalised and normalised_sku(channel_sku) == normalised_sku(variant_sku)
