"""`WechatConnector`: the hub's connector for a 微信小店 (WeChat shop) over the channels/ec API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
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
from connectors.events import ChannelEvent, EventSubject, WebhookReply, WebhookRequest
from connectors.http import HttpPolicy
from connectors.liveshop import options
from connectors.liveshop.journal import DeltaJournal
from connectors.liveshop.windows import seconds, windowed_stream
from connectors.paging import Page, cursor_pages
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult
from connectors.streams import Checkpoint, StreamOrder
from connectors.wechat import normalise, webhooks, writers
from connectors.wechat.client import DEFAULT_BASE_URL, WechatClient

PRODUCT_PAGE_MAX, ORDER_PAGE_MAX = 30, 100


class WechatConnector(Connector):
    """A 微信小店: one stock location, lines by product and SKU, stock by guarded deltas."""

    platform: ClassVar[str] = "wechat"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.READ_CATALOG, Capability.READ_STOCK, Capability.READ_ORDERS, Capability.WRITE_STOCK,
        Capability.WRITE_SHIPMENTS, Capability.WEBHOOKS})
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("appid", "the shop's appid (wx…)", required=True),
        OptionSpec("base_url", "API URL (a simulator's, for testing)", default=DEFAULT_BASE_URL),
        OptionSpec("push_mode", "message-push mode set in the console: aes (safe mode) or plain", default="aes"),
        OptionSpec("page_size", "records per page when reading (products up to 30, orders up to 100)", default="30"),
        OptionSpec("per_minute", "calls a minute the hub makes to each API at most", default="600"),
        OptionSpec("sku_updates_per_second", "stock updates a second per SKU at most", default="2"),
        OptionSpec("window_hours", "hours of orders and after-sales asked for per call (1-24)", default="24"),
        OptionSpec("history_days", "days of orders read when there is no cursor yet", default="7"),
        OptionSpec("push_max_age_s", "oldest push timestamp accepted, in seconds", default="300"),
        OptionSpec("app_secret", "the shop's AppSecret (fetches access tokens)", required=True, secret=True),
        OptionSpec("push_token", "the Token set for message push (signs pushes)", required=True, secret=True),
        OptionSpec("encoding_aes_key", "the EncodingAESKey set for message push (safe mode)", secret=True),
    )
    stock_batch_size: ClassVar[int] = 50
    stock_write_mode: ClassVar[StockWriteMode] = StockWriteMode.DELTA
    # Stock rolls back only for orders cancelled before payment (and unclaimed gifts): a paid
    # order's cancel, refund or return leaves the count as it is (stock_update doc).
    restocks_paid_orders: ClassVar[bool] = False
    order_stream_order: ClassVar[StreamOrder] = StreamOrder.WINDOWED

    def __init__(self, account: AccountConfig, *, policy: HttpPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, budgets: Budgets | None = None) -> None:
        super().__init__(account, policy=policy, transport=transport, budgets=budgets)
        appid, mode = account.option("appid"), account.option("push_mode") or "aes"
        if not appid:
            raise Rejected(self.where(), "option 'appid' is not set; see `marketsync account add wechat --help`")
        if mode not in ("aes", "plain"):
            raise Rejected(self.where(), f"option 'push_mode' must be aes or plain, got {mode!r}")
        self.appid, self.mode = appid, mode
        self.page_size = options.integer(account, "page_size", 30, maximum=ORDER_PAGE_MAX)
        self.span = timedelta(hours=options.number(account, "window_hours", 24, minimum=0.1, maximum=24))
        self.history = timedelta(days=options.number(account, "history_days", 7, minimum=0, maximum=90))
        self.max_age = options.number(account, "push_max_age_s", 300, minimum=1)
        secret = account.secret("app_secret")
        fingerprint = hashlib.sha256(f"{appid}:{secret}".encode()).hexdigest()[:16]
        self.client = WechatClient(account.option("base_url") or DEFAULT_BASE_URL, appid=appid, secret=secret,
                                   where=self.where(), policy=self.policy, budgets=self.budgets,
                                   token_key=f"wechat:{account.name}:{fingerprint}", transport=transport)
        self.journal = DeltaJournal(f"wechat:{account.name}:{fingerprint}", self.budgets)

    def bucket_specs(self) -> Mapping[str, BucketSpec]:
        per_minute = options.number(self.account, "per_minute", 600, minimum=1)
        return {DEFAULT_BUCKET: BucketSpec(maximum=max(per_minute / 60, 1), restore_rate=per_minute / 60)}

    def _sku_spec(self) -> BucketSpec:
        rate = options.number(self.account, "sku_updates_per_second", 2, minimum=0.1)
        return BucketSpec(maximum=max(rate, 1), restore_rate=rate)

    @property
    def calls(self) -> int:
        return self.client.calls

    def close(self) -> None:
        self.client.close()

    def health(self) -> Health:
        try:
            self.client.request("product/list/get", {"page_size": 1}, what="health check")
        except ConnectorError as exc:
            return Health(ok=False, detail=str(exc))
        return Health(ok=True, shop_name=self.appid, currency="CNY")

    def currency(self) -> str:
        return "CNY"

    # ---- catalogue and stock -------------------------------------------------------------------
    def locations(self) -> Iterator[canonical.Location]:
        yield canonical.Location(external_id=normalise.LOCATION, name="微信小店 stock")

    def _products(self, updated_since: datetime | None) -> Iterator[dict[str, Any]]:
        size = min(self.page_size, PRODUCT_PAGE_MAX)

        def fetch(next_key: str | None) -> Page[str]:
            answer = self.client.request("product/list/get", {"page_size": size, "next_key": next_key or ""},
                                         what="products")
            ids = [str(pid) for pid in answer.get("product_ids") or []]
            return Page(ids, next_token=str(answer.get("next_key") or ""), has_more=bool(ids) and len(ids) >= size)

        since = seconds(updated_since) if updated_since is not None else None
        for page in cursor_pages(fetch, where=self.where("products")):
            for product_id in page:
                raw = self.client.request("product/get", {"product_id": product_id}, what=f"product {product_id}"
                                          ).get("product") or {}
                if since is None or int(raw.get("update_time") or 0) >= since:
                    yield raw

    def listings(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Listing]:
        for raw in self._products(updated_since):
            for sku in raw.get("skus") or []:
                try:
                    yield normalise.listing(raw, sku, account=self.account.name)
                except CanonicalError as err:
                    self.skip(err)

    def products(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product]:
        for raw in self._products(updated_since):
            try:
                yield normalise.product(raw, account=self.account.name)
            except CanonicalError as err:
                self.skip(err)

    def stock_levels(self, *, location_external_id: str | None = None) -> Iterator[canonical.StockLevel]:
        return levels_at_one_location(self.listings(), normalise.LOCATION, location_external_id)

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
        self.budgets.specs.update({writers.sku_bucket(u.external_variant_id): self._sku_spec() for u in updates})
        return writers.set_stock(self.client, self.journal, updates)

    # ---- orders --------------------------------------------------------------------------------
    def _aftersale(self, aftersale_id: str) -> dict[str, Any]:
        return self.client.request("aftersale/getaftersaleorder", {"after_sale_order_id": aftersale_id},
                                   what=f"after-sale {aftersale_id}").get("after_sale_order") or {}

    def order(self, external_id: str) -> canonical.Order:
        answer = self.client.request("order/get", {"order_id": external_id}, what=f"order {external_id}")
        raw = answer.get("order") or {}
        aftersales = [self._aftersale(a) for a in normalise.aftersale_ids(raw)]
        return normalise.order(raw, aftersales, account=self.account.name)

    def _ids(self, path: str, body: dict[str, Any], key: str, what: str) -> Iterator[str]:
        def fetch(next_key: str | None) -> Page[str]:
            answer = self.client.request(path, {**body, "next_key": next_key or ""}, what=what)
            return Page([str(i) for i in answer.get(key) or []], next_token=str(answer.get("next_key") or ""),
                        has_more=bool(answer.get("has_more")))

        for page in cursor_pages(fetch, where=self.where(what)):
            yield from page

    def _window(self, low: datetime, high: datetime) -> Iterator[canonical.Order]:
        seen: set[str] = set()
        window = {"update_time_range": {"start_time": seconds(low), "end_time": seconds(high)},
                  "page_size": min(self.page_size, ORDER_PAGE_MAX)}
        aftersales = {"begin_update_time": seconds(low), "end_update_time": seconds(high)}
        order_ids = self._ids("order/list/get", window, "order_id_list", "orders")
        touched = (str(self._aftersale(a).get("order_id") or "") for a in self._ids(
            "aftersale/getaftersalelist", aftersales, "after_sale_order_id_list", "after-sales"))
        for order_id in (*order_ids, *touched):
            if order_id and order_id not in seen:
                seen.add(order_id)
                try:
                    yield self.order(order_id)
                except CanonicalError as err:
                    self.skip(err)

    def order_stream(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order | Checkpoint]:
        """Orders and after-sales changed since `updated_since`, window by window (≤ 24 h)."""
        return windowed_stream(updated_since, span=self.span, history=self.history, fetch=self._window)

    def push_shipment(self, shipment: ShipmentPush) -> ShipmentResult:
        return writers.push_shipment(self.client, shipment, where=self.where(f"order {shipment.order_external_id}"))

    # ---- pushes --------------------------------------------------------------------------------
    def verify_webhook(self, request: WebhookRequest) -> list[ChannelEvent]:
        key = self.account.secrets.get("encoding_aes_key") or ""
        if self.mode == "aes" and not key:
            raise Rejected(self.where(), "push_mode is aes but the secret 'encoding_aes_key' is not set")
        return webhooks.verify(request, token=self.account.secret("push_token"), appid=self.appid,
                               encoding_aes_key=key, mode=self.mode, max_age=self.max_age, where=self.where("push"))

    def webhook_reply(self, request: WebhookRequest, events: Sequence[ChannelEvent]) -> WebhookReply:
        return webhooks.reply(request)

    def event_subject(self, event: ChannelEvent) -> EventSubject | None:
        return webhooks.subject(event)
