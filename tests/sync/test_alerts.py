"""Alerts open and close themselves, once per condition, with history and signed delivery (both databases)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from mapping.conflicts import ConflictKind, open_conflict
from store import tables
from store.settings import AlertDestination
from sync.alerts.delivery import deliver_pending, deliveries
from sync.alerts.service import evaluate, listed
from sync.hub.context import Hub
from tests.connectors.robot_receiver import SECRET, RobotReceiver
from tests.sync.timed_ledger import make_variants, move


def ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[RobotReceiver]:
    receiver = RobotReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(name="goods")
def goods_fixture(hub: Hub) -> dict[str, int]:
    """A-1 sells 2 a day with 5 left; D-1 has sat unsold for 200 days."""
    ids = make_variants(hub, "A-1", "D-1")
    move(hub, ids["A-1"], "r1", ago(20), on_hand=25, reason="receive")
    for day in range(10):
        move(hub, ids["A-1"], f"c{day}", ago(day + 0.5), committed=2, reason="order_commit", source="order:woo")
        move(hub, ids["A-1"], f"s{day}", ago(day + 0.4), on_hand=-2, committed=-2, reason="shipment")
    move(hub, ids["D-1"], "r2", ago(200), on_hand=9, reason="receive")
    return ids


def open_kinds(hub: Hub) -> dict[str, str]:
    return {alert["subject"]: alert["kind"] for alert in listed(hub)}


def test_alerts_open_once_refresh_and_close_as_stock_moves(hub: Hub, goods: dict[str, int]) -> None:
    first = evaluate(hub)
    assert open_kinds(hub) == {"below_reorder_point:A-1": "below_reorder_point", "low_cover:A-1": "low_cover",
                               "dead_stock:D-1": "dead_stock"}
    assert first["opened"] == 3
    again = evaluate(hub)
    assert (again["opened"], again["closed"], again["still_open"]) == (0, 0, 3)
    assert len(listed(hub)) == 3  # no duplicates for one condition
    move(hub, goods["A-1"], "r3", ago(0.01), on_hand=200, reason="receive")
    closing = evaluate(hub)
    assert closing["closed"] == 2 and set(open_kinds(hub)) == {"dead_stock:D-1"}
    history = listed(hub, status=None)
    assert [a["status"] for a in history if a["sku"] == "A-1"] == ["closed", "closed"]
    move(hub, goods["A-1"], "x1", ago(0.005), on_hand=-200, reason="adjust")
    evaluate(hub)  # the condition is back: a new alert, the old one stays in the history
    assert len([a for a in listed(hub, status=None) if a["subject"] == "low_cover:A-1"]) == 2


def test_oversold_channel_out_of_stock_drift_and_failing_accounts(hub: Hub, goods: dict[str, int]) -> None:
    from sync.hub.accounts import add_account

    woo = add_account(hub, "woocommerce", "woo", {"url": "http://127.0.0.1:9"},
                      {"consumer_key": "ck", "consumer_secret": "cs"}, actor="test")
    shop = add_account(hub, "shopify", "shop", {"shop": "x.myshopify.com"},
                       {"access_token": "t", "client_secret": "s"}, actor="test")
    move(hub, goods["D-1"], "oversell", ago(0.01), committed=12, reason="order_commit", source="order:woo")
    with hub.db.session() as session:
        for account, quantity in ((woo, 0), (shop, 4)):
            session.add(tables.Listing(account_id=account.id, variant_id=goods["A-1"], external_product_id="1",
                                       external_variant_id=f"v{account.id}", acknowledged_quantity=quantity))
        session.flush()
        listing = session.scalar(select(tables.Listing).where(tables.Listing.account_id == woo.id))
        assert listing is not None
        drift = open_conflict(session, ConflictKind.STOCK_DRIFT, f"stock_drift:{listing.id}",
                              evidence={"hub_acknowledged": 5, "channel_observed": 0, "hub_desired": 5},
                              account_id=woo.id, listing_id=listing.id, variant_id=goods["A-1"])
        session.add(tables.SyncRun(kind="push", account_id=shop.id, status="failed",
                                   error="shop: authentication failed; check the account's credentials"))
        drift_id = drift.id
    evaluate(hub)
    alerts = {a["subject"]: a for a in listed(hub)}
    assert alerts["oversold:D-1:default"]["detail"] == {"location": "default", "on_hand": 9, "committed": 12}
    assert alerts["channel_out_of_stock:A-1"]["detail"] == {"out_of_stock": ["woo"], "selling": ["shop"]}
    assert alerts[f"stock_drift:conflict:{drift_id}"]["detail"]["channel_observed"] == 0
    assert "authentication failed" in alerts["failing_account:shop"]["message"]
    assert "dead_stock:D-1" not in alerts  # an order just came in
    with hub.db.session() as session:
        session.execute(update(tables.Conflict).where(tables.Conflict.id == drift_id).values(status="resolved"))
        session.add(tables.SyncRun(kind="push", account_id=shop.id, status="ok"))
    evaluate(hub)
    assert f"stock_drift:conflict:{drift_id}" not in open_kinds(hub) and "failing_account:shop" not in open_kinds(hub)


def test_deliveries_are_signed_once_per_event_and_hold_no_customer_data(hub: Hub, goods: dict[str, int],
                                                                        receiver: RobotReceiver) -> None:
    hub.settings.alerts.destinations = {
        "ops": AlertDestination(webhook_url=receiver.url("generic"), format="generic", secret=SECRET),
        "robot": AlertDestination(webhook_url=receiver.url("dingtalk"), format="dingtalk", secret=SECRET,
                                  kinds=["dead_stock"], events=["opened"])}
    with hub.db.session() as session:
        session.add(tables.Order(account_id=_account(hub), external_id="9", status="open", currency="EUR",
                                 placed_at=ago(1), channel_updated_at=ago(1), customer_email="ada@example.com",
                                 customer_name="Ada Buyer", channel_state={}))
    result = evaluate(hub)
    assert result["deliveries"]["sent"] == 4  # three alerts to ops, the dead stock one to the robot
    evaluate(hub)
    assert len(receiver.received) == 4  # nothing is sent twice
    assert all(item.signed for item in receiver.received)
    assert {item.body["alert"]["kind"] for item in receiver.received if item.fmt == "generic"} == \
        {"below_reorder_point", "low_cover", "dead_stock"}
    everything = json.dumps([item.body for item in receiver.received])
    assert "ada@example.com" not in everything and "Ada" not in everything
    move(hub, goods["A-1"], "r3", ago(0.01), on_hand=200, reason="receive")
    evaluate(hub)
    closed = [item.body for item in receiver.received if item.fmt == "generic" and item.body["event"] == "alert.closed"]
    assert {body["alert"]["kind"] for body in closed} == {"below_reorder_point", "low_cover"}


def _account(hub: Hub) -> int:
    from sync.hub.accounts import add_account

    return add_account(hub, "woocommerce", "woo", {"url": "http://127.0.0.1:9"},
                       {"consumer_key": "ck", "consumer_secret": "cs"}, actor="test").id


def test_a_failing_destination_is_retried_later_then_gives_up(hub: Hub, goods: dict[str, int],
                                                              receiver: RobotReceiver) -> None:
    hub.settings.alerts.destinations = {
        "ops": AlertDestination(webhook_url=receiver.url("generic"), format="generic", secret=SECRET,
                                kinds=["dead_stock"])}
    receiver.script = [(503, "down")] * 3
    result = evaluate(hub)
    assert result["deliveries"]["retrying"] == 1
    [row] = deliveries(hub)
    assert row["status"] == "pending" and row["attempts"] == 1 and "503" in row["last_error"]
    assert deliver_pending(hub)["sent"] == 0  # not due yet
    with hub.db.session() as session:
        session.execute(update(tables.AlertDelivery).values(next_attempt_at=ago(0.001)))
    assert deliver_pending(hub)["sent"] == 1
    [row] = deliveries(hub)
    assert row["status"] == "sent" and row["attempts"] == 2
    ids = {item.headers["x-marketsync-delivery"] for item in receiver.received}
    assert len(ids) == 1  # the same delivery id on every attempt: the receiver can drop repeats
