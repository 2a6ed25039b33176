"""`DouyinConnector`: the hub's connector for a 抖店 (Douyin shop) over the signed open-platform gateway."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
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
from connectors.douyin import normalise, webhooks, writers
from connectors.douyin.client import DEFAULT_BASE_URL, DouyinClient
from connectors.errors import ConnectorError, Rejected
from connectors.events import ChannelEvent, EventSubject, WebhookReply, WebhookRequest
from connectors.http import HttpPolicy
from connectors.liveshop import options
from connectors.liveshop.windows import seconds, windowed_stream
from connectors.paging import Page, numbered_pages
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult
from connectors.streams import Checkpoint, StreamOrder

DEEP_PAGING_LIMIT = 10_000  # product.listV2: page x size <= 10,000


class DouyinConnector(Connector):
    """A 抖店: one stock location, SKUs by merchant code, incremental stock under idempotency ids."""

    platform: ClassVar[str] = "douyin"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.READ_CATALOG, Capability.READ_STOCK, Capability.READ_ORDERS, Capability.WRITE_STOCK,
        Capability.WRITE_SHIPMENTS, Capability.WEBHOOKS})
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("app_key", "the app's app_key (19 digits)", required=True),
        OptionSpec("shop_id", "the shop's id (shown in the hub; not sent)"),
        OptionSpec("base_url", "gateway URL (a simulator's, for testing)", default=DEFAULT_BASE_URL),
        OptionSpec("page_size", "records per page when reading (1-100)", default="100"),
        OptionSpec("qps", "calls a second the hub makes to each API at most", default="50"),
        OptionSpec("window_hours", "hours of orders and after-sales asked for per call (1-168)", default="24"),
        OptionSpec("history_days", "days of orders read when there is no cursor yet", default="7"),
        OptionSpec("app_secret", "the app's app_secret (signs every call and push)", required=True, secret=True),
        OptionSpec("access_token", "the shop's access_token for this app", required=True, secret=True),
    )
    stock_batch_size: ClassVar[int] = 20
    stock_write_mode: ClassVar[StockWriteMode] = StockWriteMode.DELTA
    order_stream_order: ClassVar[StreamOrder] = StreamOrder.WINDOWED

    def __init__(self, account: AccountConfig, *, policy: HttpPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, budgets: Budgets | None = None) -> None:
        super().__init__(account, policy=policy, transport=transport, budgets=budgets)
        app_key = account.option("app_key")
        if not app_key:
            raise Rejected(self.where(), "option 'app_key' is not set; see `marketsync account add douyin --help`")
        self.app_key, self.app_secret = app_key, account.secret("app_secret")
        self.page_size = options.integer(account, "page_size", 100, maximum=100)
        self.span = timedelta(hours=options.number(account, "window_hours", 24, minimum=1, maximum=168))
        self.history = timedelta(days=options.number(account, "history_days", 7, minimum=0, maximum=90))
        self.client = DouyinClient(account.option("base_url") or DEFAULT_BASE_URL, app_key=app_key,
                                   app_secret=self.app_secret, access_token=account.secret("access_token"),
                                   where=self.where(), policy=self.policy, budgets=self.budgets, transport=transport)

    def bucket_specs(self) -> Mapping[str, BucketSpec]:
        qps = options.number(self.account, "qps", 50, minimum=0.1)
        return {DEFAULT_BUCKET: BucketSpec(maximum=qps, restore_rate=qps)}

    @property
    def calls(self) -> int:
        return self.client.calls

    def close(self) -> None:
        self.client.close()

    def health(self) -> Health:
        try:
            self.client.request("product.listV2", {"page": 1, "size": 1}, what="health check")
        except ConnectorError as exc:
            return Health(ok=False, detail=str(exc))
        return Health(ok=True, shop_name=self.account.option("shop_id") or self.app_key, currency="CNY")

    def currency(self) -> str:
        return "CNY"

    # ---- catalogue and stock -------------------------------------------------------------------
    def locations(self) -> Iterator[canonical.Location]:
        yield canonical.Location(external_id=normalise.LOCATION, name="抖店 stock")

    def _products_raw(self, start: int | None, end: int | None) -> Iterator[dict[str, Any]]:
        window = {k: v for k, v in (("update_start_time", start), ("update_end_time", end)) if v is not None}

        def fetch(page: int) -> Page[dict[str, Any]]:
            data = self.client.request("product.listV2", {"page": page, "size": self.page_size, **window},
                                       what=f"products page {page}") or {}
            return Page([p for p in data.get("data") or [] if isinstance(p, dict)],
                        total_items=min(int(data.get("total") or 0), DEEP_PAGING_LIMIT))

        head = fetch(1)
        low, high = start or 0, end or seconds(datetime.now(UTC))
        if (head.total_items or 0) >= DEEP_PAGING_LIMIT and high - low > 1:
            middle = (low + high) // 2  # more than page x size can reach: read each half of the time range
            yield from self._products_raw(low, middle)
            yield from self._products_raw(middle + 1, high)
            return
        for page in numbered_pages(lambda n: head if n == 1 else fetch(n), page_size=self.page_size,
                                   where=self.where("products"), key=lambda p: str(p.get("product_id"))):
            yield from page

    def _since(self, updated_since: datetime | None) -> int | None:
        return seconds(updated_since) if updated_since is not None else None

    def _skus(self, product_id: Any) -> list[dict[str, Any]]:
        data = self.client.request("sku.list", {"product_id": int(product_id)}, what=f"skus of product {product_id}")
        return [s for s in data or [] if isinstance(s, dict)]

    def listings(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Listing]:
        for raw in self._products_raw(self._since(updated_since), None):
            for sku in self._skus(raw.get("product_id")):
                try:
                    yield normalise.listing(raw, sku, account=self.account.name)
                except CanonicalError as err:
                    self.skip(err)

    def products(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product]:
        for raw in self._products_raw(self._since(updated_since), None):
            try:
                yield normalise.product(raw, self._skus(raw.get("product_id")), account=self.account.name)
            except CanonicalError as err:
                self.skip(err)

    def stock_levels(self, *, location_external_id: str | None = None) -> Iterator[canonical.StockLevel]:
        return levels_at_one_location(self.listings(), normalise.LOCATION, location_external_id)

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
        return writers.set_stock(self.client, updates)

    # ---- orders --------------------------------------------------------------------------------
    def _aftersales(self, order_id: str) -> list[dict[str, Any]]:
        data = self.client.request("afterSale.List", {"order_id": order_id, "page": 0, "size": 100},
                                   what=f"after-sales of order {order_id}") or {}
        return [item for item in data.get("items") or [] if isinstance(item, dict)]

    def _order(self, raw: Mapping[str, Any]) -> canonical.Order:
        aftersales = self._aftersales(str(raw.get("order_id"))) if normalise.needs_aftersales(raw) else []
        return normalise.order(raw, aftersales, account=self.account.name)

    def _pages(self, method: str, params: dict[str, Any], key: str, what: str) -> Iterator[dict[str, Any]]:
        def fetch(page: int) -> Page[dict[str, Any]]:
            data = self.client.request(method, {**params, "page": page, "size": self.page_size},
                                       what=f"{what} page {page}") or {}
            return Page([i for i in data.get(key) or [] if isinstance(i, dict)], total_items=data.get("total"))

        for page in numbered_pages(fetch, page_size=self.page_size, where=self.where(what), first=0):
            yield from page

    def _window(self, low: datetime, high: datetime) -> Iterator[canonical.Order]:
        bounds = {"update_time_start": seconds(low), "update_time_end": seconds(high)}
        seen: set[str] = set()
        for raw in self._pages("order.searchList", {**bounds, "order_by": "update_time", "order_asc": True},
                               "shop_order_list", "orders"):
            try:
                order = self._order(raw)
            except CanonicalError as err:
                self.skip(err)
                continue
            seen.add(order.external_id)
            yield order
        aftersale_bounds = {"update_start_time": seconds(low), "update_end_time": seconds(high)}
        for item in self._pages("afterSale.List", aftersale_bounds, "items", "after-sales"):
            order_id = str((item.get("order_info") or {}).get("shop_order_id") or "")
            if order_id and order_id not in seen:
                seen.add(order_id)
                try:
                    yield self.order(order_id)
                except CanonicalError as err:
                    self.skip(err)

    def order_stream(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order | Checkpoint]:
        """Orders and after-sales changed since `updated_since`, window by window (≤ `window_hours`)."""
        return windowed_stream(updated_since, span=self.span, history=self.history, fetch=self._window)

    def order(self, external_id: str) -> canonical.Order:
        data = self.client.request("order.orderDetail", {"shop_order_id": external_id}, what=f"order {external_id}")
        return self._order((data or {}).get("shop_order_detail") or {})

    def push_shipment(self, shipment: ShipmentPush) -> ShipmentResult:
        return writers.push_shipment(self.client, shipment, where=self.where(f"order {shipment.order_external_id}"))

    # ---- pushes --------------------------------------------------------------------------------
    def verify_webhook(self, request: WebhookRequest) -> list[ChannelEvent]:
        return webhooks.verify(request.headers, request.body, app_key=self.app_key, app_secret=self.app_secret,
                               where=self.where("push"))

    def webhook_reply(self, request: WebhookRequest, events: Sequence[ChannelEvent]) -> WebhookReply:
        return webhooks.REPLY

    def event_subject(self, event: ChannelEvent) -> EventSubject | None:
        return webhooks.subject(event)
