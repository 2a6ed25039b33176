"""The 拼多多 simulator over real HTTP on loopback, checked against PDD's documented behaviour."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sandbox.catalogue import SeedSpec
from sandbox.interface import HUB_SOURCE, OutOfStock, Simulator, SimulatorError, start_simulator
from sandbox.pinduoduo import PddSimulator
from sandbox.pinduoduo.shop import CallLimits, Settings
from sandbox.pinduoduo.signing import sign, signing_string


class Pdd:
    """A hand-rolled PDD client (independent of the simulator's signing code)."""

    def __init__(self, sim: PddSimulator) -> None:
        self.sim = sim
        self.http = httpx.Client(timeout=10)

    def params(self, api: str, *, token: bool | str = True, **business: Any) -> dict[str, str]:
        info = self.sim.info()
        params = {"type": api, "client_id": info["client_id"], "timestamp": str(int(time.time())),
                  "data_type": "JSON", **{k: str(v) for k, v in business.items()}}
        if token:
            params["access_token"] = token if isinstance(token, str) else info["access_token"]
        text = info["client_secret"] + "".join(k + v for k, v in sorted(params.items())) + info["client_secret"]
        params["sign"] = hashlib.md5(text.encode()).hexdigest().upper()
        return params

    def raw(self, params: dict[str, str]) -> dict[str, Any]:
        response = self.http.post(self.sim.gateway_url, data=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def ok(self, api: str, root: str, **business: Any) -> dict[str, Any]:
        body = self.raw(self.params(api, **business))
        assert root in body, body
        result: dict[str, Any] = body[root]
        assert result["request_id"]
        return result

    def error(self, api: str, **business: Any) -> dict[str, Any]:
        body = self.raw(self.params(api, **business))
        assert "error_response" in body, body
        result: dict[str, Any] = body["error_response"]
        return result


@pytest.fixture(scope="module")
def server() -> Iterator[PddSimulator]:
    with PddSimulator() as simulator:
        yield simulator


@pytest.fixture
def sim(server: PddSimulator) -> PddSimulator:
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
def pdd(sim: PddSimulator) -> Iterator[Pdd]:
    client = Pdd(sim)
    yield client
    client.http.close()


def goods(pdd: Pdd) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pdd.ok("pdd.goods.list.get", "goods_list_get_response")["goods_list"]
    return rows


def sku(pdd: Pdd, outer_id: str) -> tuple[int, dict[str, Any]]:
    for row in goods(pdd):
        for entry in row["sku_list"]:
            if entry["outer_id"] == outer_id:
                return row["goods_id"], entry
    raise AssertionError(outer_id)


def window(minutes: int = 10) -> dict[str, int]:
    end = int(time.time()) + 2
    return {"start_updated_at": end - minutes * 60, "end_updated_at": end}


# -- signing and the gateway -----------------------------------------------------------------------

def test_the_official_signing_vector() -> None:
    params = {"access_token": "asd78172s8ds9a921j9qqwda12312w1w21211", "client_id": "1", "data_type": "XML",
              "order_status": "1", "page": "1", "page_size": "10", "timestamp": "1480411125",
              "type": "pdd.order.number.list.get"}
    assert signing_string(params) == ("access_tokenasd78172s8ds9a921j9qqwda12312w1w21211client_id1data_typeXML"
                                      "order_status1page1page_size10timestamp1480411125typepdd.order.number.list.get")
    assert sign(params, "testSecret") == "E4DE3ED21002510DED352819E7AE6775"
    assert sign({**params, "sign": "anything"}, "testSecret") == "E4DE3ED21002510DED352819E7AE6775"


@pytest.mark.parametrize(("change", "code"), [
    ({"type": None}, 10001), ({"client_id": "nobody"}, 10016), ({"type": "pdd.no.such.api"}, 10017),
    ({"timestamp": "soon"}, 10001), ({"timestamp": "1480411125"}, 10001), ({"data_type": "XML"}, 10001),
    ({"access_token": None}, 10001), ({"access_token": "wrong"}, 20032),
])
def test_gateway_errors(pdd: Pdd, change: dict[str, Any], code: int) -> None:
    info = pdd.sim.info()
    params = {"type": "pdd.goods.list.get", "client_id": info["client_id"], "timestamp": str(int(time.time())),
              "data_type": "JSON", "access_token": info["access_token"]}
    for key, value in change.items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    text = info["client_secret"] + "".join(k + v for k, v in sorted(params.items())) + info["client_secret"]
    params["sign"] = hashlib.md5(text.encode()).hexdigest().upper()
    error = pdd.raw(params)["error_response"]
    assert error["error_code"] == code and error["error_msg"] and error["request_id"]


def test_a_bad_signature_is_20004(pdd: Pdd) -> None:
    params = pdd.params("pdd.goods.list.get")
    assert pdd.raw({**params, "page": "2"})["error_response"]["error_code"] == 20004
    assert pdd.raw({**params, "sign": params["sign"].lower()})["error_response"]["error_code"] == 20004
    assert pdd.raw({k: v for k, v in params.items() if k != "sign"})["error_response"]["error_code"] == 10001


def test_json_bodies_are_signed_over_their_compact_values(sim: PddSimulator, pdd: Pdd) -> None:
    params: dict[str, Any] = pdd.params("pdd.goods.list.get", page=1)
    body = {**params, "page": 1}
    response = pdd.http.post(sim.gateway_url, json=body)
    assert "goods_list_get_response" in response.json()


def test_an_expired_token_is_10019_and_a_refresh_replaces_it(sim: PddSimulator, pdd: Pdd) -> None:
    sim.expire_token()
    assert pdd.error("pdd.goods.list.get")["error_code"] == 10019
    old = sim.info()["access_token"]
    refreshed = pdd.ok("pdd.pop.auth.token.refresh", "pop_auth_token_refresh_response", token=False,
                       refresh_token=sim.info()["refresh_token"])
    assert refreshed["access_token"] != old and refreshed["expires_in"] == 86_400
    assert pdd.ok("pdd.goods.list.get", "goods_list_get_response")["total_count"] == 2
    stale = pdd.raw(pdd.params("pdd.goods.list.get", token=old))
    assert stale["error_response"]["error_code"] == 20032
    assert pdd.error("pdd.pop.auth.token.refresh", token=False, refresh_token="wrong")["error_code"] == 20032


# -- goods and stock -------------------------------------------------------------------------------

def test_goods_list_has_outer_ids_reserve_and_page_limits(pdd: Pdd) -> None:
    rows = goods(pdd)
    assert sorted(s["outer_id"] for g in rows for s in g["sku_list"]) == ["MS-0001-1", "MS-0001-2", "MS-0002-1",
                                                                          "MS-0002-2"]
    assert all(g["goods_quantity"] == 20 and g["goods_reserve_quantity"] == 0 for g in rows)
    page = pdd.ok("pdd.goods.list.get", "goods_list_get_response", page=2, page_size=1)
    assert page["total_count"] == 2 and len(page["goods_list"]) == 1
    assert pdd.error("pdd.goods.list.get", page_size=101)["error_code"] == 10000
    by_outer = pdd.ok("pdd.goods.list.get", "goods_list_get_response", outer_id="MS-0002-1")
    assert [g["goods_id"] for g in by_outer["goods_list"]] == [sku(pdd, "MS-0002-1")[0]]


def test_a_corrupt_sku_is_served_malformed(sim: PddSimulator, pdd: Pdd) -> None:
    sim.configure({"corrupt_ids": ["MS-0002-1"]})
    quantities = {s["outer_id"]: s["sku_quantity"] for g in goods(pdd) for s in g["sku_list"]}
    assert quantities == {"MS-0001-1": 10, "MS-0001-2": 10, "MS-0002-1": "n/a", "MS-0002-2": 10}


def test_full_and_incremental_writes_never_go_below_zero(sim: PddSimulator, pdd: Pdd) -> None:
    goods_id, entry = sku(pdd, "MS-0001-1")
    root = "goods_quantity_update_response"
    assert pdd.ok("pdd.goods.quantity.update", root, goods_id=goods_id, sku_id=entry["sku_id"],
                  quantity=4)["is_success"] is True
    pdd.ok("pdd.goods.quantity.update", root, goods_id=goods_id, outer_id="MS-0001-1", quantity=-3, update_type=2)
    assert sim.available("MS-0001-1") == 1
    assert pdd.error("pdd.goods.quantity.update", goods_id=goods_id, sku_id=entry["sku_id"], quantity=-2,
                     update_type=2)["error_code"] == 21001
    assert pdd.error("pdd.goods.quantity.update", goods_id=goods_id, sku_id=entry["sku_id"],
                     quantity=-1)["error_code"] == 10000
    assert pdd.error("pdd.goods.quantity.update", goods_id=goods_id, quantity=1)["error_code"] == 21002
    assert pdd.error("pdd.goods.quantity.update", goods_id=1, sku_id=1, quantity=1)["error_code"] == 21001
    assert [(w["source"], w["available"]) for w in sim.writes.entries()] == [(HUB_SOURCE, 4), (HUB_SOURCE, 1)]


def test_unpaid_orders_hold_stock_that_writes_cannot_undercut(sim: PddSimulator, pdd: Pdd) -> None:
    goods_id, entry = sku(pdd, "MS-0001-2")
    order_sn = sim.place_unpaid_order([("MS-0001-2", 3)])
    _, held = sku(pdd, "MS-0001-2")
    assert (held["sku_quantity"], held["reserve_quantity"], sim.available("MS-0001-2")) == (10, 3, 7)
    error = pdd.error("pdd.goods.quantity.update", goods_id=goods_id, sku_id=entry["sku_id"], quantity=2)
    assert error["error_code"] == 21001 and "预扣库存" in error["sub_msg"]
    assert sim.available("MS-0001-2") == 7
    assert order_sn not in json.dumps(pdd.ok("pdd.order.number.list.increment.get", "order_sn_increment_get_response",
                                             order_status=5, refund_status=5, **window()))
    sim.pay_order(order_sn)
    _, paid = sku(pdd, "MS-0001-2")
    assert (paid["sku_quantity"], paid["reserve_quantity"], sim.available("MS-0001-2")) == (7, 0, 7)
    expiring = sim.place_unpaid_order([("MS-0001-2", 2)])
    sim.expire_unpaid_order(expiring)
    assert sim.available("MS-0001-2") == 7
    with pytest.raises(OutOfStock):
        sim.place_order([("MS-0001-2", 8)])


def test_goods_in_a_promotion_slot_refuse_reductions(sim: PddSimulator, pdd: Pdd) -> None:
    goods_id, entry = sku(pdd, "MS-0002-2")
    sim.set_promo_slot("MS-0002-2")
    error = pdd.error("pdd.goods.quantity.update", goods_id=goods_id, sku_id=entry["sku_id"], quantity=9)
    assert error["error_code"] == 21001 and "资源位" in error["sub_msg"]
    assert pdd.error("pdd.goods.quantity.update", goods_id=goods_id, sku_id=entry["sku_id"], quantity=-1,
                     update_type=2)["error_code"] == 21001
    pdd.ok("pdd.goods.quantity.update", "goods_quantity_update_response", goods_id=goods_id,
           sku_id=entry["sku_id"], quantity=15)
    assert sim.available("MS-0002-2") == 15


# -- orders ----------------------------------------------------------------------------------------

INCREMENT = ("pdd.order.number.list.increment.get", "order_sn_increment_get_response")


def test_increments_page_newest_first_within_thirty_minutes(sim: PddSimulator, pdd: Pdd) -> None:
    placed = [sim.place_order([("MS-0001-1", 1)], buyer=f"b{i}") for i in range(3)]
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    for offset, order in enumerate(placed):
        sim.touch_order(order.order_id, base + timedelta(seconds=offset))
    page = pdd.ok(*INCREMENT, order_status=1, refund_status=5, page_size=2, **window())
    assert page["total_count"] == 3
    assert [o["order_sn"] for o in page["order_sn_list"]] == [placed[2].order_id, placed[1].order_id]
    last = pdd.ok(*INCREMENT, order_status=5, refund_status=5, page=2, page_size=2, **window())
    assert [o["order_sn"] for o in last["order_sn_list"]] == [placed[0].order_id]
    assert pdd.ok(*INCREMENT, order_status=2, refund_status=5, **window())["total_count"] == 0
    assert pdd.ok(*INCREMENT, order_status=5, refund_status=5, use_has_next="true", page_size=2,
                  **window())["has_next"] is True
    end = int(time.time())
    assert pdd.error(INCREMENT[0], order_status=5, refund_status=5, start_updated_at=end - 1801,
                     end_updated_at=end)["error_code"] == 10000
    assert pdd.ok(*INCREMENT, order_status=5, refund_status=5, start_updated_at=end - 1800,
                  end_updated_at=end)["total_count"] == 3
    assert pdd.error(INCREMENT[0], order_status=5, refund_status=5, page_size=101, **window())["error_code"] == 10000
    assert pdd.error(INCREMENT[0], refund_status=5, **window())["error_code"] == 21002


def test_an_order_updated_exactly_at_a_window_edge_is_in_the_later_window(sim: PddSimulator, pdd: Pdd) -> None:
    order = sim.place_order([("MS-0002-1", 1)])
    edge = int(time.time()) - 300
    sim.touch_order(order.order_id, datetime.fromtimestamp(edge, UTC))
    before = pdd.ok(*INCREMENT, order_status=5, refund_status=5, start_updated_at=edge - 60, end_updated_at=edge)
    after = pdd.ok(*INCREMENT, order_status=5, refund_status=5, start_updated_at=edge, end_updated_at=edge + 60)
    assert (before["total_count"], after["total_count"]) == (0, 1)


def test_receivers_come_as_ciphertext_and_masks_only_while_waiting_to_ship(sim: PddSimulator, pdd: Pdd) -> None:
    order = sim.place_order([("MS-0001-1", 2)], buyer="bob")
    info = pdd.ok("pdd.order.information.get", "order_info_get_response", order_sn=order.order_id)["order_info"]
    plain = sim.shop.store.orders[order.order_id].receiver
    text = json.dumps(info, ensure_ascii=False)
    assert plain.name not in text and plain.phone not in text and plain.address not in text
    assert info["receiver_name"].startswith("~") and info["receiver_phone_mask"].endswith(plain.phone[-4:])
    assert info["receiver_name_mask"] == plain.name[0] + "**" and info["province"] == plain.province
    assert info["item_list"][0]["outer_id"] == "MS-0001-1" and info["pay_amount"] == info["goods_amount"]
    pdd.ok("pdd.logistics.online.send", "logistics_online_send_response", order_sn=order.order_id, logistics_id=44,
           tracking_number="SF100")
    shipped = pdd.ok("pdd.order.information.get", "order_info_get_response", order_sn=order.order_id)["order_info"]
    assert shipped["receiver_name"] == "" and shipped["receiver_name_mask"] == info["receiver_name_mask"]
    assert (shipped["order_status"], shipped["tracking_number"], shipped["logistics_id"]) == (2, "SF100", 44)
    other = sim.place_order([("MS-0001-1", 1)])
    sim.flag_risk(other.order_id)
    flagged = pdd.ok("pdd.order.information.get", "order_info_get_response", order_sn=other.order_id)["order_info"]
    assert flagged["receiver_phone"] == "" and flagged["receiver_phone_mask"]
    assert pdd.error("pdd.order.information.get", order_sn="nope")["error_code"] == 21001


# -- shipping and after-sales ----------------------------------------------------------------------

def test_online_send_with_the_carrier_list(sim: PddSimulator, pdd: Pdd) -> None:
    companies = pdd.ok("pdd.logistics.companies.get", "logistics_companies_get_response", token=False)
    names = {c["logistics_company"]: c for c in companies["logistics_companies"]}
    assert names["顺丰速运"]["available"] == 1 and names["天天快递"]["available"] == 0
    order = sim.place_order([("MS-0001-1", 1)])
    send = ("pdd.logistics.online.send", "logistics_online_send_response")
    unknown = pdd.error(send[0], order_sn=order.order_id, logistics_id=9999, tracking_number="X")
    assert unknown["error_code"] == 21001 and "pdd.logistics.companies.get" in unknown["sub_msg"]
    assert pdd.error(send[0], order_sn=order.order_id, logistics_id=names["天天快递"]["id"],
                     tracking_number="X")["error_code"] == 21001
    assert pdd.error(send[0], order_sn=order.order_id, logistics_id=44)["error_code"] == 21002
    pdd.ok(*send, order_sn=order.order_id, logistics_id=115, tracking_number="ZT1")
    assert pdd.error(send[0], order_sn=order.order_id, logistics_id=115, tracking_number="ZT2")["error_code"] == 21001
    pdd.ok(*send, order_sn=order.order_id, logistics_id=115, tracking_number="ZT2", redelivery_type=2)
    assert [(s.tracking_number, s.carrier, s.lines) for s in sim.shipments(order.order_id)] == [
        ("ZT2", "115", (("MS-0001-1", 1),))]


def test_after_sales_increments_and_cancel_by_refund(sim: PddSimulator, pdd: Pdd) -> None:
    order = sim.place_order([("MS-0002-2", 3)])
    sim.refund_order(order.order_id, [("MS-0002-2", 1)])
    cancelled = sim.place_order([("MS-0002-2", 2)])
    sim.cancel_order(cancelled.order_id)
    assert sim.available("MS-0002-2") == 8
    refunds = pdd.ok("pdd.refund.list.increment.get", "refund_increment_get_response", after_sales_status=1,
                     after_sales_type=1, **window())
    assert refunds["total_count"] == 2
    rows = {r["order_sn"]: r for r in refunds["refund_list"]}
    assert (rows[order.order_id]["goods_number"], rows[order.order_id]["after_sales_status"]) == (1, 10)
    assert rows[cancelled.order_id]["after_sales_type"] == 2
    by_order = pdd.ok("pdd.refund.list.increment.get", "refund_increment_get_response", order_sn=order.order_id)
    assert by_order["total_count"] == 1
    end = int(time.time())
    assert pdd.error("pdd.refund.list.increment.get", after_sales_status=1, after_sales_type=1,
                     start_updated_at=end - 1801, end_updated_at=end)["error_code"] == 10000
    detail = pdd.ok("pdd.order.information.get", "order_info_get_response", order_sn=cancelled.order_id)
    assert (detail["order_info"]["order_status"], detail["order_info"]["refund_status"]) == (1, 4)
    assert pdd.error("pdd.logistics.online.send", order_sn=cancelled.order_id, logistics_id=44,
                     tracking_number="SF1")["error_code"] == 21001


# -- limits, faults, interface ---------------------------------------------------------------------

def test_call_limits_answer_52101(sim: PddSimulator, pdd: Pdd) -> None:
    sim.configure({"api_calls": 1, "limit_window_seconds": 60})
    pdd.ok("pdd.goods.list.get", "goods_list_get_response")
    error = pdd.error("pdd.goods.list.get")
    assert (error["error_code"], error["error_msg"]) == (52101, "当前接口被限流,请稍后重试")
    assert sim.request_counts()["limited"] == 1


def test_injected_faults_look_like_pdd_failures(sim: PddSimulator, pdd: Pdd) -> None:
    for status in (429, 503, 401):
        sim.faults.next(status)
    assert [pdd.error("pdd.goods.list.get")["error_code"] for _ in range(3)] == [52101, 52103, 10019]
    sim.faults.next(500)
    assert pdd.http.post(sim.gateway_url, data=pdd.params("pdd.goods.list.get")).status_code == 500


def test_the_interface_the_registry_and_the_control_plane() -> None:
    started = start_simulator("pinduoduo", seed=SeedSpec(products=1, variants=1))
    try:
        assert isinstance(started, Simulator) and started.available("MS-0001-1") == 20
        assert set(started.account_setup().secrets) == {"client_secret", "access_token", "refresh_token"}
        with httpx.Client(base_url=f"{started.url}/_sandbox", timeout=10) as control:
            unpaid = control.post("/unpaid-orders", json={"lines": [{"sku": "MS-0001-1", "quantity": 2}]}).json()
            assert started.available("MS-0001-1") == 18
            assert control.post(f"/unpaid-orders/{unpaid['order_sn']}/pay").status_code == 200
            assert control.post("/promo-slot", json={"sku": "MS-0001-1"}).json()["promo_slot"] is True
            assert control.post("/orders", json={"lines": [{"sku": "MS-0001-1", "quantity": 99}]}).status_code == 409
            state = control.get("/state").json()
            assert state["skus"]["MS-0001-1"] == {"quantity": 18, "reserve_quantity": 0, "sellable": 18}
        with pytest.raises(SimulatorError):
            started.cancel_order("nope")
    finally:
        started.stop()
