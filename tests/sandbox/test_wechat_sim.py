"""The 微信小店 simulator over real HTTP on loopback: tokens, error codes, stock, windows, delivery, pushes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.responses import PlainTextResponse

from sandbox.catalogue import SeedSpec
from sandbox.interface import Simulator, SimulatorError, start_simulator
from sandbox.wechat import WechatSimulator
from sandbox.wechat.crypto import decrypt, encrypt, signature
from tests.sandbox.push_receiver import PushReceiver


class Client:
    """Fetches a token and calls `/channels/ec/...` the way the platform's docs describe."""

    def __init__(self, sim: WechatSimulator) -> None:
        self.sim = sim
        self.http = httpx.Client(base_url=sim.url, timeout=10)
        self.token = self.fetch_token()

    def fetch_token(self) -> str:
        answer = self.http.get("/cgi-bin/token", params={"grant_type": "client_credential", "appid": self.sim.appid,
                                                         "secret": self.sim.app_secret}).json()
        assert answer["expires_in"] == 7200
        token: str = answer["access_token"]
        return token

    def call(self, path: str, body: dict[str, Any] | None = None, *, token: str | None = None) -> dict[str, Any]:
        response = self.http.post(f"/channels/ec/{path}", params={"access_token": token or self.token},
                                  json=body or {})
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    def ok(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.call(path, body)
        assert result["errcode"] == 0, result
        return result


@pytest.fixture
def sim() -> Iterator[WechatSimulator]:
    simulator = WechatSimulator()
    simulator.seed(SeedSpec(products=3, variants=2, stock=20))
    with simulator:
        yield simulator


@pytest.fixture
def client(sim: WechatSimulator) -> Iterator[Client]:
    client = Client(sim)
    yield client
    client.http.close()


def ids(sim: WechatSimulator, code: str) -> dict[str, str]:
    sku = sim.shop.by_code[code]
    return {"product_id": str(sku.product_id), "sku_id": str(sku.sku_id)}


# ---- crypto ------------------------------------------------------------------------------------------
def test_signature_is_sha1_of_the_sorted_values() -> None:
    assert signature("token123", "1700000000", "nonce42") == "73a2815bf3ced534feb1e80bb9776ac7e9933a3e"


def test_safe_mode_envelope_matches_an_independent_computation() -> None:
    key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    sealed = encrypt(b'{"a":1}', appid="wx0123456789abcdef", encoding_aes_key=key, random_prefix=b"R" * 16)
    assert sealed == "gdMKu9O/zqaXEdvZuG7STyA9v/t5EjheaqWS0gEFoyObgTQ8Dt88wnmYj7bI+UjjPSOz/KOrrRuuurcgLnE2pA=="
    assert decrypt(sealed, encoding_aes_key=key) == (b'{"a":1}', "wx0123456789abcdef")


def test_the_simulator_implements_the_interface(sim: WechatSimulator) -> None:
    assert isinstance(sim, Simulator)
    assert set(sim.account_setup().secrets) == {"app_secret", "push_token", "encoding_aes_key"}
    start_simulator("wechat", seed=1).stop()


# ---- tokens and common errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(("params", "errcode"), [
    ({"grant_type": "password"}, 40002), ({"appid": "wx0000000000000000"}, 40013), ({"secret": "wrong"}, 40001)])
def test_token_requests_are_checked(sim: WechatSimulator, params: dict[str, str], errcode: int) -> None:
    query = {"grant_type": "client_credential", "appid": sim.appid, "secret": sim.app_secret, **params}
    assert httpx.get(f"{sim.url}/cgi-bin/token", params=query).json()["errcode"] == errcode


def test_tokens_expire_and_are_refreshed(client: Client, sim: WechatSimulator) -> None:
    client.ok("product/list/get", {"page_size": 10})
    assert client.call("product/list/get", token="not-a-token")["errcode"] == 40001
    response = client.http.post("/channels/ec/product/list/get", json={})
    assert response.json()["errcode"] == 41001
    sim.expire_tokens()
    assert client.call("product/list/get")["errcode"] == 42001
    client.token = client.fetch_token()
    client.ok("product/list/get", {"page_size": 10})


def test_a_new_token_leaves_the_old_one_five_minutes(client: Client, sim: WechatSimulator) -> None:
    old = client.token
    client.token = client.fetch_token()
    assert client.call("product/list/get", token=old)["errcode"] == 0
    sim.clock.set_factor(200_000)  # about 400 simulated seconds pass in 2 ms
    time.sleep(0.002)
    sim.clock.set_factor(1)
    assert client.call("product/list/get", token=old)["errcode"] == 42001
    assert client.call("product/list/get")["errcode"] == 0


def test_stable_token_is_kept_until_forced(sim: WechatSimulator) -> None:
    body = {"grant_type": "client_credential", "appid": sim.appid, "secret": sim.app_secret}
    first = httpx.post(f"{sim.url}/cgi-bin/stable_token", json=body).json()["access_token"]
    again = httpx.post(f"{sim.url}/cgi-bin/stable_token", json=body).json()["access_token"]
    forced = httpx.post(f"{sim.url}/cgi-bin/stable_token", json={**body, "force_refresh": True}).json()
    assert first == again != forced["access_token"]


def test_minute_and_daily_limits(client: Client, sim: WechatSimulator) -> None:
    sim.configure({"api_per_minute": 2})
    assert [client.call("product/list/get")["errcode"] for _ in range(3)] == [0, 0, 45011]
    client.ok("product/get", {"product_id": ids(sim, "MS-0001-1")["product_id"]})
    sim.configure({"api_per_minute": 1000, "api_daily_quota": 1})
    assert client.call("order/deliverycompanylist/new/get")["errcode"] == 0
    assert client.call("order/deliverycompanylist/new/get")["errcode"] == 45009


def test_malformed_bodies_and_unknown_paths(client: Client) -> None:
    response = client.http.post("/channels/ec/product/get", params={"access_token": client.token},
                                content=b"[1, 2]")
    assert response.json()["errcode"] == 47001
    assert client.call("product/nothing")["errcode"] == 40097


# ---- products and stock ------------------------------------------------------------------------------
def test_product_list_pages_with_next_key(client: Client, sim: WechatSimulator) -> None:
    assert client.call("product/list/get", {"page_size": 31})["errcode"] == 40097
    first = client.ok("product/list/get", {"page_size": 2})
    second = client.ok("product/list/get", {"page_size": 2, "next_key": first["next_key"]})
    assert first["total_num"] == 3 and len(first["product_ids"]) == 2 and len(second["product_ids"]) == 1
    assert client.call("product/list/get", {"page_size": 2, "status": 5, "next_key": first["next_key"]})[
        "errcode"] == 40097
    product = client.ok("product/get", {"product_id": str(first["product_ids"][0])})["product"]
    assert [s["sku_code"] for s in product["skus"]] == ["MS-0001-1", "MS-0001-2"]
    assert client.call("product/get", {"product_id": "1"})["errcode"] == 10020052


def test_stock_get_and_batchget(client: Client, sim: WechatSimulator) -> None:
    sim.shop.reserve("MS-0001-1", 4)
    data = client.ok("product/stock/get", ids(sim, "MS-0001-1"))["data"]
    assert (data["total_stock_num"], data["normal_stock_num"]) == (20, 16)
    product_ids = [ids(sim, "MS-0001-1")["product_id"], ids(sim, "MS-0002-1")["product_id"]]
    batch = client.ok("product/stock/batchget", {"product_id": product_ids})["data"]["spu_stock_list"]
    assert [len(p["sku_stock"]) for p in batch] == [2, 2]
    assert client.call("product/stock/batchget", {"product_id": product_ids * 26})["errcode"] == 40097


def test_stock_update_by_diff_type(client: Client, sim: WechatSimulator) -> None:
    target = ids(sim, "MS-0001-1")
    client.ok("product/stock/update", {**target, "diff_type": 1, "num": 5})
    sim.clock.set_factor(1000)  # the per-SKU frequency window passes quickly
    time.sleep(0.002)
    client.ok("product/stock/update", {**target, "diff_type": 2, "num": 3})
    time.sleep(0.002)
    client.ok("product/stock/update", {**target, "diff_type": 3, "num": 9})
    assert sim.available("MS-0001-1") == 9
    time.sleep(0.002)
    assert client.call("product/stock/update", {**target, "diff_type": 1, "num": 0})["errcode"] == 10020218
    assert client.call("product/stock/update", {**target, "diff_type": 2, "num": 10})["errcode"] == 10020219
    assert client.call("product/stock/update", {**target, "diff_type": 4, "num": 1})["errcode"] == 40097
    assert sim.available("MS-0001-1") == 9


def test_stock_updates_per_sku_are_limited(client: Client, sim: WechatSimulator) -> None:
    sim.clock.set_factor(0.001)
    target = ids(sim, "MS-0001-1")
    answers = [client.call("product/stock/update", {**target, "diff_type": 1, "num": 1})["errcode"] for _ in range(3)]
    assert answers == [0, 0, 10020112]
    client.ok("product/stock/update", {**ids(sim, "MS-0001-2"), "diff_type": 1, "num": 1})
    assert sim.available("MS-0001-1") == 22


def test_subtractions_cannot_take_live_exclusive_stock(client: Client, sim: WechatSimulator) -> None:
    sim.shop.reserve("MS-0001-1", 18)
    assert client.call("product/stock/update", {**ids(sim, "MS-0001-1"), "diff_type": 2, "num": 3})[
        "errcode"] == 10020219


# ---- orders, delivery, after-sales -----------------------------------------------------------------------
def test_order_list_by_update_time_with_next_key(client: Client, sim: WechatSimulator) -> None:
    placed = [sim.place_order([("MS-0001-1", 1)]).order_id for _ in range(5)]
    now = int(time.time())
    body: dict[str, Any] = {"update_time_range": {"start_time": now - 60, "end_time": now + 1}, "page_size": 2}
    seen: list[str] = []
    while True:
        page = client.ok("order/list/get", body)
        seen += page["order_id_list"]
        if not page["has_more"]:
            break
        body["next_key"] = page["next_key"]
    assert seen == placed
    for bad in ({"update_time_range": {"start_time": now - 8 * 86400, "end_time": now}},
                {"create_time_range": {"start_time": now - 60, "end_time": now},
                 "update_time_range": {"start_time": now - 60, "end_time": now}},
                {}, {"update_time_range": {"start_time": now, "end_time": now + 1}, "page_size": 101}):
        assert client.call("order/list/get", bad)["errcode"] == 40097, bad


def test_order_list_edges_are_inclusive(client: Client, sim: WechatSimulator) -> None:
    old = sim.place_order([("MS-0001-1", 1)], at=time.time() - 5 * 86400)
    edge = int(sim.shop.order(old.order_id).created_at)
    window = {"create_time_range": {"start_time": edge - 7 * 86400, "end_time": edge}, "page_size": 10}
    assert client.ok("order/list/get", window)["order_id_list"] == [old.order_id]
    window["create_time_range"] = {"start_time": edge + 1, "end_time": edge + 10}
    assert client.ok("order/list/get", window)["order_id_list"] == []


def test_orders_hand_out_masked_receivers(client: Client, sim: WechatSimulator) -> None:
    placed = sim.place_order([("MS-0001-1", 2), ("MS-0002-1", 1)], buyer="carol")
    order = client.ok("order/get", {"order_id": placed.order_id})["order"]
    receiver = sim.shop.order(placed.order_id).receiver
    text = json.dumps(order, ensure_ascii=False)
    assert receiver.name not in text and receiver.phone not in text and receiver.detail not in text
    assert order["status"] == 20 and order["order_detail"]["delivery_info"]["address_info"]["tel_number"] == \
        receiver.phone[:3] + "****" + receiver.phone[-4:]
    assert client.call("order/get", {"order_id": "1"})["errcode"] == 100002


def test_delivery_send_partly_then_fully(client: Client, sim: WechatSimulator) -> None:
    placed = sim.place_order([("MS-0001-1", 2), ("MS-0002-1", 1)])
    companies = client.ok("order/deliverycompanylist/new/get")["company_list"]
    assert {"SF", "ZTO", "YTO"} <= {c["delivery_id"] for c in companies}

    def send(delivery_id: str, code: str, count: int) -> dict[str, Any]:
        product = {**ids(sim, code), "product_cnt": count}
        return client.call("order/delivery/send", {"order_id": placed.order_id, "delivery_list": [
            {"delivery_id": delivery_id, "waybill_id": f"W-{code}", "deliver_type": 1, "product_infos": [product]}]})

    assert send("NOPE", "MS-0001-1", 1)["errcode"] == 40097
    assert send("SF", "MS-0003-1", 1)["errcode"] == 109000
    assert send("SF", "MS-0001-1", 3)["errcode"] == 109000
    assert send("SF", "MS-0001-1", 2)["errcode"] == 0
    assert client.ok("order/get", {"order_id": placed.order_id})["order"]["status"] == 21
    assert send("ZTO", "MS-0002-1", 1)["errcode"] == 0
    order = client.ok("order/get", {"order_id": placed.order_id})["order"]
    assert order["status"] == 30 and len(order["order_detail"]["delivery_info"]["delivery_product_info"]) == 2
    assert send("ZTO", "MS-0002-1", 1)["errcode"] == 109001
    empty = client.call("order/delivery/send", {"order_id": placed.order_id, "delivery_list": [
        {"delivery_id": "SF", "waybill_id": "W", "product_infos": []}]})
    assert empty["errcode"] in (109001, 109002)


def test_paid_orders_are_never_restocked_on_cancel_or_refund(sim: WechatSimulator) -> None:
    placed = sim.place_order([("MS-0001-1", 3)])
    sim.cancel_order(placed.order_id, restock=True)
    assert sim.available("MS-0001-1") == 17 and sim.shop.order(placed.order_id).state == "cancelled"
    refunded = sim.place_order([("MS-0001-1", 2)])
    sim.refund_order(refunded.order_id, restock=True)
    assert sim.available("MS-0001-1") == 15


def test_after_sale_list_is_24_hours_at_most(client: Client, sim: WechatSimulator) -> None:
    placed = sim.place_order([("MS-0001-1", 2)])
    sim.refund_order(placed.order_id, [("MS-0001-1", 1)])
    now = int(time.time())
    listed = client.ok("aftersale/getaftersalelist", {"begin_update_time": now - 60, "end_update_time": now + 1})
    assert len(listed["after_sale_order_id_list"]) == 1 and listed["has_more"] is False
    detail = client.ok("aftersale/getaftersaleorder", {"after_sale_order_id": listed["after_sale_order_id_list"][0]})
    after_sale = detail["after_sale_order"]
    assert (after_sale["status"], after_sale["type"], after_sale["order_id"]) == \
        ("MERCHANT_REFUND_SUCCESS", "REFUND", placed.order_id)
    assert after_sale["product_info"]["count"] == 1
    assert client.call("aftersale/getaftersalelist", {"begin_create_time": now - 86401, "end_create_time": now})[
        "errcode"] == 10020004


# ---- pushes ------------------------------------------------------------------------------------------
def test_the_console_checks_the_url_echo(sim: WechatSimulator) -> None:
    with PushReceiver(echo=False) as receiver, pytest.raises(SimulatorError, match="refuses to save"):
        sim.set_push_url(receiver.url)


def test_safe_mode_pushes_are_signed_and_encrypted(sim: WechatSimulator) -> None:
    with PushReceiver() as receiver:
        sim.set_push_url(receiver.url)
        placed = sim.place_order([("MS-0001-1", 1)])
        sim.flush_events()
        received = receiver.wait_for(2)
    events = []
    for push in received:
        query, body = push.query, json.loads(push.body)
        assert query["encrypt_type"] == "aes"
        assert query["signature"] == signature(sim.push_token, query["timestamp"], query["nonce"])
        assert query["msg_signature"] == signature(sim.push_token, query["timestamp"], query["nonce"],
                                                   body["Encrypt"])
        message, appid = decrypt(body["Encrypt"], encoding_aes_key=sim.encoding_aes_key)
        assert appid == sim.appid
        events.append(json.loads(message))
    assert sorted(e["Event"] for e in events) == ["channels_ec_order_new", "channels_ec_order_pay"]
    assert all(e["order_info"]["order_id"] == int(placed.order_id) for e in events)


def test_plain_mode_pushes_carry_the_event_json(sim: WechatSimulator) -> None:
    sim.configure({"push_mode": "plain"})
    with PushReceiver() as receiver:
        sim.set_push_url(receiver.url)
        placed = sim.place_order([("MS-0001-1", 1)])
        sim.refund_order(placed.order_id)
        sim.flush_events()
        received = receiver.wait_for(4)
    bodies = [json.loads(p.body) for p in received]
    updates = [b for b in bodies if b["Event"] == "channels_ec_aftersale_update"]
    assert sorted(u["finder_shop_aftersale_status_update"]["status"] for u in updates) == \
        ["MERCHANT_PROCESSING", "MERCHANT_REFUND_SUCCESS"]


def test_pushes_follow_the_retry_schedule_up_to_ten_attempts(sim: WechatSimulator) -> None:
    with PushReceiver(answer=lambda _: PlainTextResponse("fail")) as receiver:
        sim.set_push_url(receiver.url)
        sim.place_order([("MS-0001-1", 1)])
        for _ in range(12):
            sim.flush_events()
        received = receiver.wait_for(20, timeout=2)
    finished = sim.pushes.summary()["finished"]
    assert [d["attempts"] for d in finished] == [10, 10] and len(received) == 20
    assert all(not d["delivered"] for d in finished)
