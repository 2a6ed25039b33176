"""What the chaos run reads and counts on the marketplace simulators through their control planes: the
shop's orders, shipments and available stock (the simulator interface's reads, over HTTP), injected
faults counted by kind whatever the platform's answer looks like, and reordered events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.base import ShipmentPush, connector_class
from connectors.testing.harness import CONTRACT_POLICY, SimulatorHarness
from sandbox.catalogue import SeedSpec
from sandbox.interface import start_simulator
from sandbox.pushshop.pushes import PreparedPush, PushQueue
from sandbox.runtime import Clock
from sandbox.taobao.tmc import MessageQueue
from tests.sandbox.push_receiver import PushReceiver

MARKETPLACES = ("taobao", "pinduoduo", "jd", "douyin", "kuaishou", "wechat")
SKU = "MS-0001-1"


@pytest.fixture(params=MARKETPLACES)
def simulator(request: pytest.FixtureRequest) -> Iterator[Any]:
    sim = start_simulator(request.param, seed=SeedSpec(products=3, variants=1, stock=10, seed=5))
    yield sim
    sim.stop()


def harness(simulator: Any) -> SimulatorHarness:
    return SimulatorHarness(simulator, connector_class(simulator.platform), 4, frozenset({SKU}), CONTRACT_POLICY)


def test_orders_shipments_and_stock_are_read_through_the_control_plane(simulator: Any) -> None:
    made = harness(simulator)
    try:
        connector = made.make_connector()
        placed = simulator.place_order([(SKU, 2)])
        [line] = connector.order(placed.order_id).lines
        # The chaos run's warehouse ships with the carrier every platform knows.
        connector.push_shipment(ShipmentPush(idempotency_key="chaos-1", order_external_id=placed.order_id,
                                             carrier="SF Express", tracking_number="SF1234567890",
                                             tracking_url=None, lines=((line.external_id, 2),), complete=True))
    finally:
        made.close()
    with httpx.Client(base_url=simulator.url) as http:
        assert http.get("/_sandbox/orders").json() == {"orders": [placed.order_id]}
        available = http.post("/_sandbox/available", json={"skus": [SKU, "NOT-SOLD-HERE"]}).json()
        assert available == {"available": {SKU: simulator.available(SKU), "NOT-SOLD-HERE": None}}
        assert available["available"][SKU] == 8
        [shipment] = http.get("/_sandbox/shipments").json()["shipments"]
    assert (shipment["order_id"], shipment["tracking_number"]) == (placed.order_id, "SF1234567890")
    assert shipment["carrier"]


def test_injected_faults_are_counted_by_kind_whatever_the_answer_looks_like(simulator: Any) -> None:
    with httpx.Client(base_url=simulator.url, timeout=5) as http:
        http.post("/_sandbox/faults", json={"timeout_seconds": 0.05, "next": [
            {"status": 429, "retry_after": 1}, {"status": 503}, {"status": 0}]}).raise_for_status()
        answers = [http.post("/an/api/call", content=b"") for _ in range(3)]
        counts = http.get("/_sandbox/requests").json()
    assert counts["injected"] == {"429": 1, "503": 1, "504": 1}
    if simulator.platform in ("taobao", "pinduoduo", "jd"):  # a gateway error inside HTTP 200
        assert [a.status_code for a in answers[:2]] == [200, 200]
        assert all("error" in next(iter(a.json())) for a in answers[:2]), [a.text for a in answers]
    # The connector takes the injected 5xx and rate limit for what they are and tries again.
    made = harness(simulator)
    try:
        placed = simulator.place_order([(SKU, 1)])
        simulator.faults.next(503)
        simulator.faults.next(429, retry_after=0)
        assert made.make_connector().order(placed.order_id).external_id == placed.order_id
    finally:
        made.close()
    assert simulator.request_counts()["injected"] == {"429": 2, "503": 2, "504": 1}


def test_reset_counters_forgets_injected_faults(simulator: Any) -> None:
    simulator.faults.next(503)
    httpx.post(f"{simulator.url}/an/api/call", content=b"")
    assert simulator.request_counts()["injected"] == {"503": 1}
    simulator.reset_counters()
    assert simulator.request_counts()["injected"] == {}


def test_reordered_pushes_overtake_one_another_and_all_arrive() -> None:
    with PushReceiver() as receiver:
        pushes = PushQueue(Clock(), retry_delays=(), timeout=2.0, accepted=lambda r: r.status_code == 200, seed=3)
        try:
            for n in range(12):
                body = str(n).encode()
                pushes.push([str(n)], lambda body=body: PreparedPush(receiver.url, body, {}), reorder=True)
            receiver.wait_for(12)
        finally:
            pushes.close()
        arrived = [int(r.body) for r in receiver.received]
    assert sorted(arrived) == list(range(12)) and arrived != sorted(arrived)


def test_reordered_tmc_batches_come_newest_first() -> None:
    queue = MessageQueue(Clock(), "app", require_permit=False)
    ids = [queue.publish("taobao_trade_TradeCreate", {"tid": n}, user_id=1, user_nick="s") for n in range(3)]
    queue.reorder = True
    assert [m.id for m in queue.consume(10)] == [m.id for m in reversed(ids) if m is not None]


def test_a_storm_refuses_every_request_for_its_seconds_then_ends(simulator: Any) -> None:
    with httpx.Client(base_url=simulator.url, timeout=5) as http:
        http.post("/_sandbox/faults", json={"storm": {"status": 429, "retry_after": 1, "seconds": 0.5}}
                  ).raise_for_status()
        for _ in range(5):
            http.post("/an/api/call", content=b"")
        assert http.get("/_sandbox/requests").json()["injected"] == {"429": 5}
        time.sleep(0.6)
        http.post("/an/api/call", content=b"")
        assert http.get("/_sandbox/requests").json()["injected"] == {"429": 5}  # over: answered as usual
        http.post("/_sandbox/faults", json={"storm": {"seconds": 30}}).raise_for_status()
        http.post("/_sandbox/faults", json={"storm": {"seconds": 0}}).raise_for_status()  # ended early
        http.post("/an/api/call", content=b"")
        assert http.get("/_sandbox/requests").json()["injected"] == {"429": 5}
