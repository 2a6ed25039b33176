"""`TaobaoConnector`: the hub's connector for a 淘宝/天猫 seller over TOP (`/router/rest`)."""

from __future__ import annotations

import json
import threading
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
from connectors.events import ChannelEvent, EventSubject, SubjectKind
from connectors.http import HttpPolicy
from connectors.paging import Page, numbered_pages, pages_from_the_back, time_windows
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult
from connectors.streams import Checkpoint, StreamOrder
from connectors.taobao import carriers, normalise, writers
from connectors.taobao.client import APP_BUCKET, GATEWAY, TopClient, top_time

ITEM_FIELDS = "num_iid,title,outer_id,modified,approve_status,nick"
SKU_FIELDS = "sku_id,num_iid,outer_id,properties_name,quantity,price,barcode,modified"
TRADE_FIELDS = "tid,status,created,modified,payment,buyer_open_uid,receiver_name,orders"
REFUND_FIELDS = "refund_id,tid,oid,num,refund_fee,status,created,modified,has_good_return,good_status,reason"
MAX_WINDOW = timedelta(days=1) - timedelta(seconds=1)  # TOP: end - start <= 1 day; windows end on a ceil
_permitted: set[str] = set()
_permit_lock = threading.Lock()


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


class TaobaoConnector(Connector):
    """A Taobao/Tmall seller: SKUs by 商家编码, full stock writes (batched per item), trades by
    modified-time windows read from the back, offline send, and TMC messages pulled and confirmed."""

    platform: ClassVar[str] = "taobao"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.READ_CATALOG, Capability.READ_STOCK, Capability.READ_ORDERS, Capability.WRITE_STOCK,
        Capability.WRITE_SHIPMENTS, Capability.PULL_EVENTS,
    })
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("app_key", "the app's AppKey (开放平台 → 应用管理)", required=True),
        OptionSpec("gateway", "TOP gateway URL", default=GATEWAY),
        OptionSpec("sign_method", "md5, hmac or hmac-sha256", default="md5"),
        OptionSpec("page_size", "items and trades per page (1-40)", default="40"),
        OptionSpec("window_minutes", "minutes per trade-increment window (TOP allows up to a day; advises 30)",
                   default="30"),
        OptionSpec("safety_lag_seconds", "trades modified this recently wait for the next poll", default="60"),
        OptionSpec("first_sync_hours", "how far back a read without a cursor goes", default="24"),
        OptionSpec("api_calls_per_second", "calls per second per API (TOP publishes no figure)", default="20"),
        OptionSpec("app_calls_per_second", "calls per second for the whole app", default="80"),
        OptionSpec("app_secret", "the app's AppSecret", required=True, secret=True),
        OptionSpec("session", "the seller's session key (access token from the authorisation)", required=True,
                   secret=True),
    )
    stock_batch_size: ClassVar[int] = writers.BATCH_LIMIT
    stock_write_mode: ClassVar[StockWriteMode] = StockWriteMode.ABSOLUTE
    order_stream_order: ClassVar[StreamOrder] = StreamOrder.WINDOWED

    def __init__(self, account: AccountConfig, *, policy: HttpPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, budgets: Budgets | None = None) -> None:
        super().__init__(account, policy=policy, transport=transport, budgets=budgets)
        self.page_size = int(_number(account, "page_size", 40, low=1, high=40))
        self.window = min(timedelta(minutes=_number(account, "window_minutes", 30, low=1, high=1440)), MAX_WINDOW)
        self.lag = timedelta(seconds=_number(account, "safety_lag_seconds", 60, low=0, high=3600))
        self.first_sync = timedelta(hours=_number(account, "first_sync_hours", 24, low=0, high=24 * 90))
        self.client = TopClient(gateway=account.option("gateway") or GATEWAY, app_key=account.option("app_key") or "",
                                app_secret=account.secret("app_secret"), session=account.secret("session"),
                                sign_method=account.option("sign_method") or "md5", where=self.where,
                                policy=self.policy, budgets=self.budgets, transport=transport)
        self._companies: list[carriers.Company] | None = None

    def bucket_specs(self) -> Mapping[str, BucketSpec]:
        api = _number(self.account, "api_calls_per_second", 20, low=0.1, high=10_000)
        app = _number(self.account, "app_calls_per_second", 80, low=0.1, high=100_000)
        return {DEFAULT_BUCKET: BucketSpec(maximum=api, restore_rate=api), APP_BUCKET: BucketSpec(app, app)}

    def close(self) -> None:
        self.client.close()

    @property
    def calls(self) -> int:
        return self.client.requests

    def health(self) -> Health:
        try:
            body = self.client.call("taobao.items.onsale.get", {"fields": "num_iid,nick", "page_size": 1},
                                    what="account check")
        except ConnectorError as exc:
            return Health(ok=False, detail=str(exc))
        items = (body.get("items") or {}).get("item", [])
        return Health(ok=True, shop_name=str(items[0].get("nick", "")) if items else "", currency=normalise.CURRENCY)

    def currency(self) -> str:
        return normalise.CURRENCY

    # ---- catalogue -----------------------------------------------------------------------------
    def _item_pages(self, updated_since: datetime | None) -> Iterator[Sequence[dict[str, Any]]]:
        since = {"start_modified": top_time(whole_second(updated_since)),
                 "end_modified": top_time(whole_second(datetime.now(UTC), up=True) + timedelta(seconds=1))
                 } if updated_since else {}

        def fetch(page_no: int) -> Page[dict[str, Any]]:
            body = self.client.call("taobao.items.onsale.get", {"fields": ITEM_FIELDS, "page_no": page_no,
                                                                 "page_size": self.page_size, **since}, what="items")
            return Page((body.get("items") or {}).get("item", []), total_items=int(body.get("total_results") or 0))
        return numbered_pages(fetch, page_size=self.page_size, where=self.where("items"), key=lambda i: i["num_iid"])

    def _with_skus(self, updated_since: datetime | None) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        for page in self._item_pages(updated_since):
            ids = ",".join(str(item["num_iid"]) for item in page)
            body = self.client.call("taobao.item.skus.get", {"fields": SKU_FIELDS, "num_iids": ids},
                                    what=f"skus of items {ids}")
            skus: dict[str, list[dict[str, Any]]] = {}
            for sku in (body.get("skus") or {}).get("sku", []):
                skus.setdefault(str(sku.get("num_iid")), []).append(sku)
            for item in page:
                yield item, skus.get(str(item["num_iid"]), [])

    def listings(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Listing]:
        for item, skus in self._with_skus(updated_since):
            for sku in skus:
                try:
                    yield normalise.listing(item, sku, account=self.account.name)
                except CanonicalError as err:
                    self.skip(err)

    def products(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product]:
        for item, skus in self._with_skus(updated_since):
            try:
                yield normalise.product(item, skus, account=self.account.name)
            except CanonicalError as err:
                self.skip(err)

    def locations(self) -> Iterator[canonical.Location]:
        yield canonical.Location(external_id=normalise.LOCATION, name="淘宝库存")

    def stock_levels(self, *, location_external_id: str | None = None) -> Iterator[canonical.StockLevel]:
        return levels_at_one_location(self.listings(), normalise.LOCATION, location_external_id, unknown_as_zero=True)

    # ---- orders --------------------------------------------------------------------------------
    def order_stream(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order | Checkpoint]:
        """Trades modified since `updated_since` in windows walked oldest first; each window's pages are
        read from the back (TOP lists newest first), and a checkpoint follows every window."""
        safe = datetime.now(UTC) - self.lag
        start = whole_second(updated_since or safe - self.first_sync)
        end = whole_second(safe, up=True)
        for low, high in time_windows(start, end, self.window):
            seen: set[str] = set()
            fetch = partial(self._trades, low, high)
            for page in pages_from_the_back(fetch, page_size=self.page_size, where=self.where("trades")):
                for trade in page:
                    if str(trade.get("tid")) not in seen:
                        seen.add(str(trade.get("tid")))
                        yield from self._order_or_skip(trade)
            yield Checkpoint(min(high, whole_second(safe)))

    def _trades(self, low: datetime, high: datetime, page_no: int) -> Page[dict[str, Any]]:
        body = self.client.call("taobao.trades.sold.increment.get", {
            "fields": TRADE_FIELDS, "start_modified": top_time(low), "end_modified": top_time(high),
            "page_no": page_no, "page_size": self.page_size}, what=f"trades modified from {top_time(low)}")
        return Page((body.get("trades") or {}).get("trade", []), total_items=int(body.get("total_results") or 0))

    def _order_or_skip(self, trade: Mapping[str, Any]) -> Iterator[canonical.Order]:
        try:
            yield self._order(trade)
        except CanonicalError as err:
            self.skip(err)

    def _order(self, trade: Mapping[str, Any]) -> canonical.Order:
        refunds = []
        for sub in (trade.get("orders") or {}).get("order", []):
            if sub.get("refund_id") and sub.get("refund_status") not in (None, "NO_REFUND"):
                raw = self.client.call("taobao.refund.get", {"fields": REFUND_FIELDS, "refund_id": sub["refund_id"]},
                                       what=f"refund {sub['refund_id']}").get("refund") or {}
                if raw.get("status") == "SUCCESS":
                    refunds.append(normalise.refund(raw, shipped=bool(sub.get("invoice_no"))))
        return normalise.order(trade, refunds, account=self.account.name)

    def order(self, external_id: str) -> canonical.Order:
        body = self.client.call("taobao.trade.fullinfo.get", {"fields": TRADE_FIELDS, "tid": external_id},
                                what=f"trade {external_id}")
        return self._order(body.get("trade") or {})

    # ---- writes --------------------------------------------------------------------------------
    def set_stock(self, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
        return writers.set_stock(self.client, updates)

    def companies(self) -> list[carriers.Company]:
        if self._companies is None:
            body = self.client.call("taobao.logistics.companies.get", {"fields": "id,code,name"}, what="carriers")
            self._companies = [carriers.Company(str(c["code"]), str(c.get("name") or c["code"]))
                               for c in (body.get("logistics_companies") or {}).get("logistics_company", [])]
        return self._companies

    def push_shipment(self, shipment: ShipmentPush) -> ShipmentResult:
        """`taobao.logistics.offline.send` once per waybill; sub-orders already under it count as sent."""
        tid, waybill = shipment.order_external_id, shipment.tracking_number
        where = self.where(f"shipment of trade {tid}")
        trade = self.client.call("taobao.trade.fullinfo.get", {"fields": "tid,status,orders", "tid": tid},
                                 what=f"trade {tid}").get("trade") or {}
        subs = {str(o["oid"]): o for o in (trade.get("orders") or {}).get("order", [])}
        external = f"{tid}/{waybill}"
        if any(o.get("invoice_no") == waybill for o in subs.values()):
            return ShipmentResult(external, already_present=True)
        company = carriers.resolve(shipment.carrier, self.companies())
        if company is None:
            raise Rejected(where, f"unknown carrier {shipment.carrier!r} for Taobao; use one of "
                                  f"{carriers.listing(self.companies())}")
        for oid, quantity in shipment.lines:
            sub = subs.get(str(oid))
            if sub is None or int(sub.get("num") or 0) != quantity:
                raise Rejected(where, f"Taobao sends whole sub-orders: line {oid} holds "
                                      f"{sub.get('num') if sub else 'nothing'}, the shipment {quantity}")
        unsent = {oid for oid, o in subs.items() if not o.get("invoice_no") and o.get("status") not in normalise.CLOSED}
        chosen = {str(oid) for oid, _ in shipment.lines}
        params: dict[str, Any] = {"tid": tid, "out_sid": waybill, "company_code": company.code}
        if chosen != unsent:
            params.update({"is_split": 1, "sub_tid": ",".join(sorted(chosen))})
        self.client.call("taobao.logistics.offline.send", params, what=f"shipment of trade {tid}")
        return ShipmentResult(external)

    # ---- TMC -----------------------------------------------------------------------------------
    def _permit(self) -> None:
        key = f"{self.account.option('gateway')}|{self.account.option('app_key')}|{self.account.name}"
        with _permit_lock:
            if key in _permitted:
                return
        self.client.call("taobao.tmc.user.permit", {}, what="TMC permit")
        with _permit_lock:
            _permitted.add(key)

    def consume_events(self, limit: int = 100) -> list[ChannelEvent]:
        self._permit()
        body = self.client.call("taobao.tmc.messages.consume", {"quantity": min(max(limit, 10), 200)},
                                what="TMC messages")
        events = []
        for message in (body.get("messages") or {}).get("tmc_message", []):
            try:
                content = json.loads(message.get("content") or "{}")
            except ValueError:
                content = {}
            payload = content if isinstance(content, dict) else {}
            events.append(ChannelEvent(f"tmc:{message['id']}", str(message.get("topic") or ""), payload,
                                       receipt=str(message["id"])))
        return events

    def confirm_events(self, events: Sequence[ChannelEvent]) -> None:
        receipts = [e.receipt for e in events if e.receipt]
        for start in range(0, len(receipts), 200):
            self.client.call("taobao.tmc.messages.confirm", {"s_message_ids": ",".join(receipts[start:start + 200])},
                             what="TMC confirm")

    def event_subject(self, event: ChannelEvent) -> EventSubject | None:
        tid = event.payload.get("tid")
        if event.topic.startswith("taobao_trade_") and tid:
            return EventSubject(SubjectKind.ORDER, str(tid))
        if event.topic.startswith("taobao_refund_") and event.payload.get("refund_id") and tid:
            return EventSubject(SubjectKind.REFUND, str(event.payload["refund_id"]), order_reference=str(tid))
        return None
