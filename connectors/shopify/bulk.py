"""Large reads as one bulk query operation instead of hundreds of pages.

Shopify runs a `bulkOperationRunQuery` in the background and leaves the result as a JSONL
file: one line per node, a nested connection's nodes after their parent with `__parentId`.
`export` starts one, polls `bulkOperation(id:)` until it ends, and streams the file line by
line (the catalogue is never held whole). The file's URL is a signed storage URL: it is
fetched without the shop's access token. One bulk query runs per shop at a time; when another
is running (`OPERATION_IN_PROGRESS`) the export waits for it to finish and starts its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from connectors.errors import ConnectorError
from connectors.shopify.client import GraphQLClient

# A catalogue at least this large is read in bulk (below it, pages cost fewer calls and no wait).
BULK_THRESHOLD = 2_500
POLL_START_S, POLL_MAX_S = 0.2, 2.0
TIMEOUT_S = 3_600.0

RUN = """
mutation BulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

STATUS = """
query BulkStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url }
}
"""

CURRENT = """
query BulkCurrent { currentBulkOperation(type: QUERY) { id status } }
"""

VARIANT_COUNT = """
query VariantCount($query: String, $limit: Int) {
  productVariantsCount(query: $query, limit: $limit) { count precision }
}
"""

TERMINAL = {"COMPLETED", "FAILED", "CANCELED", "EXPIRED"}


def large_catalogue(client: GraphQLClient, query: str | None) -> bool:
    """Whether the variants matching `query` are at least `BULK_THRESHOLD` (one cheap call)."""
    data = client.execute(VARIANT_COUNT, {"query": query, "limit": BULK_THRESHOLD}, what="catalogue size")
    counted = data.get("productVariantsCount") or {}
    return int(counted.get("count") or 0) >= BULK_THRESHOLD


def export(client: GraphQLClient, query: str, *, what: str, sleep: Callable[[float], None] = time.sleep,
           download: Callable[[str], Iterator[str]] | None = None) -> Iterator[dict[str, Any]]:
    """The JSONL objects of bulk query `query`, in file order."""
    operation = _start(client, query, what=what, sleep=sleep)
    delay, waited = POLL_START_S, 0.0
    while operation.get("status") not in TERMINAL or "url" not in operation:  # the start answer has no url
        if waited > TIMEOUT_S:
            raise ConnectorError(client.where(what), f"bulk operation {operation['id']} still "
                                                     f"{operation.get('status')} after {TIMEOUT_S:.0f} s")
        if operation.get("status") not in TERMINAL:
            sleep(delay)
            waited += delay
            delay = min(POLL_MAX_S, delay * 1.5)
        operation = client.execute(STATUS, {"id": operation["id"]}, what=what).get("bulkOperation") or {}
    if operation["status"] != "COMPLETED":
        raise ConnectorError(client.where(what), f"bulk operation {operation['id']} ended {operation['status']}"
                                                 f" ({operation.get('errorCode') or 'no error code'}); run it again")
    if not operation.get("url"):
        return  # nothing matched: Shopify writes no file
    for line in (download or _download)(str(operation["url"])):
        if line.strip():
            yield json.loads(line)


def _start(client: GraphQLClient, query: str, *, what: str, sleep: Callable[[float], None]) -> dict[str, Any]:
    waited = 0.0
    while True:
        payload = client.execute(RUN, {"query": query}, what=what)["bulkOperationRunQuery"]
        errors = payload.get("userErrors") or []
        if not errors:
            return dict(payload["bulkOperation"])
        if any(e.get("code") != "OPERATION_IN_PROGRESS" for e in errors) or waited > TIMEOUT_S:
            messages = "; ".join(str(e.get("message")) for e in errors)
            raise ConnectorError(client.where(what), f"Shopify refused the bulk query: {messages}")
        current = client.execute(CURRENT, what=what).get("currentBulkOperation") or {}
        if current.get("status") not in TERMINAL:
            sleep(POLL_MAX_S)
            waited += POLL_MAX_S


def _download(url: str) -> Iterator[str]:
    with httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0)) as http, http.stream("GET", url) as response:
        if response.status_code != 200:
            raise ConnectorError(f"shopify bulk file {url.split('?', 1)[0]}",
                                 f"download failed with HTTP {response.status_code}; run it again")
        yield from response.iter_lines()


def nested(lines: Iterator[dict[str, Any]], child_key: str) -> Iterator[dict[str, Any]]:
    """Root objects with their nested connection's lines gathered under `child_key` ({"nodes": […]})
    — the shape a paged query returns, so the same normaliser reads both."""
    current: dict[str, Any] | None = None
    for line in lines:
        if "__parentId" in line:
            if current is None or line["__parentId"] != current.get("id"):
                raise ConnectorError("shopify bulk file", "a nested line came before its parent; run it again")
            current[child_key]["nodes"].append({k: v for k, v in line.items() if k != "__parentId"})
            continue
        if current is not None:
            yield current
        current = {**line, child_key: {"nodes": [], "pageInfo": {"hasNextPage": False}}}
    if current is not None:
        yield current


def _query_argument(search: str | None) -> str:
    return f"(query: {json.dumps(search)})" if search else ""


def products_document(search: str | None) -> str:
    """The Products read as a bulk query (the same fields, variants nested)."""
    return _products_bulk(search, "id tracked")


def catalogue_document(search: str | None, location_id: str) -> str:
    """Products with their variants and what a listing needs of each (`available` at the stock
    location): the catalogue and the account's listings in one bulk query."""
    available = 'quantities(names: ["available"]) { name quantity }'
    return _products_bulk(search, f"id tracked inventoryLevel(locationId: {json.dumps(location_id)}) {{ {available} }}")


def _products_bulk(search: str | None, inventory_item: str) -> str:
    return f"""{{
  products{_query_argument(search)} {{ edges {{ node {{
    id title descriptionHtml vendor productType tags status updatedAt
    variants {{ edges {{ node {{
      id title sku barcode price compareAtPrice updatedAt
      selectedOptions {{ name value }}
      inventoryItem {{ {inventory_item} }}
    }} }} }}
  }} }} }}
}}"""


def listings_document(search: str | None, location_id: str) -> str:
    """The Listings read as a bulk query (one line per variant)."""
    return f"""{{
  productVariants{_query_argument(search)} {{ edges {{ node {{
    id title sku barcode price compareAtPrice updatedAt
    product {{ id title status updatedAt }}
    inventoryItem {{
      id tracked
      inventoryLevel(locationId: {json.dumps(location_id)}) {{ quantities(names: ["available"]) {{ name quantity }} }}
    }}
  }} }} }}
}}"""


def stock_levels_document(location_id: str) -> str:
    """The StockLevels read of one location as a bulk query."""
    return f"""{{
  location(id: {json.dumps(location_id)}) {{
    id
    inventoryLevels {{ edges {{ node {{
      quantities(names: ["available", "on_hand", "committed"]) {{ name quantity }}
      item {{ id sku }}
    }} }} }}
  }}
}}"""
