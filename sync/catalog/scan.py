"""The listing refresh's reads of the database, a chunk at a time, so its memory stays flat.

A refresh marks each listing it stores with the time it was seen (`last_seen_at`), so what one
refresh saw is a query, not a set held in memory. After the channel was read, `seen_chunks`
walks the account's seen listings in id order a chunk at a time, and `chunk_index` loads just the
variants those listings could match (by exact SKU, by barcode, and those already linked); a
normalised-SKU lookup that misses there needs the whole catalogue (`catalog_index`), which a
refresh builds only then. `duplicate_skus` finds the SKU keys several seen listings share with
one 64-bit hash per listing (sorted, not a set of strings), then reads only the candidates again.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from mapping import matching
from store import tables
from store.chunks import among, chunked

CHUNK = 5_000  # seen listings matched, linked and settled at a time


@dataclass(frozen=True, slots=True)
class Row:
    """What the refresh needs of a stored listing (a plain row; ORM objects only where a conflict
    or an absent listing needs one)."""

    id: int
    external_variant_id: str
    sku: str | None
    barcode: str | None
    variant_id: int | None
    status: str


def _seen(account_id: int, since: datetime, *columns: Any) -> Select[Any]:
    return select(*columns).where(tables.Listing.account_id == account_id, tables.Listing.last_seen_at >= since)


def seen_chunks(session: Session, account_id: int, since: datetime, size: int | None = None) -> Iterator[list[Row]]:
    """The listings of `account_id` seen since `since`, `size` (`CHUNK`) at a time in id order
    (keyset: each chunk is read fresh, so links made to an earlier chunk are in place)."""
    size, last = size or CHUNK, 0
    while True:
        rows = [Row(int(r.id), r.external_variant_id, r.channel_sku, r.channel_barcode, r.variant_id, r.status)
                for r in session.execute(_seen(
                    account_id, since, tables.Listing.id, tables.Listing.external_variant_id,
                    tables.Listing.channel_sku, tables.Listing.channel_barcode, tables.Listing.variant_id,
                    tables.Listing.status).where(tables.Listing.id > last).order_by(tables.Listing.id).limit(size))]
        if not rows:
            return
        yield rows
        last = rows[-1].id


def count_seen(session: Session, account_id: int, since: datetime) -> int:
    return int(session.scalar(_seen(account_id, since, func.count(tables.Listing.id))) or 0)


def absent_ids(session: Session, account_id: int, since: datetime) -> list[int]:
    """Listings of the account not seen since `since` and not already marked deleted."""
    return [int(i) for i in session.scalars(select(tables.Listing.id).where(
        tables.Listing.account_id == account_id, tables.Listing.status != "deleted",
        or_(tables.Listing.last_seen_at.is_(None), tables.Listing.last_seen_at < since))
        .order_by(tables.Listing.id))]


def _variant_keys(session: Session, column: Any, values: Iterable[Any]) -> Iterator[matching.VariantKey]:
    for chunk in chunked(sorted(set(values))):
        for i, sku, barcode in session.execute(select(tables.Variant.id, tables.Variant.sku, tables.Variant.barcode)
                                               .where(among(session, column, chunk))):
            yield matching.VariantKey(int(i), sku, barcode)


def chunk_index(session: Session, rows: Sequence[Row]) -> matching.CatalogIndex:
    """The variants `rows` can match: every variant with one of their SKUs (exactly) or barcodes,
    and the ones they are linked to. Exact and barcode lookups in it equal the whole catalogue's."""
    found: dict[int, matching.VariantKey] = {}
    for column, values in ((tables.Variant.sku, (r.sku for r in rows if r.sku)),
                           (tables.Variant.barcode, (r.barcode for r in rows if r.barcode)),
                           (tables.Variant.id, (r.variant_id for r in rows if r.variant_id is not None))):
        found.update((key.id, key) for key in _variant_keys(session, column, values))
    return matching.CatalogIndex.build(found[i] for i in sorted(found))


def barcodes_by_sku(session: Session, skus: Iterable[str]) -> dict[str, str | None]:
    """SKU → barcode of the variants with exactly these SKUs."""
    return {key.sku: key.barcode for key in _variant_keys(session, tables.Variant.sku, skus)}


def catalog_index(session: Session) -> matching.CatalogIndex:
    """Every variant's id, SKU and barcode (plain rows, not ORM objects: this holds the whole catalogue)."""
    return matching.CatalogIndex.build(matching.VariantKey(int(i), sku, barcode) for i, sku, barcode in
                                       session.execute(select(tables.Variant.id, tables.Variant.sku,
                                                              tables.Variant.barcode)))


def variant_skus(session: Session, ids: Iterable[int]) -> dict[int, str]:
    return {key.id: key.sku for key in _variant_keys(session, tables.Variant.id, ids)}


def _keyed(session: Session, account_id: int, since: datetime, normalised: bool) -> Iterator[tuple[str, str]]:
    """(SKU key, external variant id) of every seen listing with a SKU, in id order."""
    for rows in seen_chunks(session, account_id, since):
        for row in rows:
            key = matching.sku_key(row.sku, normalised=normalised)
            if key:
                yield key, row.external_variant_id


def sku_hash(sku: str | None, *, normalised: bool) -> int | None:
    """What `duplicate_skus` sorts for a listing with this SKU (None: no SKU key)."""
    key = matching.sku_key(sku, normalised=normalised)
    return hash(key) if key else None


def duplicate_skus(session: Session, account_id: int, since: datetime, *, normalised: bool,
                   hashes: array[int] | None = None) -> dict[str, tuple[str, ...]]:
    """`matching.duplicate_skus` over the seen listings, holding 8 bytes a listing: the keys' hashes
    are sorted to find repeated ones, and only listings with a repeated hash are read again.
    `hashes`: the seen listings' `sku_hash`es as the refresh stored them (a listing stored twice
    only costs the second read), instead of reading every seen listing once more for them."""
    if hashes is None:
        hashes = array("q", (hash(key) for key, _ in _keyed(session, account_id, since, normalised)))
    ordered = sorted(hashes)
    del hashes
    repeated = {a for a, b in pairwise(ordered) if a == b}
    del ordered
    if not repeated:
        return {}
    result: dict[str, list[str]] = defaultdict(list)
    for key, external_id in _keyed(session, account_id, since, normalised):
        if hash(key) in repeated:
            result[key].append(external_id)
    return {key: tuple(ids) for key, ids in result.items() if len(ids) > 1}
