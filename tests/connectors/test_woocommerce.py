"""The WooCommerce connector over real HTTP against the WooCommerce simulator on loopback.

`TestWooCommerceContract` runs the shared connector contract (connectors.testing) on the registered
simulator; the other tests (through `WooCommerceHarness`) are WooCommerce specifics: batch splitting and
per-item errors, shipment tracking vs. order-note fallback, listings writes, the request limit,
and webhook signatures on real deliveries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from canonical import CanonicalError, Money, OrderStatus, ProductStatus
from connectors.base import AccountConfig, Capability, Connector, ShipmentPush, connector_class
from connectors.budget import RedisBudgets
from connectors.errors import AuthFailed, RateLimited, Rejected
from connectors.events import ChannelEvent, WebhookRequest
from connectors.http import HttpPolicy
from connectors.stock import StockUpdate
from connectors.testing import ConnectorContract
from connectors.woocommerce import WooCommerceConnector, normalise
from connectors.woocommerce.webhooks import signature
from sandbox.catalogue import SeedSpec
from sandbox.runtime import ServerThread
from sandbox.woocommerce import WooCommerceSandbox

WEBHOOK_SECRET = "whsec-test-1"
# 5 variable products of 2 variations + 2 simple products: 7 parents, 2 pages of 4.
SEED = SeedSpec(products=5, variants=2, stock=20, extra=({"sku": "SIMPLE-1", "price": "4.50"},
                                                         {"sku": "SIMPLE-2", "price": "7.00"}))
PAGE_SIZE = 4


@dataclass
class WooCommerceHarness:
    """The contract harness for WooCommerce (see tests/connectors/contract.py), plus a few extras."""

    sandbox: WooCommerceSandbox
    policy: HttpPolicy
    made: list[WooCommerceConnector] = field(default_factory=list)
    catalogue_skus: frozenset[str] = frozenset()
    page_size: int = PAGE_SIZE
    simulator: Any = None

    def make_connector(self, transport: httpx.BaseTransport | None = None, **options: str) -> WooCommerceConnector:
        secrets = {"consumer_key": self.sandbox.consumer_key, "consumer_secret": self.sandbox.consumer_secret,
                   "webhook_secret": WEBHOOK_SECRET}
        secrets.update({k: options.pop(k) for k in list(options) if k in secrets})
        account = AccountConfig("woo-test", "woocommerce",
                                {"url": self.sandbox.url, "page_size": str(self.page_size), **options}, secrets)
        connector = WooCommerceConnector(account, policy=self.policy, transport=transport)
        self.made.append(connector)
        return connector

    def bad_credentials_connector(self) -> WooCommerceConnector:
        return self.make_connector(consumer_secret="cs_wrong")

    def channel_quantity(self, sku: str) -> int:
        quantity = self.sandbox.stock(sku)
        assert quantity is not None, f"{sku} has no managed stock"
        return quantity

    def place_order(self, sku: str, quantity: int) -> str:
        return str(self.sandbox.place_order([{"sku": sku, "quantity": quantity}])["id"])

    def corrupt(self, sku: str) -> frozenset[str]:
        """The product or variation holding `sku` is served malformed; its id is the one to name."""
        record_id = str(self.sandbox.store.by_sku(sku).id)
        self.sandbox.faults.corrupt_ids.add(record_id)
        return frozenset({record_id})

    def corrupt_id(self, record_id: str) -> None:
        self.sandbox.faults.corrupt_ids.add(record_id)

    def inject(self, status: int, retry_after: float = 0, count: int = 1) -> None:
        self.sandbox.faults.next(status, retry_after=retry_after, count=count)

    def timeout_next(self) -> None:
        self.sandbox.faults.next(0)

    def api_requests(self) -> int:
        return int(self.sandbox.requests.as_dict()["total"])

    def shipments_of(self, order_external_id: str) -> list[str]:
        return [t["tracking_number"] for t in self.sandbox.trackings(int(order_external_id))]

    # extras for the WooCommerce-specific tests
    def requests(self, route: str) -> int:
        return int(self.sandbox.requests.as_dict()["by_route"].get(route, 0))

    def statuses(self) -> dict[str, int]:
        return dict(self.sandbox.requests.as_dict()["by_status"])

    def quantity(self, sku: str) -> int | None:
        return self.sandbox.stock(sku)

    def close(self) -> None:
        for connector in self.made:
            connector.close()


@pytest.fixture(scope="module")
def woocommerce_sandbox() -> Iterator[WooCommerceSandbox]:
    sandbox = WooCommerceSandbox(spec=SEED).start()
    sandbox.faults.timeout_seconds = 2.0  # a "timeout" answers late (504) instead of after 30 s
    yield sandbox
    sandbox.stop()


@pytest.fixture
def harness(woocommerce_sandbox: WooCommerceSandbox, fast_policy: HttpPolicy) -> Iterator[WooCommerceHarness]:
    """A freshly seeded store on the module's server (starting uvicorn per test costs time)."""
    sandbox = woocommerce_sandbox
    sandbox.seed(SEED)
    sandbox.faults.configure({"corrupt_ids": [], "error_rate": 0, "timeout_rate": 0})
    sandbox.faults.scripted.clear()
    sandbox.sim.options.shipment_tracking = True
    sandbox.sim.options.request_limit = None
    with sandbox.store.lock:
        sandbox.store.webhooks.clear()
    made = WooCommerceHarness(sandbox, fast_policy,
                              catalogue_skus=frozenset(p["sku"] for p in sandbox.state()["products"] if p["sku"]))
    yield made
    made.close()


class TestWooCommerceContract(ConnectorContract):
    """The shared connector contract, on the simulator registered for woocommerce (the suite's own harness)."""

    platform = "woocommerce"


# ---- WooCommerce basics beyond the contract -----------------------------------------------------
def test_registered_under_its_entry_point() -> None:
    assert connector_class("woocommerce") is WooCommerceConnector
    assert {Capability.READ_CATALOG, Capability.READ_STOCK, Capability.READ_ORDERS, Capability.READ_SHIPMENTS,
            Capability.WRITE_STOCK, Capability.WRITE_LISTINGS, Capability.WRITE_SHIPMENTS, Capability.WEBHOOKS,
            Capability.REGISTER_WEBHOOKS} == WooCommerceConnector.capabilities
    assert {o.name for o in WooCommerceConnector.options if o.required} == {"url", "consumer_key", "consumer_secret"}
    assert (WooCommerceConnector.stock_batch_size, WooCommerceConnector.stock_write_mode) == (100, "absolute")


def test_health_names_store_and_currency(harness: WooCommerceHarness) -> None:
    health = harness.make_connector().health()
    assert health.ok and health.currency == "EUR" and health.shop_name.startswith("127.0.0.1")


def test_health_reports_the_platforms_own_message(harness: WooCommerceHarness) -> None:
    health = harness.bad_credentials_connector().health()
    assert not health.ok
    assert "Invalid signature - provided signature does not match." in health.detail and "cs_wrong" not in health.detail


def test_listings_products_and_stock_levels(harness: WooCommerceHarness) -> None:
    harness.sandbox.set_stock("MS-0002-2", quantity=3)
    connector = harness.make_connector()
    (location,) = connector.locations()
    assert location.external_id == "default"
    listings = {x.sku: x for x in connector.listings()}
    variation, simple = listings["MS-0001-1"], listings["SIMPLE-1"]
    assert variation.external_product_id != variation.external_variant_id and variation.title == "S"
    assert simple.external_product_id == simple.external_variant_id
    assert simple.price == Money.parse("4.50", "EUR") and variation.barcode is not None
    levels = {x.sku: x.available for x in connector.stock_levels()}
    assert levels["MS-0002-2"] == 3 and levels["MS-0001-1"] == 20 and len(levels) == 12
    products = {p.title: p for p in connector.products()}
    assert [v.options for v in products["Product 0001"].variants] == [{"Size": "S"}, {"Size": "M"}]


def test_order_lines_money_and_times(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    order = connector.order(harness.place_order("SIMPLE-2", 3))
    assert order.status is OrderStatus.OPEN and order.currency == "EUR"
    assert order.total == Money.parse("21.00", "EUR")
    assert [(x.sku, x.quantity, x.unit_price) for x in order.lines] == [("SIMPLE-2", 3, Money.parse("7.00", "EUR"))]
    assert order.placed_at.utcoffset() == timedelta(0)


def test_cancelled_and_refunded_orders(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    cancelled, refunded = harness.place_order("MS-0003-1", 1), harness.place_order("MS-0003-2", 2)
    harness.sandbox.cancel_order(int(cancelled))
    harness.sandbox.refund_order(int(refunded))
    assert connector.order(cancelled).status is OrderStatus.CANCELLED
    order = connector.order(refunded)
    assert order.status is OrderStatus.REFUNDED and len(order.refunds) == 1


class NoRefundsRoute(httpx.BaseTransport):
    """A store whose REST API lost its refunds route (a plugin, a proxy): everything else is real."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/refunds"):
            return httpx.Response(404, json={"code": "rest_no_route", "data": {"status": 404},
                                             "message": "No route was found matching the URL and request method."})
        return self.inner.handle_request(request)


def test_partial_refund_lines_are_read_and_a_store_without_them_is_an_error(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    order_id = harness.place_order("MS-0003-1", 2)
    harness.sandbox.refund_order(int(order_id), lines=[{"sku": "MS-0003-1", "quantity": 1}], restock=False)
    order = connector.order(order_id)
    [refund] = order.refunds
    assert [(item.line_external_id, item.quantity) for item in refund.lines] == [(order.lines[0].external_id, 1)]
    blind = harness.make_connector(transport=NoRefundsRoute())
    with pytest.raises(Rejected, match="refunded lines cannot be read"):
        blind.order(order_id)


def test_bad_numeric_options_are_refused(harness: WooCommerceHarness) -> None:
    with pytest.raises(Rejected, match="request_limit"):
        harness.make_connector(request_limit="fast")
    with pytest.raises(Rejected, match="page_size"):
        harness.make_connector(page_size="0")


def test_a_corrupt_order_is_skipped_and_named(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    bad, good = harness.place_order("MS-0001-1", 1), harness.place_order("MS-0001-2", 1)
    harness.corrupt_id(bad)
    assert [o.external_id for o in connector.orders()] == [good]
    (error,) = connector.skipped
    assert f"order {bad}" in error.source and error.field == "total"


def test_a_429_honours_retry_after(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    connector.currency()
    throttled = harness.statuses().get("429", 0)
    harness.inject(429, retry_after=0.3)
    started = time.monotonic()
    assert len(list(connector.listings())) == 12
    assert time.monotonic() - started >= 0.25
    assert harness.statuses().get("429", 0) == throttled + 1


def test_reads_are_lazy(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    connector.currency()
    before = harness.requests("GET products")
    listings = connector.listings()
    next(listings)
    assert harness.requests("GET products") == before + 1  # page 2 not fetched yet
    assert len(list(listings)) == 11
    assert harness.requests("GET products") == before + 2


# ---- WooCommerce specifics ----------------------------------------------------------------------
def test_250_stock_updates_take_three_batch_calls(harness: WooCommerceHarness) -> None:
    harness.sandbox.seed(SeedSpec(products=250, variants=1, sku_prefix="B"))
    connector = harness.make_connector(page_size="100")
    listings = list(connector.listings())
    assert len(listings) == 250 and all(x.external_product_id == x.external_variant_id for x in listings)
    before = harness.requests("POST products/batch")
    results = connector.set_stock([StockUpdate(x.sku or "", x.external_variant_id, x.external_product_id, None,
                                               "default", 7) for x in listings])
    assert harness.requests("POST products/batch") - before == 3
    assert len(results) == 250 and all(r.ok and r.quantity == 7 for r in results)
    assert {harness.quantity(x.sku or "") for x in listings} == {7}


def test_variations_go_to_their_parents_batch(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    listings = list(connector.listings())[:4]  # two variable products, two variations each
    before = harness.requests("POST products/{id}/variations/batch")
    simple_before = harness.requests("POST products/batch")
    results = connector.set_stock([StockUpdate(x.sku or "", x.external_variant_id, x.external_product_id, None,
                                               None, 1) for x in listings])
    assert harness.requests("POST products/{id}/variations/batch") - before == 2
    assert harness.requests("POST products/batch") == simple_before  # simple products only go there
    assert all(r.ok for r in results) and {harness.quantity(x.sku or "") for x in listings} == {1}


def test_one_bad_item_in_a_batch_is_reported_on_its_own(harness: WooCommerceHarness) -> None:
    harness.sandbox.seed(SeedSpec(products=3, variants=1))
    connector = harness.make_connector()
    good = list(connector.listings())
    updates = [StockUpdate(x.sku or "", x.external_variant_id, x.external_product_id, None, None, 4) for x in good]
    updates.insert(1, StockUpdate("ghost", "999999", "999999", None, None, 4))
    results = {r.listing_ref: r for r in connector.set_stock(updates)}
    assert not results["ghost"].ok and "Invalid ID" in (results["ghost"].reason or "")
    assert all(results[x.sku or ""].ok for x in good)
    assert {harness.quantity(x.sku or "") for x in good} == {4}


def test_shipment_via_tracking_extension(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    order_id = harness.place_order("MS-0002-1", 1)
    push = ShipmentPush("shipment:7", order_id, "UPS", "1Z999", "https://ups.example/1Z999", (("1", 1),))
    result = connector.push_shipment(push)
    again = connector.push_shipment(push)
    (tracking,) = harness.sandbox.trackings(int(order_id))
    assert (tracking["tracking_number"], tracking["tracking_provider"], tracking["tracking_link"]) == (
        "1Z999", "UPS", "https://ups.example/1Z999")
    assert result.external_id == tracking["tracking_id"] and again.already_present
    assert harness.sandbox.order(int(order_id))["status"] == "processing"  # not complete: status kept


def test_shipment_via_order_note_without_the_extension(harness: WooCommerceHarness) -> None:
    harness.sandbox.sim.options.shipment_tracking = False
    connector = harness.make_connector()
    order_id = harness.place_order("MS-0002-1", 1)
    push = ShipmentPush("shipment:8", order_id, "DPD", "0155", None, (("1", 1),), complete=True)
    first = connector.push_shipment(push)
    again = connector.push_shipment(push)
    assert again.already_present and again.external_id == first.external_id
    notes = [n for n in harness.sandbox.notes(int(order_id)) if "shipment:8" in n["note"]]
    assert len(notes) == 1 and "DPD" in notes[0]["note"] and "0155" in notes[0]["note"]
    assert notes[0]["customer_note"] is True
    assert harness.sandbox.trackings(int(order_id)) == []
    assert harness.sandbox.order(int(order_id))["status"] == "completed"


def test_shipment_for_an_unknown_order_is_rejected(harness: WooCommerceHarness) -> None:
    push = ShipmentPush("shipment:9", "987654", "DHL", "X1", None, (("1", 1),))
    with pytest.raises(Rejected):
        harness.make_connector().push_shipment(push)


def test_update_listing_price_sale_and_status(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    listing = next(x for x in connector.listings() if x.sku == "MS-0001-1")
    eur = lambda amount: Money.parse(amount, "EUR")  # noqa: E731
    updated = connector.update_listing(listing, {"price": eur("9.99"), "compare_at_price": eur("14.99")})
    assert (updated.price, updated.compare_at_price) == (eur("9.99"), eur("14.99"))
    assert updated.product_title == listing.product_title
    updated = connector.update_listing(updated, {"compare_at_price": None, "status": ProductStatus.ARCHIVED})
    assert (updated.price, updated.compare_at_price, updated.status) == (eur("9.99"), None, ProductStatus.ARCHIVED)
    renamed = connector.update_listing(updated, {"product_title": "Renamed", "sku": "MS-NEW-1"})
    assert (renamed.product_title, renamed.sku) == ("Renamed", "MS-NEW-1")
    with pytest.raises(Rejected, match="weight"):
        connector.update_listing(listing, {"weight": "2kg"})
    with pytest.raises(Rejected, match="product_title"):
        connector.update_listing(listing, {"title": "a variation has no title of its own"})


def test_create_listing_simple_and_variable(harness: WooCommerceHarness) -> None:
    from canonical import Product, Variant

    connector = harness.make_connector()
    eur = Money.parse("12.00", "EUR")
    (simple,) = connector.create_listing(Product(title="Mug", variants=(Variant(sku="MUG-1", price=eur),)))
    assert simple.external_product_id == simple.external_variant_id and simple.sku == "MUG-1"
    shirts = Product(title="Shirt", variants=(
        Variant(sku="SH-S", options={"Size": "S"}, price=eur), Variant(sku="SH-M", options={"Size": "M"}, price=eur)))
    created = connector.create_listing(shirts)
    assert [(x.sku, x.title, x.product_title) for x in created] == [("SH-S", "S", "Shirt"), ("SH-M", "M", "Shirt")]
    assert len({x.external_product_id for x in created}) == 1
    assert {x.sku for x in connector.listings()} >= {"MUG-1", "SH-S", "SH-M"}


def test_request_limit_keeps_the_store_from_throttling(harness: WooCommerceHarness) -> None:
    harness.sandbox.sim.options.request_limit = 10
    try:
        connector = harness.make_connector(request_limit="8")
        throttled = harness.statuses().get("429", 0)
        started = time.monotonic()
        for _ in range(18):
            connector.client.get("settings/general/woocommerce_currency")
        assert harness.statuses().get("429", 0) == throttled
        assert time.monotonic() - started >= 17 / 8 - 0.2  # spaced, not bursted
    finally:
        harness.sandbox.sim.options.request_limit = None


def test_without_request_limit_the_hub_sets_no_rate_of_its_own(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    started = time.monotonic()
    for _ in range(3000):   # a bucket of 1,000 refilled at 50/s would hold these back for 40 s
        connector.budget().reserve(1)
    assert time.monotonic() - started < 2.0


def test_a_429_pauses_every_worker_of_the_account_even_without_a_limit(harness: WooCommerceHarness,
                                                                       redis_client: Any) -> None:
    account = harness.make_connector().account
    budgets = RedisBudgets(redis_client, f"woo-pause-{time.time_ns()}")
    once = HttpPolicy(max_attempts=1)
    first, other = (WooCommerceConnector(account, policy=once, budgets=budgets) for _ in range(2))
    harness.made += [first, other]
    harness.inject(429, retry_after=1.0)
    with pytest.raises(RateLimited):
        first.currency()
    started = time.monotonic()
    other.budget().reserve(1)          # another worker waits out the pause the store asked for
    assert time.monotonic() - started >= 0.8
    started = time.monotonic()
    other.budget().reserve(1)          # and nothing after it
    assert time.monotonic() - started < 0.5


# ---- webhooks ------------------------------------------------------------------------------------
class Receiver:
    """A real HTTP endpoint on loopback that records webhook deliveries."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()
        self.server = ServerThread(Starlette(routes=[Route("/hooks", self.hook, methods=["POST"])]))

    async def hook(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        self.arrived.set()
        return Response(status_code=200)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.server.start()
    yield made
    made.server.stop()


def test_webhooks_register_list_delete(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    registered = connector.register_webhooks("https://hub.example/hooks/woo")
    assert [x.topic for x in registered] == ["order.created", "order.updated"]
    assert connector.register_webhooks("https://hub.example/hooks/woo") == registered  # idempotent
    assert sorted(x.external_id for x in connector.list_webhooks()) == sorted(x.external_id for x in registered)
    connector.delete_webhook(registered[0].external_id)
    assert len(connector.list_webhooks()) == 1


def test_a_real_delivery_verifies_and_a_forged_one_does_not(harness: WooCommerceHarness,
                                                            receiver: Receiver) -> None:
    connector = harness.make_connector()
    connector.register_webhooks(receiver.url)
    order_id = harness.place_order("MS-0004-1", 1)
    harness.sandbox.flush_webhooks()
    assert receiver.arrived.wait(5)
    headers, body = next((h, b) for h, b in receiver.received if h.get("x-wc-webhook-topic") == "order.created")
    event = verified(connector, headers, body)
    assert event.topic == "order.created" and str(event.payload["id"]) == order_id
    assert event.event_id == f"{headers['x-wc-webhook-delivery-id']}:order:{order_id}"

    with pytest.raises(AuthFailed):
        verified(connector, headers, body.replace(b'"processing"', b'"cancelled"'))
    with pytest.raises(AuthFailed):
        verified(connector, {**headers, "x-wc-webhook-signature": signature(body, "guessed")}, body)
    with pytest.raises(AuthFailed):
        verified(connector, {k: v for k, v in headers.items() if k != "x-wc-webhook-signature"}, body)


def test_the_creation_ping_is_acknowledged(harness: WooCommerceHarness) -> None:
    connector = harness.make_connector()
    event = verified(connector, {"content-type": "application/x-www-form-urlencoded"}, b"webhook_id=12")
    assert (event.topic, event.event_id, event.payload) == ("ping", "ping:12", {"webhook_id": 12})
    assert connector.event_subject(event) is None  # about nothing: stored, never processed


# ---- shipments read back (a fulfilment source) --------------------------------------------------
def test_a_tracking_entry_comes_back_as_a_shipment_of_the_whole_order(harness: WooCommerceHarness) -> None:
    placed = harness.sandbox.place_order([{"sku": "MS-0001-1", "quantity": 2}, {"sku": "SIMPLE-1", "quantity": 1}])
    harness.place_order("MS-0002-1", 1)  # no tracking: no shipment
    connector = harness.make_connector()
    assert Capability.READ_SHIPMENTS in connector.capabilities
    connector.push_shipment(ShipmentPush("shipment:1", str(placed["id"]), "UPS", "1Z1", "https://ups.example/1Z1",
                                         (("1", 1),)))
    [shipment] = list(harness.make_connector().shipments())
    assert (shipment.order_external_id, shipment.order_reference) == (str(placed["id"]), placed["number"])
    assert (shipment.carrier, shipment.tracking_number, shipment.tracking_url) == ("UPS", "1Z1",
                                                                                   "https://ups.example/1Z1")
    assert [(line.order_line_external_id, line.sku, line.quantity) for line in shipment.lines] == [
        (str(line["id"]), line["sku"], line["quantity"]) for line in placed["line_items"]]
    assert shipment.shipped_at is not None and shipment.shipped_at.tzinfo is not None
    later = datetime.now(UTC) + timedelta(days=1)
    assert list(harness.make_connector().shipments(updated_since=later)) == []


def test_without_the_tracking_extension_shipments_are_empty_and_said_so_once(
        harness: WooCommerceHarness, caplog: pytest.LogCaptureFixture) -> None:
    harness.place_order("MS-0001-1", 1)
    harness.place_order("MS-0002-1", 1)
    harness.sandbox.sim.options.shipment_tracking = False
    connector = harness.make_connector()
    with caplog.at_level(logging.INFO, logger="connectors.woocommerce.connector"):
        assert list(connector.shipments()) == []
        calls = connector.calls
        assert list(connector.shipments()) == []
    assert connector.calls == calls  # known absent: no second look
    assert [r.getMessage() for r in caplog.records if "Shipment Tracking" in r.getMessage()] == [
        "woocommerce account 'woo-test': the Shipment Tracking extension is not installed; the store reports "
        "no shipments to import"]


def test_a_tracking_date_is_read_as_a_date_or_a_timestamp() -> None:
    order = {"id": 5, "number": "5", "line_items": [{"id": 9, "sku": "A-1", "quantity": 2}]}
    entry = {"tracking_id": "t1", "tracking_provider": "DHL", "tracking_number": "JD1", "date_shipped": "2026-04-02"}
    assert normalise.shipment(order, entry, account="w").shipped_at == datetime(2026, 4, 2, tzinfo=UTC)
    stamped = normalise.shipment(order, {**entry, "date_shipped": "1775088000"}, account="w")
    assert stamped.shipped_at == datetime.fromtimestamp(1775088000, tz=UTC)
    with pytest.raises(CanonicalError) as failure:
        normalise.shipment(order, {**entry, "date_shipped": "soon"}, account="w")
    assert failure.value.field == "date_shipped" and "order 5" in str(failure.value)


def verified(connector: Connector, headers: Mapping[str, str], body: bytes) -> ChannelEvent:
    """The one event of a delivery, as the webhook server hands it to the connector."""
    [event] = connector.verify_webhook(WebhookRequest("POST", headers, {}, body))
    return event
