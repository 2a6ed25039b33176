"""`KuaishouConnector`: the hub's connector for a 快手小店 (Kuaishou shop) over the signed open platform."""

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
from connectors.kuaishou import normalise, webhooks, writers
from connectors.kuaishou.client import DEFAULT_BASE_URL, KuaishouClient
from connectors.liveshop import options
from connectors.liveshop.journal import DeltaJournal
from connectors.liveshop.windows import millis, windowed_stream
from connectors.paging import Page, cursor_pages, numbered_pages
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult
from connectors.streams import Checkpoint, StreamOrder

ITEM_PAGE_MIN, ITEM_PAGE_MAX, ORDER_PAGE_MAX = 10, 100, 50
OLDEST = timedelta(days=90)  # the lists reach 90 days back at most


class KuaishouConnector(Connector):
    """A 快手小店: one stock location, one SKU per order, stock only by deltas (guarded, no platform id)."""

    platform: ClassVar[str] = "kuaishou"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.READ_CATALOG, Capability.READ_STOCK, Capability.READ_ORDERS, Capability.WRITE_STOCK,
        Capability.WRITE_SHIPMENTS, Capability.WEBHOOKS})
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("app_key", "the app's appkey (ks…)", required=True),
        OptionSpec("seller_id", "the shop's seller id (shown in the hub; not sent)"),
        OptionSpec("base_url", "open-platform URL (a simulator's, for testing)", default=DEFAULT_BASE_URL),
        OptionSpec("sign_method", "HMAC_SHA256 (recommended) or MD5", default="HMAC_SHA256"),
        OptionSpec("page_size", "records per page when reading (items 10-100, orders up to 50)", default="50"),
        OptionSpec("qps", "calls a second the hub makes to each API at most", default="50"),
        OptionSpec("window_hours", "hours of orders asked for per call (1-168)", default="24"),
        OptionSpec("refund_window_hours", "hours of refunds asked for per call (the platform allows 24, "
                                          "less during campaigns)", default="24"),
        OptionSpec("history_days", "days of orders read when there is no cursor yet (at most 90)", default="7"),
        OptionSpec("sign_secret", "the app's signSecret (signs every call)", required=True, secret=True),
        OptionSpec("access_token", "the shop's access token for this app", required=True, secret=True),
        OptionSpec("message_key", "the app's message key (decrypts pushes)", required=True, secret=True),
    )
    stock_batch_size: ClassVar[int] = 20
    stock_write_mode: ClassVar[StockWriteMode] = StockWriteMode.DELTA
    order_stream_order: ClassVar[StreamOrder] = StreamOrder.WINDOWED

    def __init__(self, account: AccountConfig, *, policy: HttpPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, budgets: Budgets | None = None) -> None:
        super().__init__(account, policy=policy, transport=transport, budgets=budgets)
        app_key, sign_method = account.option("app_key"), account.option("sign_method") or "HMAC_SHA256"
        if not app_key:
            raise Rejected(self.where(), "option 'app_key' is not set; see `marketsync account add kuaishou --help`")
        if sign_method not in ("HMAC_SHA256", "MD5"):
            raise Rejected(self.where(), f"option 'sign_method' must be HMAC_SHA256 or MD5, got {sign_method!r}")
        self.app_key, self.message_key = app_key, account.secret("message_key")
        self.page_size = options.integer(account, "page_size", 50, maximum=ITEM_PAGE_MAX)
        refund_span = options.number(account, "refund_window_hours", 24, minimum=0.1, maximum=24)
        self.span = timedelta(hours=min(options.number(account, "window_hours", 24, minimum=0.1, maximum=168),
                                        refund_span))
        self.history = timedelta(days=options.number(account, "history_days", 7, minimum=0, maximum=89))
        secret = account.secret("sign_secret")
        self.client = KuaishouClient(account.option("base_url") or DEFAULT_BASE_URL, app_key=app_key,
                                     sign_secret=secret, access_token=account.secret("access_token"),
                                     sign_method=sign_method, where=self.where(), policy=self.policy,
                                     budgets=self.budgets, transport=transport)
        fingerprint = hashlib.sha256(f"{app_key}:{secret}".encode()).hexdigest()[:16]
        self.journal = DeltaJournal(f"kuaishou:{account.name}:{fingerprint}", self.budgets)

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
            self.client.request("open.item.list.get", {"pageNumber": 1, "pageSize": ITEM_PAGE_MIN}, what="health check")
        except ConnectorError as exc:
            return Health(ok=False, detail=str(exc))
        return Health(ok=True, shop_name=self.account.option("seller_id") or self.app_key, currency="CNY")

    def currency(self) -> str:
        return "CNY"

    # ---- catalogue and stock -------------------------------------------------------------------
    def locations(self) -> Iterator[canonical.Location]:
        yield canonical.Location(external_id=normalise.LOCATION, name="快手小店 stock")

    def _items(self) -> Iterator[dict[str, Any]]:
        size = max(self.page_size, ITEM_PAGE_MIN)

        def fetch(page: int) -> Page[dict[str, Any]]:
            data = self.client.request("open.item.list.get", {"pageNumber": page, "pageSize": size},
                                       what=f"items page {page}") or {}
            return Page([i for i in data.get("items") or [] if isinstance(i, dict)],
                        total_pages=data.get("totalPage"))

        for page in numbered_pages(fetch, page_size=size, where=self.where("items"),
                                   key=lambda item: str(item.get("kwaiItemId"))):
            yield from page

    def _changed(self, item: Mapping[str, Any], since: datetime | None) -> bool:
        """The item list takes no time filter: an item counts as changed when it or a SKU of it did."""
        if since is None:
            return True
        stamps = [item.get("updateTime") or 0, *((s.get("updateTime") or 0) for s in item.get("skuList") or [])]
        return max(int(s) if str(s).isdigit() else 0 for s in stamps) >= millis(since)

    def listings(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Listing]:
        for item in self._items():
            if not self._changed(item, updated_since):
                continue
            for sku in item.get("skuList") or []:
                try:
                    yield normalise.listing(item, sku, account=self.account.name)
                except CanonicalError as err:
                    self.skip(err)

    def products(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product]:
        for item in self._items():
            if self._changed(item, updated_since):
                try:
                    yield normalise.product(item, account=self.account.name)
                except CanonicalError as err:
                    self.skip(err)

    def stock_levels(self, *, location_external_id: str | None = None) -> Iterator[canonical.StockLevel]:
        return levels_at_one_location(self.listings(), normalise.LOCATION, location_external_id)

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
        return writers.set_stock(self.client, self.journal, updates)

    # ---- orders --------------------------------------------------------------------------------
    def _order(self, raw: Mapping[str, Any]) -> canonical.Order:
        refunds = [self.client.request("open.seller.order.refund.detail", {"refundId": int(refund_id)},
                                       what=f"refund {refund_id}") or {} for refund_id in normalise.refund_ids(raw)]
        return normalise.order(raw, refunds, account=self.account.name)

    def _cursor(self, method: str, params: dict[str, Any], cursor_name: str, key: str,
                what: str) -> Iterator[dict[str, Any]]:
        def fetch(cursor: str | None) -> Page[dict[str, Any]]:
            data = self.client.request(method, {**params, cursor_name: cursor or ""}, what=what) or {}
            return Page([i for i in data.get(key) or [] if isinstance(i, dict)],
                        next_token=str(data.get(cursor_name) or "nomore"))

        for page in cursor_pages(fetch, where=self.where(what)):
            yield from page

    def _window(self, low: datetime, high: datetime) -> Iterator[canonical.Order]:
        bounds = {"beginTime": millis(low), "endTime": max(millis(high), millis(low) + 1)}
        seen: set[str] = set()
        orders = {**bounds, "orderViewStatus": 1, "pageSize": min(self.page_size, ORDER_PAGE_MAX), "queryType": 2,
                  "sort": 2}
        for raw in self._cursor("open.order.cursor.list", orders, "cursor", "orderList", "orders"):
            try:
                order = self._order(raw)
            except CanonicalError as err:
                self.skip(err)
                continue
            seen.add(order.external_id)
            yield order
        refunds = {**bounds, "type": 9, "pageSize": ITEM_PAGE_MAX, "currentPage": 1, "queryType": 2, "sort": 2}
        for item in self._cursor("open.seller.order.refund.pcursor.list", refunds, "pcursor",
                                 "refundOrderInfoList", "refunds"):
            order_id = str(item.get("oid") or "")
            if order_id and order_id not in seen:
                seen.add(order_id)
                try:
                    yield self.order(order_id)
                except CanonicalError as err:
                    self.skip(err)

    def order_stream(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order | Checkpoint]:
        """Orders and refunds changed since `updated_since`, window by window."""
        return windowed_stream(updated_since, span=self.span, history=self.history, fetch=self._window,
                               oldest=OLDEST)

    def order(self, external_id: str) -> canonical.Order:
        if not external_id.isdigit():
            raise Rejected(self.where(), f"{external_id!r} is not a 快手 order id (digits)")
        return self._order(self.client.request("open.order.detail", {"oid": int(external_id)},
                                               what=f"order {external_id}") or {})

    def push_shipment(self, shipment: ShipmentPush) -> ShipmentResult:
        return writers.push_shipment(self.client, shipment, where=self.where(f"order {shipment.order_external_id}"))

    # ---- pushes --------------------------------------------------------------------------------
    def verify_webhook(self, request: WebhookRequest) -> list[ChannelEvent]:
        return webhooks.verify(request.body, message_key=self.message_key, app_key=self.app_key,
                               where=self.where("push"))

    def webhook_reply(self, request: WebhookRequest, events: Sequence[ChannelEvent]) -> WebhookReply:
        return webhooks.REPLY

    def event_subject(self, event: ChannelEvent) -> EventSubject | None:
        return webhooks.subject(event)
