"""The 抖店 connector against its simulator: idempotent deltas, refused subtractions, orders, shipments, pushes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from canonical import OrderStatus
from connectors.base import ShipmentPush
from connectors.errors import AuthFailed, Rejected
from connectors.events import SubjectKind, WebhookRequest
from connectors.stock import WriteStatus
from connectors.testing import Receiver
from sandbox.catalogue import SeedSpec
from sandbox.douyin import DouyinSimulator
from tests.connectors.liveshop_helpers import LosingTransport, connector, delta_update, path_is, stock_requests


@pytest.fixture(scope="module")
def started() -> Iterator[DouyinSimulator]:
    with DouyinSimulator() as simulator:
        yield simulator


@pytest.fixture
def sim(started: DouyinSimulator) -> DouyinSimulator:
    started.seed(SeedSpec(products=2, variants=2, stock=20))
    started.configure({"corrupt_ids": []})
    started.push_url = None
    return started


def listing_of(conn: Any, sku: str) -> Any:
    return next(item for item in conn.listings() if item.sku == sku)


def test_a_lost_answer_is_resent_under_the_same_id_and_applied_once(sim: DouyinSimulator) -> None:
    transport = LosingTransport(path_is("/sku/syncStock"))
    conn = connector(sim, transport=transport)
    update = delta_update(listing_of(conn, "MS-0001-1"), -3, "ms-1-lost")
    [result] = conn.set_stock([update])
    assert result.status is WriteStatus.APPLIED and transport.lost == 1
    assert sim.available("MS-0001-1") == 17
    assert stock_requests(sim, "sku.syncStock") == 2  # the lost one and the recognised repeat


def test_a_subtraction_into_activity_stock_is_rejected_with_the_reason(sim: DouyinSimulator) -> None:
    conn = connector(sim)
    sim.shop.reserve("MS-0001-1", 18)
    [result] = conn.set_stock([delta_update(listing_of(conn, "MS-0001-1"), -5, "ms-1-held")])
    assert result.status is WriteStatus.REJECTED and "activity" in (result.reason or "")
    assert sim.available("MS-0001-1") == 20


def test_a_refused_subtraction_after_unseen_sales_reports_the_observed_number(sim: DouyinSimulator) -> None:
    conn = connector(sim)
    update = delta_update(listing_of(conn, "MS-0001-1"), -18, "ms-1-sold")
    sim.place_order([("MS-0001-1", 5)])  # a sale the hub has not read yet
    [result] = conn.set_stock([update])
    assert (result.status, result.observed_quantity) == (WriteStatus.STALE, 15)


def test_orders_with_partial_shipments_and_refunds(sim: DouyinSimulator) -> None:
    conn = connector(sim)
    placed = sim.place_order([("MS-0001-1", 2), ("MS-0002-1", 1)], buyer="alice")
    order = conn.order(placed.order_id)
    assert order.status is OrderStatus.OPEN and [(li.sku, li.quantity) for li in order.lines] == \
        [("MS-0001-1", 2), ("MS-0002-1", 1)]
    assert order.customer.name is None and order.customer.country == "CN"
    first, second = (line.external_id for line in order.lines)
    conn.push_shipment(ShipmentPush("s-1", placed.order_id, "顺丰", "SF1", None, ((first, 2),)))
    assert conn.order(placed.order_id).status is OrderStatus.OPEN  # 101 部分发货
    conn.push_shipment(ShipmentPush("s-2", placed.order_id, "ZTO", "ZT2", None, ((second, 1),), complete=True))
    assert conn.order(placed.order_id).status is OrderStatus.COMPLETED
    assert [(s.carrier, s.tracking_number) for s in sim.shipments(placed.order_id)] == \
        [("shunfeng", "SF1"), ("zhongtong", "ZT2")]
    sim.refund_order(placed.order_id, [("MS-0001-1", 1)])
    [refund] = conn.order(placed.order_id).refunds
    assert [(li.line_external_id, li.quantity, li.restock) for li in refund.lines] == [(first, 1, True)]


def test_cancelled_and_refunded_before_shipping(sim: DouyinSimulator) -> None:
    conn = connector(sim)
    cancelled = sim.place_order([("MS-0001-1", 1)])
    sim.cancel_order(cancelled.order_id)
    assert conn.order(cancelled.order_id).status is OrderStatus.CANCELLED
    refunded = sim.place_order([("MS-0001-2", 2)])
    sim.refund_order(refunded.order_id)
    order = conn.order(refunded.order_id)
    assert order.status is OrderStatus.CANCELLED and not order.refunds[0].lines[0].restock


def test_an_unknown_carrier_is_refused_naming_the_known_ones(sim: DouyinSimulator) -> None:
    conn = connector(sim)
    placed = sim.place_order([("MS-0001-1", 1)])
    [line] = conn.order(placed.order_id).lines
    with pytest.raises(Rejected, match="no douyin code"):
        conn.push_shipment(ShipmentPush("s", placed.order_id, "Pony Express", "P1", None, ((line.external_id, 1),),
                                        complete=True))
    assert sim.shipments(placed.order_id) == []


def test_pushes_are_verified_and_name_orders_and_refunds(sim: DouyinSimulator) -> None:
    conn = connector(sim)
    with Receiver(lambda request: conn.webhook_reply(request, conn.verify_webhook(request))) as receiver:
        sim.set_push_url(receiver.url)
        placed = sim.place_order([("MS-0001-1", 1)])
        sim.refund_order(placed.order_id)
        sim.flush_events()
        deliveries = receiver.wait_for(2)
        receiver.wait_quiet()
    sim.push_url = None
    events = [event for d in deliveries for event in conn.verify_webhook(d)]
    subjects = {(e.topic, s.kind, s.reference, s.order) for e in events if (s := conn.event_subject(e))}
    aftersale = next(iter(sim.shop.aftersales))
    assert ("101", SubjectKind.ORDER, placed.order_id, placed.order_id) in subjects
    assert ("206", SubjectKind.REFUND, str(aftersale), placed.order_id) in subjects
    assert len({e.event_id for e in events}) == len(events) == 4
    assert json.loads(conn.webhook_reply(deliveries[0], events).body) == {"code": 0, "msg": "success"}
    forged = WebhookRequest("POST", {**deliveries[0].headers, "event-sign": "0" * 32}, {}, deliveries[0].body)
    with pytest.raises(AuthFailed):
        conn.verify_webhook(forged)


def test_bad_options_are_one_clear_error(sim: DouyinSimulator) -> None:
    with pytest.raises(Rejected, match="window_hours"):
        connector(sim, window_hours="500")
    with pytest.raises(Rejected, match="page_size"):
        connector(sim, page_size="abc")
