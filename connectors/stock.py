"""Stock writes: how a platform takes a quantity (its write mode) and what it answers (a result).

A connector declares one `StockWriteMode`; the engine expresses each desired quantity in it:

- `ABSOLUTE`      set the quantity (WooCommerce). `StockUpdate.quantity` is the number to show.
- `ABSOLUTE_CAS`  set it only if the channel still shows `compare_quantity` (Shopify
                  `changeFromQuantity`); a mismatch answers `stale` with the observed quantity.
- `DELTA`         add `delta` (negative: subtract), applied exactly once under `idempotency_id`
                  (Kuaishou, Douyin incremental, WeChat shop). The engine computes the delta from the
                  quantity the hub last saw acknowledged and keeps sending the same (delta, id) until
                  it is answered, so a retry after a lost answer never applies twice where the platform
                  honours the id. `quantity` still says where the engine expects the channel to end.

Every update gets exactly one result, matched by `listing_ref`:

- `applied(quantity)`   the platform holds the new number (its own figure when it answers one);
- `stale(observed)`     CAS only: nothing written, the channel showed `observed`;
- `rejected(reason)`    refused for this item (platform-held stock, presale item, bad id…); not
                        retried, recorded with the reason. Transient trouble is raised, not returned;
- `submitted(handle)`   accepted for later processing (async platforms): not acknowledged until
                        `Connector.stock_write_status` reports it applied or rejected.

Nothing counts as acknowledged until it is applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StockWriteMode(StrEnum):
    ABSOLUTE = "absolute"
    ABSOLUTE_CAS = "absolute_cas"
    DELTA = "delta"


class WriteStatus(StrEnum):
    APPLIED = "applied"
    STALE = "stale"
    REJECTED = "rejected"
    SUBMITTED = "submitted"


@dataclass(frozen=True)
class StockUpdate:
    """One listing's stock at one channel location, expressed in the connector's write mode.

    `listing_ref` comes back in the result. `quantity` is the number the channel should show;
    `compare_quantity` is set for ABSOLUTE_CAS, `delta` and `idempotency_id` for DELTA.
    """

    listing_ref: str
    external_variant_id: str
    external_product_id: str
    external_inventory_item_id: str | None
    location_external_id: str | None
    quantity: int
    compare_quantity: int | None = None
    delta: int | None = None
    idempotency_id: str | None = None


@dataclass(frozen=True)
class StockWriteResult:
    """What the platform did with one `StockUpdate` (build with the class methods)."""

    listing_ref: str
    status: WriteStatus
    quantity: int | None = None           # applied: the channel's number afterwards, when it says
    observed_quantity: int | None = None  # stale: what the channel showed
    reason: str | None = None             # rejected: the platform's reason
    handle: str | None = None             # submitted: what `stock_write_status` is asked about

    @classmethod
    def applied(cls, listing_ref: str, quantity: int | None = None) -> StockWriteResult:
        return cls(listing_ref, WriteStatus.APPLIED, quantity=quantity)

    @classmethod
    def stale(cls, listing_ref: str, observed: int) -> StockWriteResult:
        return cls(listing_ref, WriteStatus.STALE, observed_quantity=observed)

    @classmethod
    def rejected(cls, listing_ref: str, reason: str) -> StockWriteResult:
        return cls(listing_ref, WriteStatus.REJECTED, reason=reason)

    @classmethod
    def submitted(cls, listing_ref: str, handle: str) -> StockWriteResult:
        return cls(listing_ref, WriteStatus.SUBMITTED, handle=handle)

    @property
    def ok(self) -> bool:
        return self.status is WriteStatus.APPLIED


@dataclass(frozen=True)
class SubmittedWrite:
    """A write the platform accepted for later processing, as the engine asks about it again."""

    listing_ref: str
    handle: str
    update: StockUpdate
