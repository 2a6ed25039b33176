"""`PddConnector`: the hub's connector for a 拼多多 mall over the PDD open platform (`/api/router`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar

import httpx

import canonical
from canonical import CanonicalError
from connectors.base import AccountConfig, Capability, Connector, Health, OptionSpec, ShipmentPush, ShipmentResult
from connectors.budget import DEFAULT_BUCKET, BucketSpec, Budgets
from connectors.errors import ConnectorError, Rejected
from connectors.http import HttpPolicy
from connectors.paging import Page, numbered_pages, pages_from_the_back, time_windows
from connectors.pinduoduo import carriers, normalise
from connectors.pinduoduo.client import GATEWAY, PddClient
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult
from connectors.streams import Checkpoint, StreamOrder

MAX_WINDOW = timedelta(minutes=30) - timedelta(seconds=1)  # PDD: ≤ 30 min; windows end on a ceil
CREATED_WINDOW = timedelta(days=7)
REFUNDING = (2, 3, 4)  # refund_status: 售后处理中, 退款中, 退款成功


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


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


class PddConnector(Connector):
    """A 拼多多 mall: SKUs by 商家编码, full stock writes per SKU (refusals kept with PDD's reason),
    orders by 30-minute update windows read from the back with a safety lag, online send."""

    platform: ClassVar[str] = "pinduoduo"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.READ_CATALOG, Capability.READ_STOCK, Capability.READ_ORDERS, Capability.WRITE_STOCK,
        Capability.WRITE_SHIPMENTS,
    })
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("client_id", "the app's client_id", required=True),
        OptionSpec("gateway", "PDD gateway URL", default=GATEWAY),
        OptionSpec("page_size", "goods and orders per page (1-100)", default="100"),
        OptionSpec("window_minutes", "minutes per order-increment window (PDD allows up to 30)", default="30"),
        OptionSpec("safety_lag_seconds", "orders updated this recently wait for the next poll (PDD advises 180)",
                   default="180"),
        OptionSpec("first_sync_hours", "how far back a read without a cursor goes", default="24"),
        OptionSpec("api_calls_per_second", "calls per second per API (PDD publishes no figure)", default="20"),
        OptionSpec("client_secret", "the app's client_secret", required=True, secret=True),
        OptionSpec("access_token", "the mall's access token", required=True, secret=True),
        OptionSpec("refresh_token", "the mall's refresh token (renews an expired access token)", secret=True),
    )
    stock_batch_size: ClassVar[int] = 20  # one call per SKU: PDD has no batch stock write
    stock_write_mode: ClassVar[StockWriteMode] = StockWriteMode.ABSOLUTE
    order_stream_order: ClassVar[StreamOrder] = StreamOrder.WINDOWED

    def __init__(self, account: AccountConfig, *, policy: HttpPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, budgets: Budgets | None = None) -> None:
        super().__init__(account, policy=policy, transport=transport, budgets=budgets)
        self.page_size = int(_number(account, "page_size", 100, low=1, high=100))
        self.window = min(timedelta(minutes=_number(account, "window_minutes", 30, low=1, high=30)), MAX_WINDOW)
        self.lag = timedelta(seconds=_number(account, "safety_lag_seconds", 180, low=0, high=3600))
        self.first_sync = timedelta(hours=_number(account, "first_sync_hours", 24, low=0, high=24 * 90))
        gateway = account.option("gateway") or GATEWAY
        self.client = PddClient(gateway=gateway, client_id=account.option("client_id") or "",
                                client_secret=account.secret("client_secret"),
                                access_token=account.secret("access_token"),
                                refresh_token=account.secrets.get("refresh_token"),
                                account_key=f"pinduoduo:{gateway}:{account.name}", where=self.where,
                                policy=self.policy, budgets=self.budgets, transport=transport)
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
            self.client.call("pdd.goods.list.get", {"page": 1, "page_size": 1}, what="account check")
        except ConnectorError as exc:
            return Health(ok=False, detail=str(exc))
        return Health(ok=True, shop_name=self.account.name, currency=normalise.CURRENCY)

    def currency(self) -> str:
        return normalise.CURRENCY

    # ---- catalogue -----------------------------------------------------------------------------
    def _goods(self, updated_since: datetime | None) -> Iterator[dict[str, Any]]:
        """All goods; with `updated_since`, the goods created since (PDD's list has no change-time filter)."""
        spans: list[dict[str, int]] = [{}]
        if updated_since is not None:
            now = whole_second(datetime.now(UTC), up=True)
            spans = [{"created_at_from": unix(low), "created_at_end": unix(high)}
                     for low, high in time_windows(whole_second(updated_since), now, CREATED_WINDOW)]
        for span in spans:
            def fetch(page: int, span: dict[str, int] = span) -> Page[dict[str, Any]]:
                body = self.client.call("pdd.goods.list.get", {"page": page, "page_size": self.page_size, **span},
                                        what="goods")
                return Page(body.get("goods_list") or [], total_items=int(body.get("total_count") or 0))
            for chunk in numbered_pages(fetch, page_size=self.page_size, where=self.where("goods"),
                                        key=lambda g: g["goods_id"]):
                yield from chunk

    def listings(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Listing]:
        for goods in self._goods(updated_since):
            for sku in goods.get("sku_list") or []:
                try:
                    yield normalise.listing(goods, sku, account=self.account.name)
                except CanonicalError as err:
                    self.skip(err)

    def products(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product]:
        for goods in self._goods(updated_since):
            try:
                yield normalise.product(goods, account=self.account.name)
            except CanonicalError as err:
                self.skip(err)

    def locations(self) -> Iterator[canonical.Location]:
        yield canonical.Location(external_id=normalise.LOCATION, name="拼多多库存")

    def stock_levels(self, *, location_external_id: str | None = None) -> Iterator[canonical.StockLevel]:
        if location_external_id not in (None, normalise.LOCATION):
            return
        for goods in self._goods(None):
            for sku in goods.get("sku_list") or []:
                try:
                    yield normalise.stock_level(sku, normalise.listing(goods, sku, account=self.account.name))
                except CanonicalError as err:
                    self.skip(err)

    # ---- orders --------------------------------------------------------------------------------
    def order_stream(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order | Checkpoint]:
        """Orders updated since `updated_since`, in ≤ 30-minute windows oldest first, each read from its last
        page back, ending `safety_lag_seconds` before now (PDD indexes late); a checkpoint per window."""
        safe = datetime.now(UTC) - self.lag
        start = whole_second(updated_since or safe - self.first_sync)
        for low, high in time_windows(start, whole_second(safe, up=True), self.window):
            seen: set[str] = set()
            for page in pages_from_the_back(partial(self._orders, low, high), page_size=self.page_size,
                                            where=self.where("orders")):
                for raw in page:
                    if str(raw.get("order_sn")) not in seen:
                        seen.add(str(raw.get("order_sn")))
                        yield from self._order_or_skip(raw)
            yield Checkpoint(min(high, whole_second(safe)))

    def _orders(self, low: datetime, high: datetime, page: int) -> Page[dict[str, Any]]:
        body = self.client.call("pdd.order.number.list.increment.get", {
            "start_updated_at": unix(low), "end_updated_at": unix(high), "order_status": 5, "refund_status": 5,
            "page": page, "page_size": self.page_size}, what=f"orders updated from {low:%Y-%m-%d %H:%M:%S} UTC")
        return Page(body.get("order_sn_list") or [], total_items=int(body.get("total_count") or 0))

    def _order_or_skip(self, raw: Mapping[str, Any]) -> Iterator[canonical.Order]:
        try:
            yield self._order(raw)
        except CanonicalError as err:
            self.skip(err)

    def _order(self, raw: Mapping[str, Any]) -> canonical.Order:
        refunds: list[canonical.Refund] = []
        if raw.get("refund_status") in REFUNDING:
            body = self.client.call("pdd.refund.list.increment.get", {"order_sn": raw.get("order_sn"), "page": 1,
                                                                     "page_size": 100},
                                    what=f"after-sales of order {raw.get('order_sn')}")
            shipped = raw.get("order_status") in (2, 3)
            refunds = [normalise.refund(r, shipped=shipped) for r in body.get("refund_list") or []
                       if r.get("after_sales_status") == normalise.REFUND_DONE]
        return normalise.order(raw, refunds, account=self.account.name)

    def order(self, external_id: str) -> canonical.Order:
        body = self.client.call("pdd.order.information.get", {"order_sn": external_id}, what=f"order {external_id}")
        return self._order(body.get("order_info") or {})

    # ---- writes --------------------------------------------------------------------------------
    def set_stock(self, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
        """`pdd.goods.quantity.update`, full (update_type 1), one SKU per call. A refusal — stock held by
        unpaid orders (预扣), a promotion slot (资源位) — is that update's result, with PDD's reason."""
        results = []
        for update in updates:
            params = {"goods_id": update.external_product_id, "sku_id": update.external_variant_id,
                      "quantity": update.quantity, "update_type": 1}
            try:
                self.client.call("pdd.goods.quantity.update", params,
                                 what=f"stock of sku {update.external_variant_id} (goods {update.external_product_id})")
            except Rejected as error:
                results.append(StockWriteResult.rejected(update.listing_ref, error.reason))
                continue
            results.append(StockWriteResult.applied(update.listing_ref, update.quantity))
        return results

    def companies(self) -> list[carriers.Company]:
        if self._companies is None:
            body = self.client.call("pdd.logistics.companies.get", {}, what="carriers")
            self._companies = [carriers.Company(int(c["id"]), str(c.get("code") or ""), str(c.get("logistics_company")))
                               for c in body.get("logistics_companies") or [] if c.get("available") == 1]
        return self._companies

    def push_shipment(self, shipment: ShipmentPush) -> ShipmentResult:
        """`pdd.logistics.online.send` once: PDD holds one waybill per order, for the whole order."""
        order_sn, waybill = shipment.order_external_id, shipment.tracking_number
        where = self.where(f"shipment of order {order_sn}")
        info = self.client.call("pdd.order.information.get", {"order_sn": order_sn},
                                what=f"order {order_sn}").get("order_info") or {}
        external = f"{order_sn}/{waybill}"
        if info.get("tracking_number") == waybill:
            return ShipmentResult(external, already_present=True)
        if info.get("order_status") != 1:
            raise Rejected(where, f"拼多多 holds one waybill per order and order {order_sn} is already sent with "
                                  f"{info.get('tracking_number')!r}")
        if not shipment.complete:
            raise Rejected(where, "拼多多 sends whole orders; this shipment leaves lines of the order unsent")
        company = carriers.resolve(shipment.carrier, self.companies())
        if company is None:
            raise Rejected(where, f"unknown carrier {shipment.carrier!r} for 拼多多; use one of "
                                  f"{carriers.listing(self.companies())}")
        self.client.call("pdd.logistics.online.send",
                         {"order_sn": order_sn, "logistics_id": company.id, "tracking_number": waybill},
                         what=f"shipment of order {order_sn}")
        return ShipmentResult(external)
