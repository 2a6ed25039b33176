"""The Taobao TOP simulator over real HTTP on loopback, checked against TOP's documented behaviour."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from sandbox.catalogue import SeedSpec
from sandbox.interface import HUB_SOURCE, OutOfStock, Simulator, simulator_class, start_simulator
from sandbox.taobao import TaobaoSimulator
from sandbox.taobao.limits import CallLimits
from sandbox.taobao.shop import Settings
from sandbox.taobao.signing import sign

CHINA = timezone(timedelta(hours=8))


def top_time(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


class Top:
    """A hand-rolled TOP client (independent of the simulator's own signing code)."""

    def __init__(self, sim: TaobaoSimulator) -> None:
        info = sim.info()
        self.sim, self.app_key, self.secret, self.session = sim, info["app_key"], info["app_secret"], info["session"]
        self.http = httpx.Client(timeout=10)

    def params(self, method: str, *, sign_method: str = "md5", session: bool = True, **api: Any) -> dict[str, str]:
        params = {"method": method, "app_key": self.app_key, "timestamp": top_time(datetime.now(UTC)), "v": "2.0",
                  "format": "json", "sign_method": sign_method, **{k: str(v) for k, v in api.items()}}
        if session:
            params["session"] = self.session
        text = "".join(k + v for k, v in sorted(params.items()) if v != "").encode()
        key = self.secret.encode()
        if sign_method == "md5":
            params["sign"] = hashlib.md5(key + text + key).hexdigest().upper()
        else:
            digest = hashlib.md5 if sign_method == "hmac" else hashlib.sha256
            params["sign"] = hmac.new(key, text, digest).hexdigest().upper()
        return params

    def raw(self, params: dict[str, str]) -> dict[str, Any]:
        response = self.http.post(self.sim.gateway_url, data=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def call(self, method: str, **api: Any) -> dict[str, Any]:
        return self.raw(self.params(method, **api))

    def ok(self, method: str, **api: Any) -> dict[str, Any]:
        body = self.call(method, **api)
        root = method.removeprefix("taobao.").replace(".", "_") + "_response"
        assert root in body, body
        result: dict[str, Any] = body[root]
        return result

    def error(self, method: str, **api: Any) -> dict[str, Any]:
        body = self.call(method, **api)
        assert "error_response" in body, body
        result: dict[str, Any] = body["error_response"]
        return result


@pytest.fixture(scope="module")
def server() -> Iterator[TaobaoSimulator]:
    with TaobaoSimulator() as simulator:
        yield simulator


@pytest.fixture
def sim(server: TaobaoSimulator) -> TaobaoSimulator:
    """The module's simulator with its defaults back and a fresh catalogue (a server per test is slow)."""
    server.faults.scripted.clear()
    server.faults.configure({"error_rate": 0, "latency_ms": 0, "timeout_rate": 0, "timeout_seconds": 30,
                           "duplicate_webhooks": 0, "reorder_webhooks": False, "corrupt_ids": []})
    shop = server.shop
    shop.settings, shop.limits = Settings(), CallLimits(server.clock)
    shop.session_valid = True
    shop.hooks.clear()
    shop.pending_online.clear()
    shop.tmc.redelivery_seconds, shop.tmc.duplicate_rate, shop.tmc.require_permit = 30.0, 0.0, True
    shop.tmc.permitted = {shop.store.seller_id}
    server.seed(SeedSpec(products=3, variants=3, stock=10))
    server.reset_counters()
    return server


@pytest.fixture
def top(sim: TaobaoSimulator) -> Iterator[Top]:
    client = Top(sim)
    yield client
    client.http.close()


def first_item(top: Top) -> dict[str, Any]:
    items = top.ok("taobao.items.onsale.get", fields="num_iid,title,num", page_size=1)["items"]["item"]
    item: dict[str, Any] = top.ok("taobao.item.seller.get", fields="num_iid,sku", num_iid=items[0]["num_iid"])["item"]
    return item


# -- signing and the gateway ------------------------------------------------------------------------

def test_self_derived_signing_vectors() -> None:
    params = {"app_key": "12345678", "format": "json", "method": "taobao.item.quantity.update", "num_iid": "100001",
              "quantity": "7", "session": "test", "sign_method": "md5", "sku_id": "200002",
              "timestamp": "2026-12-01 12:00:00", "type": "1", "v": "2.0"}
    assert sign(params, "testsecret", "md5") == "D6AEB3606B80C830FFF8EA875013FEDD"
    assert sign({**params, "sign_method": "hmac"}, "testsecret", "hmac") == "15E333B1AAF4085985FC0D6B2ED53B0A"
    assert sign({**params, "sign": "ignored", "empty": ""}, "testsecret", "md5") == "D6AEB3606B80C830FFF8EA875013FEDD"


@pytest.mark.parametrize("sign_method", ["md5", "hmac", "hmac-sha256"])
def test_each_documented_sign_method_is_accepted(top: Top, sign_method: str) -> None:
    body = top.ok("taobao.items.onsale.get", sign_method=sign_method, fields="num_iid")
    assert body["total_results"] == 3 and body["request_id"]


def test_a_wrong_or_missing_signature_is_refused(top: Top) -> None:
    params = top.params("taobao.items.onsale.get", fields="num_iid")
    assert top.raw({**params, "sign": params["sign"].lower()})["error_response"]["code"] == 25
    assert top.raw({**params, "fields": "num_iid,title"})["error_response"]["code"] == 25
    assert top.raw({k: v for k, v in params.items() if k != "sign"})["error_response"]["code"] == 24


@pytest.mark.parametrize(("change", "code"), [
    ({"method": None}, 21), ({"method": "taobao.nothing.here"}, 22), ({"app_key": None}, 28),
    ({"app_key": "999"}, 29), ({"timestamp": None}, 30), ({"timestamp": "2026/12/01 12:00"}, 31),
    ({"v": None}, 32), ({"v": "1.0"}, 34), ({"format": "xml"}, 23), ({"session": None}, 26),
    ({"session": "not-the-session"}, 27), ({"sign_method": "sha1"}, 41),
])
def test_gateway_errors_carry_the_documented_codes(top: Top, change: dict[str, Any], code: int) -> None:
    params = {"method": "taobao.items.onsale.get", "app_key": top.app_key, "timestamp": top_time(datetime.now(UTC)),
              "v": "2.0", "format": "json", "sign_method": "md5", "session": top.session, "fields": "num_iid"}
    for key, value in change.items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    text = "".join(k + v for k, v in sorted(params.items()) if v != "").encode()
    params["sign"] = hashlib.md5(top.secret.encode() + text + top.secret.encode()).hexdigest().upper()
    error = top.raw(params)["error_response"]
    assert error["code"] == code and error["msg"] and error["request_id"]


def test_the_timestamp_may_be_ten_minutes_off_and_no_more(top: Top) -> None:
    params = top.params("taobao.items.onsale.get", fields="num_iid")
    for minutes, accepted in ((9, True), (11, False)):
        moved = {**params, "timestamp": top_time(datetime.now(UTC) - timedelta(minutes=minutes))}
        moved.pop("sign")
        text = "".join(k + v for k, v in sorted(moved.items()) if v != "").encode()
        moved["sign"] = hashlib.md5(top.secret.encode() + text + top.secret.encode()).hexdigest().upper()
        body = top.raw(moved)
        assert ("items_onsale_get_response" in body) is accepted, body


def test_an_expired_session_is_invalid_session(sim: TaobaoSimulator, top: Top) -> None:
    sim.expire_session()
    error = top.error("taobao.items.onsale.get", fields="num_iid")
    assert error["code"] == 27 and error["sub_code"] == "invalid-sessionkey"


def test_simplify_drops_the_root_and_list_wrappers(top: Top) -> None:
    body = top.call("taobao.items.onsale.get", fields="num_iid,title", simplify="true")
    assert body["total_results"] == 3 and [set(i) for i in body["items"]] == [{"num_iid", "title"}] * 3


# -- catalogue ---------------------------------------------------------------------------------------

def test_catalogue_pages_with_outer_ids_per_sku(top: Top) -> None:
    page = top.ok("taobao.items.onsale.get", fields="num_iid,title,num", page_no=2, page_size=2)
    assert page["total_results"] == 3 and len(page["items"]["item"]) == 1
    assert "items" not in top.ok("taobao.items.onsale.get", fields="num_iid", page_no=3, page_size=2)
    ids = ",".join(str(i["num_iid"]) for i in top.ok("taobao.items.onsale.get", fields="num_iid")["items"]["item"])
    fields = "sku_id,num_iid,outer_id,quantity,barcode"
    skus = top.ok("taobao.item.skus.get", fields=fields, num_iids=ids)["skus"]["sku"]
    assert sorted(s["outer_id"] for s in skus) == sorted(f"MS-000{p}-{v}" for p in (1, 2, 3) for v in (1, 2, 3))
    assert all(s["quantity"] == 10 and len(s["barcode"]) == 13 for s in skus)


def test_catalogue_page_limits(top: Top) -> None:
    assert top.error("taobao.items.onsale.get", fields="num_iid", page_size=201)["sub_code"].startswith(
        "isv.invalid-parameter:page_size")
    assert top.error("taobao.items.onsale.get", fields="num_iid", page_no=101, page_size=200)["code"] == 41
    assert top.error("taobao.items.onsale.get")["sub_code"] == "isv.missing-parameter:fields"
    too_many = ",".join(str(600 + i) for i in range(41))
    assert top.error("taobao.item.skus.get", fields="sku_id", num_iids=too_many)["code"] == 41
    assert top.error("taobao.item.seller.get", fields="num_iid", num_iid=1)["sub_code"] == "isv.item-not-exist"


# -- stock ---------------------------------------------------------------------------------------------

def test_full_and_incremental_writes_never_go_below_zero(sim: TaobaoSimulator, top: Top) -> None:
    item = first_item(top)
    sku = item["skus"]["sku"][0]
    body = top.ok("taobao.item.quantity.update", num_iid=item["num_iid"], sku_id=sku["sku_id"], quantity=4)
    assert body["item"]["skus"]["sku"][0]["quantity"] == 4 and sim.available(sku["outer_id"]) == 4
    top.ok("taobao.item.quantity.update", num_iid=item["num_iid"], outer_id=sku["outer_id"], quantity=-3, type=2)
    assert sim.available(sku["outer_id"]) == 1
    error = top.error("taobao.item.quantity.update", num_iid=item["num_iid"], sku_id=sku["sku_id"], quantity=-2,
                      type=2)
    assert error["code"] == 15 and error["sub_code"].startswith("isv.") and sim.available(sku["outer_id"]) == 1
    assert top.error("taobao.item.quantity.update", num_iid=item["num_iid"], sku_id=sku["sku_id"],
                     quantity=-1)["sub_code"] == "isv.invalid-parameter:quantity"
    assert top.error("taobao.item.quantity.update", num_iid=item["num_iid"], sku_id=1, quantity=1)["code"] == 41
    writes = [w for w in sim.writes.entries() if w["sku"] == sku["outer_id"]]
    assert [(w["source"], w["available"]) for w in writes] == [(HUB_SOURCE, 4), (HUB_SOURCE, 1)]


def test_batch_update_of_one_item_clamps_decrements_at_zero(sim: TaobaoSimulator, top: Top) -> None:
    item = first_item(top)
    a, b, c = (s for s in item["skus"]["sku"])
    body = top.ok("taobao.skus.quantity.update", num_iid=item["num_iid"],
                  skuid_quantities=f"{a['sku_id']}:3;{b['sku_id']}:0", type=1)
    assert [s["quantity"] for s in body["item"]["skus"]["sku"]] == [3, 0]
    top.ok("taobao.skus.quantity.update", num_iid=item["num_iid"],
           outerid_quantities=f"{a['outer_id']}:-5;{c['outer_id']}:2", type=2)
    assert (sim.available(a["outer_id"]), sim.available(b["outer_id"]), sim.available(c["outer_id"])) == (0, 0, 12)


def test_batch_update_refuses_more_than_twenty_skus_and_foreign_skus(top: Top) -> None:
    item = first_item(top)
    sku_id = item["skus"]["sku"][0]["sku_id"]
    many = ";".join(f"{sku_id}:1" for _ in range(21))
    assert top.error("taobao.skus.quantity.update", num_iid=item["num_iid"], skuid_quantities=many)["code"] == 41
    assert top.error("taobao.skus.quantity.update", num_iid=item["num_iid"], skuid_quantities="123:1")["code"] == 41
    assert top.error("taobao.skus.quantity.update", num_iid=item["num_iid"])["code"] == 40


def test_a_presale_item_accepts_incremental_writes_only(sim: TaobaoSimulator, top: Top) -> None:
    item = first_item(top)
    sku = item["skus"]["sku"][0]
    sim.set_presale(sku["outer_id"])
    error = top.error("taobao.item.quantity.update", num_iid=item["num_iid"], sku_id=sku["sku_id"], quantity=3)
    assert (error["code"], error["sub_code"]) == (15, "isv.item-is-presale")
    assert top.error("taobao.skus.quantity.update", num_iid=item["num_iid"],
                     skuid_quantities=f"{sku['sku_id']}:3")["sub_code"] == "isv.item-is-presale"
    top.ok("taobao.item.quantity.update", num_iid=item["num_iid"], sku_id=sku["sku_id"], quantity=-7, type=2)
    assert sim.available(sku["outer_id"]) == 3


# -- trades --------------------------------------------------------------------------------------------

TRADE_FIELDS = "tid,status,modified,payment,orders,receiver_name,receiver_mobile"


def window(minutes: int = 10) -> dict[str, str]:
    end = datetime.now(UTC) + timedelta(seconds=2)
    return {"start_modified": top_time(end - timedelta(minutes=minutes)), "end_modified": top_time(end)}


def test_increments_list_newest_first_and_page_from_the_back(sim: TaobaoSimulator, top: Top) -> None:
    placed = [sim.place_order([("MS-0001-1", 1)], buyer=f"b{i}") for i in range(5)]
    for offset, order in enumerate(placed):
        sim.touch_order(order.order_id, datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=50 - offset))
    first = top.ok("taobao.trades.sold.increment.get", fields=TRADE_FIELDS, page_size=2, **window())
    assert first["total_results"] == 5
    assert [t["tid"] for t in first["trades"]["trade"]] == [int(placed[4].order_id), int(placed[3].order_id)]
    last = top.ok("taobao.trades.sold.increment.get", fields=TRADE_FIELDS, page_size=2, page_no=3, **window())
    assert [t["tid"] for t in last["trades"]["trade"]] == [int(placed[0].order_id)]
    trade = first["trades"]["trade"][0]
    assert trade["status"] == "WAIT_SELLER_SEND_GOODS" and trade["orders"]["order"][0]["outer_sku_id"] == "MS-0001-1"
    has_next = top.ok("taobao.trades.sold.increment.get", fields="tid", page_size=2, use_has_next="true", **window())
    assert has_next["has_next"] is True and "total_results" not in has_next


def test_increment_windows_are_bounded_to_one_day(top: Top) -> None:
    end = datetime.now(UTC)
    too_long = {"start_modified": top_time(end - timedelta(days=1, seconds=1)), "end_modified": top_time(end)}
    assert top.error("taobao.trades.sold.increment.get", fields="tid", **too_long)["code"] == 41
    one_day = {"start_modified": top_time(end - timedelta(days=1)), "end_modified": top_time(end)}
    assert top.ok("taobao.trades.sold.increment.get", fields="tid", **one_day)["total_results"] == 0
    backwards = {"start_modified": top_time(end), "end_modified": top_time(end - timedelta(minutes=1))}
    assert top.error("taobao.trades.sold.increment.get", fields="tid", **backwards)["code"] == 41
    assert top.error("taobao.trades.sold.increment.get", fields="tid", page_size=101, **window())["code"] == 41
    assert top.error("taobao.trades.sold.increment.get", fields="tid")["code"] == 40


def test_a_trade_modified_exactly_at_a_window_edge_belongs_to_the_later_window(sim: TaobaoSimulator,
                                                                              top: Top) -> None:
    order = sim.place_order([("MS-0002-1", 1)])
    edge = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    sim.touch_order(order.order_id, edge)
    before = {"start_modified": top_time(edge - timedelta(minutes=5)), "end_modified": top_time(edge)}
    after = {"start_modified": top_time(edge), "end_modified": top_time(edge + timedelta(minutes=5))}
    assert top.ok("taobao.trades.sold.increment.get", fields="tid", **before)["total_results"] == 0
    assert top.ok("taobao.trades.sold.increment.get", fields="tid", **after)["total_results"] == 1
    sim.configure({"window_end_inclusive": True})
    assert top.ok("taobao.trades.sold.increment.get", fields="tid", **before)["total_results"] == 1


def test_an_order_modified_while_paging_leaves_the_window(sim: TaobaoSimulator, top: Top) -> None:
    """Paging forward then loses an order; paging from the back only repeats one (as TOP warns)."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    placed = [sim.place_order([("MS-0001-1", 1)], buyer=f"p{i}") for i in range(5)]
    for offset, order in enumerate(placed):
        sim.touch_order(order.order_id, end - timedelta(seconds=20 - offset))
    tids = [int(o.order_id) for o in placed]
    span = {"start_modified": top_time(end - timedelta(minutes=5)), "end_modified": top_time(end)}

    def page(number: int) -> list[int]:
        body = top.ok("taobao.trades.sold.increment.get", fields="tid", page_size=2, page_no=number, **span)
        return [t["tid"] for t in body.get("trades", {}).get("trade", [])]

    first = page(1)
    sim.touch_order(placed[4].order_id)  # the newest trade changes while we page: it leaves the window
    forward = first + page(2) + page(3)
    assert tids[2] not in forward  # paging forward skipped a trade that never changed
    sim.touch_order(placed[4].order_id, end - timedelta(seconds=16))
    last = page(3)
    sim.touch_order(placed[4].order_id)
    backward = last + page(2) + page(1)
    assert set(tids[:4]) <= set(backward) and tids[4] not in backward
    later = {"start_modified": top_time(end), "end_modified": top_time(datetime.now(UTC) + timedelta(seconds=2))}
    assert top.ok("taobao.trades.sold.increment.get", fields="tid", **later)["trades"]["trade"][0]["tid"] == tids[4]


def test_order_detail_shows_receiver_masks_and_an_oaid_never_plain_data(sim: TaobaoSimulator, top: Top) -> None:
    order = sim.place_order([("MS-0001-2", 2)], buyer="alice")
    fields = "tid,status,receiver_name,receiver_mobile,receiver_phone,receiver_address,receiver_city,created,orders"
    trade = top.ok("taobao.trade.fullinfo.get", fields=fields, tid=order.order_id)["trade"]
    plain = sim.shop.store.trades[int(order.order_id)].receiver
    assert trade["receiver_name"] == plain.name[0] + "*" * (len(plain.name) - 1)
    assert trade["receiver_mobile"].endswith(plain.mobile[-4:]) and plain.mobile not in json.dumps(trade)
    assert plain.address not in json.dumps(trade, ensure_ascii=False) and len(trade["oaid"]) == 48
    assert trade["orders"]["order"][0]["num"] == 2 and trade["receiver_city"] == plain.city
    assert top.error("taobao.trade.fullinfo.get", fields="tid", tid=1)["sub_code"] == "isv.trade-not-exist"


def test_buyer_orders_take_stock_and_refuse_more_than_is_there(sim: TaobaoSimulator) -> None:
    sim.place_order([("MS-0003-1", 7)])
    assert sim.available("MS-0003-1") == 3
    with pytest.raises(OutOfStock):
        sim.place_order([("MS-0003-1", 4)])
    assert [w["source"] for w in sim.writes.entries()] == ["buyer"]


# -- shipping ------------------------------------------------------------------------------------------

def test_offline_send_with_a_listed_carrier_code(sim: TaobaoSimulator, top: Top) -> None:
    order = sim.place_order([("MS-0001-1", 1), ("MS-0002-1", 1)])
    companies = top.ok("taobao.logistics.companies.get", fields="id,code,name")["logistics_companies"]
    codes = {c["code"] for c in companies["logistics_company"]}
    assert {"SF", "YTO", "ZTO", "POST", "ZJS"} <= codes
    error = top.error("taobao.logistics.offline.send", tid=order.order_id, out_sid="SF1", company_code="SHUNFENG")
    assert error["sub_code"] == "isv.logistics-offline-service-error" and "companies.get" in error["sub_msg"]
    top.ok("taobao.logistics.offline.send", tid=order.order_id, out_sid="SF1234567890", company_code="SF")
    assert [(s.tracking_number, s.carrier, s.lines) for s in sim.shipments(order.order_id)] == [
        ("SF1234567890", "SF", (("MS-0001-1", 1), ("MS-0002-1", 1)))]
    again = top.error("taobao.logistics.offline.send", tid=order.order_id, out_sid="SF2", company_code="SF")
    assert "WAIT_BUYER_CONFIRM_GOODS" in again["sub_msg"]


def test_split_and_online_send(sim: TaobaoSimulator, top: Top) -> None:
    order = sim.place_order([("MS-0001-1", 1), ("MS-0002-1", 1)])
    detail = top.ok("taobao.trade.fullinfo.get", fields="tid,orders", tid=order.order_id)["trade"]
    first_oid = detail["orders"]["order"][0]["oid"]
    top.ok("taobao.logistics.offline.send", tid=order.order_id, out_sid="YT1", company_code="YTO", is_split=1,
           sub_tid=first_oid)
    assert top.ok("taobao.trade.fullinfo.get", fields="status", tid=order.order_id)["trade"]["status"] == \
        "SELLER_CONSIGNED_PART"
    top.ok("taobao.logistics.online.send", tid=order.order_id, company_code="ZTO")
    assert len(sim.shipments(order.order_id)) == 1
    top.ok("taobao.logistics.online.confirm", tid=order.order_id, out_sid="ZT2")
    assert [s.tracking_number for s in sim.shipments(order.order_id)] == ["YT1", "ZT2"]


# -- refunds -------------------------------------------------------------------------------------------

def test_refunds_are_listed_over_modified_windows_and_restock(sim: TaobaoSimulator, top: Top) -> None:
    order = sim.place_order([("MS-0001-1", 3)])
    sim.refund_order(order.order_id, [("MS-0001-1", 2)])
    assert sim.available("MS-0001-1") == 9
    body = top.ok("taobao.refunds.receive.get", fields="refund_id,tid,oid,num,refund_fee,status,outer_id", **window())
    refund = body["refunds"]["refund"][0]
    assert (body["total_results"], refund["tid"], refund["oid"], refund["num"], refund["status"]) == (
        1, int(order.order_id), int(order.order_id), 2, "SUCCESS")
    assert top.error("taobao.refunds.receive.get", fields="refund_id", page_size=101)["code"] == 41


def test_cancelling_closes_the_trade_and_restocks(sim: TaobaoSimulator, top: Top) -> None:
    order = sim.place_order([("MS-0002-2", 4)])
    sim.cancel_order(order.order_id)
    assert sim.available("MS-0002-2") == 10
    assert top.ok("taobao.trade.fullinfo.get", fields="status", tid=order.order_id)["trade"]["status"] == "TRADE_CLOSED"


# -- TMC -----------------------------------------------------------------------------------------------

def test_tmc_needs_a_permit_then_hands_out_trade_messages(sim: TaobaoSimulator, top: Top) -> None:
    sim.configure({"tmc_permitted": False})
    sim.place_order([("MS-0001-1", 1)])
    assert "messages" not in top.ok("taobao.tmc.messages.consume", session=False)
    top.ok("taobao.tmc.user.permit")
    order = sim.place_order([("MS-0001-1", 1)])
    messages = top.ok("taobao.tmc.messages.consume", session=False, quantity=10)["messages"]["tmc_message"]
    assert [m["topic"] for m in messages] == ["taobao_trade_TradeCreate", "taobao_trade_TradeBuyerPay"]
    assert json.loads(messages[0]["content"])["tid"] == int(order.order_id)
    assert messages[0]["user_id"] == sim.shop.store.seller_id and messages[0]["pub_app_key"] == top.app_key


def test_tmc_redelivers_what_was_not_confirmed(sim: TaobaoSimulator, top: Top) -> None:
    sim.configure({"tmc_redelivery_seconds": 0.3})
    sim.place_order([("MS-0001-1", 1)])
    first = top.ok("taobao.tmc.messages.consume", session=False)["messages"]["tmc_message"]
    assert "messages" not in top.ok("taobao.tmc.messages.consume", session=False)
    top.ok("taobao.tmc.messages.confirm", session=False, s_message_ids=str(first[0]["id"]))
    time.sleep(0.4)
    again = top.ok("taobao.tmc.messages.consume", session=False)["messages"]["tmc_message"]
    assert [m["id"] for m in again] == [first[1]["id"]]
    top.ok("taobao.tmc.messages.confirm", session=False, s_message_ids=str(again[0]["id"]))
    time.sleep(0.4)
    assert "messages" not in top.ok("taobao.tmc.messages.consume", session=False)


def test_tmc_duplicates_and_parameter_limits(sim: TaobaoSimulator, top: Top) -> None:
    sim.configure({"duplicate_webhooks": 1.0})
    sim.place_order([("MS-0001-1", 1)])
    ids = [m["id"] for m in top.ok("taobao.tmc.messages.consume", session=False)["messages"]["tmc_message"]]
    top.ok("taobao.tmc.messages.confirm", session=False, s_message_ids=",".join(map(str, ids)))
    copies = [m["id"] for m in top.ok("taobao.tmc.messages.consume", session=False)["messages"]["tmc_message"]]
    assert copies == ids
    assert top.error("taobao.tmc.messages.consume", session=False, quantity=9)["code"] == 41
    assert top.error("taobao.tmc.messages.consume", session=False, group_name="vip")["code"] == 41
    too_many = ",".join(str(i) for i in range(201))
    assert top.error("taobao.tmc.messages.confirm", session=False, s_message_ids=too_many)["code"] == 41
    assert top.error("taobao.tmc.messages.confirm", session=False)["code"] == 40


# -- call limits and faults ----------------------------------------------------------------------------

def test_call_limits_answer_code_7_with_the_ban_seconds(sim: TaobaoSimulator, top: Top) -> None:
    sim.configure({"api_calls": 2, "limit_window_seconds": 60, "ban_seconds": 3})
    for _ in range(2):
        top.ok("taobao.items.onsale.get", fields="num_iid")
    error = top.error("taobao.items.onsale.get", fields="num_iid")
    assert (error["code"], error["msg"]) == (7, "App Call Limited")
    assert error["sub_code"] == "accesscontrol.limited-by-api-access-count"
    assert error["sub_msg"] == "This ban will last for 3 more seconds"
    top.ok("taobao.logistics.companies.get", fields="code")  # another API of the same app still works
    sim.configure({"app_calls": 1, "api_calls": 100})
    sim.shop.limits.reset()
    top.ok("taobao.logistics.companies.get", fields="code")
    assert top.error("taobao.logistics.companies.get", fields="code")["sub_code"] == \
        "accesscontrol.limited-by-app-access-count"
    assert sim.request_counts()["limited"] == 1  # counted since the reset


def test_a_ban_ends_after_its_seconds(sim: TaobaoSimulator, top: Top) -> None:
    sim.configure({"api_calls": 1, "limit_window_seconds": 0.2, "ban_seconds": 0.3})
    top.ok("taobao.items.onsale.get", fields="num_iid")
    assert top.error("taobao.items.onsale.get", fields="num_iid")["code"] == 7
    time.sleep(0.35)
    top.ok("taobao.items.onsale.get", fields="num_iid")


def test_injected_faults_look_like_top_failures(sim: TaobaoSimulator, top: Top) -> None:
    sim.faults.next(429, retry_after=4)
    sim.faults.next(503)
    sim.faults.next(401)
    assert top.error("taobao.items.onsale.get", fields="num_iid")["sub_msg"] == "This ban will last for 4 more seconds"
    assert top.error("taobao.items.onsale.get", fields="num_iid")["sub_code"].startswith("isp.")
    assert top.error("taobao.items.onsale.get", fields="num_iid")["code"] == 27
    sim.configure({"timeout_seconds": 0.05, "next": [{"status": 0}]})
    assert top.http.post(sim.gateway_url, data=top.params("taobao.items.onsale.get", fields="num_iid")).status_code \
        == 504


def test_a_corrupt_record_is_served_malformed(sim: TaobaoSimulator, top: Top) -> None:
    sim.configure({"corrupt_ids": ["MS-0002-3"]})
    item = top.ok("taobao.items.onsale.get", fields="num_iid")["items"]["item"][1]
    skus = top.ok("taobao.item.skus.get", fields="sku_id,outer_id,quantity", num_iids=item["num_iid"])["skus"]["sku"]
    assert [s["quantity"] for s in skus] == [10, 10, "n/a"]


def test_configure_refuses_unknown_settings(sim: TaobaoSimulator) -> None:
    with pytest.raises(ValueError, match="unknown fault settings"):
        sim.configure({"no_such_setting": 1})


# -- the interface and the control plane ---------------------------------------------------------------

def test_the_simulator_interface_and_registry() -> None:
    assert simulator_class("taobao") is TaobaoSimulator
    started = start_simulator("taobao", seed=SeedSpec(products=1, variants=1), name="other-shop")
    try:
        assert isinstance(started, Simulator) and started.available("MS-0001-1") == 20
        setup = started.account_setup()
        assert setup.options["gateway"] == started.url + "/router/rest" and set(setup.secrets) == {"app_secret",
                                                                                                  "session"}
        assert started.info()["app_key"] != TaobaoSimulator().info()["app_key"]
        assert started.set_push_url("http://x") is False
    finally:
        started.stop()


def test_the_control_plane_over_http(sim: TaobaoSimulator) -> None:
    with httpx.Client(base_url=f"{sim.url}/_sandbox", timeout=10) as control:
        placed = control.post("/orders", json={"lines": [{"sku": "MS-0001-1", "quantity": 2}]}).json()
        assert control.post("/stock", json={"sku": "MS-0001-1", "delta": 5}).json()["available"] == 13
        assert control.post(f"/orders/{placed['order_id']}/refund", json={}).status_code == 200
        assert control.post("/orders", json={"lines": [{"sku": "MS-0001-1", "quantity": 99}]}).status_code == 409
        assert control.post("/orders", json={"lines": [{"sku": "NOPE", "quantity": 1}]}).status_code == 422
        assert control.post("/faults", json={"bogus": 1}).status_code == 400
        state = control.get("/state").json()
        assert state["skus"]["MS-0001-1"] == 15 and state["refunds"][0]["num"] == 2
        assert control.get("/writes").json()["writes"][-1]["source"] == "buyer"
