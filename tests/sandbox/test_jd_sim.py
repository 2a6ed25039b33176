"""The 京东 JOS simulator over real HTTP on loopback, checked against JOS's documented behaviour."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from sandbox.catalogue import SeedSpec
from sandbox.interface import HUB_SOURCE, OutOfStock, Simulator, start_simulator
from sandbox.jd import JdSimulator
from sandbox.jd.model import parse_time
from sandbox.jd.shop import CallLimits, Settings
from sandbox.jd.signing import sign

CHINA = timezone(timedelta(hours=8))


def jd_time(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


class Jos:
    """A hand-rolled JOS client (independent of the simulator's signing code)."""

    def __init__(self, sim: JdSimulator) -> None:
        self.sim = sim
        self.http = httpx.Client(timeout=10)

    def params(self, method: str, business: dict[str, Any] | None = None, **common: str) -> dict[str, str]:
        info = self.sim.info()
        params = {"method": method, "app_key": info["app_key"], "access_token": info["access_token"],
                  "timestamp": jd_time(datetime.now(UTC)), "v": "2.0",
                  "360buy_param_json": json.dumps(business or {}, ensure_ascii=False), **common}
        text = info["app_secret"] + "".join(k + v for k, v in sorted(params.items())) + info["app_secret"]
        params["sign"] = hashlib.md5(text.encode()).hexdigest().upper()
        return params

    def raw(self, params: dict[str, str]) -> dict[str, Any]:
        response = self.http.post(self.sim.gateway_url, data=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def ok(self, method: str, business: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.raw(self.params(method, business))
        root = method.replace(".", "_") + "_responce"
        assert root in body, body
        result: dict[str, Any] = body[root]
        assert result["code"] == "0"
        return result


@pytest.fixture(scope="module")
def server() -> Iterator[JdSimulator]:
    with JdSimulator() as simulator:
        yield simulator


@pytest.fixture
def sim(server: JdSimulator) -> JdSimulator:
    """The module's simulator with its defaults back and a fresh catalogue (a server per test is slow)."""
    server.faults.scripted.clear()
    server.faults.configure({"error_rate": 0, "latency_ms": 0, "timeout_rate": 0, "timeout_seconds": 30,
                           "duplicate_webhooks": 0, "reorder_webhooks": False, "corrupt_ids": []})
    server.shop.settings, server.shop.limits = Settings(), CallLimits(server.clock)
    server.shop.credentials.token_valid = True
    server.shop.hooks.clear()
    server.seed(SeedSpec(products=2, variants=2, stock=10))
    server.reset_counters()
    return server


@pytest.fixture
def jos(sim: JdSimulator) -> Iterator[Jos]:
    client = Jos(sim)
    yield client
    client.http.close()


def skus(jos: Jos) -> dict[str, dict[str, Any]]:
    page = jos.ok("jingdong.sku.read.searchSkuList", {"pageSize": 100})["page"]
    return {row["outerId"]: row for row in page["data"]}


def dates(minutes: int = 10) -> dict[str, str]:
    end = datetime.now(UTC) + timedelta(seconds=2)
    return {"start_date": jd_time(end - timedelta(minutes=minutes)), "end_date": jd_time(end)}


# -- signing and the gateway -----------------------------------------------------------------------

def test_the_official_signing_vector() -> None:
    params = {"360buy_param_json": '{"end_date":null,"optional_fields":null,"order_state":"WAIT_SELLER_STOCK_OUT",'
                                   '"page":"1","page_size":"200","start_date":null}',
              "access_token": "yourtoken", "app_key": "yourappkey", "method": "jingdong.pop.order.search",
              "timestamp": "2021-05-07 09:20:39.683+0800", "v": "2.0"}
    assert sign(params, "yourappSecret") == "D70825340F4084360B9362B60DFD7930"
    assert sign({**params, "sign": "x"}, "yourappSecret") == "D70825340F4084360B9362B60DFD7930"


def test_both_timestamp_forms_are_read_as_gmt8() -> None:
    assert parse_time("2021-05-07 09:20:39.683+0800") == datetime(2021, 5, 7, 1, 20, 39, tzinfo=UTC)
    assert parse_time("2021-05-07 09:20:39") == datetime(2021, 5, 7, 1, 20, 39, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_time("2021/05/07 09:20")


def test_the_millisecond_timestamp_form_is_accepted(jos: Jos) -> None:
    now = datetime.now(UTC).astimezone(CHINA)
    body = jos.raw(jos.params("jingdong.sku.read.searchSkuList", {},
                              timestamp=now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}+0800"))
    assert "jingdong_sku_read_searchSkuList_responce" in body


@pytest.mark.parametrize(("change", "code"), [
    ({"method": None}, "14"), ({"method": "jingdong.nothing"}, "15"), ({"app_key": "nope"}, "21"),
    ({"app_key": None}, "21"), ({"timestamp": None}, "7"), ({"timestamp": "yesterday"}, "8"),
    ({"timestamp": "2021-05-07 09:20:39"}, "8"), ({"v": None}, "4"), ({"v": "1.0"}, "5"),
    ({"access_token": "stale"}, "19"),
])
def test_gateway_errors_carry_jos_codes_and_descriptions(jos: Jos, change: dict[str, Any], code: str) -> None:
    info = jos.sim.info()
    params = {"method": "jingdong.sku.read.searchSkuList", "app_key": info["app_key"],
              "access_token": info["access_token"], "timestamp": jd_time(datetime.now(UTC)), "v": "2.0",
              "360buy_param_json": "{}"}
    for key, value in change.items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    text = info["app_secret"] + "".join(k + v for k, v in sorted(params.items())) + info["app_secret"]
    params["sign"] = hashlib.md5(text.encode()).hexdigest().upper()
    error = jos.raw(params)["error_response"]
    assert error["code"] == code and error["zh_desc"] and error["en_desc"]


def test_signatures_are_checked(jos: Jos) -> None:
    params = jos.params("jingdong.sku.read.searchSkuList", {"pageNo": 1})
    assert jos.raw({**params, "360buy_param_json": '{"pageNo": 2}'})["error_response"]["code"] == "12"
    assert jos.raw({k: v for k, v in params.items() if k != "sign"})["error_response"]["code"] == "11"
    signed_format = jos.params("jingdong.sku.read.searchSkuList", {}, format="json")
    assert "jingdong_sku_read_searchSkuList_responce" in jos.raw(signed_format)  # a parameter sent is signed
    assert jos.raw({**signed_format, "format": "xml"})["error_response"]["code"] == "12"


def test_an_expired_token_is_code_19(sim: JdSimulator, jos: Jos) -> None:
    sim.expire_token()
    assert jos.raw(jos.params("jingdong.sku.read.searchSkuList"))["error_response"]["code"] == "19"


def test_business_json_must_be_an_object(jos: Jos) -> None:
    body = jos.raw({**jos.params("jingdong.stock.write.updateSkuStock"), "360buy_param_json": "[1"})
    assert "error_response" in body  # the signature no longer matches
    info = jos.sim.info()
    params = {"method": "jingdong.stock.write.updateSkuStock", "app_key": info["app_key"],
              "access_token": info["access_token"], "timestamp": jd_time(datetime.now(UTC)), "v": "2.0",
              "360buy_param_json": "[1"}
    text = info["app_secret"] + "".join(k + v for k, v in sorted(params.items())) + info["app_secret"]
    result = jos.raw({**params, "sign": hashlib.md5(text.encode()).hexdigest().upper()})
    assert result["jingdong_stock_write_updateSkuStock_responce"]["success"] is False


# -- SKUs and stock --------------------------------------------------------------------------------

def test_sku_search_pages_with_outer_ids_and_stock(jos: Jos) -> None:
    page = jos.ok("jingdong.sku.read.searchSkuList", {"pageNo": 2, "pageSize": 3})["page"]
    assert (page["totalItem"], len(page["data"]), page["pageNo"]) == (4, 1, 2)
    rows = skus(jos)
    assert sorted(rows) == ["MS-0001-1", "MS-0001-2", "MS-0002-1", "MS-0002-2"]
    assert all(r["stockNum"] == 10 and len(r["barCode"]) == 13 for r in rows.values())
    failed = jos.ok("jingdong.sku.read.searchSkuList", {"pageSize": 101})
    assert failed["success"] is False and "pageSize" in failed["message"]


def test_wares_by_modified_time_and_corrupt_records(sim: JdSimulator, jos: Jos) -> None:
    since = datetime.now(UTC) + timedelta(seconds=1)
    window = {"startModifiedTime": jd_time(since), "endModifiedTime": jd_time(since + timedelta(minutes=1))}
    assert jos.ok("jingdong.ware.read.searchWare4Valid", window)["page"]["totalItem"] == 0
    everything = jos.ok("jingdong.ware.read.searchWare4Valid", {"pageSize": 1})["page"]
    assert everything["totalItem"] == 2 and len(everything["data"]) == 1
    ware_id = everything["data"][0]["wareId"]
    sim.configure({"corrupt_ids": ["MS-0001-2"]})
    rows = jos.ok("jingdong.sku.read.searchSkuList", {"wareId": str(ware_id)})["page"]["data"]
    assert {r["outerId"]: r["stockNum"] for r in rows} == {"MS-0001-1": 10, "MS-0001-2": "n/a"}


def test_stock_is_set_or_increased_never_below_zero(sim: JdSimulator, jos: Jos) -> None:
    sku_id = skus(jos)["MS-0001-1"]["skuId"]
    assert jos.ok("jingdong.stock.write.updateSkuStock", {"skuId": sku_id, "stockNum": 4})["success"] is True
    jos.ok("jingdong.stock.write.increaseSkuStock", {"skuId": sku_id, "stockNum": 3})
    assert sim.available("MS-0001-1") == 7
    assert jos.ok("jingdong.stock.write.updateSkuStock", {"skuId": sku_id, "stockNum": -1})["success"] is False
    assert jos.ok("jingdong.stock.write.increaseSkuStock", {"skuId": sku_id, "stockNum": -1})["success"] is False
    unknown = jos.ok("jingdong.stock.write.updateSkuStock", {"skuId": 1, "stockNum": 1})
    assert unknown["success"] is False and "skuId 1" in unknown["message"]
    assert sim.available("MS-0001-1") == 7
    assert [(w["source"], w["available"]) for w in sim.writes.entries()] == [(HUB_SOURCE, 4), (HUB_SOURCE, 7)]


# -- orders ----------------------------------------------------------------------------------------

STATES = "WAIT_SELLER_STOCK_OUT,WAIT_GOODS_RECEIVE_CONFIRM,FINISHED_L,TRADE_CANCELED"


def search(jos: Jos, **business: Any) -> dict[str, Any]:
    result: dict[str, Any] = jos.ok("jingdong.pop.order.search", {"order_state": STATES, **business})[
        "searchorderinfo_result"]
    return result


def test_orders_are_searched_by_modified_date_range_and_paged(sim: JdSimulator, jos: Jos) -> None:
    placed = [sim.place_order([("MS-0001-1", 1)], buyer=f"b{i}") for i in range(3)]
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    for offset, order in enumerate(placed):
        sim.touch_order(order.order_id, base + timedelta(seconds=offset))
    result = search(jos, page=1, page_size=2, **dates())
    assert result["apiResult"]["success"] is True and result["orderTotal"] == 3
    assert [o["orderId"] for o in result["orderInfoList"]] == [placed[0].order_id, placed[1].order_id]
    newest_first = search(jos, page=1, page_size=2, sortType=1, **dates())
    assert [o["orderId"] for o in newest_first["orderInfoList"]] == [placed[2].order_id, placed[1].order_id]
    order = result["orderInfoList"][0]
    assert order["orderState"] == "WAIT_SELLER_STOCK_OUT" and order["itemInfoList"][0]["outerSkuId"] == "MS-0001-1"
    trimmed = search(jos, optional_fields="orderId,orderState", **dates())["orderInfoList"][0]
    assert set(trimmed) == {"orderId", "orderState"}


def test_search_limits(jos: Jos) -> None:
    end = datetime.now(UTC)
    too_long = {"start_date": jd_time(end - timedelta(days=30, seconds=1)), "end_date": jd_time(end)}
    failure = search(jos, **too_long)["apiResult"]
    assert failure["success"] is False and "30" in failure["chineseErrCode"]
    assert search(jos, page_size=101, **dates())["apiResult"]["success"] is False
    assert search(jos, order_state="NOT_A_STATE", **dates())["apiResult"]["success"] is False
    assert search(jos)["apiResult"]["success"] is False


def test_a_closed_date_range_includes_both_edges(sim: JdSimulator, jos: Jos) -> None:
    order = sim.place_order([("MS-0002-1", 1)])
    edge = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    sim.touch_order(order.order_id, edge)
    before = {"start_date": jd_time(edge - timedelta(minutes=5)), "end_date": jd_time(edge)}
    after = {"start_date": jd_time(edge), "end_date": jd_time(edge + timedelta(minutes=5))}
    assert (search(jos, **before)["orderTotal"], search(jos, **after)["orderTotal"]) == (1, 1)
    sim.configure({"window_end_inclusive": False})
    assert (search(jos, **before)["orderTotal"], search(jos, **after)["orderTotal"]) == (0, 1)


def test_consignee_data_is_masked(sim: JdSimulator, jos: Jos) -> None:
    placed = sim.place_order([("MS-0001-2", 2)], buyer="carol")
    detail = jos.ok("jingdong.pop.order.get", {"order_id": placed.order_id})["orderDetailInfo"]
    info = detail["orderInfo"]
    plain = sim.shop.store.orders[placed.order_id].consignee
    text = json.dumps(info, ensure_ascii=False)
    assert plain.fullname not in text and plain.mobile not in text and plain.address not in text
    assert info["consigneeInfo"]["mobile"] == plain.mobile[:3] + "****" + plain.mobile[-4:]
    assert info["orderPayment"] == info["orderTotalPrice"] and detail["apiResult"]["success"] is True
    missing = jos.ok("jingdong.pop.order.get", {"order_id": "1"})["orderDetailInfo"]["apiResult"]
    assert missing["success"] is False


def test_buyer_orders_take_stock(sim: JdSimulator) -> None:
    sim.place_order([("MS-0002-2", 10)])
    with pytest.raises(OutOfStock):
        sim.place_order([("MS-0002-2", 1)])
    assert sim.available("MS-0002-2") == 0


# -- shipping and refunds --------------------------------------------------------------------------

def test_shipment_with_a_listed_carrier_id(sim: JdSimulator, jos: Jos) -> None:
    body = jos.raw(jos.params("360buy.get.vender.all.delivery.company", {"fields": "id,name"}))
    companies = {c["name"]: c["id"] for c in body["vender_delivery_all_company_response"]["delivery_companies"]}
    assert companies["顺丰快递"] == 467
    order = sim.place_order([("MS-0001-1", 1)])
    shipment = "jingdong.pop.order.shipment"
    bad = jos.ok(shipment, {"orderId": order.order_id, "logiCoprId": 1, "logiNo": "X"})["sopjosshipment_result"]
    assert bad["success"] is False and "delivery.company" in bad["chineseErrCode"]
    good = jos.ok(shipment, {"orderId": order.order_id, "logiCoprId": 467, "logiNo": "SF123"})
    assert good["sopjosshipment_result"]["success"] is True
    again = jos.ok(shipment, {"orderId": order.order_id, "logiCoprId": 467, "logiNo": "SF124"})
    assert again["sopjosshipment_result"]["success"] is False
    assert [(s.tracking_number, s.carrier) for s in sim.shipments(order.order_id)] == [("SF123", "467")]
    state = search(jos, **dates())["orderInfoList"][0]
    assert (state["orderState"], state["waybill"], state["logisticsId"]) == ("WAIT_GOODS_RECEIVE_CONFIRM", "SF123",
                                                                            "467")


def test_refund_applications_over_time_windows(sim: JdSimulator, jos: Jos) -> None:
    kept = sim.place_order([("MS-0001-1", 3)])
    sim.refund_order(kept.order_id, [("MS-0001-1", 1)])
    cancelled = sim.place_order([("MS-0002-1", 2)])
    sim.cancel_order(cancelled.order_id)
    assert (sim.available("MS-0001-1"), sim.available("MS-0002-1")) == (8, 10)
    end = datetime.now(UTC) + timedelta(seconds=2)
    window = {"checkTimeStart": jd_time(end - timedelta(minutes=5)), "checkTimeEnd": jd_time(end)}
    result = jos.ok("jingdong.pop.afs.soa.refundapply.queryPageList", window)["queryResult"]
    assert result["success"] is True and result["totalCount"] == 2
    sums = {r["orderId"]: r["applyRefundSum"] for r in result["result"]}
    price = sim.shop.store.orders[kept.order_id].lines[0].jd_price
    second = sim.shop.store.orders[cancelled.order_id].lines[0].jd_price
    assert sums[kept.order_id] == f"{price:.2f}" and sums[cancelled.order_id] == f"{2 * second:.2f}"
    assert search(jos, **dates())["orderTotal"] == 2
    cancelled_state = jos.ok("jingdong.pop.order.get", {"order_id": cancelled.order_id})["orderDetailInfo"]
    assert cancelled_state["orderInfo"]["orderState"] == "TRADE_CANCELED"
    too_long = {"applyTimeStart": jd_time(end - timedelta(days=31)), "applyTimeEnd": jd_time(end)}
    assert jos.ok("jingdong.pop.afs.soa.refundapply.queryPageList", too_long)["queryResult"]["success"] is False


# -- limits, faults, interface ---------------------------------------------------------------------

def test_call_limits_answer_the_configured_code(sim: JdSimulator, jos: Jos) -> None:
    sim.configure({"api_calls": 1, "limit_window_seconds": 60})
    jos.ok("jingdong.sku.read.searchSkuList")
    error = jos.raw(jos.params("jingdong.sku.read.searchSkuList"))["error_response"]
    assert (error["code"], error["en_desc"]) == ("2", "App Call Limited")
    sim.configure({"rate_limit_code": "203"})
    assert jos.raw(jos.params("jingdong.sku.read.searchSkuList"))["error_response"]["code"] == "203"


def test_injected_faults_look_like_jos_failures(sim: JdSimulator, jos: Jos) -> None:
    for status in (429, 503, 401):
        sim.faults.next(status)
    codes = [jos.raw(jos.params("jingdong.sku.read.searchSkuList"))["error_response"]["code"] for _ in range(3)]
    assert codes == ["2", "65", "19"]


def test_the_interface_the_registry_and_the_control_plane() -> None:
    started = start_simulator("jd", seed=SeedSpec(products=1, variants=1))
    try:
        assert isinstance(started, Simulator) and started.available("MS-0001-1") == 20
        with httpx.Client(base_url=f"{started.url}/_sandbox", timeout=10) as control:
            placed = control.post("/orders", json={"lines": [{"sku": "MS-0001-1", "quantity": 2}]}).json()
            assert control.post(f"/orders/{placed['order_id']}/cancel", json={}).status_code == 200
            assert control.post(f"/orders/{placed['order_id']}/cancel", json={}).status_code == 422
            assert control.get("/state").json()["skus"]["MS-0001-1"] == 20
    finally:
        started.stop()
