"""The Bazaar connector, written only against the connector contract (`connectors.*`).

Signed RPC through `connectors.auth.SignedParameters`; errors inside HTTP 200 bodies mapped with
an `ErrorTable`; stock as deltas under the engine's idempotency id, answered `submitted` with the
platform's task id and confirmed by `stock_write_status`; orders in windows of at most an hour,
each read from the back (`pages_from_the_back`: the platform lists newest first).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

import canonical
from canonical import CanonicalError, Money, OrderStatus
from connectors.auth import SignedParameters, hmac_hex, sorted_query
from connectors.base import Capability, Connector, Health, OptionSpec, ShipmentPush, ShipmentResult
from connectors.errors import AuthFailed, ConnectorError, Rejected
from connectors.http import ErrorTable, Outcome, call, make_client, raise_for_code
from connectors.paging import Page, numbered_pages, pages_from_the_back, time_windows
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult, SubmittedWrite
from connectors.streams import Checkpoint, StreamOrder

CURRENCY = "EUR"
LOCATION = "bazaar"
ERRORS: ErrorTable = {"RATE": Outcome.RATE_LIMITED, "BUSY": Outcome.TRANSIENT, "SIGN": Outcome.AUTH_FAILED}
STATES = {"paid": OrderStatus.OPEN, "shipped": OrderStatus.COMPLETED, "cancelled": OrderStatus.CANCELLED}
CARRIERS = {"sf": "sf-express", "sf express": "sf-express", "顺丰": "sf-express", "顺丰速运": "sf-express",
            "dhl": "dhl", "ups": "ups"}


def moment(value: Any, source: str, field: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError):
        raise CanonicalError(source, field, f"is not a UNIX time, got {value!r:.40}") from None


def money(value: Any, source: str, field: str) -> Money:
    try:
        return Money.parse(str(value), CURRENCY)
    except (ValueError, ArithmeticError):
        raise CanonicalError(source, field, f"is not an amount, got {value!r:.40}") from None


def listing(item: Mapping[str, Any], sku: Mapping[str, Any], account: str) -> canonical.Listing:
    source = f"bazaar item {item.get('item_id')} sku {sku.get('sku_id')}"
    return canonical.build(canonical.Listing, {
        "account": account, "external_product_id": str(item["item_id"]), "external_variant_id": str(sku["sku_id"]),
        "sku": sku.get("code") or None, "barcode": sku.get("barcode") or None, "title": str(sku.get("name") or ""),
        "product_title": str(item.get("title") or ""), "price": money(sku.get("price"), source, "price"),
        "quantity": sku.get("stock"), "updated_at": moment(item.get("updated"), source, "updated"),
    }, source=source)


def product(item: Mapping[str, Any]) -> canonical.Product:
    source = f"bazaar item {item.get('item_id')}"
    variants = [{"sku": s.get("code") or None, "barcode": s.get("barcode") or None, "title": str(s.get("name") or ""),
                 "price": money(s.get("price"), f"{source} sku {s.get('sku_id')}", "price")} for s in item["skus"]]
    return canonical.build(canonical.Product, {"title": str(item.get("title") or ""), "variants": tuple(variants),
                                               "updated_at": moment(item.get("updated"), source, "updated")},
                           source=source)


def order(raw: Mapping[str, Any], account: str) -> canonical.Order:
    source = f"bazaar order {raw.get('order_id')}"
    state = str(raw.get("state"))
    if state not in STATES:
        raise CanonicalError(source, "state", f"is not a Bazaar order state, got {state!r:.20}")
    lines = tuple({"external_id": str(line["line_id"]), "sku": line.get("code") or None,
                   "external_variant_id": str(line["sku_id"]), "quantity": line["quantity"],
                   "unit_price": money(line.get("price"), source, "lines.price")} for line in raw["lines"])
    refunds = tuple({"external_id": str(r["refund_id"]),
                     "lines": ({"line_external_id": str(r["line_id"]), "quantity": r["quantity"],
                                "restock": bool(r["restock"])},)} for r in raw.get("refunds") or [])
    return canonical.build(canonical.Order, {
        "account": account, "external_id": str(raw["order_id"]), "number": f"BZ{raw['order_id']}",
        "status": STATES[state], "currency": CURRENCY, "lines": lines, "refunds": refunds,
        "placed_at": moment(raw.get("created"), source, "created"),
        "updated_at": moment(raw.get("updated"), source, "updated"),
    }, source=source)


class BazaarConnector(Connector):
    platform = "bazaar"
    capabilities = frozenset({Capability.READ_CATALOG, Capability.READ_STOCK, Capability.READ_ORDERS,
                              Capability.WRITE_STOCK, Capability.ASYNC_STOCK_WRITES, Capability.WRITE_SHIPMENTS})
    options = (OptionSpec("url", "Bazaar gateway base URL", required=True),
               OptionSpec("app_id", "the app's id", required=True),
               OptionSpec("app_secret", "the app's signing secret", required=True, secret=True),
               OptionSpec("page_size", "records per page (1-50)", default="50"),
               OptionSpec("history_hours", "how far back an order read without a cursor goes", default="24"))
    stock_batch_size = 20
    stock_write_mode = StockWriteMode.DELTA
    order_stream_order = StreamOrder.WINDOWED

    def __init__(self, account: Any, *, policy: Any = None, transport: httpx.BaseTransport | None = None,
                 budgets: Any = None) -> None:
        super().__init__(account, policy=policy, transport=transport, budgets=budgets)
        secret = account.secret("app_secret")
        auth = SignedParameters(lambda params: hmac_hex(secret, sorted_query(params)), place="form",
                                common=lambda request: {"app_id": str(account.option("app_id")),
                                                        "ts": str(int(time.time()))})
        self.client = make_client(str(account.option("url")), policy=self.policy, transport=transport, auth=auth)
        self.page_size = max(1, min(int(account.option("page_size") or 50), 50))
        self.history = timedelta(hours=float(account.option("history_hours") or 24))
        self._calls = 0

    @property
    def calls(self) -> int:
        return self._calls

    def close(self) -> None:
        self.client.close()

    # ---- the gateway ---------------------------------------------------------------------------
    def rpc(self, method: str, params: Mapping[str, Any]) -> Any:
        where = self.where(method)

        def attempt() -> Any:
            budget = self.budget()
            budget.reserve(1)
            try:
                self._calls += 1
                response = self.client.post("/rpc", data={"method": method, "params": json.dumps(params)})
            finally:
                budget.settle(1)
            if response.status_code != 200:
                raise Rejected(where, f"HTTP {response.status_code} from the gateway")
            body = response.json()
            if not body.get("ok"):
                error = body.get("error") or {}
                code, message = str(error.get("code")), str(error.get("message") or "refused")
                if code == "SIGN":
                    raise AuthFailed(where, f"{message}: check the app_id and app_secret credentials")
                raise_for_code(code, message, where, ERRORS, retry_after=error.get("retry_after"))
            return body["data"]

        return call(attempt, where=where, policy=self.policy, budgets=self.budgets)

    def health(self) -> Health:
        try:
            self.rpc("items.list", {"page": 1, "page_size": 1})
        except ConnectorError as exc:
            return Health(ok=False, detail=str(exc))
        return Health(ok=True, shop_name=str(self.account.option("app_id")), currency=CURRENCY)

    # ---- catalogue and stock -------------------------------------------------------------------
    def _items(self, updated_since: datetime | None) -> Iterator[Mapping[str, Any]]:
        since = updated_since.timestamp() if updated_since else 0

        def fetch(page: int) -> Page[Mapping[str, Any]]:
            data = self.rpc("items.list", {"page": page, "page_size": self.page_size, "updated_after": since})
            return Page(data["items"], total_items=data["total"])

        for items in numbered_pages(fetch, page_size=self.page_size, where=self.where("items"),
                                    key=lambda item: item["item_id"]):
            yield from items

    def listings(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Listing]:
        for item in self._items(updated_since):
            for sku in item["skus"]:
                try:
                    yield listing(item, sku, self.account.name)
                except CanonicalError as error:
                    self.skip(error)

    def products(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product]:
        for item in self._items(updated_since):
            try:
                yield product(item)
            except CanonicalError as error:
                self.skip(error)

    def locations(self) -> Iterator[canonical.Location]:
        yield canonical.Location(external_id=LOCATION, name="Bazaar warehouse")

    def stock_levels(self, *, location_external_id: str | None = None) -> Iterator[canonical.StockLevel]:
        for item in self.listings():
            if item.quantity is not None:
                yield canonical.StockLevel(location_external_id=LOCATION, inventory_item_id=item.external_variant_id,
                                           sku=item.sku, available=item.quantity)

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
        results = []
        for update in updates:
            if update.delta is None or update.idempotency_id is None:
                results.append(StockWriteResult.rejected(update.listing_ref, "Bazaar takes stock only as deltas"))
                continue
            if update.delta == 0:
                results.append(StockWriteResult.applied(update.listing_ref, update.quantity))
                continue
            try:
                data = self.rpc("stock.adjust", {"sku_id": update.external_variant_id, "delta": update.delta,
                                                 "request_id": update.idempotency_id})
            except Rejected as refused:
                results.append(StockWriteResult.rejected(update.listing_ref, str(refused)))
                continue
            results.append(StockWriteResult.submitted(update.listing_ref, str(data["task_id"])))
        return results

    def stock_write_status(self, submitted: Sequence[SubmittedWrite]) -> list[StockWriteResult]:
        if not submitted:
            return []
        data = self.rpc("stock.tasks", {"task_ids": [s.handle for s in submitted]})
        tasks = {str(t["task_id"]): t for t in data["tasks"]}
        results = []
        for write in submitted:
            task = tasks.get(write.handle)
            if task is None:
                results.append(StockWriteResult.rejected(write.listing_ref, f"Bazaar knows no task {write.handle}"))
            elif task["state"] == "done":
                results.append(StockWriteResult.applied(write.listing_ref, int(task["stock"])))
            elif task["state"] == "failed":
                results.append(StockWriteResult.rejected(write.listing_ref, str(task["reason"])))
            else:
                results.append(StockWriteResult.submitted(write.listing_ref, write.handle))
        return results

    # ---- orders --------------------------------------------------------------------------------
    def order_stream(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order | Checkpoint]:
        end = datetime.now(UTC) + timedelta(seconds=1)
        start = updated_since or end - self.history
        for low, high in time_windows(start, end, timedelta(hours=1)):
            def fetch(page: int, low: datetime = low, high: datetime = high) -> Page[Mapping[str, Any]]:
                data = self.rpc("orders.search", {"from": low.timestamp(), "to": high.timestamp(), "page": page,
                                                  "page_size": self.page_size})
                return Page(data["orders"], total_items=data["total"])

            for raws in pages_from_the_back(fetch, page_size=self.page_size, where=self.where("orders"),
                                            key=lambda raw: raw["order_id"]):
                for raw in raws:
                    try:
                        yield order(raw, self.account.name)
                    except CanonicalError as error:
                        self.skip(error)
            yield Checkpoint(high)

    def order(self, external_id: str) -> canonical.Order:
        return order(self.rpc("orders.get", {"order_id": external_id}), self.account.name)

    def push_shipment(self, shipment: ShipmentPush) -> ShipmentResult:
        carrier = CARRIERS.get(shipment.carrier.strip().lower()) or CARRIERS.get(shipment.carrier.strip())
        if carrier is None:
            raise Rejected(self.where(f"order {shipment.order_external_id}"),
                           f"unknown carrier {shipment.carrier!r}; Bazaar takes {', '.join(sorted(set(CARRIERS)))}")
        held = self.rpc("orders.get", {"order_id": shipment.order_external_id})
        external = f"{shipment.order_external_id}:{shipment.tracking_number}"
        if any(s["tracking"] == shipment.tracking_number for s in held.get("shipments") or []):
            return ShipmentResult(external, already_present=True)
        self.rpc("orders.ship", {"order_id": shipment.order_external_id, "carrier": carrier,
                                 "tracking": shipment.tracking_number})
        return ShipmentResult(external)
