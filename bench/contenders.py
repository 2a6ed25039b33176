"""What a merchant would otherwise run to push stock, each against a simulator on loopback.

- `shopify_rest_per_sku`: Shopify's official `ShopifyAPI` package, `InventoryLevel.set` per SKU
  (REST `POST inventory_levels/set.json`), sleeping `Retry-After` on a 429 and trying again.
- `graphql_per_sku`: one `inventorySetQuantities` mutation per SKU over plain HTTP, waiting for
  the bucket to refill when Shopify answers THROTTLED.
- `woocommerce_put_per_product`: the official `woocommerce` package, `PUT products/<id>` per
  product, signed with OAuth 1.0a as the package does on a plain-http URL (the simulator checks
  OAuth 1.0a signatures, as WooCommerce does over http).
Each takes [(ids…, quantity)] and returns the wall seconds it took.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

SET_QUANTITIES = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { field message } }
}"""


def shopify_rest_per_sku(info: dict[str, Any], items: Sequence[tuple[int, int, int]]) -> float:
    """items: (location id, inventory item id, available)."""
    import shopify
    from pyactiveresource.connection import ClientError

    shopify.ShopifyResource.clear_session()
    shopify.ShopifyResource.set_site(f"{info['url']}/admin/api/{info['api_version']}")
    shopify.ShopifyResource.set_headers({"X-Shopify-Access-Token": info["access_token"]})
    started = time.perf_counter()
    for location, item, available in items:
        while True:
            try:
                shopify.InventoryLevel.set(location, item, available)
                break
            except ClientError as error:
                if getattr(error.response, "code", None) != 429:
                    raise
                time.sleep(float(error.response.headers.get("Retry-After", "1")))
    seconds = time.perf_counter() - started
    shopify.ShopifyResource.clear_session()
    return seconds


def graphql_per_sku(info: dict[str, Any], items: Sequence[tuple[str, str, int]], clock_factor: float) -> float:
    """items: (location gid, inventory item gid, available); one mutation each."""
    headers = {"X-Shopify-Access-Token": info["access_token"]}
    started = time.perf_counter()
    with httpx.Client(timeout=60) as http:
        for location, item, available in items:
            variables = {"key": uuid.uuid4().hex,
                         "input": {"name": "available", "reason": "correction",
                                   "quantities": [{"inventoryItemId": item, "locationId": location,
                                                   "quantity": available, "changeFromQuantity": None}]}}
            while True:
                body = http.post(info["graphql_url"], json={"query": SET_QUANTITIES, "variables": variables},
                                 headers=headers).json()
                throttled = any(e.get("extensions", {}).get("code") == "THROTTLED" for e in body.get("errors", []))
                if not throttled:
                    if body.get("errors") or body["data"]["inventorySetQuantities"]["userErrors"]:
                        raise RuntimeError(f"inventorySetQuantities refused: {body}")
                    break
                cost = body["extensions"]["cost"]
                status = cost["throttleStatus"]
                missing = max(0.0, cost["requestedQueryCost"] - status["currentlyAvailable"])
                time.sleep(max(0.01, missing / status["restoreRate"] / clock_factor))
    return time.perf_counter() - started


def woocommerce_put_per_product(info: dict[str, Any], items: Sequence[tuple[int, int]]) -> float:
    """items: (product id, stock quantity)."""
    from woocommerce import API

    api = API(url=info["url"], consumer_key=info["consumer_key"], consumer_secret=info["consumer_secret"],
              version="wc/v3", timeout=60)
    started = time.perf_counter()
    for product, quantity in items:
        while True:
            response = api.put(f"products/{product}", {"stock_quantity": quantity})
            if response.status_code == 429:
                time.sleep(float(response.headers.get("Retry-After", "1")))
            elif not _nonce_reused(response):
                response.raise_for_status()
                break
    return time.perf_counter() - started


def _nonce_reused(response: Any) -> bool:
    """The package draws its nonce from 10⁸ values, so 10,000 requests repeat one in about two runs
    of five (a run failed on it). WooCommerce remembers one nonce per timestamp second and would
    almost never see it; the simulator refuses any reuse within 15 minutes. Sent again (with a new
    nonce; the refused call is counted)."""
    return bool(response.status_code == 401 and "nonce has already been used" in response.text)
