"""The connector contract: behaviour every connector must show against its platform's sandbox.

Use it by subclassing `ConnectorContract` in a test module and providing a function-scoped
pytest fixture named `harness` that returns an object satisfying `ContractHarness`:

    class TestShopifyContract(ConnectorContract):
        pass                                   # + a `harness` fixture in the same module

    @pytest.fixture
    def harness(shopify_sandbox) -> ShopifyHarness: ...

The harness contract, exactly:

- It wraps a STARTED sandbox, freshly seeded for each test with a known catalogue of more than
  one page (`len(catalogue_skus) > page_size`, ideally >= 2 pages of listings), no orders,
  no faults, stock at the connector's stock location >= 5 for every SKU, every SKU unique.
- `catalogue_skus`: every variant SKU seeded (a listing per SKU is expected).
- `page_size`: the page size the connectors it makes use (small, to make several pages).
- `make_connector(**options)`: a new connector for the seeded account; `options` override the
  account options (strings). Its HttpPolicy must have a short timeout (< 1 s) and small backoff
  (<= 0.05 s) so fault tests stay fast, and at least 4 attempts.
- `bad_credentials_connector()`: the same account with a wrong access token / key.
- `channel_quantity(sku)`: the sandbox's own available quantity for `sku` at the connector's
  stock location (read from the sandbox state, not through the connector).
- `place_order(sku, quantity) -> str`: a buyer order on the channel; returns the order's
  external id exactly as the connector reports `Order.external_id`.
- `corrupt(sku) -> str`: make the sandbox serve the record holding `sku` malformed (a value
  the canonical model rejects); returns the external id the CanonicalError must name.
- `inject(status, retry_after=0)`: the next API request is answered with `status`
  (429 with `Retry-After: retry_after`, or a 5xx).
- `timeout_next()`: the next API request does not answer within the connector's timeout.
- `api_requests() -> int`: API requests the sandbox has answered so far (control plane excluded).
- `shipments_of(order_external_id) -> list[str]`: tracking numbers of every shipment the channel
  holds for the order (one entry per shipment/fulfilment, duplicates kept).
- `wait_for_next_second()` is provided here: platforms store whole-second timestamps.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Protocol

import pytest

from canonical import Listing
from connectors.base import Connector, ShipmentPush, StockUpdate
from connectors.errors import AuthFailed


class ContractHarness(Protocol):
    catalogue_skus: frozenset[str]
    page_size: int

    def make_connector(self, **options: str) -> Connector: ...
    def bad_credentials_connector(self) -> Connector: ...
    def channel_quantity(self, sku: str) -> int: ...
    def place_order(self, sku: str, quantity: int) -> str: ...
    def corrupt(self, sku: str) -> str: ...
    def inject(self, status: int, retry_after: float = 0) -> None: ...
    def timeout_next(self) -> None: ...
    def api_requests(self) -> int: ...
    def shipments_of(self, order_external_id: str) -> list[str]: ...


def wait_for_next_second() -> datetime:
    """Sleep into the next whole second and return that moment (UTC)."""
    now = time.time()
    time.sleep(1.0 - now % 1.0 + 0.01)
    return datetime.now(UTC)


def stock_update(listing: Listing, quantity: int, *, compare: bool) -> StockUpdate:
    return StockUpdate(listing_ref=listing.sku or "", external_variant_id=listing.external_variant_id,
                       external_product_id=listing.external_product_id,
                       external_inventory_item_id=listing.external_inventory_item_id,
                       location_external_id=None, quantity=quantity,
                       compare_quantity=listing.quantity if compare else None)


class ConnectorContract:
    """The contract tests; a subclass supplies the `harness` fixture (see the module docstring)."""

    @pytest.fixture
    def connector(self, harness: ContractHarness) -> Iterator[Connector]:
        instance = harness.make_connector()
        yield instance
        instance.close()

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

    def test_stock_write_is_read_back(self, harness: ContractHarness, connector: Connector) -> None:
        listing = next(iter(connector.listings()))
        assert listing.sku and listing.quantity is not None
        wanted = listing.quantity + 3
        [result] = connector.set_stock([stock_update(listing, wanted, compare=connector.supports_compare_and_swap)])
        assert result.ok and result.listing_ref == listing.sku, result
        assert harness.channel_quantity(listing.sku) == wanted
        again = {item.sku: item.quantity for item in make_fresh(harness).listings()}
        assert again[listing.sku] == wanted

    def test_orders_since_a_cursor(self, harness: ContractHarness, connector: Connector) -> None:
        sku_a, sku_b = sorted(harness.catalogue_skus)[:2]
        first = harness.place_order(sku_a, 1)
        cursor = wait_for_next_second()
        second = harness.place_order(sku_b, 2)
        all_ids = [o.external_id for o in connector.orders()]
        assert set(all_ids) == {first, second}
        recent = list(connector.orders(updated_since=cursor))
        assert [o.external_id for o in recent] == [second]
        [line] = recent[0].lines
        assert (line.sku, line.quantity) == (sku_b, 2)
        assert connector.order(second).external_id == second

    def test_shipment_is_pushed_exactly_once(self, harness: ContractHarness, connector: Connector) -> None:
        sku = sorted(harness.catalogue_skus)[0]
        order_id = harness.place_order(sku, 2)
        [line] = connector.order(order_id).lines
        push = ShipmentPush(idempotency_key="shipment-1", order_external_id=order_id, carrier="DHL",
                            tracking_number="TRACK-0001", tracking_url="https://tracking.example/TRACK-0001",
                            lines=((line.external_id, 2),), complete=True)
        first = connector.push_shipment(push)
        assert not first.already_present
        repeat = make_fresh(harness).push_shipment(push)
        assert repeat.already_present and repeat.external_id == first.external_id
        assert harness.shipments_of(order_id) == ["TRACK-0001"]

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
        connector.close()

    def test_a_corrupt_record_is_skipped_and_named(self, harness: ContractHarness) -> None:
        sku = sorted(harness.catalogue_skus)[-1]
        bad_id = harness.corrupt(sku)
        connector = harness.make_connector()
        arrived = {item.sku for item in connector.listings()}
        assert arrived == set(harness.catalogue_skus) - {sku}
        assert len(connector.skipped) == 1
        [error] = connector.skipped
        assert bad_id in str(error) and error.field
        connector.close()


def make_fresh(harness: ContractHarness) -> Connector:
    """A second connector on the same account (a retry from another worker)."""
    return harness.make_connector()
