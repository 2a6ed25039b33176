"""The Shopify connector against the Shopify simulator over real loopback HTTP.

The contract suite runs on the registered simulator (`connectors.testing`); the tests after it
(through `ShopifyHarness`) cover what only Shopify has: compare-and-swap, idempotent writes, the
cost-based bucket, signed webhooks, listings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import canonical
from canonical import CanonicalError, Listing, Money, OrderStatus, ProductStatus
from connectors.base import AccountConfig, Capability, Connector, ShipmentPush, connector_class
from connectors.errors import AuthFailed, ConnectorError, Rejected
from connectors.events import ChannelEvent, WebhookRequest
from connectors.http import HttpPolicy
from connectors.shopify import ShopifyConnector, normalise, queries
from connectors.shopify.client import (
    ESTIMATE_MARGIN,
    MAX_QUERY_COST,
    REQUESTED_COST,
    cost_key,
    estimate_cost,
    fit_page,
)
from connectors.shopify.connector import (
    FULFILLMENT_LINES_INLINE,
    LINES_INLINE,
    POLL_FIRST_PAGE,
    REFUND_LINES_INLINE,
    VARIANTS_INLINE,
)
from connectors.stock import StockUpdate, WriteStatus
from connectors.testing import ConnectorContract
from sandbox.catalogue import SeedSpec
from sandbox.runtime import ServerThread

SEED = SeedSpec(products=6, variants=2, stock=20)   # 12 SKUs, pages of 5
PAGE_SIZE = 5


@dataclass
class ShopifyHarness:
    sandbox: Any
    policy: HttpPolicy
    page_size: int = PAGE_SIZE
    catalogue_skus: frozenset[str] = frozenset()
    made: list[ShopifyConnector] = field(default_factory=list)
    simulator: Any = None

    def account(self, **options: str) -> AccountConfig:
        base = {"shop": self.sandbox.shop_domain, "base_url": self.sandbox.url, "page_size": str(self.page_size)}
        return AccountConfig("shop-test", "shopify", {**base, **options},
                             {"access_token": self.sandbox.access_token, "client_secret": self.sandbox.client_secret})

    def make_connector(self, transport: httpx.BaseTransport | None = None, **options: str) -> ShopifyConnector:
        connector = ShopifyConnector(self.account(**options), policy=self.policy, transport=transport)
        self.made.append(connector)
        return connector

    def bad_credentials_connector(self) -> ShopifyConnector:
        account = self.account()
        wrong = AccountConfig(account.name, account.platform, account.options,
                              {"access_token": "shpat_wrong", "client_secret": "x"})
        return ShopifyConnector(wrong, policy=self.policy)

    def channel_quantity(self, sku: str) -> int:
        first_location = self.sandbox.state()["locations"][0]["id"]
        return int(self.sandbox.quantities(sku)[first_location]["available"])

    def place_order(self, sku: str, quantity: int) -> str:
        return str(self.sandbox.place_order([{"sku": sku, "quantity": quantity}])["admin_graphql_api_id"])

    def corrupt(self, sku: str) -> frozenset[str]:
        self.sandbox.faults.corrupt_ids = {sku}
        variant = next(v for v in self.sandbox.state()["variants"] if v["sku"] == sku)
        return frozenset({f"gid://shopify/ProductVariant/{variant['id']}"})

    def inject(self, status: int, retry_after: float = 0) -> None:
        self.sandbox.faults.next(status, retry_after=retry_after)

    def timeout_next(self) -> None:
        self.sandbox.faults.next(0)

    def api_requests(self) -> int:
        return int(self.sandbox.requests.as_dict()["total"])

    def shipments_of(self, order_external_id: str) -> list[str]:
        number = int(order_external_id.rsplit("/", 1)[1])
        return [t for f in self.sandbox.state()["fulfillments"] if f["order_id"] == number
                for t in f["tracking_numbers"]]

    def close(self) -> None:
        for connector in self.made:
            connector.close()


@pytest.fixture
def harness(shopify_sandbox: Any, fast_policy: HttpPolicy) -> Iterator[ShopifyHarness]:
    shopify_sandbox.faults.configure({"corrupt_ids": [], "error_rate": 0, "timeout_rate": 0})
    shopify_sandbox.faults.scripted.clear()
    shopify_sandbox.set_plan("standard")
    shopify_sandbox.seed(SEED)
    shopify_sandbox.reset_counters()
    skus = frozenset(v["sku"] for v in shopify_sandbox.state()["variants"])
    made = ShopifyHarness(shopify_sandbox, fast_policy, catalogue_skus=skus)
    yield made
    made.close()


class TestShopifyContract(ConnectorContract):
    """The shared connector contract, on the simulator registered for shopify (the suite's own harness)."""

    platform = "shopify"


# -- registry, health -------------------------------------------------------------------------


def test_registered_under_the_entry_point() -> None:
    assert connector_class("shopify") is ShopifyConnector


def test_health_reports_shop_currency_and_scopes(harness: ShopifyHarness) -> None:
    health = harness.make_connector().health()
    assert health.ok and health.shop_name and health.currency == "EUR"
    assert "write_inventory" in health.granted


def test_health_failure_carries_shopifys_message(harness: ShopifyHarness) -> None:
    health = harness.bad_credentials_connector().health()
    assert not health.ok and "Invalid API key or access token" in health.detail


# -- compare-and-swap and idempotency -----------------------------------------------------------


def test_stale_compare_returns_the_observed_quantity_and_the_rest_is_applied(harness: ShopifyHarness) -> None:
    connector = harness.make_connector()
    first, second = list(connector.listings())[:2]
    harness.place_order(first.sku or "", 1)          # the channel moved under the hub: 20 → 19
    results = connector.set_stock([stock_update(first, 11, compare=True), stock_update(second, 12, compare=True)])
    assert (results[0].status is WriteStatus.STALE) and results[0].observed_quantity == 19 and not results[0].ok
    assert results[1].ok and results[1].quantity == 12
    assert harness.channel_quantity(first.sku or "") == 19
    assert harness.channel_quantity(second.sku or "") == 12


def test_stale_is_reported_even_when_the_channel_already_shows_the_wanted_value(harness: ShopifyHarness) -> None:
    # The channel may have got there through its own sale the hub has not ingested yet; calling
    # that a successful write would leave the hub's baseline one sale off. Only the hub can tell.
    connector = harness.make_connector()
    listing = next(iter(connector.listings()))
    harness.sandbox.set_stock(listing.sku, quantity=14)
    [result] = connector.set_stock([stock_update(listing, 14, compare=True)])
    assert not result.ok and (result.status is WriteStatus.STALE) and result.observed_quantity == 14


def test_publishing_zero_over_an_oversold_level_never_raises_on_hand(harness: ShopifyHarness) -> None:
    # Setting `available` to 0 where the channel committed more than it holds would raise on_hand to
    # the committed count (stock that does not exist); the level already sells nothing, so no write.
    connector = harness.make_connector()
    first, second = list(connector.listings())[:2]
    for listing in (first, second):
        harness.sandbox.store.variant_by_sku(listing.sku).inventory_policy = "CONTINUE"
        harness.place_order(listing.sku or "", 25)  # 20 on hand, 25 committed: available -5
    compared = stock_update(first, 0, compare=False)
    results = connector.set_stock([StockUpdate(**{**compared.__dict__, "compare_quantity": -5}),
                                   stock_update(second, 0, compare=False)])
    assert [(r.ok, r.quantity) for r in results] == [(True, -5), (True, -5)]
    for listing in (first, second):
        [level] = harness.sandbox.quantities(listing.sku or "").values()
        assert level == {"available": -5, "on_hand": 20, "committed": 25}
    later_update = stock_update(first, 3, compare=False)  # stock came in: 3 to sell, compared with -5
    [later] = connector.set_stock([StockUpdate(**{**later_update.__dict__, "compare_quantity": -5})])
    assert later.ok
    [level] = harness.sandbox.quantities(first.sku or "").values()
    assert level == {"available": 3, "on_hand": 28, "committed": 25}


def test_per_item_errors_are_reported_per_item(harness: ShopifyHarness) -> None:
    connector = harness.make_connector()
    good = next(iter(connector.listings()))
    unknown = StockUpdate("ghost", "gid://shopify/ProductVariant/1", "gid://shopify/Product/1",
                          "gid://shopify/InventoryItem/1", None, 3, None)
    no_item = StockUpdate("no-item", "gid://shopify/ProductVariant/2", "gid://shopify/Product/2", None, None, 3)
    results = connector.set_stock([unknown, stock_update(good, 16, compare=False), no_item])
    assert [r.listing_ref for r in results] == ["ghost", good.sku, "no-item"]
    assert not results[0].ok and "INVALID_INVENTORY_ITEM" in (results[0].reason or "")
    assert results[1].ok and harness.channel_quantity(good.sku or "") == 16
    assert not results[2].ok and "no inventory item" in (results[2].reason or "")


class LoseFirstAnswer(httpx.BaseTransport):
    """Real HTTP; the first request `matching` is delivered and applied, but its answer is lost."""

    def __init__(self, matching: Callable[[httpx.Request], bool]) -> None:
        self.inner, self.matching, self.lost = httpx.HTTPTransport(), matching, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not self.lost and self.matching(request):
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadTimeout("answer lost after the write was applied", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_write_retried_after_a_lost_answer_is_applied_once(harness: ShopifyHarness) -> None:
    transport = LoseFirstAnswer(lambda request: b"inventorySetQuantities" in request.content)
    connector = harness.make_connector(transport=transport)
    listing = next(iter(connector.listings()))
    harness.sandbox.writes.clear()
    [result] = connector.set_stock([stock_update(listing, 17, compare=False)])   # no CAS: only the key protects
    assert transport.lost == 1 and result.ok
    writes = [w for w in harness.sandbox.writes.entries() if w["kind"] == "inventorySetQuantities"]
    assert len(writes) == 1 and writes[0]["available"] == 17


# -- the rate budget ----------------------------------------------------------------------------


def test_a_steady_bulk_write_on_a_small_bucket_is_never_throttled(harness: ShopifyHarness) -> None:
    harness.sandbox.seed(SeedSpec(products=1000, variants=2, stock=5))
    harness.sandbox.configure({"bucket": {"capacity": 40, "restore_rate": 20}})
    harness.sandbox.reset_counters()
    location = harness.sandbox.state()["locations"][0]["id"]
    updates = [StockUpdate(v["sku"], v["id"], v["product_id"], f"gid://shopify/InventoryItem/{v['inventory_item_id']}",
                           location, 7, None) for v in harness.sandbox.state()["variants"]]
    assert len(updates) == 2000
    # A 250-item mutation can outlast the harness's 0.5 s timeout on a loaded machine; a timed-out
    # attempt sent again would be counted here as a ninth call.
    connector = ShopifyConnector(harness.account(), policy=replace(harness.policy, timeout_s=30.0))
    harness.made.append(connector)
    results = connector.set_stock(updates)
    assert all(r.ok for r in results) and len(results) == 2000
    summary = harness.sandbox.request_counts()
    assert summary["throttled"] == 0
    assert summary["by_status"].get("200") == 8, summary   # 2,000 / 250 mutations, nothing retried
    assert harness.channel_quantity(updates[-1].listing_ref) == 7


def test_a_throttled_answer_waits_for_the_deficit_and_retries(harness: ShopifyHarness) -> None:
    harness.sandbox.configure({"bucket": {"available": 0, "restore_rate": 10}})
    connector = harness.make_connector()
    assert connector.currency() == "EUR"
    assert harness.sandbox.request_counts()["throttled"] == 1


def test_the_stock_location_and_currency_are_read_once_per_process(harness: ShopifyHarness) -> None:
    variant = harness.sandbox.state()["variants"][0]
    update = StockUpdate(variant["sku"], variant["id"], variant["product_id"],
                         f"gid://shopify/InventoryItem/{variant['inventory_item_id']}", None, 9, None)
    for quantity in (9, 8, 7):   # three pushes, each by a new connector as each job makes one
        connector = harness.make_connector()
        [result] = connector.set_stock([replace(update, quantity=quantity)])
        assert result.ok and connector.currency() == "EUR"
    operations = harness.sandbox.request_counts()["by_operation"]
    assert operations.get("Locations") == 1 and operations.get("Health") == 1
    assert harness.channel_quantity(variant["sku"]) == 7


def test_an_order_poll_starts_with_a_small_page_and_grows_while_pages_are_full(harness: ShopifyHarness) -> None:
    skus = sorted(harness.catalogue_skus)
    for n in range(9):
        harness.place_order(skus[n % len(skus)], 1)
    total = len(harness.sandbox.state()["orders"])
    harness.sandbox.reset_counters()
    connector = harness.make_connector(page_size="250")
    orders = [o for o in connector.order_stream() if isinstance(o, canonical.Order)]
    assert len(orders) == total
    sizes, read = [], 0
    while read < total or not sizes:
        sizes.append(min(POLL_FIRST_PAGE * 2 ** len(sizes), connector._page(queries.ORDERS, {
            "linesFirst": LINES_INLINE, "refundLinesFirst": REFUND_LINES_INLINE})))
        read += sizes[-1]
    counts = harness.sandbox.request_counts()
    assert counts["by_operation"]["Orders"] == len(sizes)
    first_page = estimate_cost(queries.ORDERS, {"first": POLL_FIRST_PAGE, "linesFirst": LINES_INLINE,
                                                "refundLinesFirst": REFUND_LINES_INLINE})
    assert first_page < 300   # the largest page would request ~1,000 points for a poll that finds a few


def test_every_read_document_fits_shopifys_cost_limit_at_the_page_sizes_used() -> None:
    reads: dict[str, dict[str, Any]] = {queries.LOCATIONS: {}, queries.STOCK_LEVELS: {"locationId": "x"},
             queries.PRODUCTS: {"variantsFirst": VARIANTS_INLINE},
             queries.LISTINGS: {"locationId": "x"},
             queries.ORDERS: {"linesFirst": LINES_INLINE, "refundLinesFirst": REFUND_LINES_INLINE},
             queries.ORDER_LINE_ITEMS: {"id": "x"}, queries.REFUND_LINE_ITEMS: {"id": "x"},
             queries.PRODUCT_VARIANTS: {"id": "x"}, queries.WEBHOOKS: {},
             queries.SHIPMENTS: {"fulfillmentLinesFirst": FULFILLMENT_LINES_INLINE},
             queries.FULFILLMENT_LINE_ITEMS: {"id": "x"}}
    for document, variables in reads.items():
        first = fit_page(document, variables, wanted=250)
        assert estimate_cost(document, {**variables, "first": first}) <= MAX_QUERY_COST
    assert fit_page(queries.LOCATIONS, {}, wanted=250) == 250
    assert estimate_cost(queries.ORDER_FULFILMENT_STATE, {"id": "x"}) <= MAX_QUERY_COST
    single = {"id": "x", "locationId": "x", "linesFirst": LINES_INLINE, "refundLinesFirst": REFUND_LINES_INLINE}
    assert estimate_cost(queries.ORDER, single) <= MAX_QUERY_COST
    assert estimate_cost(queries.LISTING, single) <= MAX_QUERY_COST


def test_the_local_cost_estimate_matches_the_simulators(harness: ShopifyHarness) -> None:
    client = harness.make_connector().client
    variables = {"first": 7, "variantsFirst": VARIANTS_INLINE, "query": None}
    REQUESTED_COST.clear()
    client.execute(queries.PRODUCTS, variables)
    assert estimate_cost(queries.PRODUCTS, variables) == REQUESTED_COST[cost_key(queries.PRODUCTS, variables)]


def test_a_first_reservation_covers_the_fulfilment_query_and_later_ones_use_the_reported_cost(
        harness: ShopifyHarness) -> None:
    # This query once came in under its requested cost, and the shortfall showed up as THROTTLED.
    order = harness.sandbox.place_order([{"sku": "MS-0001-1", "quantity": 1}])
    variables = {"id": order["admin_graphql_api_id"]}
    REQUESTED_COST.clear()
    harness.make_connector().client.execute(queries.ORDER_FULFILMENT_STATE, variables)
    reported = REQUESTED_COST[cost_key(queries.ORDER_FULFILMENT_STATE, variables)]
    assert estimate_cost(queries.ORDER_FULFILMENT_STATE, variables) * ESTIMATE_MARGIN >= reported
    other = {"id": "gid://shopify/Order/1"}
    assert REQUESTED_COST[cost_key(queries.ORDER_FULFILMENT_STATE, other)] == reported  # ids do not matter


def test_a_repeated_cursor_is_refused() -> None:
    page = {"data": {"locations": {"nodes": [{"id": "gid://shopify/Location/1", "name": "A", "isActive": True}],
                                   "pageInfo": {"hasNextPage": True, "endCursor": "same"}}}}
    # Nothing real returns a cursor twice, so this is the one test on a fake transport.
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=page))
    account = AccountConfig("a", "shopify", {"shop": "x.myshopify.com"}, {"access_token": "t"})
    connector = ShopifyConnector(account, transport=transport)
    with pytest.raises(ConnectorError, match="cursor 'same' twice"):
        list(connector.locations())


# -- webhooks -----------------------------------------------------------------------------------


def signed(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_webhook_signature_is_verified_and_a_forgery_rejected(harness: ShopifyHarness) -> None:
    connector = harness.make_connector()
    body = json.dumps({"id": 1, "name": "#1001"}).encode()
    headers = {"X-Shopify-Hmac-Sha256": signed(body, harness.sandbox.client_secret),
               "X-Shopify-Topic": "orders/create", "X-Shopify-Event-Id": "evt-1"}
    event = verified(connector, headers, body)
    assert (event.event_id, event.topic, event.payload["id"]) == ("evt-1", "orders/create", 1)
    with pytest.raises(AuthFailed):
        verified(connector, headers, body.replace(b"1001", b"1002"))
    with pytest.raises(AuthFailed):
        verified(connector, {**headers, "X-Shopify-Hmac-Sha256": signed(body, "not-the-secret")}, body)


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    got: list[tuple[dict[str, str], bytes]] = []
    lock = threading.Lock()

    async def hook(request: Request) -> Response:
        body = await request.body()
        with lock:
            got.append((dict(request.headers), body))
        return Response(status_code=200)

    server = ServerThread(Starlette(routes=[Route("/hooks", hook, methods=["POST"])])).start()
    yield f"{server.url}/hooks", got
    server.stop()


def test_webhooks_are_registered_once_and_real_deliveries_verify(harness: ShopifyHarness, receiver: Any) -> None:
    url, got = receiver
    connector = harness.make_connector()
    for existing in connector.list_webhooks():
        connector.delete_webhook(existing.external_id)
    subscribed = connector.register_webhooks(url)
    assert {s.topic for s in subscribed} == {"orders/create", "orders/updated", "orders/cancelled",
                                             "fulfillments/create"}
    assert {s.external_id for s in connector.register_webhooks(url)} == {s.external_id for s in subscribed}
    harness.place_order(sorted(harness.catalogue_skus)[0], 1)
    harness.sandbox.webhooks.flush()
    events = [verified(connector, headers, body) for headers, body in got]
    assert "orders/create" in {e.topic for e in events}
    for subscription in subscribed:
        connector.delete_webhook(subscription.external_id)
    assert connector.list_webhooks() == []


# -- listings -----------------------------------------------------------------------------------


def test_a_listing_is_created_and_updated(harness: ShopifyHarness) -> None:
    connector = harness.make_connector()
    eur = "EUR"
    product = canonical.Product(title="Rain Jacket", vendor="Acme", status=ProductStatus.DRAFT, variants=(
        canonical.Variant(sku="RJ-S", options={"Size": "S"}, price=Money.parse("49.90", eur),
                          barcode=canonical.clean_barcode("4006381333931")),
        canonical.Variant(sku="RJ-M", options={"Size": "M"}, price=Money.parse("49.90", eur)),
    ))
    created = connector.create_listing(product)
    assert [c.sku for c in created] == ["RJ-S", "RJ-M"]
    assert created[0].barcode == "4006381333931" and created[0].status is ProductStatus.DRAFT
    changed = connector.update_listing(created[1], {"price": Money.parse("39.90", eur), "sku": "RJ-M2",
                                                   "compare_at_price": Money.parse("59.90", eur),
                                                   "title": "Rain Jacket II", "status": ProductStatus.ACTIVE})
    assert changed.sku == "RJ-M2" and changed.price == Money.parse("39.90", eur)
    assert changed.compare_at_price == Money.parse("59.90", eur)
    assert changed.product_title == "Rain Jacket II" and changed.status is ProductStatus.ACTIVE
    with pytest.raises(Rejected, match="cannot change"):
        connector.update_listing(changed, {"weight": 3})


# -- orders end to end --------------------------------------------------------------------------


def test_order_states_on_the_channel_map_to_canonical_states(harness: ShopifyHarness) -> None:
    skus = sorted(harness.catalogue_skus)
    cancelled = harness.sandbox.place_order([{"sku": skus[0], "quantity": 1}])
    harness.sandbox.cancel_order(cancelled["id"], restock=True)
    refunded = harness.sandbox.place_order([{"sku": skus[1], "quantity": 2}])
    harness.sandbox.refund_order(refunded["id"], restock=True)
    open_order = harness.place_order(skus[2], 1)
    connector = harness.make_connector()
    by_id = {o.external_id: o for o in connector.orders()}
    assert by_id[cancelled["admin_graphql_api_id"]].status is OrderStatus.CANCELLED
    assert by_id[open_order].status is OrderStatus.OPEN
    refunded_order = by_id[refunded["admin_graphql_api_id"]]
    assert refunded_order.status is OrderStatus.REFUNDED
    assert refunded_order.refunds and refunded_order.lines[0].cancelled_quantity == 2


# -- normalise on hand-made payloads ------------------------------------------------------------


def order_payload(**overrides: Any) -> dict[str, Any]:
    money = {"shopMoney": {"amount": "10.00", "currencyCode": "EUR"}}
    base: dict[str, Any] = {
        "id": "gid://shopify/Order/1", "name": "#1001", "createdAt": "2026-04-01T10:00:00Z",
        "updatedAt": "2026-04-01T11:00:00Z", "cancelledAt": None, "currencyCode": "EUR",
        "displayFinancialStatus": "PAID", "displayFulfillmentStatus": "UNFULFILLED", "totalPriceSet": money,
        "shippingAddress": {"countryCodeV2": "DE"},
    }
    return {**base, **overrides}


LINE = {"id": "gid://shopify/LineItem/9", "sku": "A-1", "title": "A", "quantity": 3, "currentQuantity": 3,
        "variant": {"id": "gid://shopify/ProductVariant/5"},
        "originalUnitPriceSet": {"shopMoney": {"amount": "3.50", "currencyCode": "EUR"}}}


@pytest.mark.parametrize(("overrides", "status"), [
    ({}, OrderStatus.OPEN),
    ({"displayFinancialStatus": "PENDING"}, OrderStatus.OPEN),
    ({"displayFinancialStatus": "AUTHORIZED"}, OrderStatus.OPEN),
    ({"displayFulfillmentStatus": "PARTIALLY_FULFILLED"}, OrderStatus.OPEN),
    ({"displayFulfillmentStatus": "FULFILLED"}, OrderStatus.COMPLETED),
    ({"displayFinancialStatus": "PARTIALLY_REFUNDED"}, OrderStatus.OPEN),
    ({"displayFinancialStatus": "REFUNDED", "displayFulfillmentStatus": "FULFILLED"}, OrderStatus.REFUNDED),
    ({"cancelledAt": "2026-04-01T12:00:00Z", "displayFinancialStatus": "REFUNDED"}, OrderStatus.CANCELLED),
])
def test_order_status_mapping(overrides: dict[str, Any], status: OrderStatus) -> None:
    assert normalise.order(order_payload(**overrides), [LINE], [], account="a").status is status


def test_refund_restock_types() -> None:
    refund = {"id": "gid://shopify/Refund/4", "createdAt": "2026-04-02T10:00:00Z"}
    lines = [{"quantity": 1, "restockType": "CANCEL", "lineItem": {"id": LINE["id"]}},
             {"quantity": 1, "restockType": "RETURN", "lineItem": {"id": LINE["id"]}},
             {"quantity": 1, "restockType": "NO_RESTOCK", "lineItem": {"id": LINE["id"]}}]
    order = normalise.order(order_payload(), [LINE], [(refund, lines)], account="a")
    assert [line.restock for line in order.refunds[0].lines] == [False, True, False]
    assert order.lines[0].cancelled_quantity == 1
    assert order.lines[0].unit_price == Money(amount=Decimal("3.50"), currency="EUR")
    assert order.placed_at == datetime(2026, 4, 1, 10, tzinfo=UTC) and order.customer.country == "DE"


def test_a_malformed_variant_names_its_gid_and_field() -> None:
    raw = {"id": "gid://shopify/ProductVariant/77", "sku": "B-1", "price": "not-a-number", "barcode": "",
           "product": {"id": "gid://shopify/Product/7", "title": "B", "status": "ACTIVE"},
           "inventoryItem": {"id": "gid://shopify/InventoryItem/8", "tracked": True}}
    with pytest.raises(CanonicalError) as failure:
        normalise.listing(raw, account="a", currency="EUR")
    assert failure.value.field == "price" and "gid://shopify/ProductVariant/77" in str(failure.value)
    with pytest.raises(CanonicalError) as wrong:
        normalise.listing({**raw, "price": "1.00", "barcode": "12345"}, account="a", currency="EUR")
    assert wrong.value.field == "barcode" and "ProductVariant/77" in str(wrong.value)


# -- shipments read back (a fulfilment source) ---------------------------------------------------


def test_a_fulfillment_comes_back_from_shipments_with_tracking_and_lines(harness: ShopifyHarness) -> None:
    skus = sorted(harness.catalogue_skus)
    harness.sandbox.place_order([{"sku": skus[0], "quantity": 1}])  # not fulfilled: no shipment
    placed = harness.sandbox.place_order([{"sku": skus[1], "quantity": 3}, {"sku": skus[2], "quantity": 1}])
    connector = harness.make_connector()
    assert Capability.READ_SHIPMENTS in connector.capabilities
    order = connector.order(placed["admin_graphql_api_id"])
    first_line = next(line for line in order.lines if line.sku == skus[1])
    connector.push_shipment(ShipmentPush("shipment:1", order.external_id, "DHL", "JD-1", "https://dhl.example/JD-1",
                                         ((first_line.external_id, 2),)))
    before = datetime.now(UTC).replace(microsecond=0)
    [shipment] = list(harness.make_connector().shipments())
    assert (shipment.order_external_id, shipment.order_reference) == (order.external_id, placed["name"])
    assert (shipment.carrier, shipment.tracking_number, shipment.tracking_url) == (
        "DHL", "JD-1", "https://dhl.example/JD-1")
    assert [(line.order_line_external_id, line.sku, line.quantity) for line in shipment.lines] == [
        (first_line.external_id, skus[1], 2)]
    assert shipment.shipped_at is not None and shipment.shipped_at.tzinfo is not None
    assert list(harness.make_connector().shipments(updated_since=before.replace(year=before.year + 1))) == []


def shipment_payloads(**order: Any) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    fulfillment = {"id": "gid://shopify/Fulfillment/3", "status": "SUCCESS", "createdAt": "2026-04-02T09:00:00Z",
                   "trackingInfo": [{"company": "UPS", "number": "1Z9", "url": None}]}
    lines = [{"quantity": 2, "lineItem": {"id": LINE["id"], "sku": "A-1"}}]
    return {"id": "gid://shopify/Order/1", "name": "#1001", "poNumber": None, **order}, fulfillment, lines


def test_a_shipments_reference_is_the_po_number_when_set_else_the_order_name() -> None:
    assert normalise.shipment(*shipment_payloads()).order_reference == "#1001"
    assert normalise.shipment(*shipment_payloads(poNumber=" woo:727 ")).order_reference == "woo:727"
    shipped = normalise.shipment(*shipment_payloads())
    assert shipped.shipped_at == datetime(2026, 4, 2, 9, tzinfo=UTC) and shipped.tracking_url is None


def test_a_fulfillment_without_tracking_is_an_error_naming_its_gid() -> None:
    order, fulfillment, lines = shipment_payloads()
    with pytest.raises(CanonicalError) as failure:
        normalise.shipment(order, {**fulfillment, "trackingInfo": []}, lines)
    assert failure.value.field == "trackingInfo.number" and "gid://shopify/Fulfillment/3" in str(failure.value)
    with pytest.raises(CanonicalError) as bad_quantity:
        normalise.shipment(order, fulfillment, [{**lines[0], "quantity": 0}])
    assert "gid://shopify/Fulfillment/3" in str(bad_quantity.value)


def verified(connector: Connector, headers: Mapping[str, str], body: bytes) -> ChannelEvent:
    """The one event of a delivery, as the webhook server hands it to the connector."""
    [event] = connector.verify_webhook(WebhookRequest("POST", headers, {}, body))
    return event


def stock_update(listing: Listing, quantity: int, *, compare: bool) -> StockUpdate:
    """A Shopify write of `quantity`, compared with the listing's read quantity when `compare`."""
    return StockUpdate(listing_ref=listing.sku or "", external_variant_id=listing.external_variant_id,
                       external_product_id=listing.external_product_id,
                       external_inventory_item_id=listing.external_inventory_item_id,
                       location_external_id=None, quantity=quantity,
                       compare_quantity=listing.quantity if compare else None)
