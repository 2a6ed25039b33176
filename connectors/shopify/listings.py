"""Creating and changing Shopify listings (products and their variants).

A new listing is `productCreate` (the product and its one option) followed by
`productVariantsBulkCreate` with `REMOVE_STANDALONE_VARIANT`, so the product ends up with
exactly the canonical variants. A change is `productUpdate` for product fields (title, status)
and `productVariantsBulkUpdate` for variant fields (price, compare-at price, SKU, barcode).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import canonical
from connectors.errors import Rejected
from connectors.shopify import normalise, queries
from connectors.shopify.client import GraphQLClient
from connectors.shopify.writers import user_errors_checked


def create(client: GraphQLClient, product: canonical.Product) -> list[str]:
    """Create `product` with its variants; returns the new variant ids in order."""
    if not product.variants:
        raise Rejected(client.where(f"product {product.title!r}"), "a Shopify product needs at least one variant")
    option = normalise.option_name(product)
    what = f"new product {product.title!r}"
    data = client.execute(queries.PRODUCT_CREATE, {"product": normalise.product_input(product, option_name=option)},
                          what=what)
    created = user_errors_checked(client, data, "productCreate", what)["product"]
    variants = [normalise.variant_input(v, option=option) for v in product.variants]
    data = client.execute(queries.VARIANTS_BULK_CREATE, {"productId": created["id"], "variants": variants},
                          what=f"variants of product {created['id']}")
    payload = user_errors_checked(client, data, "productVariantsBulkCreate", f"variants of product {created['id']}")
    return [str(v["id"]) for v in payload.get("productVariants") or []]


def update(client: GraphQLClient, listing: canonical.Listing, changes: Mapping[str, Any]) -> None:
    """Apply `changes` (listing field → new value) to the product and/or the variant."""
    what = f"variant {listing.external_variant_id}"
    try:
        product_fields, variant_fields = normalise.listing_changes(listing, changes)
    except ValueError as exc:
        raise Rejected(client.where(what), str(exc)) from None
    if product_fields:
        data = client.execute(queries.PRODUCT_UPDATE,
                              {"product": {"id": listing.external_product_id, **product_fields}}, what=what)
        user_errors_checked(client, data, "productUpdate", what)
    if variant_fields:
        variables = {"productId": listing.external_product_id,
                     "variants": [{"id": listing.external_variant_id, **variant_fields}]}
        data = client.execute(queries.VARIANTS_BULK_UPDATE, variables, what=what)
        user_errors_checked(client, data, "productVariantsBulkUpdate", what)
