"""The 抖店 simulator over real HTTP on loopback: signing, envelope, limits, stock writes, orders, pushes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.responses import JSONResponse

from sandbox.catalogue import SeedSpec
from sandbox.douyin import DouyinSimulator
from sandbox.douyin.signing import canonical_param_json, event_sign, sign
from sandbox.interface import OutOfStock, Simulator, SimulatorError, start_simulator
from tests.sandbox.push_receiver import PushReceiver


class Client:
    """Signs and sends gateway calls the way the platform's SDK does."""

    def __init__(self, sim: DouyinSimulator) -> None:
        self.sim = sim
        self.http = httpx.Client(base_url=sim.url, timeout=10)

    def call(self, api: str, params: dict[str, Any] | None = None, /, *, raw: bytes | None = None,
             **override: Any) -> dict[str, Any]:
        param_json = canonical_param_json(params or {})
        query = {"app_key": self.sim.app_key, "method": api, "timestamp": str(int(time.time())), "v": "2",
                 "sign_method": "hmac-sha256", "access_token": self.sim.access_token}
        query.update({k: v for k, v in override.items() if k != "sign"})
        query["sign"] = override.get("sign") or sign(app_key=self.sim.app_key, app_secret=self.sim.app_secret,
                                                     method=api, timestamp=query["timestamp"],
                                                     param_json=param_json)
        body = raw if raw is not None else param_json.encode()
        response = self.http.post("/" + api.replace(".", "/"), params=query, content=body,
                                  headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        assert set(result) == {"log_id", "code", "msg", "sub_code", "sub_msg", "data"}
        return result

    def ok(self, method: str, params: dict[str, Any] | None = None) -> Any:
        result = self.call(method, params)
        assert result["code"] == 10000, result
        return result["data"]


@pytest.fixture
def sim() -> Iterator[DouyinSimulator]:
    simulator = DouyinSimulator()
    simulator.seed(SeedSpec(products=3, variants=2, stock=20))
    with simulator:
        yield simulator


@pytest.fixture
def client(sim: DouyinSimulator) -> Iterator[Client]:
    client = Client(sim)
    yield client
    client.http.close()


def sku_of(sim: DouyinSimulator, code: str) -> Any:
    return sim.shop.by_code[code]


# ---- signing ---------------------------------------------------------------------------------------
def test_sign_matches_the_documented_vector() -> None:
    param_json = canonical_param_json({"stock_num": 7, "sku_id": 123, "incremental": False})
    assert param_json == '{"incremental":false,"sku_id":123,"stock_num":7}'
    assert sign(app_key="7000000000000000000", app_secret="testsecret", method="sku.syncStock",
                timestamp="1764561600", param_json=param_json) == \
        "a4bec4bc6f7cb1c3ff4fc04c09651b3475f8c07eabd12a444363408580f2d833"


def test_event_sign_is_md5_of_app_key_body_secret() -> None:
    body = b'[{"tag":"100","msg_id":"1","data":"{}"}]'
    assert event_sign(app_key="7000000000000000000", app_secret="testsecret", body=body) == \
        "fd1559a61edb501386b87dc7026e7034"


def test_the_simulator_implements_the_interface(sim: DouyinSimulator) -> None:
    assert isinstance(sim, Simulator)
    setup = sim.account_setup()
    assert setup.options["base_url"] == sim.url and set(setup.secrets) == {"app_secret", "access_token"}


def test_start_simulator_finds_it_through_the_entry_point() -> None:
    simulator = start_simulator("douyin", seed=3)
    try:
        assert simulator.platform == "douyin" and simulator.available("MS-0001-1") == 20
    finally:
        simulator.stop()


@pytest.mark.parametrize(("override", "code", "sub_code"), [
    ({"sign": "0" * 64}, 40003, "isv.signature-invalid"),
    ({"access_token": "nope"}, 40003, "isv.access-token-no-existed"),
    ({"access_token": ""}, 40001, "isv.access-token-missing"),
    ({"app_key": "7000000000000000001"}, 40003, "isv.app-id-invalid"),
    ({"timestamp": str(int(time.time()) - 3600)}, 40003, "isv.timestamp-invalid"),
    ({"timestamp": "2026-12-01 12:00:00"}, 40003, "isv.timestamp-format-error"),
    ({"v": "1"}, 40003, "isv.parameter-invalid:v"),
    ({"sign_method": "md5"}, 40003, "isv.signature-invalid"),
    ({"method": "sku.list"}, 40003, "isv.parameter-invalid:method"),
])
def test_the_gateway_refuses_bad_common_parameters(client: Client, override: dict[str, str], code: int,
                                                    sub_code: str) -> None:
    result = client.call("sku.stockNum", {"code": "MS-0001-1"}, **override)
    assert (result["code"], result["sub_code"]) == (code, sub_code)


def test_keys_must_be_signed_in_sorted_order(client: Client, sim: DouyinSimulator) -> None:
    unsorted = '{"stock_num":7,"code":"MS-0001-1"}'
    ts = str(int(time.time()))
    signed_as_sent = sign(app_key=sim.app_key, app_secret=sim.app_secret, method="sku.syncStock", timestamp=ts,
                          param_json=unsorted)
    result = client.call("sku.syncStock", raw=unsorted.encode(), timestamp=ts, sign=signed_as_sent)
    assert result["sub_code"] == "isv.signature-invalid"
    assert sku_of(sim, "MS-0001-1").stock == 20


def test_a_body_that_is_not_json_is_refused(client: Client) -> None:
    assert client.call("sku.list", raw=b"not json")["sub_code"] == "isv.parameter-format-invalid"


def test_an_unknown_method_is_offline(client: Client) -> None:
    assert client.call("sku.nothing", {})["code"] == 70000


def test_per_api_qps_limit(client: Client, sim: DouyinSimulator) -> None:
    sim.configure({"api_qps": 2})
    sim.clock.set_factor(0.001)  # the second barely moves: three calls fall in one window
    codes = [client.call("sku.stockNum", {"code": "MS-0001-1"})["code"] for _ in range(3)]
    assert codes == [10000, 10000, 60000]
    assert client.call("sku.list", {"product_id": sku_of(sim, "MS-0001-1").product_id})["code"] == 10000


def test_scripted_faults_keep_the_envelope(client: Client, sim: DouyinSimulator) -> None:
    sim.faults.next(429)
    assert client.call("sku.stockNum", {"code": "MS-0001-1"})["code"] == 60000
    sim.faults.next(503)
    response = httpx.post(f"{sim.url}/sku/stockNum", content=b"{}")
    assert response.status_code == 503 and response.json()["code"] == 20000


# ---- products and stock ----------------------------------------------------------------------------
def test_product_list_pages_from_one_within_its_limits(client: Client) -> None:
    first = client.ok("product.listV2", {"page": 1, "size": 2})
    second = client.ok("product.listV2", {"page": 2, "size": 2})
    assert first["total"] == 3 and len(first["data"]) == 2 and len(second["data"]) == 1
    assert len({p["product_id"] for p in first["data"] + second["data"]}) == 3
    for params in ({"page": 0, "size": 10}, {"page": 1, "size": 101}, {"page": 101, "size": 100}):
        assert client.call("product.listV2", params)["code"] == 40004, params
    assert client.ok("product.listV2", {"page": 100, "size": 100})["data"] == []


def test_sku_list_and_stock_num(client: Client, sim: DouyinSimulator) -> None:
    sku = sku_of(sim, "MS-0002-2")
    listed = client.ok("sku.list", {"product_id": sku.product_id})
    assert [s["code"] for s in listed] == ["MS-0002-1", "MS-0002-2"]
    assert client.ok("sku.stockNum", {"sku_id": sku.sku_id})["stock_num"] == 20
    assert client.call("sku.stockNum", {"sku_id": 1})["code"] == 50002


def test_full_sync_sets_stock_and_logs_the_write(client: Client, sim: DouyinSimulator) -> None:
    client.ok("sku.syncStock", {"code": "MS-0001-1", "stock_num": 7})
    assert sim.available("MS-0001-1") == 7
    entry = sim.writes.entries()[-1]
    assert (entry["sku"], entry["source"], entry["available"]) == ("MS-0001-1", "api", 7)
    assert client.call("sku.syncStock", {"code": "MS-0001-1", "stock_num": -1})["code"] == 40004


def test_incremental_sync_needs_an_idempotent_id_and_applies_it_once(client: Client, sim: DouyinSimulator) -> None:
    assert client.call("sku.syncStock", {"code": "MS-0001-1", "stock_num": -3, "incremental": True})["code"] == 40002
    params = {"code": "MS-0001-1", "stock_num": -3, "incremental": True, "idempotent_id": "w-1"}
    client.ok("sku.syncStock", params)
    retried = client.call("sku.syncStock", params)
    assert retried["sub_code"] == "isv.idempotent-id-existed"
    assert sim.available("MS-0001-1") == 17
    client.ok("sku.syncStock", {**params, "idempotent_id": "w-2", "stock_num": 5})
    assert sim.available("MS-0001-1") == 22


def test_writes_never_cut_into_activity_stock(client: Client, sim: DouyinSimulator) -> None:
    sim.shop.reserve("MS-0001-1", 5)
    assert client.ok("sku.stockNum", {"code": "MS-0001-1"})["prom_stock_num"] == 5
    refused = client.call("sku.syncStock", {"code": "MS-0001-1", "stock_num": 3})
    assert (refused["code"], refused["sub_code"]) == (50002, "isv.stock-not-enough")
    params = {"code": "MS-0001-1", "stock_num": -16, "incremental": True, "idempotent_id": "w-9"}
    assert client.call("sku.syncStock", params)["code"] == 50002
    client.ok("sku.syncStock", {**params, "stock_num": -15})  # a refused id was not used up
    assert sim.available("MS-0001-1") == 5


def test_batch_for_one_product_is_all_or_nothing(client: Client, sim: DouyinSimulator) -> None:
    first, second = sku_of(sim, "MS-0001-1"), sku_of(sim, "MS-0001-2")
    other = sku_of(sim, "MS-0002-1")
    bad = {"product_id": first.product_id, "sku_sync_list": [
        {"sku_id": first.sku_id, "stock_num": 1}, {"sku_id": other.sku_id, "stock_num": 2}]}
    assert client.call("sku.syncStockBatch", bad)["code"] == 40004
    assert (first.stock, other.stock) == (20, 20)
    client.ok("sku.syncStockBatch", {"product_id": first.product_id, "incremental": True, "idempotent_id": "b-1",
                                     "sku_sync_list": [{"sku_id": first.sku_id, "stock_num": -2},
                                                       {"sku_id": second.sku_id, "stock_num": 4}]})
    assert (first.stock, second.stock) == (18, 24)


def test_multi_product_batch_answers_per_sku_and_caps_at_fifty(client: Client, sim: DouyinSimulator) -> None:
    first, other = sku_of(sim, "MS-0001-1"), sku_of(sim, "MS-0003-2")
    sim.shop.reserve("MS-0003-2", 19)
    too_many = [{"product_id": first.product_id, "sku_id": first.sku_id, "stock_num": 1}] * 51
    assert client.call("sku.syncStockBatchMultiProducts",
                       {"items": too_many, "incremental": False})["code"] == 40004
    assert client.call("sku.syncStockBatchMultiProducts", {"items": too_many[:1]})["code"] == 40002
    data = client.ok("sku.syncStockBatchMultiProducts", {
        "incremental": True, "idempotent_id": "m-1",
        "items": [{"product_id": first.product_id, "sku_id": first.sku_id, "stock_num": -4},
                  {"product_id": other.product_id, "sku_id": other.sku_id, "stock_num": -4}]})
    assert [r["status_code"] for r in data["results"]] == [0, 50002]
    assert data["results"][0]["change_num"] == -4 and (first.stock, other.stock) == (16, 20)


# ---- orders, shipping, after-sales -------------------------------------------------------------------
def test_search_list_pages_from_zero_by_update_time(client: Client, sim: DouyinSimulator) -> None:
    placed = [sim.place_order([("MS-0001-1", 1)]) for _ in range(5)]
    now = int(time.time())
    window = {"update_time_start": now - 60, "update_time_end": now + 1, "order_by": "update_time",
              "order_asc": True, "size": 2}
    pages = [client.ok("order.searchList", {**window, "page": page}) for page in range(3)]
    assert [len(p["shop_order_list"]) for p in pages] == [2, 2, 1] and pages[0]["total"] == 5
    assert [o["order_id"] for p in pages for o in p["shop_order_list"]] == [p.order_id for p in placed]
    assert client.call("order.searchList", {**window, "size": 101})["code"] == 40004
    assert client.call("order.searchList", {**window, "page": -1})["code"] == 40004


def test_search_list_windows_have_inclusive_edges_and_a_cap(client: Client, sim: DouyinSimulator) -> None:
    old = sim.place_order([("MS-0001-1", 1)], at=time.time() - 3 * 86400)
    edge = int(sim.shop.order(old.order_id).created_at)
    found = client.ok("order.searchList", {"create_time_start": edge, "create_time_end": edge})
    assert [o["order_id"] for o in found["shop_order_list"]] == [old.order_id]
    assert client.ok("order.searchList", {"create_time_start": edge + 1, "create_time_end": edge + 60})["total"] == 0
    too_long = {"update_time_start": edge - 8 * 86400, "update_time_end": edge}
    assert client.call("order.searchList", too_long)["code"] == 40004


def test_order_detail_hands_out_only_masked_and_encrypted_receiver_data(client: Client,
                                                                        sim: DouyinSimulator) -> None:
    placed = sim.place_order([("MS-0001-1", 2), ("MS-0002-1", 1)], buyer="alice")
    detail = client.ok("order.orderDetail", {"shop_order_id": placed.order_id})["shop_order_detail"]
    receiver = sim.shop.order(placed.order_id).receiver
    text = json.dumps(detail, ensure_ascii=False)
    assert receiver.name not in text and receiver.phone not in text and receiver.detail not in text
    assert detail["mask_post_tel"] == receiver.phone[:3] + "****" + receiver.phone[-4:]
    assert sim.cipher.decrypt(detail["encrypt_post_tel"]) == receiver.phone
    assert detail["order_status"] == 2 and [s["code"] for s in detail["sku_order_list"]] == ["MS-0001-1", "MS-0002-1"]
    assert client.call("order.orderDetail", {"shop_order_id": "1"})["code"] == 50002


def test_logistics_add_ships_whole_orders_with_known_company_codes(client: Client, sim: DouyinSimulator) -> None:
    placed = sim.place_order([("MS-0001-1", 1)])
    companies = {c["code"] for c in client.ok("order.logisticsCompanyList")}
    assert {"shunfeng", "zhongtong", "yuantong"} <= companies
    ship = {"order_id": placed.order_id, "company_code": "shunfeng", "logistics_code": "SF100"}
    assert client.call("order.logisticsAdd", {**ship, "company_code": "SF"})["code"] == 40004
    client.ok("order.logisticsAdd", ship)
    assert client.call("order.logisticsAdd", ship)["sub_code"] == "isv.order-shipped"
    assert [(s.tracking_number, s.carrier, s.lines) for s in sim.shipments(placed.order_id)] == \
        [("SF100", "shunfeng", (("MS-0001-1", 1),))]
    assert client.ok("order.orderDetail", {"shop_order_id": placed.order_id})["shop_order_detail"][
        "order_status"] == 3


def test_single_pack_ships_part_of_an_order_once_per_request_id(client: Client, sim: DouyinSimulator) -> None:
    placed = sim.place_order([("MS-0001-1", 2), ("MS-0002-1", 1)])
    sub_ids = [s["order_id"] for s in client.ok("order.orderDetail", {"shop_order_id": placed.order_id})[
        "shop_order_detail"]["sku_order_list"]]
    pack = {"order_id_list": [placed.order_id], "company_code": "zhongtong", "logistics_code": "ZT1",
            "request_id": "r-1", "shipped_order_info": [{"shipped_order_id": sub_ids[0], "shipped_num": 1}]}
    first = client.ok("order.logisticsAddSinglePack", pack)
    assert client.ok("order.logisticsAddSinglePack", pack) == first
    detail = client.ok("order.orderDetail", {"shop_order_id": placed.order_id})["shop_order_detail"]
    assert detail["order_status"] == 101 and len(detail["logistics_info"]) == 1
    too_many = {**pack, "request_id": "r-2", "shipped_order_info": [{"shipped_order_id": sub_ids[0], "shipped_num": 2}]}
    assert client.call("order.logisticsAddSinglePack", too_many)["code"] == 50002


def test_after_sales_list_by_update_time(client: Client, sim: DouyinSimulator) -> None:
    placed = sim.place_order([("MS-0001-1", 3)])
    sim.refund_order(placed.order_id, [("MS-0001-1", 2)])
    assert sim.available("MS-0001-1") == 19
    now = int(time.time())
    data = client.ok("afterSale.List", {"update_start_time": now - 60, "update_end_time": now + 1, "size": 10})
    info = data["items"][0]["aftersale_info"]
    assert (info["aftersale_status"], info["aftersale_num"], info["aftersale_type"]) == (12, 2, 2)
    assert data["items"][0]["order_info"]["shop_order_id"] == placed.order_id and data["has_more"] is False
    assert client.call("afterSale.List", {"update_start_time": now - 8 * 86400, "update_end_time": now})["code"] \
        == 40004


def test_buyers_cannot_buy_more_than_stock(sim: DouyinSimulator) -> None:
    with pytest.raises(OutOfStock):
        sim.place_order([("MS-0001-1", 21)])
    with pytest.raises(SimulatorError):
        sim.place_order([("NOPE", 1)])


# ---- pushes ----------------------------------------------------------------------------------------
def test_pushes_carry_tagged_messages_with_a_valid_event_sign(sim: DouyinSimulator) -> None:
    with PushReceiver(answer=lambda _: JSONResponse({"code": 0, "msg": "success"})) as receiver:
        sim.set_push_url(receiver.url)
        placed = sim.place_order([("MS-0001-1", 1)])
        sim.cancel_order(placed.order_id)
        sim.flush_events()
        received = receiver.wait_for(2)
    for push in received:  # two senders: pushes may arrive in either order
        assert push.headers["event-sign"] == event_sign(app_key=sim.app_key, app_secret=sim.app_secret,
                                                         body=push.body)
    batches = sorted(([m["tag"] for m in json.loads(p.body)] for p in received), key=len)
    assert batches == [["106"], ["100", "101"]]
    created = next(json.loads(p.body)[0] for p in received if json.loads(p.body)[0]["tag"] == "100")
    assert json.loads(created["data"])["p_id"] == int(placed.order_id)
    assert sim.available("MS-0001-1") == 20


def test_unanswered_pushes_are_retried_with_the_same_message_ids(sim: DouyinSimulator) -> None:
    answers = iter([JSONResponse({"code": 1, "msg": "fail"}), JSONResponse({"code": 0, "msg": "success"})])
    with PushReceiver(answer=lambda _: next(answers)) as receiver:
        sim.set_push_url(receiver.url)
        sim.place_order([("MS-0001-1", 1)])
        sim.flush_events()  # first attempt refused: the retry waits 30 simulated seconds
        sim.flush_events()  # flushing makes it due now
        received = receiver.wait_for(2)
    assert len(received) == 2 and received[0].body == received[1].body
    assert sim.pushes.summary()["finished"][0]["attempts"] == 2


def test_duplicate_and_lost_pushes_are_configurable(sim: DouyinSimulator) -> None:
    with PushReceiver(answer=lambda _: JSONResponse({"code": 0})) as receiver:
        sim.set_push_url(receiver.url)
        sim.configure({"push_duplicate_rate": 1.0})
        sim.place_order([("MS-0001-1", 1)])
        sim.configure({"push_duplicate_rate": 0.0, "push_loss_rate": 1.0})
        sim.place_order([("MS-0001-1", 1)])
        sim.flush_events()
        received = receiver.wait_for(2)
    assert len(received) == 2 and received[0].body == received[1].body
    assert len(sim.pushes.summary()["lost"]) == 1


def test_control_plane_drives_the_shop(sim: DouyinSimulator) -> None:
    with httpx.Client(base_url=f"{sim.url}/_sandbox", timeout=10) as control:
        placed = control.post("/orders", json={"lines": [{"sku": "MS-0001-1", "quantity": 2}]}).json()
        assert control.post("/orders", json={"lines": [{"sku": "MS-0001-1", "quantity": 99}]}).status_code == 409
        assert control.post(f"/orders/{placed['order_id']}/ship", json={
            "tracking_number": "T1", "carrier": "yunda",
            "lines": [{"sku": "MS-0001-1", "quantity": 1}]}).json()["state"] == "partially_shipped"
        assert control.post("/stock", json={"sku": "MS-0002-1", "delta": -5}).json()["available"] == 15
        assert control.post("/faults", json={"nope": 1}).status_code == 400
        assert control.post("/faults", json={"api_qps": 5}).json()["api_qps"] == 5
        state = control.get("/state").json()
    assert state["orders"][0]["state"] == "partially_shipped"
    assert [w["source"] for w in sim.writes.entries()] == ["buyer", "merchant"]
