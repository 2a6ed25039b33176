"""The 快手 simulator over real HTTP on loopback: signing, envelope, QPS, delta stock, cursors, pushes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.responses import JSONResponse

from sandbox.catalogue import SeedSpec
from sandbox.interface import Simulator, SimulatorError, start_simulator
from sandbox.kuaishou import KuaishouSimulator
from sandbox.kuaishou.signing import decrypt_message, encrypt_message, sign, sign_string
from tests.sandbox.push_receiver import PushReceiver

VERBS = {"open.item.sku.stock.update": "POST", "open.seller.order.goods.deliver": "POST"}
DAY_MS = 86_400_000


class Client:
    """Signs and sends gateway calls the way the platform's documentation describes."""

    def __init__(self, sim: KuaishouSimulator, sign_method: str = "HMAC_SHA256") -> None:
        self.sim, self.sign_method = sim, sign_method
        self.http = httpx.Client(base_url=sim.url, timeout=10)

    def call(self, api: str, param: dict[str, Any] | None = None, /, *, verb: str | None = None,
             **override: str) -> dict[str, Any]:
        params = {"appkey": self.sim.app_key, "method": api, "version": "1",
                  "param": json.dumps(param or {}, separators=(",", ":")), "access_token": self.sim.access_token,
                  "timestamp": str(int(time.time() * 1000)), "signMethod": self.sign_method}
        params.update({k: v for k, v in override.items() if k != "sign"})
        params["sign"] = override.get("sign") or sign(params, self.sim.sign_secret)
        path = "/" + api.replace(".", "/")
        if (verb or VERBS.get(api, "GET")) == "POST":
            response = self.http.post(path, data=params)
        else:
            response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        assert {"result", "error_msg"} <= set(result)
        return result

    def ok(self, api: str, param: dict[str, Any] | None = None) -> Any:
        result = self.call(api, param)
        assert result["result"] == 1, result
        return result["data"]


@pytest.fixture
def sim() -> Iterator[KuaishouSimulator]:
    simulator = KuaishouSimulator(push_duplicate_rate=0.0, push_loss_rate=0.0)
    simulator.seed(SeedSpec(products=3, variants=2, stock=20))
    with simulator:
        yield simulator


@pytest.fixture
def client(sim: KuaishouSimulator) -> Iterator[Client]:
    client = Client(sim)
    yield client
    client.http.close()


def ids(sim: KuaishouSimulator, code: str) -> dict[str, int]:
    sku = sim.shop.by_code[code]
    return {"kwaiItemId": sku.product_id, "skuId": sku.sku_id}


def now_ms() -> int:
    return int(time.time() * 1000)


# ---- signing -----------------------------------------------------------------------------------------
def test_hmac_sign_matches_the_documented_vector() -> None:
    params = {"access_token": "tok", "appkey": "ks123", "method": "open.item.sku.stock.update",
              "param": '{"kwaiItemId":1,"skuId":2,"skuChangeStock":3,"changeType":1}', "signMethod": "HMAC_SHA256",
              "timestamp": "1764561600000", "version": "1"}
    assert sign_string(params, "sigsecret").endswith("&timestamp=1764561600000&version=1&signSecret=sigsecret")
    assert sign(params, "sigsecret") == "XcqN5tPUgwVFuyW7osH+GE+BrFUCjrSC6eb+/993Ft4="


def test_md5_sign_is_lower_hex_of_the_same_string() -> None:
    params = {"access_token": "tok", "appkey": "ks123", "method": "open.order.detail", "param": "{}",
              "signMethod": "MD5", "timestamp": "1764561600000", "version": "1"}
    assert sign(params, "sigsecret") == "c3801d3ef022828f30404678ec3fb694"


def test_message_encryption_round_trips_under_the_message_key() -> None:
    key = "MTIzNDU2Nzg5MDEyMzQ1Ng=="  # base64 of a 16-byte AES key
    sealed = encrypt_message(b'{"test":true}', key)
    assert sealed == b"0vakJFzxnf6lSGRhguKKdg=="
    assert decrypt_message(sealed, key) == b'{"test":true}'


def test_the_simulator_implements_the_interface(sim: KuaishouSimulator) -> None:
    assert isinstance(sim, Simulator)
    assert set(sim.account_setup().secrets) == {"sign_secret", "access_token", "message_key"}
    simulator = start_simulator("kuaishou", seed=2)
    simulator.stop()


@pytest.mark.parametrize(("override", "result"), [
    ({"sign": "x"}, 28),
    ({"access_token": "other"}, 24),
    ({"appkey": "ks000"}, 24),
    ({"signMethod": "SHA1", "sign": "x"}, 28),
    ({"timestamp": str(now_ms() - 3_600_000)}, 22),
    ({"timestamp": "1764561600"}, 22),
    ({"version": "2"}, 22),
    ({"method": "open.item.list.get"}, 22),
])
def test_the_gateway_refuses_bad_common_parameters(client: Client, override: dict[str, str], result: int) -> None:
    assert client.call("open.order.detail", {"oid": 1}, **override)["result"] == result


def test_md5_signing_is_accepted_too(sim: KuaishouSimulator) -> None:
    client = Client(sim, sign_method="MD5")
    assert client.ok("open.item.list.get", {"pageSize": 10})["totalItemCount"] == 3


def test_each_api_keeps_its_http_method(client: Client, sim: KuaishouSimulator) -> None:
    refused = client.call("open.item.sku.stock.update", {**ids(sim, "MS-0001-1"), "skuChangeStock": 1,
                                                         "changeType": 1}, verb="GET")
    assert refused["result"] == 22 and sim.available("MS-0001-1") == 20


def test_per_api_qps_limits_name_the_api(client: Client, sim: KuaishouSimulator) -> None:
    sim.configure({"api_qps": {"open.item.list.get": 2, "*": 100}})
    sim.clock.set_factor(0.001)
    answers = [client.call("open.item.list.get", {"pageSize": 10}) for _ in range(3)]
    assert [a["result"] for a in answers] == [1, 1, 1016]
    assert answers[2]["error_msg"].startswith("Exceed qps limit, KEY [apiId:open.item.list.get;")
    assert client.call("open.item.sku.list.get", {"kwaiItemId": ids(sim, "MS-0001-1")["kwaiItemId"]})["result"] == 1


def test_the_daily_quota(client: Client, sim: KuaishouSimulator) -> None:
    sim.configure({"daily_quota": 1})
    client.ok("open.item.list.get", {"pageSize": 10})
    assert "quota" in client.call("open.item.list.get", {"pageSize": 10})["error_msg"]


# ---- items and stock ---------------------------------------------------------------------------------
def test_item_and_sku_lists(client: Client, sim: KuaishouSimulator) -> None:
    page = client.ok("open.item.list.get", {"pageNumber": 1, "pageSize": 10})
    assert page["totalItemCount"] == 3 and page["items"][0]["skuList"][0]["skuNick"] == "MS-0001-1"
    assert client.call("open.item.list.get", {"pageSize": 5})["result"] == 22
    skus = client.ok("open.item.sku.list.get", {"kwaiItemId": ids(sim, "MS-0002-1")["kwaiItemId"]})
    assert [s["skuNick"] for s in skus["skuList"]] == ["MS-0002-1", "MS-0002-2"]
    assert skus["skuList"][0]["skuStock"] == 20 and skus["skuList"][0]["gtinCode"]


def test_stock_changes_only_by_bounded_deltas(client: Client, sim: KuaishouSimulator) -> None:
    target = ids(sim, "MS-0001-1")
    client.ok("open.item.sku.stock.update", {**target, "skuChangeStock": 5, "changeType": 1})
    client.ok("open.item.sku.stock.update", {**target, "skuChangeStock": 3, "changeType": 2})
    assert sim.available("MS-0001-1") == 22
    for change, change_type in ((0, 1), (9_999_999, 1), (-1, 2), (1, 3)):
        params = {**target, "skuChangeStock": change, "changeType": change_type}
        assert client.call("open.item.sku.stock.update", params)["result"] == 22, params
    assert client.call("open.item.sku.stock.update", {**target, "skuChangeStock": 9_999_990,
                                                      "changeType": 1})["result"] == 22
    assert [w["change"] for w in sim.writes.entries() if w["source"] == "api"] == [5, -3]


def test_a_retried_delta_applies_twice(client: Client, sim: KuaishouSimulator) -> None:
    params = {**ids(sim, "MS-0001-1"), "skuChangeStock": 2, "changeType": 2}
    client.ok("open.item.sku.stock.update", params)
    client.ok("open.item.sku.stock.update", params)
    assert sim.available("MS-0001-1") == 16  # nothing on the platform makes a delta idempotent


def test_a_subtraction_into_reserved_stock_is_result_21(client: Client, sim: KuaishouSimulator) -> None:
    sim.shop.reserve("MS-0001-1", 15)
    params = {**ids(sim, "MS-0001-1"), "skuChangeStock": 6, "changeType": 2}
    refused = client.call("open.item.sku.stock.update", params)
    assert refused["result"] == 21 and "预留" in refused["error_msg"]
    assert sim.available("MS-0001-1") == 20
    client.ok("open.item.sku.stock.update", {**params, "skuChangeStock": 5})
    assert client.ok("open.item.sku.list.get", {"kwaiItemId": params["kwaiItemId"]})["skuList"][0][
        "reserveStock"] == 15


# ---- orders ------------------------------------------------------------------------------------------
def test_cursor_list_pages_to_nomore(client: Client, sim: KuaishouSimulator) -> None:
    placed = [sim.place_order([("MS-0001-1", 1)]).order_id for _ in range(5)]
    query = {"beginTime": now_ms() - 60_000, "endTime": now_ms() + 1000, "orderViewStatus": 1, "pageSize": 2,
             "queryType": 2, "sort": 2, "cursor": ""}
    seen, cursors = [], []
    while True:
        page = client.ok("open.order.cursor.list", query)
        seen += [str(o["orderBaseInfo"]["oid"]) for o in page["orderList"]]
        cursors.append(page["cursor"])
        if page["cursor"] == "nomore":
            break
        query["cursor"] = page["cursor"]
    assert seen == placed and cursors[-1] == "nomore" and len(cursors) == 3
    assert client.ok("open.order.cursor.list", {**query, "cursor": "nomore"})["orderList"] == []
    assert client.call("open.order.cursor.list", {**query, "cursor": cursors[0], "pageSize": 3})["result"] == 22


def test_cursor_list_windows(client: Client, sim: KuaishouSimulator) -> None:
    base = {"orderViewStatus": 1, "pageSize": 50, "cursor": ""}
    now = now_ms()
    cases = [({"beginTime": now, "endTime": now}, 300003), ({"beginTime": now - 7 * DAY_MS - 1, "endTime": now},
             300004), ({"beginTime": now - 91 * DAY_MS, "endTime": now - 90 * DAY_MS}, 300005)]
    for window, code in cases:
        assert client.call("open.order.cursor.list", {**base, **window})["result"] == code, window
    assert client.call("open.order.cursor.list", {**base, "beginTime": now - DAY_MS, "endTime": now,
                                                  "pageSize": 51})["result"] == 22
    assert client.ok("open.order.cursor.list", {**base, "beginTime": now - 7 * DAY_MS, "endTime": now})[
        "cursor"] == "nomore"


def test_cursor_list_edges_are_inclusive(client: Client, sim: KuaishouSimulator) -> None:
    old = sim.place_order([("MS-0001-1", 1)], at=time.time() - 2 * 86400)
    created = int(sim.shop.order(old.order_id).created_at * 1000)
    query = {"orderViewStatus": 1, "pageSize": 10, "cursor": "", "beginTime": created - 1000, "endTime": created}
    assert [o["orderBaseInfo"]["oid"] for o in client.ok("open.order.cursor.list", query)["orderList"]] == \
        [int(old.order_id)]
    assert client.ok("open.order.cursor.list", {**query, "endTime": created - 1})["orderList"] == []


def test_orders_are_one_sku_each_and_receivers_stay_masked(client: Client, sim: KuaishouSimulator) -> None:
    with pytest.raises(SimulatorError, match="exactly one SKU"):
        sim.place_order([("MS-0001-1", 1), ("MS-0002-1", 1)])
    placed = sim.place_order([("MS-0001-1", 2)], buyer="bob")
    detail = client.ok("open.order.detail", {"oid": int(placed.order_id)})
    receiver = sim.shop.order(placed.order_id).receiver
    text = json.dumps(detail, ensure_ascii=False)
    assert receiver.name not in text and receiver.phone not in text and receiver.detail not in text
    assert sim.cipher.decrypt(detail["orderAddress"]["encryptedMobile"]) == receiver.phone
    assert detail["orderBaseInfo"]["status"] == 30 and detail["orderItemInfo"]["num"] == 2
    assert client.call("open.order.detail", {"oid": 1})["result"] == 30


def test_deliver_takes_the_documented_carrier_numbers(client: Client, sim: KuaishouSimulator) -> None:
    placed = sim.place_order([("MS-0001-1", 1)])
    ship = {"orderId": int(placed.order_id), "expressNo": "SF1", "expressCode": 4}
    assert client.call("open.seller.order.goods.deliver", {**ship, "expressCode": 1})["result"] == 22  # retired
    assert client.call("open.seller.order.goods.deliver", {**ship, "expressCode": 999})["result"] == 22
    client.ok("open.seller.order.goods.deliver", ship)
    assert client.call("open.seller.order.goods.deliver", ship)["result"] == 31
    assert [(s.tracking_number, s.carrier) for s in sim.shipments(placed.order_id)] == [("SF1", "4")]
    detail = client.ok("open.order.detail", {"oid": int(placed.order_id)})
    assert detail["orderBaseInfo"]["status"] == 40 and detail["orderLogisticsInfo"][0]["expressCode"] == 4


def test_refund_cursor_list_is_one_day_at_most(client: Client, sim: KuaishouSimulator) -> None:
    placed = sim.place_order([("MS-0001-1", 3)])
    sim.refund_order(placed.order_id, [("MS-0001-1", 1)])
    query = {"beginTime": now_ms() - 60_000, "endTime": now_ms() + 1000, "type": 9, "pageSize": 10,
             "currentPage": 1, "queryType": 2, "pcursor": ""}
    page = client.ok("open.seller.order.refund.pcursor.list", query)
    assert page["pcursor"] == "nomore" and len(page["refundOrderInfoList"]) == 1
    refund = page["refundOrderInfoList"][0]
    assert (refund["oid"], refund["status"], refund["handlingWay"]) == (int(placed.order_id), 60, 10)
    assert client.ok("open.seller.order.refund.detail", {"refundId": refund["refundId"]})["refundFee"] == \
        refund["refundFee"]
    assert client.ok("open.seller.order.refund.pcursor.list", {**query, "type": 8})["refundOrderInfoList"] == []
    too_long = {**query, "beginTime": now_ms() - DAY_MS - 1000, "endTime": now_ms()}
    assert client.call("open.seller.order.refund.pcursor.list", too_long)["result"] == 300019
    sim.configure({"refund_window_seconds": 3600})
    assert client.call("open.seller.order.refund.pcursor.list",
                       {**query, "beginTime": now_ms() - 7200_000})["result"] == 300019


# ---- pushes ------------------------------------------------------------------------------------------
def acknowledge(_: Any) -> JSONResponse:
    return JSONResponse({"result": 1})


def test_the_console_tests_the_push_url_before_keeping_it(sim: KuaishouSimulator) -> None:
    with PushReceiver(answer=lambda _: JSONResponse({"result": 0})) as refusing:
        with pytest.raises(SimulatorError, match="refuses to save"):
            sim.set_push_url(refusing.url)
        assert json.loads(decrypt_message(refusing.received[0].body, sim.message_key)) == {"test": True}
    assert sim.push_url is None


def test_pushes_are_encrypted_messages_answered_with_result_1(sim: KuaishouSimulator) -> None:
    with PushReceiver(answer=acknowledge) as receiver:
        sim.set_push_url(receiver.url)
        placed = sim.place_order([("MS-0001-1", 1)])
        sim.refund_order(placed.order_id)
        sim.flush_events()
        received = receiver.wait_for(5)[1:]
    messages = [json.loads(decrypt_message(r.body, sim.message_key)) for r in received]
    assert sorted(m["event"] for m in messages) == sorted([
        "kwaishop_order_addOrder", "kwaishop_order_paySuccess", "kwaishop_aftersales_addRefund",
        "kwaishop_aftersales_updateRefund"])
    paid = next(m for m in messages if m["event"] == "kwaishop_order_paySuccess")
    assert paid["appKey"] == sim.app_key and json.loads(paid["info"])["oid"] == int(placed.order_id)
    assert len({m["eventId"] for m in messages}) == 4


def test_pushes_are_at_least_once_with_duplicates_and_loss_by_default() -> None:
    simulator = KuaishouSimulator()
    assert (simulator.pushes.duplicate_rate, simulator.pushes.loss_rate) == (0.02, 0.01)
    simulator.pushes.close()


def test_a_slow_receiver_is_retried(sim: KuaishouSimulator) -> None:
    with PushReceiver(answer=acknowledge) as receiver:
        sim.set_push_url(receiver.url)
        receiver.delay = 3.5  # over the 3 s the platform waits
        sim.place_order([("MS-0001-1", 1)])
        sim.flush_events(timeout=10)
        receiver.delay = 0.0
        sim.flush_events()
        received = receiver.wait_for(5)
    event_ids = [json.loads(decrypt_message(r.body, sim.message_key)).get("eventId") for r in received[1:]]
    assert len(event_ids) == 4 and len(set(event_ids)) == 2
    assert all(d["attempts"] == 2 for d in sim.pushes.summary()["finished"])
