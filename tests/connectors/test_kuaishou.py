"""The 快手 connector against its simulator: deltas guarded by the journal, refusals, orders, pushes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from canonical import OrderStatus
from connectors.base import ShipmentPush
from connectors.budget import RedisBudgets
from connectors.errors import AuthFailed, Rejected, Transient
from connectors.events import SubjectKind, WebhookRequest
from connectors.liveshop.journal import DeltaJournal
from connectors.stock import WriteStatus
from connectors.testing import Receiver
from sandbox.catalogue import SeedSpec
from sandbox.kuaishou import KuaishouSimulator
from sandbox.kuaishou.signing import encrypt_message
from tests.connectors.liveshop_helpers import LosingTransport, connector, delta_update, path_is, stock_requests

STOCK = "item/sku/stock/update"


@pytest.fixture(scope="module")
def started() -> Iterator[KuaishouSimulator]:
    with KuaishouSimulator(push_duplicate_rate=0.0, push_loss_rate=0.0) as simulator:
        yield simulator


@pytest.fixture
def sim(started: KuaishouSimulator) -> KuaishouSimulator:
    started.seed(SeedSpec(products=2, variants=2, stock=20))
    started.push_url = None
    started.reset_counters()
    DeltaJournal._local.clear()
    return started


def listing_of(conn: Any, sku: str) -> Any:
    return next(item for item in conn.listings() if item.sku == sku)


def test_a_lost_answer_is_settled_from_the_journal_and_never_sent_twice(sim: KuaishouSimulator) -> None:
    transport = LosingTransport(path_is(STOCK))
    conn = connector(sim, transport=transport)
    update = delta_update(listing_of(conn, "MS-0001-1"), -3, "ms-1-lost")
    [result] = conn.set_stock([update])
    assert result.status is WriteStatus.APPLIED and transport.lost == 1
    [again] = connector(sim).set_stock([update])  # the engine sends the same (delta, id) again
    assert again.status is WriteStatus.APPLIED
    assert sim.available("MS-0001-1") == 17 and stock_requests(sim, "stock.update") == 1


def test_a_write_that_never_arrived_is_raised_and_sent_again(sim: KuaishouSimulator) -> None:
    conn = connector(sim, transport=LosingTransport(path_is(STOCK), deliver=False))
    update = delta_update(listing_of(conn, "MS-0001-1"), 4, "ms-1-dropped")
    with pytest.raises(Transient, match="not applied"):
        conn.set_stock([update])
    assert sim.available("MS-0001-1") == 20
    [result] = conn.set_stock([update])
    assert result.status is WriteStatus.APPLIED and sim.available("MS-0001-1") == 24


def test_a_lost_answer_with_a_sale_in_between_is_left_to_reconciliation(sim: KuaishouSimulator) -> None:
    class SaleThenLoss(LosingTransport):
        def handle_request(self, request: Any) -> Any:
            if self.lost == 0 and self.lose(request):
                sim.place_order([("MS-0001-1", 2)])  # a buyer between the read and the write
            return super().handle_request(request)

    conn = connector(sim, transport=SaleThenLoss(path_is(STOCK)))
    update = delta_update(listing_of(conn, "MS-0001-1"), -3, "ms-1-race")
    [result] = conn.set_stock([update])
    assert (result.status, result.observed_quantity) == (WriteStatus.STALE, 15)
    [again] = conn.set_stock([update])  # the engine sends it again after reconciling: never twice
    assert again.status is WriteStatus.APPLIED and stock_requests(sim, "stock.update") == 1


def test_the_journal_survives_the_process_in_redis(sim: KuaishouSimulator, redis_client: redis.Redis) -> None:
    client = redis_client
    transport = LosingTransport(path_is(STOCK))
    conn = connector(sim, transport=transport, budgets=RedisBudgets(client, "ks-shop"))
    update = delta_update(listing_of(conn, "MS-0001-1"), -2, "ms-1-redis")
    conn.set_stock([update])
    DeltaJournal._local.clear()  # another worker, or this one restarted
    [again] = connector(sim, budgets=RedisBudgets(client, "ks-shop")).set_stock([update])
    assert again.status is WriteStatus.APPLIED and sim.available("MS-0001-1") == 18
    assert stock_requests(sim, "stock.update") == 1


def test_reserved_activity_stock_is_result_21_and_rejected(sim: KuaishouSimulator) -> None:
    conn = connector(sim)
    sim.shop.reserve("MS-0001-1", 16)
    [result] = conn.set_stock([delta_update(listing_of(conn, "MS-0001-1"), -5, "ms-1-held")])
    assert result.status is WriteStatus.REJECTED and "16 of its 20 held" in (result.reason or "")
    update = delta_update(listing_of(conn, "MS-0001-1"), -5, "ms-1-held-2")
    sim.place_order([("MS-0001-1", 2)])
    [stale] = conn.set_stock([update])
    assert (stale.status, stale.observed_quantity) == (WriteStatus.STALE, 18)


def test_orders_refunds_and_whole_order_shipping(sim: KuaishouSimulator) -> None:
    conn = connector(sim)
    placed = sim.place_order([("MS-0001-1", 3)], buyer="bob")
    order = conn.order(placed.order_id)
    assert order.status is OrderStatus.OPEN and order.customer.name is None
    [line] = order.lines
    with pytest.raises(Rejected, match="whole order"):
        conn.push_shipment(ShipmentPush("s-0", placed.order_id, "SF", "SF0", None, ((line.external_id, 1),)))
    first = conn.push_shipment(ShipmentPush("s-1", placed.order_id, "顺丰速运", "SF1", None,
                                            ((line.external_id, 3),), complete=True))
    assert not first.already_present and sim.shipments(placed.order_id)[0].carrier == "4"
    assert conn.order(placed.order_id).status is OrderStatus.COMPLETED
    sim.refund_order(placed.order_id, [("MS-0001-1", 2)])
    [refund] = conn.order(placed.order_id).refunds
    assert [(li.quantity, li.restock) for li in refund.lines] == [(2, True)]
    cancelled = sim.place_order([("MS-0002-1", 1)])
    sim.cancel_order(cancelled.order_id)
    assert conn.order(cancelled.order_id).status is OrderStatus.CANCELLED


def test_pushes_are_decrypted_deduplicated_and_answered(sim: KuaishouSimulator) -> None:
    conn = connector(sim)
    with Receiver(lambda request: conn.webhook_reply(request, conn.verify_webhook(request))) as receiver:
        sim.set_push_url(receiver.url)  # the console's test message is answered {"result":1}
        sim.configure({"push_duplicate_rate": 1.0})
        placed = sim.place_order([("MS-0001-1", 1)])
        sim.refund_order(placed.order_id)
        sim.flush_events()
        deliveries = receiver.wait_for(9)
        receiver.wait_quiet()
    sim.configure({"push_duplicate_rate": 0.0})
    sim.push_url = None
    assert conn.verify_webhook(deliveries[0]) == []  # {"test": true}
    events = [e for d in deliveries[1:] for e in conn.verify_webhook(d)]
    assert len(events) == 8 and len({e.event_id for e in events}) == 4  # every push twice, one id each
    refund_subjects = {s.order for e in events if (s := conn.event_subject(e)) and s.kind is SubjectKind.REFUND}
    assert refund_subjects == {placed.order_id}
    assert json.loads(conn.webhook_reply(deliveries[0], []).body) == {"result": 1}
    other = encrypt_message(json.dumps({"eventId": "1", "event": "x", "appKey": "ks-other"}).encode(),
                            sim.message_key)
    for body in (deliveries[1].body[:-4] + b"AAAA", other, b"not base64!"):
        with pytest.raises(AuthFailed):
            conn.verify_webhook(WebhookRequest("POST", {}, {}, body))
