"""The Shopify simulator over real HTTP on loopback: auth, validation, pagination, search,
inventory CAS and idempotency, cost and throttling, REST limits, orders, fulfilment,
webhooks with signatures and retries, and fault injection."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.catalogue import SeedSpec
from sandbox.runtime import ServerThread
from sandbox.shopify import ShopifySandbox, StoreError
from sandbox.shopify.schema import admin_schema

SPEC = SeedSpec(products=5, variants=2, stock=20)
LOCATION_QUERY = "{ locations(first: 5) { nodes { id } } }"


@pytest.fixture(scope="module")
def shopify_schema() -> Any:
    return admin_schema()  # built once per process; every sandbox below reuses it


@pytest.fixture(scope="module")
def shopify_server(shopify_schema: Any) -> Iterator[ShopifySandbox]:
    with ShopifySandbox(spec=SPEC) as sandbox:
        yield sandbox


@pytest.fixture
def shopify(shopify_server: ShopifySandbox) -> ShopifySandbox:
    """The module's sandbox, reseeded with default limits, no faults and no subscriptions."""
    sandbox = shopify_server
    sandbox.faults.scripted.clear()
    sandbox.faults.corrupt_ids = set()
    sandbox.clock.set_factor(1.0)
    sandbox.set_plan("standard")
    sandbox.store.subscriptions.clear()
    sandbox.store.idempotency.clear()
    sandbox.seed(SPEC)
    sandbox.reset_counters()
    return sandbox


def gql(sandbox: ShopifySandbox, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(sandbox.graphql_url, json={"query": query, "variables": variables or {}},
                          headers={"X-Shopify-Access-Token": sandbox.access_token})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def variant_ids(sandbox: ShopifySandbox, sku: str) -> tuple[str, str, str]:
    """(variant gid, inventory item gid, first location gid) for `sku`."""
    query = """query($q: String) { productVariants(first: 1, query: $q) { nodes { id inventoryItem { id } } }
               locations(first: 1) { nodes { id } } }"""
    data = gql(sandbox, query, {"q": f"sku:{sku}"})["data"]
    node = data["productVariants"]["nodes"][0]
    return node["id"], node["inventoryItem"]["id"], data["locations"]["nodes"][0]["id"]


SET_QUANTITIES = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}"""


def set_input(rows: list[tuple[str, str, int, int | None]], name: str = "available") -> dict[str, Any]:
    return {"name": name, "reason": "correction", "referenceDocumentUri": "gid://marketsync/SyncJob/1",
            "quantities": [{"inventoryItemId": i, "locationId": loc, "quantity": q, "changeFromQuantity": c}
                           for i, loc, q, c in rows]}


def test_requests_without_a_valid_token_are_refused(shopify: ShopifySandbox) -> None:
    expected = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    for headers in ({}, {"X-Shopify-Access-Token": "shpat_wrong"}):
        response = httpx.post(shopify.graphql_url, json={"query": "{ shop { name } }"}, headers=headers)
        assert response.status_code == 401
        assert response.json() == expected
    rest = httpx.get(f"{shopify.url}/admin/api/2026-04/products.json")
    assert rest.status_code == 401


def test_a_document_the_schema_rejects_has_errors_and_no_data(shopify: ShopifySandbox) -> None:
    body = gql(shopify, "{ shop { name notAField } }")
    assert "data" not in body
    assert body["errors"][0]["message"] == "Field 'notAField' doesn't exist on type 'Shop'"
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 15}]
    assert body["errors"][0]["extensions"]["code"] == "undefinedField"
    # removed in 2026-04: the CAS input field is changeFromQuantity, not compareQuantity
    old = gql(shopify, 'mutation { inventorySetQuantities(input: {name: "available", reason: "correction", '
                       'quantities: [{inventoryItemId: "gid://shopify/InventoryItem/1", locationId: '
                       '"gid://shopify/Location/1", quantity: 1, compareQuantity: 1}]}) { userErrors { code } } }')
    assert "data" not in old and old["errors"]


def test_products_page_with_opaque_cursors(shopify: ShopifySandbox) -> None:
    query = """query Page($after: String) { products(first: 2, after: $after) {
        edges { cursor node { id title } } pageInfo { hasNextPage endCursor } } }"""
    seen, after, pages = [], None, 0
    while True:
        connection = gql(shopify, query, {"after": after})["data"]["products"]
        pages += 1
        seen += [edge["node"]["title"] for edge in connection["edges"]]
        assert all("gid://" not in edge["cursor"] for edge in connection["edges"])
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == [f"Product {n:04d}" for n in range(1, 6)]


def test_more_than_250_per_page_is_an_error(shopify: ShopifySandbox) -> None:
    body = gql(shopify, "{ products(first: 300) { nodes { id } } }")
    assert body["errors"][0]["path"] == ["products"]
    assert "250" in body["errors"][0]["message"]
    assert body["data"] is None


def test_search_filters_on_sku_status_and_updated_at(shopify: ShopifySandbox) -> None:
    by_sku = gql(shopify, '{ productVariants(first: 10, query: "sku:MS-0002-1") { nodes { sku } } }')
    assert by_sku["data"]["productVariants"]["nodes"] == [{"sku": "MS-0002-1"}]
    products = gql(shopify, "{ products(first: 10) { nodes { id updatedAt } } }")["data"]["products"]["nodes"]
    newest = max(p["updatedAt"] for p in products)
    def count(query: str) -> int:
        found = gql(shopify, "query($q: String) { products(first: 10, query: $q) { nodes { id } } }", {"q": query})
        return len(found["data"]["products"]["nodes"])
    assert count(f"updated_at:>'{newest}'") == 0
    assert count(f"updated_at:>='{newest}'") >= 1
    assert count("updated_at:>'2000-01-01T00:00:00Z'") == 5
    draft = gql(shopify, 'mutation($id: ID!) { productUpdate(product: {id: $id, status: DRAFT}) '
                         '{ product { status } userErrors { message } } }', {"id": products[0]["id"]})
    assert draft["data"]["productUpdate"]["product"]["status"] == "DRAFT"
    assert count("status:draft") == 1 and count("status:active") == 4
    assert count(f"id:{products[0]['id'].rsplit('/', 1)[-1]}") == 1


def test_set_quantities_compare_and_swap(shopify: ShopifySandbox) -> None:
    _, item_a, location = variant_ids(shopify, "MS-0001-1")
    _, item_b, _ = variant_ids(shopify, "MS-0001-2")
    done = gql(shopify, SET_QUANTITIES, {"input": set_input([(item_a, location, 15, 20)]), "key": "cas-1"})
    payload = done["data"]["inventorySetQuantities"]
    assert payload["userErrors"] == []
    changes = payload["inventoryAdjustmentGroup"]["changes"]
    assert {"name": "available", "delta": -5, "quantityAfterChange": 15} in changes
    stale = gql(shopify, SET_QUANTITIES, {"input": set_input([(item_b, location, 9, 20), (item_a, location, 3, 20)]),
                                          "key": "cas-2"})
    errors = stale["data"]["inventorySetQuantities"]["userErrors"]
    assert [e["code"] for e in errors] == ["CHANGE_FROM_QUANTITY_STALE"]
    assert errors[0]["field"] == ["input", "quantities", "1", "changeFromQuantity"]
    assert shopify.quantities("MS-0001-1")[location]["available"] == 15
    assert shopify.quantities("MS-0001-2")[location]["available"] == 20  # the fresh row was not applied either
    assert [w["sku"] for w in shopify.writes.entries() if w["kind"] == "inventorySetQuantities"] == ["MS-0001-1"]


def test_an_idempotency_key_applies_a_mutation_once(shopify: ShopifySandbox) -> None:
    _, item, location = variant_ids(shopify, "MS-0003-1")
    adjust = """mutation($item: ID!, $loc: ID!, $delta: Int!) {
      inventoryAdjustQuantities(input: {name: "available", reason: "correction",
        changes: [{inventoryItemId: $item, locationId: $loc, delta: $delta, changeFromQuantity: null}]})
        @idempotent(key: "adjust-1") { inventoryAdjustmentGroup { changes { name quantityAfterChange } }
        userErrors { code message } } }"""
    first = gql(shopify, adjust, {"item": item, "loc": location, "delta": -2})
    again = gql(shopify, adjust, {"item": item, "loc": location, "delta": -2})
    assert first["data"] == again["data"]
    assert shopify.quantities("MS-0003-1")[location]["available"] == 18
    other = gql(shopify, adjust, {"item": item, "loc": location, "delta": -5})
    assert other["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert shopify.quantities("MS-0003-1")[location]["available"] == 18
    no_key = gql(shopify, adjust.replace(' @idempotent(key: "adjust-1")', ""), {"item": item, "loc": location,
                                                                                 "delta": -1})
    assert "@idempotent" in no_key["errors"][0]["message"]


def test_more_than_250_quantities_are_rejected(shopify: ShopifySandbox) -> None:
    _, item, location = variant_ids(shopify, "MS-0001-1")
    body = gql(shopify, SET_QUANTITIES, {"input": set_input([(item, location, 1, None)] * 251), "key": "big"})
    assert body["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert body["data"]["inventorySetQuantities"] is None
    assert shopify.quantities("MS-0001-1")[location]["available"] == 20


def test_every_answer_carries_its_cost(shopify: ShopifySandbox) -> None:
    cost = gql(shopify, "{ shop { name } }")["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 and cost["actualQueryCost"] == 1
    assert cost["throttleStatus"]["maximumAvailable"] == 2000.0
    assert cost["throttleStatus"]["restoreRate"] == 100.0
    paged = gql(shopify, "{ products(first: 10) { nodes { id variants(first: 5) { nodes { sku } } } } }")
    assert paged["extensions"]["cost"]["requestedQueryCost"] == 2 + 10 * (1 + 2 + 5 * 1)
    assert paged["extensions"]["cost"]["actualQueryCost"] == 2 + 5 * (1 + 2 + 2 * 1)
    mutation = gql(shopify, SET_QUANTITIES, {"input": set_input([]), "key": "empty"})
    assert mutation["extensions"]["cost"]["requestedQueryCost"] == 10


def test_an_empty_bucket_throttles_and_refills(shopify: ShopifySandbox) -> None:
    shopify.configure({"bucket": {"capacity": 50, "restore_rate": 1}})
    query = "{ productVariants(first: 10) { nodes { id } } }"  # requested and actual: 12
    answers = [gql(shopify, query) for _ in range(5)]
    throttled = [a for a in answers if "errors" in a]
    assert throttled and throttled[0]["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled[0]["errors"][0]["message"] == "Throttled"
    assert throttled[0]["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 50
    assert shopify.request_counts()["throttled"] == len(throttled)
    shopify.clock.set_factor(200)
    time.sleep(0.3)
    assert "data" in gql(shopify, query)


def test_rest_has_a_request_bucket_and_link_pagination(shopify: ShopifySandbox) -> None:
    shopify.configure({"rest_bucket": {"capacity": 3, "restore_rate": 0.5}})
    headers = {"X-Shopify-Access-Token": shopify.access_token}
    url = f"{shopify.url}/admin/api/2026-04/products.json?limit=2"
    first = httpx.get(url, headers=headers)
    assert first.status_code == 200 and len(first.json()["products"]) == 2
    assert first.headers["X-Shopify-Shop-Api-Call-Limit"] == "1/3"
    link = first.headers["Link"]
    assert 'rel="next"' in link and "page_info=" in link
    second = httpx.get(link[1:link.index(">")], headers=headers)
    assert [p["title"] for p in second.json()["products"]] == ["Product 0003", "Product 0004"]
    variant_id = second.json()["products"][0]["variants"][0]["id"]
    assert httpx.get(f"{shopify.url}/admin/api/2026-04/variants/{variant_id}.json", headers=headers).json()[
        "variant"]["sku"] == "MS-0003-1"
    refused = httpx.get(url, headers=headers)
    assert refused.status_code == 429
    assert float(refused.headers["Retry-After"]) > 0
    assert refused.headers["X-Shopify-Shop-Api-Call-Limit"] == "3/3"
    assert shopify.request_counts()["throttled_by_api"] == {"rest": 1}


def test_rest_inventory_levels_set_is_logged(shopify: ShopifySandbox) -> None:
    headers = {"X-Shopify-Access-Token": shopify.access_token}
    _, item, location = variant_ids(shopify, "MS-0002-2")
    item_id, location_id = int(item.rsplit("/", 1)[-1]), int(location.rsplit("/", 1)[-1])
    response = httpx.post(f"{shopify.url}/admin/api/2026-04/inventory_levels/set.json", headers=headers,
                          json={"inventory_item_id": item_id, "location_id": location_id, "available": 4})
    assert response.json()["inventory_level"]["available"] == 4
    levels = httpx.get(f"{shopify.url}/admin/api/2026-04/inventory_levels.json?inventory_item_ids={item_id}",
                       headers=headers).json()["inventory_levels"]
    assert levels == [response.json()["inventory_level"]]
    assert shopify.writes.entries()[-1]["kind"] == "rest_inventory_levels_set"


def test_a_buyer_order_commits_stock(shopify: ShopifySandbox) -> None:
    location = next(iter(shopify.quantities("MS-0001-1")))
    shopify.place_order([{"sku": "MS-0001-1", "quantity": 3}])
    assert shopify.quantities("MS-0001-1")[location] == {"available": 17, "on_hand": 20, "committed": 3}
    with pytest.raises(StoreError, match="not enough stock"):
        shopify.place_order([{"sku": "MS-0001-1", "quantity": 18}])
    product_id = gql(shopify, '{ productVariants(first: 1, query: "sku:MS-0001-1") { nodes { id product { id } } } }'
                     )["data"]["productVariants"]["nodes"][0]
    update = gql(shopify, 'mutation($p: ID!, $v: ID!) { productVariantsBulkUpdate(productId: $p, variants: '
                          '[{id: $v, inventoryPolicy: CONTINUE}]) { userErrors { code } } }',
                 {"p": product_id["product"]["id"], "v": product_id["id"]})
    assert update["data"]["productVariantsBulkUpdate"]["userErrors"] == []
    shopify.place_order([{"sku": "MS-0001-1", "quantity": 18}])
    assert shopify.quantities("MS-0001-1")[location] == {"available": -1, "on_hand": 20, "committed": 21}


ORDER_QUERY = """query($q: String) { orders(first: 5, sortKey: UPDATED_AT, query: $q) { nodes {
  id name displayFinancialStatus displayFulfillmentStatus cancelledAt updatedAt
  totalPriceSet { shopMoney { amount currencyCode } }
  lineItems(first: 5) { nodes { id sku quantity currentQuantity variant { id } } }
  fulfillmentOrders(first: 2) { nodes { id status
    lineItems(first: 5) { nodes { id remainingQuantity lineItem { id } } } } }
  fulfillments { trackingInfo { company number url } }
  refunds { refundLineItems(first: 5) { nodes { quantity restockType lineItem { sku } } } } } } }"""


def test_an_over_expensive_document_is_refused(shopify: ShopifySandbox) -> None:
    body = gql(shopify, ORDER_QUERY.replace("orders(first: 5", "orders(first: 50"))
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "data" not in body


FULFIL = """mutation($fo: ID!, $line: ID!, $qty: Int!) { fulfillmentCreate(fulfillment: {
  lineItemsByFulfillmentOrder: [{fulfillmentOrderId: $fo, fulfillmentOrderLineItems: [{id: $line, quantity: $qty}]}],
  trackingInfo: {company: "DHL", number: "JD0001", url: "https://track.example/JD0001"}, notifyCustomer: false})
  { fulfillment { id status trackingInfo { number } } userErrors { field message } } }"""


def test_fulfilment_ships_stock_and_shows_tracking(shopify: ShopifySandbox) -> None:
    order = shopify.place_order([{"sku": "MS-0002-1", "quantity": 2}])
    found = gql(shopify, ORDER_QUERY, {"q": f"id:{order['id']}"})["data"]["orders"]["nodes"][0]
    fo = found["fulfillmentOrders"]["nodes"][0]
    line = fo["lineItems"]["nodes"][0]
    assert line["remainingQuantity"] == 2 and line["lineItem"]["id"] == found["lineItems"]["nodes"][0]["id"]
    shipped = gql(shopify, FULFIL, {"fo": fo["id"], "line": line["id"], "qty": 2})["data"]["fulfillmentCreate"]
    assert shipped["userErrors"] == [] and shipped["fulfillment"]["trackingInfo"] == [{"number": "JD0001"}]
    after = gql(shopify, ORDER_QUERY, {"q": f"id:{order['id']}"})["data"]["orders"]["nodes"][0]
    assert after["displayFulfillmentStatus"] == "FULFILLED"
    assert after["fulfillments"][0]["trackingInfo"] == [
        {"company": "DHL", "number": "JD0001", "url": "https://track.example/JD0001"}]
    assert after["fulfillmentOrders"]["nodes"][0]["status"] == "CLOSED"
    location = next(iter(shopify.quantities("MS-0002-1")))
    assert shopify.quantities("MS-0002-1")[location] == {"available": 18, "on_hand": 18, "committed": 0}
    again = gql(shopify, FULFIL, {"fo": fo["id"], "line": line["id"], "qty": 1})["data"]["fulfillmentCreate"]
    assert again["fulfillment"] is None and again["userErrors"]


def test_cancel_and_refund_restock(shopify: ShopifySandbox) -> None:
    location = next(iter(shopify.quantities("MS-0004-1")))
    cancelled = shopify.place_order([{"sku": "MS-0004-1", "quantity": 4}])
    shopify.cancel_order(cancelled["id"], restock=True)
    assert shopify.quantities("MS-0004-1")[location] == {"available": 20, "on_hand": 20, "committed": 0}
    shipped = shopify.place_order([{"sku": "MS-0004-1", "quantity": 3}])
    fo = gql(shopify, ORDER_QUERY, {"q": f"id:{shipped['id']}"})["data"]["orders"]["nodes"][0]["fulfillmentOrders"]
    fo_node = fo["nodes"][0]
    gql(shopify, FULFIL, {"fo": fo_node["id"], "line": fo_node["lineItems"]["nodes"][0]["id"], "qty": 3})
    shopify.refund_order(shipped["id"], [{"sku": "MS-0004-1", "quantity": 2}], restock=True)
    assert shopify.quantities("MS-0004-1")[location] == {"available": 19, "on_hand": 19, "committed": 0}
    orders = gql(shopify, ORDER_QUERY, {"q": "updated_at:>'2000-01-01T00:00:00Z'"})["data"]["orders"]["nodes"]
    by_name = {o["name"]: o for o in orders}
    assert by_name[cancelled["name"]]["cancelledAt"] and by_name[cancelled["name"]]["lineItems"]["nodes"][0][
        "currentQuantity"] == 0
    refund_lines = by_name[shipped["name"]]["refunds"][0]["refundLineItems"]["nodes"]
    assert refund_lines == [{"quantity": 2, "restockType": "RETURN", "lineItem": {"sku": "MS-0004-1"}}]
    assert by_name[shipped["name"]]["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    cancel_via_api = shopify.place_order([{"sku": "MS-0004-2", "quantity": 1}])
    result = gql(shopify, 'mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, restock: true) '
                          '{ job { done } orderCancelUserErrors { code message } } }',
                 {"id": cancel_via_api["admin_graphql_api_id"]})
    assert result["data"]["orderCancel"] == {"job": {"done": True}, "orderCancelUserErrors": []}


def test_webhooks_are_signed_and_retried(shopify: ShopifySandbox) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    arrived = threading.Event()

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        if len(received) == 1:
            return Response(status_code=500)  # the first attempt fails; Shopify must retry
        arrived.set()
        return Response(status_code=200)

    with ServerThread(Starlette(routes=[Route("/hooks", hook, methods=["POST"])])) as receiver:
        created = gql(shopify, 'mutation($uri: String!) { webhookSubscriptionCreate(topic: ORDERS_CREATE, '
                               'webhookSubscription: {uri: $uri, format: JSON}) { webhookSubscription { id uri topic } '
                               'userErrors { message } } }', {"uri": f"{receiver.url}/hooks"})
        assert created["data"]["webhookSubscriptionCreate"]["userErrors"] == []
        order = shopify.place_order([{"sku": "MS-0005-1", "quantity": 1}])
        assert arrived.wait(10), "webhook was not retried after a 500"
    assert len(received) == 2
    headers, body = received[-1]
    expected = base64.b64encode(hmac.new(shopify.client_secret.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["x-shopify-hmac-sha256"] == expected
    assert headers["x-shopify-topic"] == "orders/create"
    assert headers["x-shopify-shop-domain"] == shopify.shop_domain
    assert headers["x-shopify-api-version"] == "2026-04"
    assert headers["x-shopify-webhook-id"] and headers["x-shopify-event-id"] and headers["x-shopify-triggered-at"]
    payload = json.loads(body)
    assert payload["id"] == order["id"] and payload["admin_graphql_api_id"] == f"gid://shopify/Order/{order['id']}"
    assert payload["line_items"][0]["sku"] == "MS-0005-1" and payload["total_price"] == order["total_price"]


def test_a_scripted_fault_answers_once(shopify: ShopifySandbox) -> None:
    shopify.faults.next(503)
    headers = {"X-Shopify-Access-Token": shopify.access_token}
    failed = httpx.post(shopify.graphql_url, json={"query": "{ shop { name } }"}, headers=headers)
    assert failed.status_code == 503
    assert gql(shopify, "{ shop { name } }")["data"]["shop"]["name"] == "demo-shop"
    assert shopify.request_counts()["by_status"]["503"] == 1


def test_a_corrupt_record_comes_back_malformed(shopify: ShopifySandbox) -> None:
    variant, _, _ = variant_ids(shopify, "MS-0002-2")
    shopify.faults.corrupt_ids = {variant}
    body = gql(shopify, "{ productVariants(first: 20) { nodes { id sku price } } }")
    nodes = body["data"]["productVariants"]["nodes"]
    bad = [n for n in nodes if n["id"] == variant]
    assert bad == [{"id": variant, "sku": None, "price": "not-a-number"}]
    assert all(n["sku"] and float(n["price"]) > 0 for n in nodes if n["id"] != variant)


def test_the_control_plane_over_http(shopify: ShopifySandbox) -> None:
    base = f"{shopify.url}/_sandbox"
    assert httpx.post(f"{base}/seed", json={"products": 2, "variants": 1, "sku_prefix": "CP"}).json()["variants"] == 2
    order = httpx.post(f"{base}/orders", json={"lines": [{"sku": "CP-0001-1", "quantity": 2}]}).json()
    assert order["line_items"][0]["fulfillable_quantity"] == 2
    stock = httpx.post(f"{base}/stock", json={"sku": "CP-0002-1", "delta": -5}).json()
    assert next(iter(stock.values()))["available"] == 15
    refused = httpx.post(f"{base}/orders", json={"lines": [{"sku": "NOPE", "quantity": 1}]})
    assert refused.status_code == 404
    state = httpx.get(f"{base}/state").json()
    assert {v["sku"] for v in state["variants"]} == {"CP-0001-1", "CP-0002-1"}
    assert [w["kind"] for w in httpx.get(f"{base}/writes").json()["writes"]] == ["order", "merchant_edit"]
    assert httpx.post(f"{base}/faults", json={"plan": "plus"}).json()["limits"]["bucket"]["restoreRate"] == 1000
    assert "throttled" in httpx.get(f"{base}/requests").json()
