"""The 微信小店 connector against its simulator: token refresh, per-SKU limits, guarded deltas, pushes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from canonical import OrderStatus
from connectors.auth import TokenRefresh
from connectors.base import ShipmentPush
from connectors.errors import AuthFailed
from connectors.events import SubjectKind, WebhookRequest
from connectors.liveshop.journal import DeltaJournal
from connectors.stock import WriteStatus
from connectors.testing import Receiver
from sandbox.catalogue import SeedSpec
from sandbox.wechat import WechatSimulator
from tests.connectors.liveshop_helpers import LosingTransport, connector, delta_update, path_is, stock_requests

STOCK = "product/stock/update"


@pytest.fixture(scope="module")
def started() -> Iterator[WechatSimulator]:
    with WechatSimulator() as simulator:
        yield simulator


@pytest.fixture
def sim(started: WechatSimulator) -> WechatSimulator:
    started.seed(SeedSpec(products=2, variants=2, stock=20))
    started.configure({"push_mode": "aes", "sku_updates_per_second": 2})
    started.push_url = None
    started.reset_counters()
    started.limits.reset()  # the per-SKU windows of the test before
    DeltaJournal._local.clear()
    TokenRefresh._shared.clear()
    return started


def listing_of(conn: Any, sku: str) -> Any:
    return next(item for item in conn.listings() if item.sku == sku)


def test_an_expired_token_is_refreshed_once(sim: WechatSimulator) -> None:
    conn = connector(sim)
    listing_of(conn, "MS-0001-1")
    sim.expire_tokens()
    assert listing_of(conn, "MS-0001-2").quantity == 20
    tokens = sim.request_counts()["by_route"].get("wechat:cgi-bin/stable_token")
    assert tokens == 2  # the first token and one refresh


def test_stock_updates_keep_to_the_per_sku_limit(sim: WechatSimulator) -> None:
    conn = connector(sim)
    listing = listing_of(conn, "MS-0001-1")
    results = [conn.set_stock([delta_update(listing, 1, f"ms-1-{n}")])[0] for n in range(4)]
    assert all(r.status is WriteStatus.APPLIED for r in results)
    assert sim.available("MS-0001-1") == 24
    assert sim.request_counts()["by_status"].keys() == {"200"}


def test_a_lost_answer_is_settled_and_not_sent_twice(sim: WechatSimulator) -> None:
    transport = LosingTransport(path_is(STOCK))
    conn = connector(sim, transport=transport)
    update = delta_update(listing_of(conn, "MS-0001-1"), -4, "ms-1-lost")
    assert conn.set_stock([update])[0].status is WriteStatus.APPLIED
    assert connector(sim).set_stock([update])[0].status is WriteStatus.APPLIED
    assert sim.available("MS-0001-1") == 16 and stock_requests(sim, STOCK) == 1


def test_an_insufficient_subtraction_is_reconciled(sim: WechatSimulator) -> None:
    conn = connector(sim)
    sim.shop.reserve("MS-0001-1", 18)
    [held] = conn.set_stock([delta_update(listing_of(conn, "MS-0001-1"), -5, "ms-1-held")])
    assert held.status is WriteStatus.REJECTED and "10020219" in (held.reason or "")
    update = delta_update(listing_of(conn, "MS-0001-1"), -5, "ms-1-sold")
    sim.place_order([("MS-0001-1", 1)])
    [stale] = conn.set_stock([update])
    assert (stale.status, stale.observed_quantity) == (WriteStatus.STALE, 19)


def test_orders_partial_delivery_refunds_and_cancel(sim: WechatSimulator) -> None:
    conn = connector(sim)
    placed = sim.place_order([("MS-0001-1", 2), ("MS-0002-1", 1)], buyer="carol")
    order = conn.order(placed.order_id)
    assert order.status is OrderStatus.OPEN and order.customer.name is None
    first, second = (line.external_id for line in order.lines)
    conn.push_shipment(ShipmentPush("s-1", placed.order_id, "SF Express", "SF1", None, ((first, 2),)))
    assert conn.order(placed.order_id).status is OrderStatus.OPEN  # 21 部分发货
    repeat = conn.push_shipment(ShipmentPush("s-1", placed.order_id, "SF Express", "SF1", None, ((first, 2),)))
    assert repeat.already_present
    conn.push_shipment(ShipmentPush("s-2", placed.order_id, "中通", "ZT2", None, ((second, 1),), complete=True))
    assert conn.order(placed.order_id).status is OrderStatus.COMPLETED
    assert [s.carrier for s in sim.shipments(placed.order_id)] == ["SF", "ZTO"]
    sim.refund_order(placed.order_id, [("MS-0002-1", 1)])
    [refund] = conn.order(placed.order_id).refunds
    assert [(li.line_external_id, li.quantity, li.restock) for li in refund.lines] == [(second, 1, True)]
    cancelled = sim.place_order([("MS-0001-2", 1)])
    sim.cancel_order(cancelled.order_id)
    assert conn.order(cancelled.order_id).status is OrderStatus.CANCELLED
    assert conn.order(cancelled.order_id).paid_at is not None  # paid, then cancelled: the channel kept the units


def test_an_unpaid_order_has_no_payment_time() -> None:
    from connectors.wechat.normalise import order as normalise_order

    raw = {"order_id": "37", "status": 10, "create_time": 1_700_000_000, "update_time": 1_700_000_000,
           "order_detail": {"product_infos": [], "pay_info": {"pay_time": 0}}}
    assert normalise_order(raw, account="wx").paid_at is None
    paid = {**raw, "status": 20, "order_detail": {"product_infos": [], "pay_info": {"pay_time": 1_700_000_100}}}
    assert normalise_order(paid, account="wx").paid_at is not None


def test_safe_mode_pushes_and_the_url_check(sim: WechatSimulator) -> None:
    conn = connector(sim)
    with Receiver(lambda request: conn.webhook_reply(request, conn.verify_webhook(request))) as receiver:
        sim.set_push_url(receiver.url)  # the signed GET, answered with its echostr
        placed = sim.place_order([("MS-0001-1", 1)])
        sim.refund_order(placed.order_id)
        sim.flush_events()
        deliveries = receiver.wait_for(5)
        receiver.wait_quiet()
    sim.push_url = None
    check, pushes = deliveries[0], deliveries[1:]
    assert check.method == "GET" and conn.webhook_reply(check, []).body == check.query["echostr"].encode()
    events = [e for d in pushes for e in conn.verify_webhook(d)]
    kinds = {(s.kind, s.order) for e in events if (s := conn.event_subject(e))}
    assert kinds == {(SubjectKind.ORDER, placed.order_id), (SubjectKind.REFUND, placed.order_id)}
    assert len({e.event_id for e in events}) == 4 and conn.verify_webhook(pushes[0])[0].event_id == events[0].event_id
    genuine = pushes[0]
    stale = {**genuine.query, "timestamp": str(int(time.time()) - 3600)}
    tampered = genuine.body.replace(b'"Encrypt": "', b'"Encrypt": "A')
    for request in (WebhookRequest("POST", genuine.headers, stale, genuine.body),
                    WebhookRequest("POST", genuine.headers, genuine.query, tampered),
                    WebhookRequest("POST", genuine.headers, {**genuine.query, "encrypt_type": ""}, genuine.body)):
        with pytest.raises(AuthFailed):
            conn.verify_webhook(request)


def test_plain_mode_pushes(sim: WechatSimulator) -> None:
    sim.configure({"push_mode": "plain"})
    conn = connector(sim, push_mode="plain")
    with Receiver(lambda request: conn.webhook_reply(request, conn.verify_webhook(request))) as receiver:
        sim.set_push_url(receiver.url)
        placed = sim.place_order([("MS-0001-1", 1)])
        sim.flush_events()
        deliveries = receiver.wait_for(3)
        receiver.wait_quiet()
    sim.push_url = None
    orders = {s.order for d in deliveries[1:] for e in conn.verify_webhook(d) if (s := conn.event_subject(e))}
    assert orders == {placed.order_id}
    safe_mode = connector(sim, push_mode="aes")
    assert safe_mode.verify_webhook(deliveries[0]) == []  # the URL check holds in either mode
    with pytest.raises(AuthFailed):
        safe_mode.verify_webhook(deliveries[1])  # an account in safe mode refuses a plain push


def test_bad_credentials_fail_at_the_token(sim: WechatSimulator) -> None:
    setup = sim.account_setup()
    from connectors.base import AccountConfig
    from connectors.wechat import WechatConnector

    account = AccountConfig("bad", "wechat", dict(setup.options), {**setup.secrets, "app_secret": "wrong"})
    health = WechatConnector(account).health()
    assert not health.ok and "40001" in health.detail and setup.secrets["app_secret"] not in health.detail
