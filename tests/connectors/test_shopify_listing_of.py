"""`normalise.listing_of` (the listing of a variant read with its product in the catalogue's one bulk
read) builds the listing from the already normalised variant without validating it again: property,
it gives what `normalise.listing` gives for the same payloads, or a `CanonicalError` where that does,
whatever hostile values the payloads hold."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import canonical
from canonical import CanonicalError
from connectors.shopify import normalise
from sandbox.catalogue import gtin13
from tests.connectors.test_normalise_properties import HOSTILE, mutate, paths

VARIANT = {"id": "gid://shopify/ProductVariant/11", "title": "S / Red", "sku": "MS-0001-1", "barcode": gtin13(101),
           "price": "19.90", "compareAtPrice": "24.90", "updatedAt": "2026-11-02T10:00:00Z",
           "selectedOptions": [{"name": "Size", "value": "S"}],
           "inventoryItem": {"id": "gid://shopify/InventoryItem/21", "tracked": True,
                             "inventoryLevel": {"quantities": [{"name": "available", "quantity": 7}]}}}
PRODUCT = {"id": "gid://shopify/Product/1", "title": "T-shirt", "status": "ACTIVE", "updatedAt": "2026-11-01T09:00:00Z",
           "descriptionHtml": "", "vendor": "", "productType": "", "tags": []}


def outcome(function: Any, *args: Any, **kwargs: Any) -> canonical.Listing | str:
    try:
        return function(*args, **kwargs)
    except CanonicalError:
        return "skipped"


def test_the_listing_of_a_normalised_variant_is_the_listing_read_apart() -> None:
    variant = normalise.variant(VARIANT, currency="EUR")
    built = normalise.listing_of(VARIANT, PRODUCT, variant, account="shop", currency="EUR")
    assert built == normalise.listing({**VARIANT, "product": PRODUCT}, account="shop", currency="EUR")
    assert (built.quantity, built.price, built.status) == (7, canonical.Money.parse("19.90", "EUR"),
                                                           canonical.ProductStatus.ACTIVE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(data=st.data())
def test_hostile_payloads_give_the_same_listing_or_the_same_skip(data: st.DataObject) -> None:
    raw = {"variant": copy.deepcopy(VARIANT), "product": copy.deepcopy(PRODUCT)}
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from([p for p in paths(raw) if len(p) > 1]))  # inside the two payloads
        operation = data.draw(st.sampled_from(["replace", "replace", "delete", "extra"]))
        try:
            mutate(raw, path, operation, data.draw(HOSTILE))
        except (KeyError, IndexError, TypeError):
            continue
    variant_raw, product_raw = raw["variant"], raw["product"]
    try:
        variant = normalise.variant(variant_raw, currency="EUR")
    except CanonicalError:
        variant = None
    except Exception:  # the connector's variant read fails on it alike before and after
        assume(False)
        return
    apart = outcome(normalise.listing, {**variant_raw, "product": product_raw}, account="shop", currency="EUR")
    together = outcome(normalise.listing_of, variant_raw, product_raw, variant, account="shop", currency="EUR")
    assert together == apart
