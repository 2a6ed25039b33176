"""The connector contract: behaviour every connector must show against its platform's simulator.

A connector package's test file is a few lines (see `connectors/README.md`):

    from connectors.testing import ConnectorContract

    class TestMyPlatformContract(ConnectorContract):
        platform = "myplatform"   # registered under marketsync.connectors and marketsync.simulators

`ConnectorContract` starts the registered simulator once per class, reseeds it for every test and
builds a `SimulatorHarness`; a subclass may instead supply its own `harness` fixture returning a
`ContractHarness`. What a connector declares is held to: a declared capability must work, an
undeclared one must be refused with a clear error; the stream order it declares is checked on
what it yields; stock writes are checked in its declared write mode.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from canonical import Listing
from connectors.base import Capability, Connector, ShipmentPush, connector_class
from connectors.errors import AuthFailed, Rejected
from connectors.events import WebhookReply, WebhookRequest
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult, SubmittedWrite, WriteStatus
from connectors.streams import Checkpoint, StreamOrder
from connectors.testing.harness import CONTRACT_POLICY, ContractHarness, SimulatorHarness
from connectors.testing.receiver import Receiver

# The methods each capability promises (a declared capability must override them).
PROMISES: dict[Capability, tuple[str, ...]] = {
    Capability.READ_CATALOG: ("products", "listings"),
    Capability.READ_STOCK: ("locations", "stock_levels"),
    Capability.READ_ORDERS: ("order_stream", "order"),
    Capability.READ_SHIPMENTS: ("shipments",),
    Capability.WRITE_STOCK: ("set_stock",),
    Capability.ASYNC_STOCK_WRITES: ("stock_write_status",),
    Capability.WRITE_LISTINGS: ("create_listing", "update_listing"),
    Capability.WRITE_SHIPMENTS: ("push_shipment",),
    Capability.WEBHOOKS: ("verify_webhook", "event_subject"),
    Capability.REGISTER_WEBHOOKS: ("register_webhooks", "list_webhooks", "delete_webhook"),
    Capability.PULL_EVENTS: ("consume_events", "confirm_events"),
}
CONFIRM_TIMEOUT_S = 15.0


def wait_for_next_second() -> datetime:
    """Sleep into the next whole second and return that moment (UTC): platforms store whole seconds."""
    now = time.time()
    time.sleep(1.0 - now % 1.0 + 0.01)
    return datetime.now(UTC)


def stock_update(connector: Connector, listing: Listing, quantity: int, *, idempotency_id: str | None = None,
                 ) -> StockUpdate:
    """`listing` to `quantity`, expressed in the connector's write mode (the engine does the same)."""
    mode = connector.stock_write_mode
    current = listing.quantity or 0
    return StockUpdate(listing_ref=listing.sku or "", external_variant_id=listing.external_variant_id,
                       external_product_id=listing.external_product_id,
                       external_inventory_item_id=listing.external_inventory_item_id, location_external_id=None,
                       quantity=quantity,
                       compare_quantity=current if mode is StockWriteMode.ABSOLUTE_CAS else None,
                       delta=quantity - current if mode is StockWriteMode.DELTA else None,
                       idempotency_id=(idempotency_id or f"contract-{uuid.uuid4().hex[:16]}")
                       if mode is StockWriteMode.DELTA else None)


def settle(connector: Connector, update: StockUpdate, result: StockWriteResult) -> StockWriteResult:
    """An async write followed until the platform says applied or rejected."""
    deadline = time.monotonic() + CONFIRM_TIMEOUT_S
    while result.status is WriteStatus.SUBMITTED:
        assert connector.can(Capability.ASYNC_STOCK_WRITES), "a submitted result needs ASYNC_STOCK_WRITES"
        assert result.handle, "a submitted result must carry its handle"
        assert time.monotonic() < deadline, f"write {result.handle} was not confirmed in {CONFIRM_TIMEOUT_S} s"
        time.sleep(0.1)
        [result] = connector.stock_write_status([SubmittedWrite(update.listing_ref, result.handle, update)])
    return result


def first_listing(connector: Connector) -> Listing:
    listing = next(iter(connector.listings()))
    assert listing.sku and listing.quantity is not None, listing
    return listing


class ConnectorContract:
    """The contract tests; set `platform` (or override the `harness` fixture)."""

    platform: ClassVar[str] = ""
    page_size: ClassVar[int] = 4
    seed_products: ClassVar[int] = 5      # x 2 variants: more than two pages of listings at page_size 4
    simulator_options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture(scope="class")
    @classmethod
    def contract_simulator(cls) -> Iterator[Any]:
        from sandbox.interface import start_simulator

        simulator = start_simulator(cls.platform, **cls.simulator_options)
        simulator.faults.timeout_seconds = 2.0  # a "timeout" answers late instead of after 30 s
        yield simulator
        simulator.stop()

    @pytest.fixture
    def harness(self, contract_simulator: Any) -> Iterator[ContractHarness]:
        from sandbox.catalogue import SeedSpec, seed_variants

        spec = SeedSpec(products=self.seed_products, variants=2, stock=20, seed=11)
        contract_simulator.faults.scripted.clear()
        contract_simulator.configure({"corrupt_ids": [], "error_rate": 0, "timeout_rate": 0})
        contract_simulator.seed(spec)
        contract_simulator.reset_counters()
        made = SimulatorHarness(contract_simulator, connector_class(self.platform), self.page_size,
                                frozenset(v.sku for v in seed_variants(spec)), CONTRACT_POLICY)
        yield made
        made.close()

    @pytest.fixture
    def connector(self, harness: ContractHarness) -> Iterator[Connector]:
        instance = harness.make_connector()
        yield instance
        instance.close()

    # ---- declarations ----------------------------------------------------------------------------
    def test_declared_capabilities_are_implemented(self, connector: Connector) -> None:
        for capability in connector.capabilities:
            for name in PROMISES.get(capability, ()):
                assert getattr(type(connector), name) is not getattr(Connector, name), \
                    f"{connector.platform} declares {capability.value} but does not implement {name}()"
        assert connector.stock_batch_size >= 1
        assert isinstance(connector.stock_write_mode, StockWriteMode)
        assert isinstance(connector.order_stream_order, StreamOrder)

    def test_an_undeclared_capability_is_refused_clearly(self, connector: Connector) -> None:
        missing = [c for c in PROMISES if c not in connector.capabilities]
        for capability in missing:
            method = getattr(connector, PROMISES[capability][0])
            if getattr(type(connector), method.__name__) is not getattr(Connector, method.__name__):
                continue  # implemented anyway (e.g. a shared method): nothing to refuse
            with pytest.raises(Rejected, match=connector.platform):
                result = method(*_dummy_arguments(method.__name__))
                list(result) if isinstance(result, Iterator) else result

    # ---- reads -----------------------------------------------------------------------------------
    def test_catalogue_is_read_across_several_pages(self, harness: ContractHarness, connector: Connector) -> None:
        assert len(harness.catalogue_skus) > harness.page_size, "the harness must seed more than one page"
        before = harness.api_requests()
        listings = list(connector.listings())
        assert sorted(listing.sku or "" for listing in listings) == sorted(harness.catalogue_skus)
        assert harness.api_requests() - before >= 2
        products = list(connector.products())
        assert sorted(v.sku for p in products for v in p.variants) == sorted(harness.catalogue_skus)
        assert connector.skipped == []

    def test_incremental_read_since_now_is_empty(self, harness: ContractHarness, connector: Connector) -> None:
        assert list(connector.listings())
        since = wait_for_next_second()
        assert list(connector.listings(updated_since=since)) == []
        assert list(connector.products(updated_since=since)) == []
        assert list(connector.orders(updated_since=since)) == []

    def test_orders_since_a_cursor(self, harness: ContractHarness, connector: Connector) -> None:
        sku_a, sku_b = sorted(harness.catalogue_skus)[:2]
        first = harness.place_order(sku_a, 1)
        cursor = wait_for_next_second()
        second = harness.place_order(sku_b, 2)
        assert {o.external_id for o in connector.orders()} == {first, second}
        recent = list(connector.orders(updated_since=cursor))
        assert [o.external_id for o in recent] == [second]
        [line] = recent[0].lines
        assert (line.sku, line.quantity) == (sku_b, 2)
        assert connector.order(second).external_id == second

    def test_the_stream_keeps_the_order_it_declares(self, harness: ContractHarness, connector: Connector) -> None:
        skus = sorted(harness.catalogue_skus)
        placed = []
        for sku in skus[:3]:
            placed.append(harness.place_order(sku, 1))
            wait_for_next_second()
        items = list(connector.order_stream(updated_since=None))
        orders = [item for item in items if not isinstance(item, Checkpoint)]
        assert sorted(o.external_id for o in orders) == sorted(placed)
        if connector.order_stream_order is StreamOrder.OLDEST_FIRST:
            times = [o.updated_at for o in orders]
            assert times == sorted(times), "an OLDEST_FIRST stream yielded a newer order before an older one"
        if connector.order_stream_order is StreamOrder.WINDOWED:
            assert any(isinstance(item, Checkpoint) for item in items), "a WINDOWED stream yields checkpoints"
        passed: datetime | None = None
        for item in items:
            if isinstance(item, Checkpoint):
                assert passed is None or item.moment >= passed, "checkpoints must not go back"
                passed = item.moment
            elif passed is not None:
                assert item.updated_at.replace(microsecond=0) >= passed.replace(microsecond=0), \
                    f"order {item.external_id} came after a checkpoint it is older than"

    # ---- stock -----------------------------------------------------------------------------------
    def test_stock_write_is_read_back(self, harness: ContractHarness, connector: Connector) -> None:
        listing = first_listing(connector)
        wanted = (listing.quantity or 0) + 3
        update = stock_update(connector, listing, wanted)
        [result] = connector.set_stock([update])
        result = settle(connector, update, result)
        assert result.status is WriteStatus.APPLIED and result.listing_ref == listing.sku, result
        assert harness.channel_quantity(listing.sku or "") == wanted
        again = {item.sku: item.quantity for item in harness.make_connector().listings()}
        assert again[listing.sku] == wanted

    def test_a_repeated_write_changes_nothing_more(self, harness: ContractHarness, connector: Connector) -> None:
        """The same write sent twice (a retry after a lost answer) ends where one write ends.

        DELTA: the same idempotency id applies once. ABSOLUTE_CAS: the repeat compares with the old
        number, so it is `stale` with the new one observed, unless the platform recognises the retry
        (an idempotency key) and answers it as applied. ABSOLUTE: setting a number twice is harmless.
        """
        listing = first_listing(connector)
        wanted = max((listing.quantity or 0) - 2, 0)
        update = stock_update(connector, listing, wanted)
        [first] = connector.set_stock([update])
        assert settle(connector, update, first).status is WriteStatus.APPLIED
        [repeat] = harness.make_connector().set_stock([update])
        repeat = settle(connector, update, repeat)
        if connector.stock_write_mode is StockWriteMode.ABSOLUTE_CAS and repeat.status is not WriteStatus.APPLIED:
            assert repeat.status is WriteStatus.STALE and repeat.observed_quantity == wanted, repeat
        else:
            assert repeat.status is WriteStatus.APPLIED, repeat
        assert harness.channel_quantity(listing.sku or "") == wanted

    def test_writes_in_one_batch_get_one_result_each(self, harness: ContractHarness, connector: Connector) -> None:
        listings = list(connector.listings())[:max(min(connector.stock_batch_size, 3), 1)]
        updates = [stock_update(connector, item, (item.quantity or 0) + 1) for item in listings]
        results = connector.set_stock(updates)
        assert sorted(r.listing_ref for r in results) == sorted(u.listing_ref for u in updates)
        by_ref = {u.listing_ref: u for u in updates}
        for result in results:
            assert settle(connector, by_ref[result.listing_ref], result).status is WriteStatus.APPLIED, result

    # ---- shipments -------------------------------------------------------------------------------
    def test_shipment_is_pushed_exactly_once(self, harness: ContractHarness, connector: Connector) -> None:
        sku = sorted(harness.catalogue_skus)[0]
        order_id = harness.place_order(sku, 2)
        [line] = connector.order(order_id).lines
        push = ShipmentPush(idempotency_key="shipment-1", order_external_id=order_id, carrier="SF",
                            tracking_number="SF0001", tracking_url=None, lines=((line.external_id, 2),),
                            complete=True)
        if not connector.can(Capability.WRITE_SHIPMENTS):
            with pytest.raises(Rejected):
                connector.push_shipment(push)
            return
        first = connector.push_shipment(push)
        assert not first.already_present
        repeat = harness.make_connector().push_shipment(push)
        assert repeat.already_present and repeat.external_id == first.external_id
        assert harness.shipments_of(order_id) == ["SF0001"]

    # ---- failures --------------------------------------------------------------------------------
    @pytest.mark.parametrize("status", [429, 503])
    def test_a_transient_error_is_survived(self, harness: ContractHarness, connector: Connector, status: int) -> None:
        harness.inject(status, retry_after=0)
        before = harness.api_requests()
        assert sorted(item.sku or "" for item in connector.listings()) == sorted(harness.catalogue_skus)
        assert harness.api_requests() - before >= 3  # the failed request, its retry, the other pages

    def test_a_timeout_is_survived(self, harness: ContractHarness, connector: Connector) -> None:
        harness.timeout_next()
        assert sorted(item.sku or "" for item in connector.listings()) == sorted(harness.catalogue_skus)

    def test_bad_credentials_fail_clearly_and_are_not_retried(self, harness: ContractHarness) -> None:
        connector = harness.bad_credentials_connector()
        before = harness.api_requests()
        with pytest.raises(AuthFailed) as failure:
            list(connector.orders())
        assert harness.api_requests() - before == 1
        assert "credentials" in str(failure.value)
        health = connector.health()
        assert not health.ok and health.detail

    def test_a_corrupt_record_is_skipped_and_named(self, harness: ContractHarness) -> None:
        sku = sorted(harness.catalogue_skus)[-1]
        named = harness.corrupt(sku)
        connector = harness.make_connector()
        arrived = {item.sku for item in connector.listings()}
        assert arrived == set(harness.catalogue_skus) - {sku}
        assert len(connector.skipped) == 1
        [error] = connector.skipped
        assert any(external_id in str(error) for external_id in named) and error.field, (error, named)

    # ---- events ----------------------------------------------------------------------------------
    def test_an_order_event_names_its_order(self, harness: ContractHarness, connector: Connector) -> None:
        if connector.can(Capability.PULL_EVENTS):
            self._pulled_event_names_its_order(harness, connector)
        if not connector.can(Capability.WEBHOOKS):
            with pytest.raises(Rejected):
                connector.verify_webhook(WebhookRequest("POST", {}, {}, b"{}"))
            return
        with Receiver(lambda request: _reply(connector, request)) as receiver:
            registered = []
            if connector.can(Capability.REGISTER_WEBHOOKS):
                registered = connector.register_webhooks(receiver.url)
                assert registered
            else:
                assert harness.simulator is not None and harness.simulator.set_push_url(receiver.url), \
                    "a connector with WEBHOOKS but not REGISTER_WEBHOOKS needs a console push URL"
            order_id = harness.place_order(sorted(harness.catalogue_skus)[0], 1)
            if harness.simulator is not None:
                harness.simulator.flush_events()
            receiver.wait_for(1)
            for subscription in registered:  # leave the store as it was: no deliveries to a closed endpoint
                connector.delete_webhook(subscription.external_id)
            receiver.wait_quiet()
            deliveries = receiver.wait_for(1)
        assert deliveries, "no delivery arrived after a buyer order"
        about = [d for d in deliveries if order_id in _orders_named(connector, d)]
        assert about, f"no delivery was about order {order_id}"
        genuine = about[-1]
        with pytest.raises(AuthFailed):
            connector.verify_webhook(WebhookRequest(genuine.method, genuine.headers, genuine.query,
                                                    genuine.body + b" "))

    def _pulled_event_names_its_order(self, harness: ContractHarness, connector: Connector) -> None:
        order_id = harness.place_order(sorted(harness.catalogue_skus)[1], 1)
        if harness.simulator is not None:
            harness.simulator.flush_events()
        events = connector.consume_events(100)
        assert all(event.receipt for event in events), "pulled messages carry the receipt they are confirmed with"
        subjects = {(s.order if s else None) for e in events for s in [connector.event_subject(e)]}
        assert order_id in subjects, (order_id, subjects)
        connector.confirm_events(events)
        again = {e.event_id for e in harness.make_connector().consume_events(100)}
        assert not again & {e.event_id for e in events}, "a confirmed message came back"


def _orders_named(connector: Connector, delivery: WebhookRequest) -> set[str | None]:
    return {(s.order if s else None) for e in connector.verify_webhook(delivery) for s in [connector.event_subject(e)]}


def _reply(connector: Connector, request: WebhookRequest) -> WebhookReply:
    try:
        return connector.webhook_reply(request, connector.verify_webhook(request))
    except Exception:
        return WebhookReply(200)


def _dummy_arguments(method: str) -> tuple[Any, ...]:
    """Arguments that reach the base class's refusal (it checks nothing before refusing)."""
    takes_one = {"order", "set_stock", "stock_write_status", "push_shipment", "create_listing", "register_webhooks",
                 "delete_webhook", "verify_webhook", "event_subject", "confirm_events"}
    if method == "update_listing":
        return (None, {})
    return (None,) if method in takes_one else ()
