"""The 京东 connector against the JOS simulator: the shared contract, then JD's own cases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from canonical import OrderStatus
from connectors.base import AccountConfig, ShipmentPush
from connectors.errors import AuthFailed, RateLimited, Rejected, Transient
from connectors.http import HttpPolicy
from connectors.jd import JdConnector
from connectors.jd.client import sign
from connectors.stock import StockUpdate, WriteStatus
from connectors.streams import Checkpoint
from connectors.testing import ConnectorContract
from sandbox.catalogue import SeedSpec
from sandbox.jd import JdSimulator

POLICY = HttpPolicy(timeout_s=2, max_attempts=3, max_backoff_s=0.2, base_backoff_s=0.01)


class TestJdContract(ConnectorContract):
    """The shared connector contract, on the JD simulator."""

    platform = "jd"


@pytest.fixture(scope="module")
def sim() -> Iterator[JdSimulator]:
    with JdSimulator(name="connector-tests") as simulator:
        yield simulator


@pytest.fixture
def jd(sim: JdSimulator) -> Iterator[JdSimulator]:
    sim.faults.scripted.clear()
    sim.configure({"api_calls": 200, "limit_window_seconds": 1, "corrupt_ids": [], "rate_limit_code": "2"})
    sim.shop.limits.reset()
    sim.shop.credentials.token_valid = True
    sim.shop.hooks.clear()
    sim.seed(SeedSpec(products=2, variants=2, stock=20))
    yield sim


def connector(sim: JdSimulator, **options: str) -> JdConnector:
    setup = sim.account_setup()
    return JdConnector(AccountConfig("jd", "jd", {**setup.options, **options}, setup.secrets), policy=POLICY)


def ship(conn: JdConnector, order_id: str, carrier: str, waybill: str) -> Any:
    lines = tuple((line.external_id, line.quantity) for line in conn.order(order_id).lines)
    return conn.push_shipment(ShipmentPush("k", order_id, carrier, waybill, None, lines, complete=True))


def test_the_connector_signs_like_the_official_vector() -> None:
    params = {"360buy_param_json": '{"end_date":null,"optional_fields":null,"order_state":"WAIT_SELLER_STOCK_OUT",'
                                   '"page":"1","page_size":"200","start_date":null}',
              "access_token": "yourtoken", "app_key": "yourappkey", "method": "jingdong.pop.order.search",
              "timestamp": "2021-05-07 09:20:39.683+0800", "v": "2.0"}
    assert sign(params, "yourappSecret") == "D70825340F4084360B9362B60DFD7930"


def test_jos_codes_onto_the_hubs_classes(jd: JdSimulator) -> None:
    conn = connector(jd)
    jd.configure({"api_calls": 1, "limit_window_seconds": 60})
    conn.client.call("jingdong.ware.read.searchWare4Valid", {"pageNo": 1})
    with pytest.raises(RateLimited, match="code 2"):
        conn.client.call("jingdong.ware.read.searchWare4Valid", {"pageNo": 1})
    jd.configure({"rate_limit_code": "203"})
    with pytest.raises(RateLimited, match="code 203"):  # the third-party code is a wait too, by default
        conn.client.call("jingdong.ware.read.searchWare4Valid", {"pageNo": 1})
    jd.configure({"api_calls": 200})
    jd.shop.limits.reset()
    jd.faults.next(503, count=5)
    with pytest.raises(Transient, match="code 65"):
        conn.client.call("jingdong.ware.read.searchWare4Valid", {"pageNo": 1})
    jd.expire_token()
    with pytest.raises(AuthFailed, match="code 19"):
        list(conn.orders())


def test_stock_is_set_per_sku_and_a_refusal_keeps_jds_reason(jd: JdSimulator) -> None:
    conn = connector(jd)
    item = next(i for i in conn.listings() if i.sku == "MS-0001-1")
    ghost = StockUpdate("ghost", "1", item.external_product_id, None, None, 3)
    results = conn.set_stock([StockUpdate(item.sku or "", item.external_variant_id, item.external_product_id, None,
                                          None, 6), ghost])
    assert results[0].status is WriteStatus.APPLIED and jd.available("MS-0001-1") == 6
    assert results[1].status is WriteStatus.REJECTED and "skuId 1" in (results[1].reason or "")


def test_orders_by_modified_window_with_masks_and_refund_amounts(jd: JdSimulator) -> None:
    kept = jd.place_order([("MS-0001-2", 3)], buyer="zhao")
    jd.refund_order(kept.order_id, [("MS-0001-2", 1)])
    cancelled = jd.place_order([("MS-0002-1", 1)])
    jd.cancel_order(cancelled.order_id)
    orders = {o.external_id: o for o in connector(jd).orders(updated_since=datetime.now(UTC) - timedelta(minutes=5))}
    plain = jd.shop.store.orders[kept.order_id].consignee
    assert orders[kept.order_id].status is OrderStatus.OPEN and orders[cancelled.order_id].status is \
        OrderStatus.CANCELLED
    [refund] = orders[kept.order_id].refunds
    price = jd.shop.store.orders[kept.order_id].lines[0].jd_price
    assert refund.amount is not None and refund.amount.amount == price and refund.lines == ()
    assert orders[kept.order_id].customer.name == plain.fullname[0] + "**" and plain.mobile not in str(orders)


def test_an_order_modified_exactly_at_a_window_edge_is_read(jd: JdSimulator) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    placed = jd.place_order([("MS-0002-2", 1)])
    jd.touch_order(placed.order_id, base + timedelta(hours=1))
    items = list(connector(jd, window_hours="1").order_stream(updated_since=base))
    found = [i.external_id for i in items if not isinstance(i, Checkpoint)]
    assert set(found) == {placed.order_id}  # closed date ranges: in both windows that share the edge


def test_an_order_modified_while_its_window_is_paged_is_not_missed(jd: JdSimulator) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=40)
    placed = [jd.place_order([("MS-0001-1", 1)], buyer=f"p{i}") for i in range(5)]
    for offset, order in enumerate(placed):
        jd.touch_order(order.order_id, base + timedelta(seconds=offset))

    def buyer_acts(method: str, args: dict[str, Any]) -> None:
        if method == "jingdong.pop.order.search" and str(args.get("page")) == "1":
            jd.touch_order(placed[4].order_id)
    jd.shop.hooks.append(buyer_acts)
    conn = connector(jd, page_size="2", safety_lag_seconds="2")
    first = list(conn.order_stream(updated_since=base - timedelta(seconds=1)))
    assert {o.order_id for o in placed[:4]} <= {i.external_id for i in first if not isinstance(i, Checkpoint)}
    jd.shop.hooks.clear()
    time.sleep(2.2)
    cursor = max(i.moment for i in first if isinstance(i, Checkpoint))
    assert placed[4].order_id in {i.external_id for i in conn.orders(updated_since=cursor)}


def test_carrier_names_map_to_jd_ids_and_unknown_ones_are_refused(jd: JdSimulator) -> None:
    conn = connector(jd)
    order = jd.place_order([("MS-0001-1", 1)])
    ship(conn, order.order_id, "SF", "SF1")
    assert [(s.tracking_number, s.carrier) for s in jd.shipments(order.order_id)] == [("SF1", "467")]
    assert ship(conn, order.order_id, "SF", "SF1").already_present
    other = jd.place_order([("MS-0001-1", 1)])
    with pytest.raises(Rejected) as refused:
        ship(conn, other.order_id, "DHL", "D1")
    assert "unknown carrier 'DHL' for JD" in str(refused.value) and "顺丰快递 (id 467)" in str(refused.value)
    with pytest.raises(Rejected, match="whole orders"):
        conn.push_shipment(ShipmentPush("p", other.order_id, "SF", "SF9", None, (), complete=False))
