"""Bulk query operations in the Shopify simulator (bulkOperationRunQuery, polling, the JSONL
file) and the connector's bulk reads of a large catalogue, over real HTTP on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.base import AccountConfig
from connectors.http import HttpPolicy
from connectors.shopify import ShopifyConnector
from connectors.shopify import bulk as connector_bulk
from sandbox.catalogue import SeedSpec
from sandbox.shopify import ShopifySandbox
from sandbox.shopify import bulk as sim_bulk

RUN = """mutation Run($q: String!) { bulkOperationRunQuery(query: $q) {
  bulkOperation { id status } userErrors { field message code } } }"""
NESTED = "{ products { edges { node { id title variants { edges { node { id sku } } } } } } }"


@pytest.fixture(scope="module")
def shop() -> Iterator[ShopifySandbox]:
    with ShopifySandbox(spec=SeedSpec(products=3, variants=2, stock=9)) as sandbox:
        yield sandbox


def gql(shop: ShopifySandbox, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(shop.graphql_url, json={"query": query, "variables": variables},
                          headers={"X-Shopify-Access-Token": shop.access_token})
    assert response.status_code == 200
    return dict(response.json())


def finished(shop: ShopifySandbox, operation_id: str) -> dict[str, Any]:
    for _ in range(200):
        found = gql(shop, "query($id: ID!) { bulkOperation(id: $id) { id status errorCode objectCount "
                          "rootObjectCount fileSize url } }", id=operation_id)["data"]["bulkOperation"]
        if found["status"] in ("COMPLETED", "FAILED"):
            return dict(found)
        time.sleep(0.02)
    raise AssertionError("the bulk operation never finished")


def test_a_bulk_query_exports_every_node_as_jsonl_with_parent_ids(shop: ShopifySandbox) -> None:
    started = gql(shop, RUN, q=NESTED)["data"]["bulkOperationRunQuery"]
    assert started["userErrors"] == [] and started["bulkOperation"]["status"] in ("CREATED", "RUNNING", "COMPLETED")
    done = finished(shop, started["bulkOperation"]["id"])
    assert (done["status"], done["objectCount"], done["rootObjectCount"]) == ("COMPLETED", "9", "3")
    body = httpx.get(done["url"])  # a signed storage URL: no access token
    assert body.status_code == 200 and int(done["fileSize"]) == len(body.content)
    lines = [json.loads(line) for line in body.text.splitlines()]
    assert [("__parentId" in line) for line in lines] == [False, True, True] * 3
    assert lines[1]["__parentId"] == lines[0]["id"] and "variants" not in lines[0]
    assert sorted(line["sku"] for line in lines if "sku" in line) == [f"MS-000{p}-{v}" for p in (1, 2, 3)
                                                                     for v in (1, 2)]
    current = gql(shop, "{ currentBulkOperation { id status } }")["data"]["currentBulkOperation"]
    assert current == {"id": started["bulkOperation"]["id"], "status": "COMPLETED"}


@pytest.mark.parametrize(("query", "message"), [
    ("{ shop { name } }", "at least one connection"),
    ("{ products { edges { node { title variants { edges { node { sku } } } } } } }", "must select the 'id'"),
    ("{ products { edges { node { id variants { edges { node { id inventoryItem { id inventoryLevels { edges { "
     "node { id location { id } } } } } } } } } } } }", "nesting depth greater than 2"),
    ("{ products { nodes { id nope } } }", "nope"),
])
def test_a_query_shopify_would_refuse_is_a_user_error(shop: ShopifySandbox, query: str, message: str) -> None:
    refused = gql(shop, RUN, q=query)["data"]["bulkOperationRunQuery"]
    assert refused["bulkOperation"] is None
    assert refused["userErrors"][0]["code"] == "INVALID" and message in refused["userErrors"][0]["message"]


def test_one_bulk_query_at_a_time(shop: ShopifySandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = sim_bulk.run

    def slow(operation: Any, execute: Any) -> None:
        operation.status = "RUNNING"
        release.wait(10)
        real(operation, execute)

    monkeypatch.setattr(sim_bulk, "run", slow)
    first = gql(shop, RUN, q=NESTED)["data"]["bulkOperationRunQuery"]["bulkOperation"]
    second = gql(shop, RUN, q=NESTED)["data"]["bulkOperationRunQuery"]
    assert second["bulkOperation"] is None and second["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
    release.set()
    assert finished(shop, first["id"])["status"] == "COMPLETED"


def test_a_missing_file_is_a_404() -> None:
    with ShopifySandbox(spec=SeedSpec(products=1, variants=1)) as empty:
        assert httpx.get(f"{empty.url}/_bulk/99.jsonl").status_code == 404


def connector_for(shop: ShopifySandbox) -> ShopifyConnector:
    account = AccountConfig("bulk", "shopify", {"shop": shop.shop_domain, "base_url": shop.url, "page_size": "2"},
                            {"access_token": shop.access_token, "client_secret": shop.client_secret})
    return ShopifyConnector(account, policy=HttpPolicy(max_attempts=2, base_backoff_s=0.01, max_backoff_s=0.05))


def test_the_connector_reads_a_large_catalogue_in_bulk_with_the_same_result(
        shop: ShopifySandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    connector = connector_for(shop)
    try:
        paged = (list(connector.products()), list(connector.listings()), list(connector.stock_levels()))
        monkeypatch.setattr(connector_bulk, "BULK_THRESHOLD", 3)  # 6 variants count as a large catalogue
        shop.reset_counters()
        in_bulk = (list(connector.products()), list(connector.listings()), list(connector.stock_levels()))
    finally:
        connector.close()
    assert in_bulk == paged and len(paged[1]) == 6 and {level.available for level in paged[2]} == {9}
    operations = shop.request_counts()["by_operation"]
    assert operations["BulkRun"] == 3 and "Listings" not in operations and "Products" not in operations


def test_a_large_catalogue_is_read_once_with_its_listings(shop: ShopifySandbox,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`catalogue()` in bulk: one bulk query gives the products and the listings the two reads give,
    each listing after its product."""
    connector = connector_for(shop)
    try:
        products, listings = list(connector.products()), list(connector.listings())
        monkeypatch.setattr(connector_bulk, "BULK_THRESHOLD", 3)
        shop.reset_counters()
        records = list(connector.catalogue())
    finally:
        connector.close()
    read_products = [r for r in records if not isinstance(r, type(listings[0]))]
    read_listings = [r for r in records if isinstance(r, type(listings[0]))]
    assert read_products == products and len(listings) == 6
    assert sorted(read_listings, key=lambda item: item.external_variant_id) == \
        sorted(listings, key=lambda item: item.external_variant_id)
    assert {item.quantity for item in read_listings} == {9}
    product_of = {v.sku: n for n, p in enumerate(read_products) for v in p.variants}
    seen = 0
    for record in records:  # each listing comes after its product
        if isinstance(record, type(listings[0])):
            assert record.sku is not None and product_of[record.sku] < seen
        else:
            seen += 1
    operations = shop.request_counts()["by_operation"]
    assert operations["BulkRun"] == 1 and "Listings" not in operations and "Products" not in operations
