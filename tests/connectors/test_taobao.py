"""The Taobao connector against the TOP simulator: the shared contract, then Taobao's own cases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from canonical import OrderStatus
from connectors.base import AccountConfig, ShipmentPush
from connectors.errors import AuthFailed, RateLimited, Rejected, Transient
from connectors.http import HttpPolicy
from connectors.stock import StockUpdate, WriteStatus
from connectors.streams import Checkpoint
from connectors.taobao import TaobaoConnector
from connectors.taobao.client import signer
from connectors.testing import ConnectorContract
from sandbox.catalogue import SeedSpec
from sandbox.taobao import TaobaoSimulator

POLICY = HttpPolicy(timeout_s=2, max_attempts=3, max_backoff_s=0.2, base_backoff_s=0.01)


class TestTaobaoContract(ConnectorContract):
    """The shared connector contract, on the Taobao simulator."""

    platform = "taobao"


@pytest.fixture(scope="module")
def sim() -> Iterator[TaobaoSimulator]:
    simulator = TaobaoSimulator(name="connector-tests")
    with simulator:
        yield simulator


@pytest.fixture
def tb(sim: TaobaoSimulator) -> Iterator[TaobaoSimulator]:
    sim.faults.scripted.clear()
    sim.configure({"api_calls": 200, "app_calls": 1000, "limit_window_seconds": 1, "ban_seconds": 1,
                   "tmc_redelivery_seconds": 30, "duplicate_webhooks": 0, "corrupt_ids": []})
    sim.shop.limits.reset()
    sim.shop.session_valid = True
    sim.shop.hooks.clear()
    sim.seed(SeedSpec(products=3, variants=3, stock=10))
    yield sim


def connector(sim: TaobaoSimulator, **options: str) -> TaobaoConnector:
    setup = sim.account_setup()
    return TaobaoConnector(AccountConfig("tb", "taobao", {**setup.options, **options}, setup.secrets), policy=POLICY)


def listing_of(conn: TaobaoConnector, sku: str) -> Any:
    return next(item for item in conn.listings() if item.sku == sku)


def update(item: Any, quantity: int) -> StockUpdate:
    return StockUpdate(item.sku, item.external_variant_id, item.external_product_id, None, None, quantity)


def test_the_connector_signs_like_the_documented_vectors() -> None:
    params = {"app_key": "12345678", "format": "json", "method": "taobao.item.quantity.update", "num_iid": "100001",
              "quantity": "7", "session": "test", "sign_method": "md5", "sku_id": "200002",
              "timestamp": "2026-12-01 12:00:00", "type": "1", "v": "2.0"}
    assert signer("testsecret", "md5")(params) == "D6AEB3606B80C830FFF8EA875013FEDD"
    assert signer("testsecret", "hmac")({**params, "sign_method": "hmac"}) == "15E333B1AAF4085985FC0D6B2ED53B0A"


@pytest.mark.parametrize("sign_method", ["md5", "hmac", "hmac-sha256"])
def test_every_sign_method_is_accepted_by_the_gateway(tb: TaobaoSimulator, sign_method: str) -> None:
    assert connector(tb, sign_method=sign_method).health().ok


def test_an_unknown_sign_method_is_the_operators_mistake(tb: TaobaoSimulator) -> None:
    with pytest.raises(Rejected, match="sign_method"):
        connector(tb, sign_method="sha1")


# -- TOP errors onto the hub's classes --------------------------------------------------------------

def test_a_ban_waits_the_seconds_top_states_for_the_scope_it_names(tb: TaobaoSimulator) -> None:
    tb.configure({"api_calls": 1, "limit_window_seconds": 60, "ban_seconds": 45})
    conn = connector(tb)
    conn.client.call("taobao.logistics.companies.get", {"fields": "code"})
    with pytest.raises(RateLimited) as ban:
        conn.client.call("taobao.logistics.companies.get", {"fields": "code"})
    assert (ban.value.retry_after, ban.value.bucket) == (45.0, "taobao.logistics.companies.get")
    tb.configure({"api_calls": 100, "app_calls": 1})
    tb.shop.limits.reset()
    conn = connector(tb)  # the first connector's bucket now rests for the 45 s of the ban
    conn.client.call("taobao.logistics.companies.get", {"fields": "code"})
    with pytest.raises(RateLimited) as app_ban:
        conn.client.call("taobao.items.onsale.get", {"fields": "num_iid"})
    assert app_ban.value.bucket == "app"


def test_isp_errors_are_retried_and_isv_errors_refused_with_tops_words(tb: TaobaoSimulator) -> None:
    conn = connector(tb)
    tb.faults.next(503, count=2)
    assert conn.health().ok  # two isp.* answers, then success
    tb.faults.next(503, count=5)
    with pytest.raises(Transient, match=r"isp\.remote-service-unavailable"):
        conn.client.call("taobao.items.onsale.get", {"fields": "num_iid"})
    with pytest.raises(Rejected, match=r"isv\.trade-not-exist") as refused:
        conn.order("1")
    assert "不存在" in refused.value.reason


def test_an_invalid_session_fails_the_account(tb: TaobaoSimulator) -> None:
    tb.expire_session()
    conn = connector(tb)
    with pytest.raises(AuthFailed, match="code 27"):
        list(conn.orders())
    assert not conn.health().ok


# -- catalogue and stock --------------------------------------------------------------------------------

def test_listings_carry_the_outer_id_price_in_cny_and_stock(tb: TaobaoSimulator) -> None:
    listings = list(connector(tb, page_size="2").listings())
    assert sorted(item.sku or "" for item in listings) == sorted(f"MS-000{p}-{v}" for p in (1, 2, 3)
                                                                   for v in (1, 2, 3))
    first = listings[0]
    assert first.price is not None and first.price.currency == "CNY" and isinstance(first.price.amount, Decimal)
    assert first.quantity == 10 and first.title.startswith("尺码:")


def test_writes_to_several_skus_of_one_item_go_in_one_batch_call(tb: TaobaoSimulator) -> None:
    conn = connector(tb)
    items = [i for i in conn.listings() if i.external_product_id == listing_of(conn, "MS-0002-1").external_product_id]
    tb.reset_counters()
    results = conn.set_stock([update(item, 3 + n) for n, item in enumerate(items)])
    assert [r.status for r in results] == [WriteStatus.APPLIED] * 3 and [r.quantity for r in results] == [3, 4, 5]
    assert tb.request_counts()["by_method"] == {"taobao.skus.quantity.update": 1}
    assert [tb.available(item.sku or "") for item in items] == [3, 4, 5]


def test_a_presale_item_is_written_incrementally(tb: TaobaoSimulator) -> None:
    conn = connector(tb)
    item = listing_of(conn, "MS-0001-1")
    tb.set_presale("MS-0001-1")
    tb.place_order([("MS-0001-1", 2)])  # the item now shows 8
    [result] = conn.set_stock([update(item, 5)])
    assert result.status is WriteStatus.APPLIED and tb.available("MS-0001-1") == 5
    writes = [w for w in tb.writes.entries() if w["sku"] == "MS-0001-1" and w["source"] == "api"]
    assert [w["available"] for w in writes] == [5]


def test_a_refused_sku_in_a_batch_gets_its_own_reason(tb: TaobaoSimulator) -> None:
    conn = connector(tb)
    good = listing_of(conn, "MS-0003-1")
    ghost = StockUpdate("ghost", "999", good.external_product_id, None, None, 1)
    results = {r.listing_ref: r for r in conn.set_stock([update(good, 7), ghost])}
    assert results["MS-0003-1"].status is WriteStatus.APPLIED and tb.available("MS-0003-1") == 7
    assert results["ghost"].status is WriteStatus.REJECTED and "sku_id 999" in (results["ghost"].reason or "")


# -- orders -----------------------------------------------------------------------------------------------

def test_orders_come_in_cny_with_utc_times_and_only_the_receivers_mask(tb: TaobaoSimulator) -> None:
    placed = tb.place_order([("MS-0001-2", 2), ("MS-0002-2", 1)], buyer="li")
    [order] = list(connector(tb).orders(updated_since=datetime.now(UTC) - timedelta(minutes=1)))
    plain = tb.shop.store.trades[int(placed.order_id)].receiver
    assert order.external_id == placed.order_id and order.status is OrderStatus.OPEN
    assert order.total is not None and order.total.currency == "CNY"
    assert abs((order.placed_at - datetime.now(UTC)).total_seconds()) < 30  # GMT+8 read as GMT+8
    assert order.customer.name == plain.name[0] + "*" * (len(plain.name) - 1) and plain.name not in str(order)
    assert {(line.sku, line.quantity) for line in order.lines} == {("MS-0001-2", 2), ("MS-0002-2", 1)}


def test_a_trade_modified_exactly_at_a_window_edge_is_read(tb: TaobaoSimulator) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    placed = tb.place_order([("MS-0001-1", 1)])
    tb.touch_order(placed.order_id, base + timedelta(minutes=2))  # the second window's first second
    items = list(connector(tb, window_minutes="2").order_stream(updated_since=base))
    assert [i.external_id for i in items if not isinstance(i, Checkpoint)] == [placed.order_id]
    checkpoints = [i.moment for i in items if isinstance(i, Checkpoint)]
    assert checkpoints[0] == base + timedelta(minutes=2) and checkpoints == sorted(checkpoints)


def test_a_trade_modified_while_the_window_is_paged_is_not_missed(tb: TaobaoSimulator) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=40)
    placed = [tb.place_order([("MS-0001-1", 1)], buyer=f"p{i}") for i in range(5)]
    for offset, order in enumerate(placed):
        tb.touch_order(order.order_id, base + timedelta(seconds=offset))
    touched: list[str] = []

    def buyer_acts(method: str, params: dict[str, str]) -> None:
        if method == "taobao.trades.sold.increment.get" and not touched:
            touched.append(placed[4].order_id)
            tb.touch_order(placed[4].order_id)  # the newest trade changes now: it leaves the window being read
    tb.shop.hooks.append(buyer_acts)
    conn = connector(tb, page_size="2", safety_lag_seconds="2")
    first = list(conn.order_stream(updated_since=base - timedelta(seconds=1)))
    seen = {i.external_id for i in first if not isinstance(i, Checkpoint)}
    assert {o.order_id for o in placed[:4]} <= seen
    cursor = max(i.moment for i in first if isinstance(i, Checkpoint))
    time.sleep(2.2)
    later = {i.external_id for i in conn.order_stream(updated_since=cursor) if not isinstance(i, Checkpoint)}
    assert placed[4].order_id in later


def test_refunds_carry_lines_amounts_and_restock_decisions(tb: TaobaoSimulator) -> None:
    before_ship = tb.place_order([("MS-0001-1", 2)])
    tb.refund_order(before_ship.order_id)
    shipped = tb.place_order([("MS-0002-1", 1), ("MS-0002-2", 1)])
    conn = connector(tb)
    lines = {line.sku: line.external_id for line in conn.order(shipped.order_id).lines}
    conn.push_shipment(ShipmentPush("s", shipped.order_id, "YTO", "YT1", None,
                                    tuple((oid, 1) for oid in lines.values()), complete=True))
    tb.refund_order(shipped.order_id, [("MS-0002-1", 1)], restock=False)
    cancelled = conn.order(before_ship.order_id)
    assert cancelled.status is OrderStatus.REFUNDED
    [refund] = cancelled.refunds
    assert refund.lines[0].restock is True and refund.amount is not None and refund.amount.currency == "CNY"
    after = conn.order(shipped.order_id)
    [late] = after.refunds
    assert after.status is OrderStatus.COMPLETED and late.lines[0].line_external_id == lines["MS-0002-1"]
    assert late.lines[0].restock is False  # shipped and not sent back: nothing returns to the shelf
    tb.refund_order(shipped.order_id, [("MS-0002-2", 1)])  # this one comes back (BUYER_RETURNED_GOODS)
    returned = [r for r in conn.order(shipped.order_id).refunds if r.lines[0].line_external_id == lines["MS-0002-2"]]
    assert returned[0].lines[0].restock is True


# -- shipments and carriers -----------------------------------------------------------------------------

def push(order_id: str, conn: TaobaoConnector, carrier: str, waybill: str) -> Any:
    lines = tuple((line.external_id, line.quantity) for line in conn.order(order_id).lines)
    return conn.push_shipment(ShipmentPush("k", order_id, carrier, waybill, None, lines, complete=True))


def test_hub_carrier_names_map_to_taobao_codes(tb: TaobaoSimulator) -> None:
    conn = connector(tb)
    for carrier, code in (("顺丰", "SF"), ("zto", "ZTO"), ("韵达快递", "YUNDA"), ("J&T", "JTSD")):
        order = tb.place_order([("MS-0003-3", 1)])
        push(order.order_id, conn, carrier, f"W{order.order_id}")
        assert [s.carrier for s in tb.shipments(order.order_id)] == [code]


def test_an_unknown_carrier_is_refused_naming_taobaos_list(tb: TaobaoSimulator) -> None:
    order = tb.place_order([("MS-0003-3", 1)])
    with pytest.raises(Rejected) as refused:
        push(order.order_id, connector(tb), "Royal Mail", "RM1")
    assert "unknown carrier 'Royal Mail' for Taobao" in str(refused.value) and "SF (顺丰速运)" in str(refused.value)
    assert tb.shipments(order.order_id) == []


def test_part_of_a_trade_ships_as_a_split_send(tb: TaobaoSimulator) -> None:
    order = tb.place_order([("MS-0001-1", 1), ("MS-0001-2", 1)])
    conn = connector(tb)
    first = conn.order(order.order_id).lines[0]
    conn.push_shipment(ShipmentPush("k", order.order_id, "SF", "SF1", None, ((first.external_id, 1),)))
    assert conn.order(order.order_id).status is OrderStatus.OPEN  # SELLER_CONSIGNED_PART
    assert [s.lines for s in tb.shipments(order.order_id)] == [(("MS-0001-1", 1),)]
    with pytest.raises(Rejected, match="whole sub-orders"):
        conn.push_shipment(ShipmentPush("k2", order.order_id, "SF", "SF2", None, ((first.external_id, 5),)))


# -- TMC -----------------------------------------------------------------------------------------------

def test_tmc_messages_name_their_trade_and_are_confirmed(tb: TaobaoSimulator) -> None:
    conn = connector(tb)
    order = tb.place_order([("MS-0001-1", 1)])
    events = conn.consume_events(50)
    assert {conn.event_subject(e).order for e in events} == {order.order_id}  # type: ignore[union-attr]
    assert all(e.event_id == f"tmc:{e.receipt}" for e in events)
    conn.confirm_events(events)
    tb.redeliver_now()
    assert connector(tb).consume_events(50) == []


def test_unconfirmed_messages_come_back_with_the_same_ids(tb: TaobaoSimulator) -> None:
    tb.configure({"tmc_redelivery_seconds": 0.3})
    conn = connector(tb)
    tb.place_order([("MS-0002-1", 1)])
    first = conn.consume_events(50)
    assert conn.consume_events(50) == []  # handed out, not yet due again
    time.sleep(0.4)
    again = conn.consume_events(50)
    assert [e.event_id for e in again] == [e.event_id for e in first]  # a worker died before confirming


def test_duplicate_deliveries_keep_their_event_ids(tb: TaobaoSimulator) -> None:
    tb.configure({"duplicate_webhooks": 1.0})
    conn = connector(tb)
    tb.place_order([("MS-0002-2", 1)])
    first = conn.consume_events(50)
    conn.confirm_events(first)
    copies = conn.consume_events(50)
    assert {e.event_id for e in copies} == {e.event_id for e in first}  # the hub stores each id once


def test_refund_messages_name_the_refund_and_its_trade(tb: TaobaoSimulator) -> None:
    conn = connector(tb)
    order = tb.place_order([("MS-0001-3", 1)])
    conn.confirm_events(conn.consume_events(50))
    tb.refund_order(order.order_id)
    subjects = [conn.event_subject(e) for e in conn.consume_events(50)]
    refunds = [s for s in subjects if s is not None and s.kind.value == "refund"]
    assert refunds and all(s.order == order.order_id for s in refunds)
