"""`JdConnector`: the hub's connector for a 京东 POP vendor over JOS (`/routerjson`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar

import httpx

import canonical
from canonical import CanonicalError
from connectors.base import (
    AccountConfig,
    Capability,
    Connector,
    Health,
    OptionSpec,
    ShipmentPush,
    ShipmentResult,
    levels_at_one_location,
)
from connectors.budget import DEFAULT_BUCKET, BucketSpec, Budgets
from connectors.errors import ConnectorError, Rejected
from connectors.http import HttpPolicy
from connectors.jd import carriers, normalise
from connectors.jd.client import GATEWAY, JosClient, jd_time
from connectors.paging import Page, numbered_pages, pages_from_the_back, time_windows
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult
from connectors.streams import Checkpoint, StreamOrder

ORDER_STATES = "WAIT_SELLER_STOCK_OUT,WAIT_SELLER_DELIVERY,WAIT_GOODS_RECEIVE_CONFIRM,FINISHED_L,TRADE_CANCELED," \
               "LOCKED,PAUSE"
MAX_WINDOW = timedelta(days=30) - timedelta(seconds=1)  # a month at most (third-party); windows end on a ceil
REFUND_PAGE = 50


def _number(account: AccountConfig, name: str, default: float, *, low: float, high: float) -> float:
    raw = account.option(name)
    try:
        value = float(raw) if raw not in (None, "") else default
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise Rejected(account.where(), f"option {name!r} must be a number from {low:g} to {high:g}, got {raw!r}")
    return value


def whole_second(moment: datetime, *, up: bool = False) -> datetime:
    floor = moment.astimezone(UTC).replace(microsecond=0)
    return floor + timedelta(seconds=1) if up and floor < moment else floor


class JdConnector(Connector):
    """A 京东 POP vendor: SKUs by 商家编码, stock set per SKU, orders by modified-date windows read from the
    back, refund applications as order-level refunds, shipment with JD's carrier ids."""

    platform: ClassVar[str] = "jd"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.READ_CATALOG, Capability.READ_STOCK, Capability.READ_ORDERS, Capability.WRITE_STOCK,
        Capability.WRITE_SHIPMENTS,
    })
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("app_key", "the app's App Key", required=True),
        OptionSpec("gateway", "JOS gateway URL", default=GATEWAY),
        OptionSpec("page_size", "wares, SKUs and orders per page (1-100)", default="50"),
        OptionSpec("window_hours", "hours per order-search window (up to 30 days)", default="24"),
        OptionSpec("safety_lag_seconds", "orders modified this recently wait for the next poll", default="60"),
        OptionSpec("first_sync_hours", "how far back a read without a cursor goes", default="24"),
        OptionSpec("rate_limit_codes", "JOS error codes that mean 'slow down' (JD documents none)", default="2,203"),
        OptionSpec("api_calls_per_second", "calls per second per API (JD publishes no figure)", default="20"),
        OptionSpec("app_secret", "the app's App Secret", required=True, secret=True),
        OptionSpec("access_token", "the vendor's access token", required=True, secret=True),
    )
    stock_batch_size: ClassVar[int] = 20  # one call per SKU: JOS has no batch stock write
    stock_write_mode: ClassVar[StockWriteMode] = StockWriteMode.ABSOLUTE
    order_stream_order: ClassVar[StreamOrder] = StreamOrder.WINDOWED

    def __init__(self, account: AccountConfig, *, policy: HttpPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, budgets: Budgets | None = None) -> None:
        super().__init__(account, policy=policy, transport=transport, budgets=budgets)
        self.page_size = int(_number(account, "page_size", 50, low=1, high=100))
        self.window = min(timedelta(hours=_number(account, "window_hours", 24, low=0.01, high=720)), MAX_WINDOW)
        self.lag = timedelta(seconds=_number(account, "safety_lag_seconds", 60, low=0, high=3600))
        self.first_sync = timedelta(hours=_number(account, "first_sync_hours", 24, low=0, high=24 * 90))
        codes = [c.strip() for c in (account.option("rate_limit_codes") or "2,203").split(",") if c.strip()]
        self.client = JosClient(gateway=account.option("gateway") or GATEWAY, app_key=account.option("app_key") or "",
                                app_secret=account.secret("app_secret"), access_token=account.secret("access_token"),
                                rate_limit_codes=codes, where=self.where, policy=self.policy, budgets=self.budgets,
                                transport=transport)
        self._companies: list[carriers.Company] | None = None

    def bucket_specs(self) -> Mapping[str, BucketSpec]:
        rate = _number(self.account, "api_calls_per_second", 20, low=0.1, high=10_000)
        return {DEFAULT_BUCKET: BucketSpec(maximum=rate, restore_rate=rate)}

    def close(self) -> None:
        self.client.close()

    @property
    def calls(self) -> int:
        return self.client.requests

    def health(self) -> Health:
        try:
            self.client.call("jingdong.ware.read.searchWare4Valid", {"pageNo": 1, "pageSize": 1}, what="account check")
        except ConnectorError as exc:
            return Health(ok=False, detail=str(exc))
        return Health(ok=True, shop_name=self.account.name, currency=normalise.CURRENCY)

    def currency(self) -> str:
        return normalise.CURRENCY

    # ---- catalogue -----------------------------------------------------------------------------
    def _refused(self, what: str, message: object) -> Rejected:
        return Rejected(self.where(what), f"JD refused the call: {message or 'no reason given'}")

    def _wares(self, updated_since: datetime | None) -> Iterator[Sequence[dict[str, Any]]]:
        since = {"startModifiedTime": jd_time(whole_second(updated_since)),
                 "endModifiedTime": jd_time(whole_second(datetime.now(UTC), up=True))} if updated_since else {}

        def fetch(page_no: int) -> Page[dict[str, Any]]:
            body = self.client.call("jingdong.ware.read.searchWare4Valid",
                                    {"pageNo": page_no, "pageSize": self.page_size, **since}, what="wares")
            page = body.get("page")
            if not isinstance(page, dict):
                raise self._refused("wares", body.get("message"))
            return Page(page.get("data") or [], total_items=int(page.get("totalItem") or 0))
        return numbered_pages(fetch, page_size=self.page_size, where=self.where("wares"), key=lambda w: w["wareId"])

    def _with_skus(self, updated_since: datetime | None) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        for wares in self._wares(updated_since):
            ids = ",".join(str(w["wareId"]) for w in wares)
            skus: dict[str, list[dict[str, Any]]] = defaultdict(list)

            def fetch(page_no: int, ids: str = ids) -> Page[dict[str, Any]]:
                body = self.client.call("jingdong.sku.read.searchSkuList",
                                        {"wareId": ids, "pageNo": page_no, "pageSize": 100}, what=f"skus of {ids}")
                page = body.get("page")
                if not isinstance(page, dict):
                    raise self._refused("skus", body.get("message"))
                return Page(page.get("data") or [], total_items=int(page.get("totalItem") or 0))
            for chunk in numbered_pages(fetch, page_size=100, where=self.where("skus"), key=lambda s: s["skuId"]):
                for sku in chunk:
                    skus[str(sku.get("wareId"))].append(sku)
            for ware in wares:
                yield ware, skus.get(str(ware["wareId"]), [])

    def listings(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Listing]:
        for ware, skus in self._with_skus(updated_since):
            for sku in skus:
                try:
                    yield normalise.listing(ware, sku, account=self.account.name)
                except CanonicalError as err:
                    self.skip(err)

    def products(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product]:
        for ware, skus in self._with_skus(updated_since):
            try:
                yield normalise.product(ware, skus, account=self.account.name)
            except CanonicalError as err:
                self.skip(err)

    def locations(self) -> Iterator[canonical.Location]:
        yield canonical.Location(external_id=normalise.LOCATION, name="京东库存")

    def stock_levels(self, *, location_external_id: str | None = None) -> Iterator[canonical.StockLevel]:
        return levels_at_one_location(self.listings(), normalise.LOCATION, location_external_id, unknown_as_zero=True)

    # ---- orders --------------------------------------------------------------------------------
    def order_stream(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order | Checkpoint]:
        """Orders modified in date windows walked oldest first, each read newest-first from its last page
        back; the refund applications checked in the window come with them. A checkpoint per window."""
        safe = datetime.now(UTC) - self.lag
        start = whole_second(updated_since or safe - self.first_sync)
        for low, high in time_windows(start, whole_second(safe, up=True), self.window):
            refunds = self._refunds({"checkTimeStart": jd_time(low), "checkTimeEnd": jd_time(high)})
            seen: set[str] = set()
            for page in pages_from_the_back(partial(self._orders, low, high), page_size=self.page_size,
                                            where=self.where("orders")):
                for raw in page:
                    order_id = str(raw.get("orderId"))
                    if order_id not in seen:
                        seen.add(order_id)
                        yield from self._order_or_skip(raw, refunds.get(order_id, []))
            yield Checkpoint(min(high, whole_second(safe)))

    def _orders(self, low: datetime, high: datetime, page: int) -> Page[dict[str, Any]]:
        body = self.client.call("jingdong.pop.order.search", {
            "order_state": ORDER_STATES, "start_date": jd_time(low), "end_date": jd_time(high), "page": page,
            "page_size": self.page_size, "sortType": 1, "dateType": 0}, what=f"orders modified from {jd_time(low)}")
        result = body.get("searchorderinfo_result") or {}
        if not (result.get("apiResult") or {}).get("success"):
            raise self._refused("orders", (result.get("apiResult") or {}).get("chineseErrCode"))
        return Page(result.get("orderInfoList") or [], total_items=int(result.get("orderTotal") or 0))

    def _refunds(self, span: Mapping[str, str]) -> dict[str, list[canonical.Refund]]:
        by_order: dict[str, list[canonical.Refund]] = defaultdict(list)

        def fetch(page: int) -> Page[dict[str, Any]]:
            body = self.client.call("jingdong.pop.afs.soa.refundapply.queryPageList",
                                    {**span, "pageIndex": page, "pageSize": REFUND_PAGE}, what="refund applications")
            result = body.get("queryResult") or {}
            if not result.get("success"):
                raise self._refused("refund applications", result.get("resultMsg"))
            return Page(result.get("result") or [], total_items=int(result.get("totalCount") or 0))
        for chunk in numbered_pages(fetch, page_size=REFUND_PAGE, where=self.where("refunds"), key=lambda r: r["id"]):
            for raw in chunk:
                if raw.get("status") in normalise.APPROVED:
                    try:
                        by_order[str(raw.get("orderId"))].append(normalise.refund(raw))
                    except CanonicalError as err:
                        self.skip(err)
        return by_order

    def _order_or_skip(self, raw: Mapping[str, Any], refunds: Sequence[canonical.Refund]) -> Iterator[canonical.Order]:
        try:
            yield normalise.order(raw, refunds, account=self.account.name)
        except CanonicalError as err:
            self.skip(err)

    def _detail(self, order_id: str) -> dict[str, Any]:
        body = self.client.call("jingdong.pop.order.get", {"order_id": order_id}, what=f"order {order_id}")
        detail = body.get("orderDetailInfo") or {}
        if not (detail.get("apiResult") or {}).get("success"):
            raise self._refused(f"order {order_id}", (detail.get("apiResult") or {}).get("chineseErrCode"))
        info: dict[str, Any] = detail.get("orderInfo") or {}
        return info

    def order(self, external_id: str) -> canonical.Order:
        raw = self._detail(external_id)
        refunds = self._refunds({"orderId": external_id}).get(external_id, [])
        return normalise.order(raw, refunds, account=self.account.name)

    # ---- writes --------------------------------------------------------------------------------
    def set_stock(self, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
        """`jingdong.stock.write.updateSkuStock` (a set) per SKU; a refusal is that update's result."""
        results = []
        for update in updates:
            try:
                body = self.client.call("jingdong.stock.write.updateSkuStock",
                                        {"skuId": update.external_variant_id, "stockNum": update.quantity},
                                        what=f"stock of sku {update.external_variant_id}")
            except Rejected as error:
                results.append(StockWriteResult.rejected(update.listing_ref, error.reason))
                continue
            if body.get("success") is True:
                results.append(StockWriteResult.applied(update.listing_ref, update.quantity))
            else:
                results.append(StockWriteResult.rejected(update.listing_ref, str(body.get("message") or "refused")))
        return results

    def companies(self) -> list[carriers.Company]:
        if self._companies is None:
            body = self.client.call("360buy.get.vender.all.delivery.company", {"fields": "id,name,description"},
                                    what="carriers")
            self._companies = [carriers.Company(int(c["id"]), str(c.get("name") or c["id"]))
                               for c in body.get("delivery_companies") or []]
        return self._companies

    def push_shipment(self, shipment: ShipmentPush) -> ShipmentResult:
        """`jingdong.pop.order.shipment` once: JD takes one waybill for the whole order."""
        order_id, waybill = shipment.order_external_id, shipment.tracking_number
        where = self.where(f"shipment of order {order_id}")
        info = self._detail(order_id)
        external = f"{order_id}/{waybill}"
        if info.get("waybill") == waybill:
            return ShipmentResult(external, already_present=True)
        if info.get("orderState") != "WAIT_SELLER_STOCK_OUT":
            raise Rejected(where, f"JD ships an order once; order {order_id} is {info.get('orderState')}")
        if not shipment.complete:
            raise Rejected(where, "JD ships whole orders; this shipment leaves lines of the order unsent")
        company = carriers.resolve(shipment.carrier, self.companies())
        if company is None:
            raise Rejected(where, f"unknown carrier {shipment.carrier!r} for JD; use one of "
                                  f"{carriers.listing(self.companies())}")
        body = self.client.call("jingdong.pop.order.shipment",
                                {"orderId": order_id, "logiCoprId": company.id, "logiNo": waybill},
                                what=f"shipment of order {order_id}")
        result = body.get("sopjosshipment_result") or {}
        if result.get("success") is not True:
            raise Rejected(where, f"JD refused the shipment: {result.get('chineseErrCode') or 'no reason given'}")
        return ShipmentResult(external)
