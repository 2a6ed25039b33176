"""The 拼多多 connector against the PDD simulator: the shared contract, then PDD's own cases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from canonical import OrderStatus
from connectors.auth import TokenRefresh
from connectors.base import AccountConfig, ShipmentPush
from connectors.errors import AuthFailed, RateLimited, Rejected, Transient
from connectors.http import HttpPolicy
from connectors.pinduoduo import PddConnector
from connectors.pinduoduo.client import sign
from connectors.stock import StockUpdate, WriteStatus
from connectors.streams import Checkpoint
from connectors.testing import ConnectorContract
from sandbox.catalogue import SeedSpec
from sandbox.pinduoduo import PddSimulator

POLICY = HttpPolicy(timeout_s=2, max_attempts=3, max_backoff_s=0.2, base_backoff_s=0.01)


class TestPddContract(ConnectorContract):
    """The shared connector contract, on the PDD simulator."""

    platform = "pinduoduo"


@pytest.fixture(scope="module")
def sim() -> Iterator[PddSimulator]:
    with PddSimulator(name="connector-tests") as simulator:
        yield simulator


@pytest.fixture
def pdd(sim: PddSimulator) -> Iterator[PddSimulator]:
    sim.faults.scripted.clear()
    sim.configure({"api_calls": 200, "limit_window_seconds": 1, "corrupt_ids": []})
    sim.shop.limits.reset()
    sim.shop.credentials.token_valid = True
    sim.shop.hooks.clear()
    sim.seed(SeedSpec(products=2, variants=2, stock=20))
    yield sim


_accounts = iter(range(10_000))


def connector(sim: PddSimulator, *, secrets: dict[str, str] | None = None, **options: str) -> PddConnector:
    setup = sim.account_setup()
    name = f"pdd-{next(_accounts)}"  # a fresh account: no token shared from another test
    return PddConnector(AccountConfig(name, "pinduoduo", {**setup.options, **options},
                                      {**setup.secrets, **(secrets or {})}), policy=POLICY)


def listing_of(conn: PddConnector, sku: str) -> Any:
    return next(item for item in conn.listings() if item.sku == sku)


def update(item: Any, quantity: int) -> StockUpdate:
    return StockUpdate(item.sku, item.external_variant_id, item.external_product_id, None, None, quantity)


def test_the_connector_signs_like_the_official_vector() -> None:
    params = {"access_token": "asd78172s8ds9a921j9qqwda12312w1w21211", "client_id": "1", "data_type": "XML",
              "order_status": "1", "page": "1", "page_size": "10", "timestamp": "1480411125",
              "type": "pdd.order.number.list.get"}
    assert sign(params, "testSecret") == "E4DE3ED21002510DED352819E7AE6775"


# -- PDD errors onto the hub's classes --------------------------------------------------------------

def test_the_rate_limit_code_waits_and_platform_codes_retry(pdd: PddSimulator) -> None:
    pdd.configure({"api_calls": 1, "limit_window_seconds": 60})
    conn = connector(pdd)
    conn.client.call("pdd.goods.list.get", {"page": 1})
    with pytest.raises(RateLimited, match="52101") as limited:
        conn.client.call("pdd.goods.list.get", {"page": 1})
    assert limited.value.retry_after == 1.0 and limited.value.bucket is None
    pdd.configure({"api_calls": 200})
    pdd.shop.limits.reset()
    pdd.faults.next(503, count=2)
    assert conn.health().ok
    pdd.faults.next(503, count=5)
    with pytest.raises(Transient, match="52103"):
        conn.client.call("pdd.goods.list.get", {"page": 1})


def test_an_expired_token_is_refreshed_once_and_the_call_sent_again(pdd: PddSimulator) -> None:
    conn = connector(pdd)
    pdd.expire_token()
    pdd.reset_counters()
    assert len(list(conn.listings())) == 4
    assert pdd.request_counts()["by_api"]["pdd.pop.auth.token.refresh"] == 1
    assert conn.client.auth.refreshes == 1


def test_an_expired_token_without_a_refresh_token_fails_the_account(pdd: PddSimulator) -> None:
    setup = pdd.account_setup()
    secrets = {k: v for k, v in setup.secrets.items() if k != "refresh_token"}
    conn = PddConnector(AccountConfig("pdd-no-refresh", "pinduoduo", setup.options, secrets), policy=POLICY)
    TokenRefresh.forget("pinduoduo:" + setup.options["gateway"] + ":pdd-no-refresh")
    pdd.expire_token()
    with pytest.raises(AuthFailed, match="no refresh_token"):
        list(conn.listings())


def test_a_bad_signature_fails_the_account_at_once(pdd: PddSimulator) -> None:
    conn = connector(pdd, secrets={"client_secret": "0" * 32})
    pdd.reset_counters()
    with pytest.raises(AuthFailed, match="20004"):
        list(conn.orders())
    assert pdd.request_counts()["total"] == 1


# -- catalogue and stock, platform-held stock --------------------------------------------------------

def test_listings_and_stock_levels_show_the_reserve(pdd: PddSimulator) -> None:
    pdd.place_unpaid_order([("MS-0001-1", 3)])
    conn = connector(pdd)
    item = listing_of(conn, "MS-0001-1")
    assert item.quantity == 20  # sku_quantity: what the hub writes, held units included
    level = next(lv for lv in conn.stock_levels() if lv.sku == "MS-0001-1")
    assert (level.on_hand, level.committed, level.available) == (20, 3, 17)


def test_a_reduction_below_the_reserve_is_refused_with_pdds_reason(pdd: PddSimulator) -> None:
    conn = connector(pdd)
    item = listing_of(conn, "MS-0002-1")
    pdd.place_unpaid_order([("MS-0002-1", 8)])
    [refused] = conn.set_stock([update(item, 5)])
    assert refused.status is WriteStatus.REJECTED and "预扣库存" in (refused.reason or "")
    assert pdd.available("MS-0002-1") == 12
    [fine] = conn.set_stock([update(item, 9)])
    assert fine.status is WriteStatus.APPLIED and pdd.available("MS-0002-1") == 1


def test_goods_in_a_promotion_slot_refuse_reductions_only(pdd: PddSimulator) -> None:
    conn = connector(pdd)
    item = listing_of(conn, "MS-0002-2")
    pdd.set_promo_slot("MS-0002-2")
    results = conn.set_stock([update(item, 4), update(listing_of(conn, "MS-0001-2"), 4)])
    assert [r.status for r in results] == [WriteStatus.REJECTED, WriteStatus.APPLIED]
    assert "资源位" in (results[0].reason or "")
    [raised] = conn.set_stock([update(item, 30)])
    assert raised.status is WriteStatus.APPLIED and pdd.available("MS-0002-2") == 30


# -- orders -----------------------------------------------------------------------------------------------

def test_orders_in_cny_decimal_utc_and_only_masks(pdd: PddSimulator) -> None:
    placed = pdd.place_order([("MS-0001-2", 2)], buyer="wang")
    [order] = list(connector(pdd).orders(updated_since=datetime.now(UTC) - timedelta(minutes=1)))
    plain = pdd.shop.store.orders[placed.order_id].receiver
    assert order.external_id == placed.order_id and order.status is OrderStatus.OPEN
    assert order.total is not None and isinstance(order.total.amount, Decimal) and order.total.currency == "CNY"
    assert str(order.total.amount) == str(pdd.shop.store.orders[placed.order_id].goods_amount.quantize(Decimal("0.01")))
    assert abs((order.updated_at - datetime.now(UTC)).total_seconds()) < 30
    assert order.customer.name == plain.name[0] + "**" and "~" not in str(order.customer)


def test_the_safety_lag_holds_back_orders_that_just_changed(pdd: PddSimulator) -> None:
    pdd.place_order([("MS-0001-1", 1)])
    since = datetime.now(UTC) - timedelta(minutes=5)
    assert list(connector(pdd, safety_lag_seconds="180").orders(updated_since=since)) == []
    assert len(list(connector(pdd).orders(updated_since=since))) == 1
    stream = list(connector(pdd, safety_lag_seconds="180").order_stream(updated_since=since - timedelta(hours=1)))
    checkpoints = [i.moment for i in stream if isinstance(i, Checkpoint)]
    assert checkpoints[-1] <= datetime.now(UTC) - timedelta(seconds=179)


def test_windows_are_thirty_minutes_and_an_edge_order_is_read(pdd: PddSimulator) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    placed = pdd.place_order([("MS-0002-2", 1)])
    pdd.touch_order(placed.order_id, base + timedelta(minutes=30))
    pdd.reset_counters()
    items = list(connector(pdd).order_stream(updated_since=base))
    assert [i.external_id for i in items if not isinstance(i, Checkpoint)] == [placed.order_id]
    checkpoints = [i.moment for i in items if isinstance(i, Checkpoint)]
    assert checkpoints[0] == base + timedelta(minutes=30) - timedelta(seconds=1)  # ≤ 30 min, the second in
    assert pdd.request_counts()["by_api"]["pdd.order.number.list.increment.get"] == len(checkpoints)


def test_an_order_updated_while_its_window_is_paged_is_not_missed(pdd: PddSimulator) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=40)
    placed = [pdd.place_order([("MS-0001-1", 1)], buyer=f"p{i}") for i in range(5)]
    for offset, order in enumerate(placed):
        pdd.touch_order(order.order_id, base + timedelta(seconds=offset))

    def buyer_acts(api: str, params: dict[str, str]) -> None:
        if api == "pdd.order.number.list.increment.get" and params.get("page") == "1":
            pdd.touch_order(placed[0].order_id)
    pdd.shop.hooks.append(buyer_acts)
    conn = connector(pdd, page_size="2", safety_lag_seconds="2")
    first = list(conn.order_stream(updated_since=base - timedelta(seconds=1)))
    assert {o.order_id for o in placed[1:]} <= {i.external_id for i in first if not isinstance(i, Checkpoint)}
    pdd.shop.hooks.clear()
    time.sleep(2.2)
    cursor = max(i.moment for i in first if isinstance(i, Checkpoint))
    assert placed[0].order_id in {i.external_id for i in conn.orders(updated_since=cursor)}


def test_after_sales_become_refunds_with_restock_decisions(pdd: PddSimulator) -> None:
    conn = connector(pdd)
    cancelled = pdd.place_order([("MS-0001-1", 2)])
    pdd.cancel_order(cancelled.order_id)
    order = conn.order(cancelled.order_id)
    assert order.status is OrderStatus.CANCELLED
    [refund] = order.refunds
    assert (refund.lines[0].quantity, refund.lines[0].restock) == (2, True)
    shipped = pdd.place_order([("MS-0002-1", 3)])
    [line] = conn.order(shipped.order_id).lines
    conn.push_shipment(ShipmentPush("s", shipped.order_id, "中通", "ZT1", None, ((line.external_id, 3),),
                                    complete=True))
    pdd.refund_order(shipped.order_id, [("MS-0002-1", 1)])
    after = conn.order(shipped.order_id)
    assert after.status is OrderStatus.COMPLETED and after.refunds[0].lines[0].restock is True  # 退货退款


# -- shipments and carriers -----------------------------------------------------------------------------

def ship(conn: PddConnector, order_id: str, carrier: str, waybill: str) -> Any:
    [line] = conn.order(order_id).lines
    return conn.push_shipment(ShipmentPush("k", order_id, carrier, waybill, None, ((line.external_id, line.quantity),),
                                           complete=True))


def test_carrier_names_map_to_pdd_ids_and_unknown_ones_are_refused(pdd: PddSimulator) -> None:
    conn = connector(pdd)
    order = pdd.place_order([("MS-0001-2", 1)])
    ship(conn, order.order_id, "顺丰速运", "SF123")
    assert [(s.tracking_number, s.carrier) for s in pdd.shipments(order.order_id)] == [("SF123", "44")]
    assert ship(conn, order.order_id, "顺丰速运", "SF123").already_present
    other = pdd.place_order([("MS-0001-2", 1)])
    with pytest.raises(Rejected) as refused:
        ship(conn, other.order_id, "天天快递", "TT1")  # listed by PDD, but not available for sending
    message = str(refused.value)
    assert "unknown carrier '天天快递' for 拼多多" in message and "顺丰速运 (SF, id 44)" in message
    with pytest.raises(Rejected, match="whole orders"):
        conn.push_shipment(ShipmentPush("p", other.order_id, "SF", "SF9", None, (), complete=False))
