"""The WooCommerce simulator over real HTTP on loopback, checked against documented behaviour."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.woocommerce.oauth import WooCommerceOAuth1
from sandbox.catalogue import SeedSpec
from sandbox.runtime import ServerThread
from sandbox.woocommerce import WooCommerceSandbox
from sandbox.woocommerce.examples import documented_example

LOCAL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


@pytest.fixture
def woo() -> Iterator[WooCommerceSandbox]:
    spec = SeedSpec(products=3, variants=2, extra=({"sku": "SOLO-1", "title": "Solo", "price": "12.50"},))
    with WooCommerceSandbox(spec=spec) as sandbox:
        yield sandbox


@pytest.fixture
def api(woo: WooCommerceSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{woo.url}/wp-json/wc/v3", auth=signed(woo), timeout=10) as client:
        yield client


def example(name: str) -> Any:
    return documented_example(name)


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(ours: dict[str, Any], documented: dict[str, Any], *, nullable: set[str]) -> None:
    missing = set(documented) - set(ours)
    assert not missing, f"missing keys {sorted(missing)}"
    for key, value in documented.items():
        if key in nullable and (value is None or ours[key] is None):
            continue
        assert kind(ours[key]) == kind(value), f"{key}: {ours[key]!r} vs documented {value!r}"
    for key, value in ours.items():
        if key.startswith("date_") and value is not None and key in documented:
            assert LOCAL_DATE.match(value), f"{key}={value!r} carries a zone suffix"


def by_sku(api: httpx.Client, sku: str) -> dict[str, Any]:
    for product in api.get("/products", params={"per_page": 100}).json():
        if product["sku"] == sku:
            return product
        for variation in api.get(f"/products/{product['id']}/variations").json():
            if variation["sku"] == sku:
                return variation
    raise AssertionError(sku)


# ---- shapes ------------------------------------------------------------------------------------
def test_product_variation_and_order_json_match_the_documented_examples(woo, api) -> None:
    stock_nullable = {"stock_quantity", "date_on_sale_from", "date_on_sale_from_gmt", "date_on_sale_to",
                      "date_on_sale_to_gmt"}
    simple = api.get("/products", params={"sku": "SOLO-1"}).json()[0]
    assert_same_shape(simple, example("product_retrieve.json"), nullable=stock_nullable)
    assert (simple["type"], simple["price"], simple["stock_quantity"]) == ("simple", "12.50", 20)

    variable = next(p for p in api.get("/products").json() if p["type"] == "variable")
    assert_same_shape(variable, example("product_variable_create_response.json"), nullable=stock_nullable)
    assert len(variable["variations"]) == 2 and all(isinstance(i, int) for i in variable["variations"])

    variation = api.get(f"/products/{variable['id']}/variations/{variable['variations'][0]}").json()
    assert_same_shape(variation, example("product_variation_retrieve.json"), nullable=stock_nullable | {"image"})
    assert re.fullmatch(r"\d+\.\d{2}", variation["price"]) and len(variation["global_unique_id"]) == 13

    order = woo.place_order([{"sku": "MS-0001-1", "quantity": 2}, {"sku": "SOLO-1", "quantity": 1}])
    fetched = api.get(f"/orders/{order['id']}").json()
    assert_same_shape(fetched, example("order_retrieve.json"),
                      nullable={"date_completed", "date_completed_gmt", "date_paid", "date_paid_gmt"})
    assert_same_shape(fetched["line_items"][0], example("order_retrieve.json")["line_items"][1], nullable=set())
    ordered = by_sku(api, "MS-0001-1")
    assert fetched["total"] == f"{2 * float(ordered['price']) + 12.5:.2f}"
    # Site time is two hours ahead of GMT in the simulator, as a real store's `gmt_offset` may be.
    local, gmt = fetched["date_created"], fetched["date_created_gmt"]
    assert int(local[11:13]) == (int(gmt[11:13]) + 2) % 24


def test_webhook_json_matches_the_documented_example(api) -> None:
    hook = api.post("/webhooks", json={"name": "Order updated", "topic": "order.updated",
                                       "delivery_url": "http://127.0.0.1:9/hook"}).json()
    assert_same_shape(hook, example("webhook_retrieve.json"), nullable=set())
    assert (hook["status"], hook["resource"], hook["event"]) == ("active", "order", "updated")
    listed = api.get("/webhooks")
    assert [h["id"] for h in listed.json()] == [hook["id"]] and listed.headers["X-WP-Total"] == "1"
    assert api.delete(f"/webhooks/{hook['id']}", params={"force": "true"}).status_code == 200
    assert api.get(f"/webhooks/{hook['id']}").json()["code"] == "woocommerce_rest_webhook_invalid_id"


def test_a_variation_id_is_served_by_the_products_route_as_type_variation(api) -> None:
    variation = by_sku(api, "MS-0002-2")
    as_product = api.get(f"/products/{variation['id']}").json()
    assert (as_product["type"], as_product["sku"], as_product["parent_id"] > 0) == ("variation", "MS-0002-2", True)


# ---- auth and errors ---------------------------------------------------------------------------
def signed(woo: WooCommerceSandbox, method: str = "HMAC-SHA256", **kwargs: Any) -> WooCommerceOAuth1:
    return WooCommerceOAuth1(woo.consumer_key, woo.consumer_secret, signature_method=method, **kwargs)


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


def test_over_plain_http_basic_and_query_keys_are_not_authentication(woo) -> None:
    products = f"{woo.url}/wp-json/wc/v3/products"
    cannot_list = (401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
    assert refusal(httpx.get(products)) == cannot_list
    assert refusal(httpx.get(products, auth=(woo.consumer_key, woo.consumer_secret))) == cannot_list
    query = {"consumer_key": woo.consumer_key, "consumer_secret": woo.consumer_secret}
    assert refusal(httpx.get(products, params=query)) == cannot_list
    assert httpx.get(products).json()["data"] == {"status": 401}


def test_behind_a_tls_proxy_basic_and_query_keys_work(woo) -> None:
    products = f"{woo.url}/wp-json/wc/v3/products"
    https = {"X-Forwarded-Proto": "https"}  # what a TLS-terminating proxy on loopback adds
    assert httpx.get(products, headers=https, auth=(woo.consumer_key, woo.consumer_secret)).status_code == 200
    query = {"consumer_key": woo.consumer_key, "consumer_secret": woo.consumer_secret}
    assert httpx.get(products, headers=https, params=query).status_code == 200
    assert refusal(httpx.get(products, headers=https, auth=(woo.consumer_key, "cs_wrong"))) == (
        401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")


@pytest.mark.parametrize("method", ["HMAC-SHA1", "HMAC-SHA256"])
def test_oauth_signed_requests_are_served_over_http(woo, method) -> None:
    with httpx.Client(base_url=f"{woo.url}/wp-json/wc/v3", auth=signed(woo, method)) as client:
        listed = client.get("/products", params={"per_page": 2, "orderby": "id", "after": "2001-01-01T00:00:00"})
        assert listed.status_code == 200 and len(listed.json()) == 2
        product_id = listed.json()[0]["id"]
        updated = client.put(f"/products/{product_id}", json={"name": "Renamed & signed"})
        assert (updated.status_code, updated.json()["name"]) == (200, "Renamed & signed")

    # A form body's fields are signed parameters too (WooCommerce merges $_POST into them).
    request = httpx.Request("POST", f"{woo.url}/wp-json/wc/v3/products/{product_id}", data={"regular_price": "9.99"})
    url = next(signed(woo, method).auth_flow(request)).url
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    changed = httpx.post(url, content="regular_price=0.01", headers=form)
    assert refusal(changed)[2] == "Invalid signature - provided signature does not match."
    assert httpx.post(url, content="regular_price=9.99", headers=form).status_code != 401


def test_oauth_parameters_in_an_authorization_header_are_read(woo) -> None:
    request = httpx.Request("GET", f"{woo.url}/wp-json/wc/v3/products")
    flow = signed(woo).auth_flow(request)
    query = dict(httpx.QueryParams(next(flow).url.query.decode()))
    header = "OAuth " + ", ".join(f'{name}="{quote(value, safe="")}"' for name, value in query.items())
    assert httpx.get(f"{woo.url}/wp-json/wc/v3/products", headers={"Authorization": header}).status_code == 200


def test_oauth_refusals_are_woocommerce_s(woo) -> None:
    products = f"{woo.url}/wp-json/wc/v3/products"
    error = "woocommerce_rest_authentication_error"

    signed_url = next(signed(woo).auth_flow(httpx.Request("GET", products, params={"per_page": 5}))).url
    tampered_url = signed_url.copy_set_param("per_page", "99")
    assert refusal(httpx.get(tampered_url)) == (401, error, "Invalid signature - provided signature does not match.")
    assert httpx.get(signed_url).status_code == 200
    assert refusal(httpx.get(signed_url)) == (401, error, "Invalid nonce - nonce has already been used.")

    stale = signed(woo, clock=lambda: time.time() - 16 * 60)
    assert refusal(httpx.get(products, auth=stale)) == (401, error, "Invalid timestamp.")
    late_but_inside = signed(woo, clock=lambda: time.time() - 14 * 60)
    assert httpx.get(products, auth=late_but_inside).status_code == 200
    future = signed(woo, clock=lambda: time.time() + 16 * 60)
    assert refusal(httpx.get(products, auth=future)) == (401, error, "Invalid timestamp.")

    other_secret = WooCommerceOAuth1(woo.consumer_key, "cs_not_the_one")
    mismatch = (401, error, "Invalid signature - provided signature does not match.")
    assert refusal(httpx.get(products, auth=other_secret)) == mismatch
    unknown_key = WooCommerceOAuth1("ck_unknown", woo.consumer_secret)
    assert refusal(httpx.get(products, auth=unknown_key)) == (401, error, "Consumer key is invalid.")

    plaintext = dict(httpx.QueryParams(signed_url.query.decode())) | {"oauth_signature_method": "PLAINTEXT",
                                                                       "oauth_nonce": "fresh-1"}
    assert refusal(httpx.get(products, params=plaintext)) == (
        401, error, "Invalid signature - signature method is invalid.")
    partial = {"oauth_consumer_key": woo.consumer_key, "oauth_nonce": "n-2"}
    assert refusal(httpx.get(products, params=partial)) == (
        401, "woocommerce_rest_authentication_missing_parameter",
        "Missing OAuth parameters oauth_timestamp, oauth_signature, oauth_signature_method")


def test_unknown_ids_routes_and_params_answer_in_wordpress_shape(api) -> None:
    assert api.get("/products/999999").json() == {"code": "woocommerce_rest_product_invalid_id",
                                                  "message": "Invalid ID.", "data": {"status": 404}}
    assert api.get("/orders/999999").json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    assert api.get("/nothing-here").json()["code"] == "rest_no_route"
    bad = api.get("/orders", params={"status": "shipped"})
    assert (bad.status_code, bad.json()["code"], list(bad.json()["data"]["params"])) == (
        400, "rest_invalid_param", ["status"])
    broken = api.post("/products", content=b"{nope", headers={"Content-Type": "application/json"})
    assert broken.json()["code"] == "rest_invalid_json"


# ---- pagination --------------------------------------------------------------------------------
def test_pagination_headers_links_and_the_per_page_ceiling(woo, api) -> None:
    woo.seed(SeedSpec(products=25, variants=1))
    page = api.get("/products", params={"per_page": 10, "page": 2})
    assert (page.headers["X-WP-Total"], page.headers["X-WP-TotalPages"]) == ("25", "3")
    assert len(page.json()) == 10
    links = {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', page.headers["Link"])}
    assert set(links) == {"prev", "next"}
    last = httpx.get(links["next"], auth=signed(woo))
    assert len(last.json()) == 5 and 'rel="next"' not in last.headers["Link"]
    seen = {p["id"] for p in api.get("/products", params={"per_page": 100}).json()}
    assert len(seen) == 25

    too_many = api.get("/products", params={"per_page": 101})
    assert too_many.status_code == 400
    body = too_many.json()
    assert body["code"] == "rest_invalid_param" and "per_page" in body["data"]["params"]


# ---- batches -----------------------------------------------------------------------------------
def test_batch_over_one_hundred_items_is_refused_with_413(api) -> None:
    answer = api.post("/products/batch", json={"update": [{"id": 1}] * 60, "delete": list(range(41))})
    assert answer.status_code == 413
    assert answer.json()["code"] == "woocommerce_rest_request_entity_too_large"


def test_batch_item_error_leaves_the_other_items_applied(woo, api) -> None:
    solo = by_sku(api, "SOLO-1")
    answer = api.post("/products/batch", json={
        "create": [{"name": "Copy", "sku": "SOLO-1"}],
        "update": [{"id": solo["id"], "stock_quantity": 7}, {"id": 999999, "stock_quantity": 1}],
    })
    assert answer.status_code == 200
    body = answer.json()
    assert body["create"][0]["error"]["code"] == "product_invalid_sku" and body["create"][0]["id"] == 0
    assert body["update"][0]["stock_quantity"] == 7
    assert body["update"][1]["id"] == 999999
    assert body["update"][1]["error"]["code"] == "woocommerce_rest_product_invalid_id"
    assert woo.stock("SOLO-1") == 7
    assert [(w["sku"], w["available"], w["source"], w["via"]) for w in woo.writes.entries()] == [("SOLO-1", 7, "api",
                                                                                                 "batch")]


def test_variation_batch_sets_stock_and_derives_stock_status(woo, api) -> None:
    variation = by_sku(api, "MS-0003-1")
    parent_id = variation["_links"]["up"][0]["href"].rsplit("/", 1)[1]
    answer = api.post(f"/products/{parent_id}/variations/batch", json={"update": [
        {"id": variation["id"], "stock_quantity": 0},
    ]}).json()
    assert answer["update"][0]["stock_status"] == "outofstock"
    backorders = api.put(f"/products/{parent_id}/variations/{variation['id']}", json={"backorders": "notify"}).json()
    assert (backorders["stock_status"], backorders["backorders_allowed"]) == ("onbackorder", True)
    assert backorders["date_modified_gmt"] >= variation["date_modified_gmt"]
    assert woo.stock("MS-0003-1") == 0


# ---- stock and orders --------------------------------------------------------------------------
def test_buyer_order_reduces_stock_and_cancel_restores_it(woo, api) -> None:
    control = httpx.Client(base_url=woo.url)
    placed = control.post("/_sandbox/orders", json={"lines": [{"sku": "MS-0001-2", "quantity": 5}]})
    assert placed.status_code == 201 and placed.json()["status"] == "processing"
    assert woo.stock("MS-0001-2") == 15
    assert by_sku(api, "MS-0001-2")["stock_quantity"] == 15

    refused = control.post("/_sandbox/orders", json={"lines": [{"sku": "MS-0001-2", "quantity": 16}]})
    assert refused.status_code == 409 and woo.stock("MS-0001-2") == 15

    control.post(f"/_sandbox/orders/{placed.json()['id']}/cancel", json={"restock": True})
    assert woo.stock("MS-0001-2") == 20
    # The merchant cancelling through the API restores stock too.
    second = woo.place_order([{"sku": "MS-0001-2", "quantity": 4}])
    assert api.put(f"/orders/{second['id']}", json={"status": "cancelled"}).json()["status"] == "cancelled"
    assert woo.stock("MS-0001-2") == 20
    assert [(w["source"], w["via"]) for w in woo.writes.entries()] == [("buyer", "order"), ("buyer", "cancel")] * 2


def test_refund_with_restock_puts_the_refunded_quantity_back(woo) -> None:
    order = woo.place_order([{"sku": "SOLO-1", "quantity": 3}])
    woo.refund_order(order["id"], lines=[{"sku": "SOLO-1", "quantity": 1}], restock=True)
    assert woo.stock("SOLO-1") == 18
    refunded = woo.refund_order(order["id"], restock=False)
    assert refunded["status"] == "refunded" and len(refunded["refunds"]) == 2
    assert woo.stock("SOLO-1") == 18


def test_status_refunded_through_the_api_refunds_the_amount_without_restocking(woo, api) -> None:
    order = woo.place_order([{"sku": "SOLO-1", "quantity": 2}])
    refunded = api.put(f"/orders/{order['id']}", json={"status": "refunded"}).json()
    assert refunded["status"] == "refunded" and refunded["refunds"][0]["total"] == "-25.00"
    assert woo.stock("SOLO-1") == 18  # WooCommerce's wc_order_fully_refunded does not restock


def test_orders_filter_by_modified_after_status_and_order(woo, api) -> None:
    first = woo.place_order([{"sku": "SOLO-1", "quantity": 1}])
    time.sleep(1.1)  # dates are kept to the second, as in MySQL
    second = woo.place_order([{"sku": "SOLO-1", "quantity": 1}], status="on-hold")
    in_gmt = api.get("/orders", params={"modified_after": first["date_modified_gmt"], "dates_are_gmt": "true"})
    assert [o["id"] for o in in_gmt.json()] == [second["id"]]
    in_site_time = api.get("/orders", params={"modified_after": first["date_modified"]})
    assert [o["id"] for o in in_site_time.json()] == [second["id"]]

    oldest_first = api.get("/orders", params={"orderby": "id", "order": "asc", "status": "any"}).json()
    assert [o["id"] for o in oldest_first] == [first["id"], second["id"]]
    on_hold = api.get("/orders", params={"status": "on-hold,cancelled"}).json()
    assert [o["id"] for o in on_hold] == [second["id"]]
    after_first = api.get("/orders", params={"after": first["date_created"]}).json()
    assert [o["id"] for o in after_first] == [second["id"]]


def test_order_notes_are_listed_newest_first(woo, api) -> None:
    order = woo.place_order([{"sku": "SOLO-1", "quantity": 1}])
    created = api.post(f"/orders/{order['id']}/notes", json={"note": "Shipped with DHL", "customer_note": True})
    assert created.status_code == 201 and created.json()["customer_note"] is True
    notes = api.get(f"/orders/{order['id']}/notes").json()
    assert notes[0]["note"] == "Shipped with DHL"
    assert any("Stock levels reduced" in n["note"] for n in notes)
    assert woo.notes(order["id"])[-1]["note"] == "Shipped with DHL"
    assert api.post(f"/orders/{order['id']}/notes", json={}).json()["code"] == "rest_missing_callback_param"


def test_shipment_tracking_route_exists_only_when_the_extension_is_on(woo) -> None:
    order = woo.place_order([{"sku": "SOLO-1", "quantity": 1}])
    url = f"{woo.url}/wp-json/wc-shipment-tracking/v3/orders/{order['id']}/shipment-trackings"
    auth = signed(woo)
    created = httpx.post(url, auth=auth, json={"custom_tracking_provider": "Local Courier",
                                               "custom_tracking_link": "https://courier.example/t/%1$s",
                                               "tracking_number": "TRK1", "date_shipped": "2024-05-02"})
    assert created.status_code == 201
    assert created.json()["tracking_link"] == "https://courier.example/t/TRK1"
    assert [t["tracking_number"] for t in httpx.get(url, auth=auth).json()] == ["TRK1"]
    assert woo.trackings(order["id"])[0]["tracking_provider"] == "Local Courier"

    httpx.post(f"{woo.url}/_sandbox/faults", json={"shipment_tracking": False})
    missing = httpx.get(url, auth=auth)
    assert (missing.status_code, missing.json()["code"]) == (404, "rest_no_route")


# ---- webhooks ----------------------------------------------------------------------------------
class Receiver:
    """A tiny webhook endpoint on loopback that records requests and answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])
        self.server = ServerThread(app)

    async def hook(self, request: Request) -> JSONResponse:
        body = await request.body()
        with self.lock:
            self.received.append((dict(request.headers), body))
        return JSONResponse({}, status_code=self.status)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    with hook.server:
        yield hook


def test_webhook_deliveries_are_signed_with_the_hook_secret(woo, api, receiver) -> None:
    hook = api.post("/webhooks", json={"name": "orders", "topic": "order.created", "delivery_url": receiver.url,
                                       "secret": "s3cret", "status": "active"})
    assert hook.status_code == 201 and hook.json()["resource"] == "order"
    order = woo.place_order([{"sku": "MS-0002-1", "quantity": 1}])
    woo.flush_webhooks()
    [(headers, body)] = receiver.received
    expected = base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(headers["x-wc-webhook-signature"], expected)
    assert (headers["x-wc-webhook-topic"], headers["x-wc-webhook-resource"], headers["x-wc-webhook-event"]) == (
        "order.created", "order", "created")
    assert headers["x-wc-webhook-id"] == str(hook.json()["id"]) and headers["x-wc-webhook-delivery-id"]
    assert headers["x-wc-webhook-source"] == woo.url + "/"
    assert json.loads(body)["id"] == order["id"]


def test_webhook_is_disabled_after_more_than_five_consecutive_failures(woo, api, receiver) -> None:
    receiver.status = 500
    hook = api.post("/webhooks", json={"topic": "product.updated", "delivery_url": receiver.url}).json()
    for level in range(6):
        woo.set_stock("SOLO-1", quantity=level)
    woo.flush_webhooks()
    assert api.get(f"/webhooks/{hook['id']}").json()["status"] == "active"  # six failures counted
    woo.set_stock("SOLO-1", quantity=9)
    woo.flush_webhooks()
    assert api.get(f"/webhooks/{hook['id']}").json()["status"] == "disabled"
    woo.set_stock("SOLO-1", quantity=10)
    woo.flush_webhooks()
    assert len(receiver.received) == 7


# ---- limits and faults -------------------------------------------------------------------------
def test_request_limit_answers_429_with_retry_after(woo, api) -> None:
    httpx.post(f"{woo.url}/_sandbox/faults", json={"request_limit": 3})
    statuses = [api.get("/products", params={"per_page": 1}) for _ in range(8)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert float(limited[0].headers["Retry-After"]) > 0
    assert limited[0].json()["data"]["status"] == 429
    time.sleep(float(limited[-1].headers["Retry-After"]) + 0.05)
    assert api.get("/products", params={"per_page": 1}).status_code == 200


def test_scripted_fault_fails_exactly_the_next_request(woo, api) -> None:
    woo.faults.next(500)
    failed = api.get("/orders")
    assert failed.status_code == 500 and failed.json()["data"]["status"] == 500
    assert api.get("/orders").status_code == 200
    assert woo.requests.as_dict()["by_status"] == {"500": 1, "200": 1}


def test_corrupt_record_is_served_malformed_while_others_are_fine(woo, api) -> None:
    broken = by_sku(api, "MS-0001-1")
    woo.configure({"corrupt_ids": [str(broken["id"])]})
    parent_id = broken["_links"]["up"][0]["href"].rsplit("/", 1)[1]
    variations = {v["id"]: v for v in api.get(f"/products/{parent_id}/variations").json()}
    assert (variations[broken["id"]]["price"], variations[broken["id"]]["sku"]) == ("abc", None)
    healthy = [v for i, v in variations.items() if i != broken["id"]]
    assert healthy and all(v["sku"] and re.fullmatch(r"\d+\.\d{2}", v["price"]) for v in healthy)
    assert api.get(f"/products/{broken['id']}").json()["price"] == "abc"


# ---- control plane and settings ----------------------------------------------------------------
def test_control_plane_over_http(woo) -> None:
    control = httpx.Client(base_url=f"{woo.url}/_sandbox")
    assert control.post("/seed", json={"products": 2, "variants": 1, "sku_prefix": "CP"}).status_code == 200
    assert control.post("/stock", json={"sku": "CP-0001-1", "delta": -3}).json()["stock_quantity"] == 17
    state = control.get("/state").json()
    assert state["stock"] == {"CP-0001-1": 17, "CP-0002-1": 20} and state["platform"] == "woocommerce"
    assert control.get("/writes").json()[-1]["source"] == "merchant"
    assert control.post("/clock", json={"factor": 5}).json() == {"factor": 5.0}
    assert control.post("/faults", json={"bogus": 1}).status_code == 400
    assert control.post("/reset-counters").status_code == 200 and control.get("/requests").json()["total"] == 0
    assert woo.info()["consumer_key"].startswith("ck_") and woo.info()["currency"] == "EUR"


def test_currency_is_readable_from_settings_and_system_status(api) -> None:
    assert api.get("/settings/general/woocommerce_currency").json()["value"] == "EUR"
    assert api.get("/system_status").json()["settings"]["currency"] == "EUR"
    assert any(s["id"] == "woocommerce_currency" for s in api.get("/settings/general").json())


def test_delete_moves_to_trash_and_force_removes(api) -> None:
    solo = by_sku(api, "SOLO-1")
    assert api.delete(f"/products/{solo['id']}").json()["status"] == "trash"
    assert solo["id"] not in {p["id"] for p in api.get("/products").json()}
    assert api.delete(f"/products/{solo['id']}", params={"force": "true"}).status_code == 200
    assert api.get(f"/products/{solo['id']}").status_code == 404


def test_order_refunds_route_lists_refund_lines_as_documented(woo, api) -> None:
    order = woo.place_order([{"sku": "MS-0001-1", "quantity": 3}, {"sku": "SOLO-1", "quantity": 1}])
    woo.refund_order(order["id"], lines=[{"sku": "MS-0001-1", "quantity": 2}], restock=False)
    listed = api.get(f"/orders/{order['id']}/refunds")
    assert listed.status_code == 200 and listed.headers["X-WP-Total"] == "1"
    [refund] = listed.json()
    documented = example("order_refunds_list.json")[1]
    assert_same_shape(refund, documented, nullable=set())
    [item] = refund["line_items"]
    assert_same_shape(item, documented["line_items"][0], nullable=set())
    ordered = next(line for line in order["line_items"] if line["sku"] == "MS-0001-1")
    assert item["quantity"] == -2 and item["meta_data"][0] == {"id": item["meta_data"][0]["id"],
                                                               "key": "_refunded_item_id", "value": str(ordered["id"])}
    assert refund["amount"] == f"{2 * ordered['price']:.2f}"
    assert api.get(f"/orders/{order['id']}/refunds/{refund['id']}").json() == refund
    missing = api.get(f"/orders/{order['id']}/refunds/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "woocommerce_rest_invalid_id"
