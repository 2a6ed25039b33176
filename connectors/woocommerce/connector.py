"""`WooCommerceConnector`: the hub's connector for a WooCommerce store over REST v3."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

import canonical
from canonical import CanonicalError
from connectors.base import AccountConfig, Capability, Connector, Health, OptionSpec, ShipmentPush, ShipmentResult
from connectors.budget import DEFAULT_BUCKET, UNLIMITED, BucketSpec, Budgets
from connectors.errors import ConnectorError, Rejected
from connectors.events import ChannelEvent, EventSubject, WebhookRequest, WebhookSubscription
from connectors.facts import FACTS
from connectors.http import HttpPolicy
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult
from connectors.streams import Checkpoint, StreamOrder
from connectors.woocommerce import normalise, webhooks, writers
from connectors.woocommerce.client import PER_PAGE, WooClient, error_code
from connectors.woocommerce.oauth import SIGNATURE_METHODS

log = logging.getLogger(__name__)


def _since(moment: datetime | None) -> dict[str, str]:
    """`modified_after` in UTC (`dates_are_gmt`) for "changed at or after `moment`".

    WooCommerce stores whole seconds and `modified_after` is exclusive, so a change at or after
    `moment` is stored at or after its whole second: ask for "after the second before".
    """
    if moment is None:
        return {}
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    after = utc.replace(microsecond=0) - timedelta(seconds=1)
    return {"modified_after": after.strftime("%Y-%m-%dT%H:%M:%S"), "dates_are_gmt": "true"}


def _positive(account: AccountConfig, name: str) -> float | None:
    """A numeric option > 0, None when unset; anything else is the operator's mistake to fix."""
    raw = account.option(name)
    if raw in (None, ""):
        return None
    try:
        value = float(str(raw))
    except ValueError:
        value = 0.0
    if value <= 0:
        raise Rejected(account.where(), f"option {name!r} must be a number above 0, got {raw!r}")
    return value


def _signature_method(account: AccountConfig) -> str:
    method = (account.option("signature_method") or "HMAC-SHA256").upper()
    if method not in SIGNATURE_METHODS:
        raise Rejected(account.where(), f"option 'signature_method' must be one of {', '.join(SIGNATURE_METHODS)}, "
                                        f"got {method!r}")
    return method


class WooCommerceConnector(Connector):
    """A WooCommerce store: one location, simple and variable products, absolute stock writes."""

    platform: ClassVar[str] = "woocommerce"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.READ_CATALOG, Capability.READ_STOCK, Capability.READ_ORDERS, Capability.READ_SHIPMENTS,
        Capability.WRITE_STOCK, Capability.WRITE_LISTINGS, Capability.WRITE_SHIPMENTS, Capability.WEBHOOKS,
        Capability.REGISTER_WEBHOOKS,
    })
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("url", "store URL, e.g. https://shop.example.com (an http:// store is signed with OAuth 1.0a)",
                   required=True),
        OptionSpec("signature_method", "OAuth 1.0a signature for an http:// store: HMAC-SHA256 or HMAC-SHA1",
                   default="HMAC-SHA256"),
        OptionSpec("request_limit", "requests per second the store may receive (default: no limit)"),
        OptionSpec("page_size", "records per page when reading (1-100; lower it for a slow store)", default="100"),
        OptionSpec("consumer_key", "REST API consumer key (ck_…), read/write", required=True, secret=True),
        OptionSpec("consumer_secret", "REST API consumer secret (cs_…)", required=True, secret=True),
        OptionSpec("webhook_secret", "secret the hub's webhooks are signed with", secret=True),
    )
    stock_batch_size: ClassVar[int] = writers.BATCH_LIMIT
    stock_write_mode: ClassVar[StockWriteMode] = StockWriteMode.ABSOLUTE
    order_stream_order: ClassVar[StreamOrder] = StreamOrder.OLDEST_FIRST  # orderby=modified&order=asc

    def __init__(self, account: AccountConfig, *, policy: HttpPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, budgets: Budgets | None = None) -> None:
        super().__init__(account, policy=policy, transport=transport, budgets=budgets)
        url = account.option("url")
        if not url:
            raise Rejected(self.where(), "option 'url' (the store URL) is not set")
        self.client = WooClient(url, consumer_key=account.secret("consumer_key"),
                                consumer_secret=account.secret("consumer_secret"), where=self.where(),
                                policy=self.policy, budgets=self.budgets, transport=transport,
                                page_size=int(_positive(account, "page_size") or PER_PAGE),
                                signature_method=_signature_method(account))
        self._currency: str | None = None
        self._tracking: bool | None = None

    def bucket_specs(self) -> Mapping[str, BucketSpec]:
        """With `request_limit`: no burst allowance, requests spaced 1/limit apart, so a store that counts
        requests per one-second window sees at most `limit` (+1 at a window edge). Without it, no
        limit of the hub's own: WooCommerce has none, and a store's host that has one answers 429
        with `Retry-After`, which pauses every worker."""
        limit = _positive(self.account, "request_limit")
        if limit:
            return {DEFAULT_BUCKET: BucketSpec(maximum=1.0, restore_rate=limit)}
        return {DEFAULT_BUCKET: UNLIMITED}

    def close(self) -> None:
        self.client.close()

    @property
    def calls(self) -> int:
        """Requests sent to the store (retries included)."""
        return self.client.calls

    # ---- account -------------------------------------------------------------------------------
    def health(self) -> Health:
        """Store name and currency, or the store's own error message."""
        try:
            status = self.client.get("system_status", params={"_fields": "environment,settings"},
                                     what="system status")
            currency = str((status.get("settings") or {}).get("currency") or "") or self._setting_currency()
        except ConnectorError as exc:
            return Health(ok=False, detail=str(exc))
        self._currency = currency or None
        home = str((status.get("environment") or {}).get("home_url") or self.account.option("url") or "")
        return Health(ok=True, shop_name=urlsplit(home).netloc or home, currency=currency)

    def _setting_currency(self) -> str:
        setting = self.client.get("settings/general/woocommerce_currency", what="currency setting")
        return str(setting.get("value") or "")

    def currency(self) -> str:
        """The store's currency, read once per process (`connectors.facts`), not once per order."""
        if self._currency is None:
            key = ("woocommerce", self.account.name, self.account.option("url") or "", "currency")
            self._currency = FACTS.get(key, self._setting_currency)
        return self._currency

    # ---- reads ---------------------------------------------------------------------------------
    def locations(self) -> Iterator[canonical.Location]:
        yield normalise.location()

    def _product_pages(self, updated_since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        params = {"orderby": "id", "order": "asc", "status": "any", **_since(updated_since)}
        return self.client.pages("products", params=params, what="products")

    def _variations(self, product: Mapping[str, Any]) -> list[dict[str, Any]]:
        if product.get("type") != "variable":
            return []
        return [v for page in self.client.pages(f"products/{product['id']}/variations",
                                                params={"orderby": "id", "order": "asc"},
                                                what=f"variations of product {product['id']}")
                for v in page]

    def products(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product]:
        currency = self.currency()
        for page in self._product_pages(updated_since):
            for raw in page:
                try:
                    yield normalise.product(raw, currency=currency, variations=self._variations(raw),
                                            account=self.account.name)
                except CanonicalError as err:
                    self.skip(err)

    def listings(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Listing]:
        """Simple product → one listing; variable product → one per variation."""
        currency = self.currency()
        for page in self._product_pages(updated_since):
            for raw in page:
                if raw.get("type") == "variable":
                    for variation in self._variations(raw):
                        yield from self._listing(variation, currency, parent=raw)
                elif raw.get("type", "simple") == "simple":
                    yield from self._listing(raw, currency)
                # grouped and external products hold no stock of their own

    def _listing(self, raw: Mapping[str, Any], currency: str,
                 parent: Mapping[str, Any] | None = None) -> Iterator[canonical.Listing]:
        try:
            yield normalise.listing(raw, account=self.account.name, currency=currency, parent=parent)
        except CanonicalError as err:
            self.skip(err)

    def stock_levels(self, *, location_external_id: str | None = None) -> Iterator[canonical.StockLevel]:
        if location_external_id not in (None, normalise.DEFAULT_LOCATION):
            return
        for item in self.listings():
            level = normalise.stock_level(item)
            if level is not None:
                yield level

    def order_stream(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order | Checkpoint]:
        """Orders modified since `updated_since`, oldest change first."""
        currency = self.currency()
        params = {"orderby": "modified", "order": "asc", "status": "any", **_since(updated_since)}
        for page in self.client.pages("orders", params=params, what="orders"):
            for raw in page:
                try:
                    yield self._order(raw, currency)
                except CanonicalError as err:
                    self.skip(err)

    def order(self, external_id: str) -> canonical.Order:
        raw = self.client.get(f"orders/{external_id}", what=f"order {external_id}")
        return self._order(raw, self.currency())

    def _order(self, raw: Mapping[str, Any], currency: str) -> canonical.Order:
        refunds: list[dict[str, Any]] = []
        if raw.get("refunds"):
            refunds = self._refunds(str(raw.get("id")))
        return normalise.order(raw, account=self.account.name, currency=currency, refunds=refunds)

    def _refunds(self, order_id: str) -> list[dict[str, Any]]:
        """Detailed refunds (with lines) of an order the store says has refunds.

        A store that cannot show them (no refunds route, a body that is not a list) is an error:
        taking "no refund lines" for an answer would ship a refunded unit later."""
        response = self.client.send("GET", f"orders/{order_id}/refunds", params={"per_page": 100},
                                    allow_404=True, what=f"refunds of order {order_id}")
        where = self.where(f"refunds of order {order_id}")
        if response.status_code == 404 and error_code(response) == "rest_no_route":
            raise Rejected(where, "the store has refunds on this order but no GET orders/{id}/refunds route, so "
                                  "the refunded lines cannot be read and the order is not taken in; enable the "
                                  "WooCommerce REST API refunds endpoint (a plugin may have removed it)")
        if response.status_code == 404:
            raise Rejected(self.where(f"order {order_id}"), "the store knows no such order")
        body = response.json()
        if not isinstance(body, list):
            raise Rejected(where, f"the refunds answer is a {type(body).__name__}, not a list of refunds")
        return body

    def shipments(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Shipment]:
        """One Shipment per Shipment Tracking entry of the orders modified since `updated_since`.

        The extension records no lines or quantities, so each shipment covers every line of the
        order in full; `order_reference` is the order's `number`. One extra request per order.
        Without the extension installed nothing is yielded (logged once per connector).
        """
        if self._tracking is False:
            return
        params = {"orderby": "modified", "order": "asc", "status": "any", **_since(updated_since)}
        for page in self.client.pages("orders", params=params, what="orders"):
            for raw in page:
                try:
                    order_id = normalise.record_id(raw, "order", account=self.account.name)
                except CanonicalError as err:
                    self.skip(err)
                    continue
                entries = writers.trackings(self.client, order_id)
                if entries is None:
                    self._tracking = False
                    log.info("%s: the Shipment Tracking extension is not installed; the store reports no "
                             "shipments to import", self.where())
                    return
                self._tracking = True
                for entry in entries:
                    try:
                        yield normalise.shipment(raw, entry, account=self.account.name)
                    except CanonicalError as err:
                        self.skip(err)

    # ---- writes --------------------------------------------------------------------------------
    def set_stock(self, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
        return writers.set_stock(self.client, updates)

    def push_shipment(self, shipment: ShipmentPush) -> ShipmentResult:
        """Tracking via the Shipment Tracking extension when installed, else an order note; exactly once."""
        existing = None
        if self._tracking is not False:  # detected once per connector instance
            existing = writers.trackings(self.client, shipment.order_external_id)
            self._tracking = existing is not None
        if existing is not None:
            result = writers.push_tracking(self.client, shipment, existing)
        else:
            result = writers.push_note(self.client, shipment)
        if shipment.complete:
            writers.complete_order(self.client, shipment.order_external_id)
        return result

    def create_listing(self, product: canonical.Product) -> list[canonical.Listing]:
        """Create a simple (one variant, no options) or variable product; returns its listings."""
        body, variation_bodies = writers.product_bodies(product)
        created = self.client.post("products", body, what=f"new product {product.title!r}")
        currency = self.currency()
        if not variation_bodies:
            return [normalise.listing(created, account=self.account.name, currency=currency)]
        path = f"products/{created['id']}/variations/batch"
        listings: list[canonical.Listing] = []
        for part in writers.chunks([writers.BatchItem(str(i), b) for i, b in enumerate(variation_bodies)]):
            answer = self.client.post(path, {"create": [item.body for item in part]},
                                      what=f"variations of new product {created['id']}")
            for item in answer.get("create") or []:
                if isinstance(item.get("error"), Mapping):
                    raise Rejected(self.where(f"product {created['id']}"),
                                   f"a variation was refused: {item['error'].get('message')}")
                listings.append(normalise.listing(item, account=self.account.name, currency=currency,
                                                  parent=created))
        return listings

    def update_listing(self, listing: canonical.Listing, changes: Mapping[str, Any]) -> canonical.Listing:
        """Change title, product_title, price, compare_at_price, sku, barcode or status of one listing."""
        try:
            own, parent = writers.listing_body(listing, changes)
        except ValueError as exc:
            raise Rejected(self.where(f"listing {listing.external_variant_id}"), str(exc)) from None
        is_variation = listing.external_variant_id != listing.external_product_id
        parent_raw = None
        if parent:
            parent_raw = self.client.put(f"products/{listing.external_product_id}", parent,
                                         what=f"product {listing.external_product_id}")
        path = (f"products/{listing.external_product_id}/variations/{listing.external_variant_id}"
                if is_variation else f"products/{listing.external_variant_id}")
        raw = self.client.put(path, own, what=path) if own else self.client.get(path, what=path)
        updated = normalise.listing(raw, account=self.account.name, currency=self.currency(), parent=parent_raw,
                                    parent_id=listing.external_product_id if is_variation else None)
        if is_variation and parent_raw is None:
            updated = updated.model_copy(update={"product_title": listing.product_title})
        return updated

    # ---- webhooks ------------------------------------------------------------------------------
    def register_webhooks(self, url: str) -> list[WebhookSubscription]:
        """Subscribe `url` to order.created and order.updated (existing ones are kept)."""
        secret = self.account.secret("webhook_secret")
        existing = {(hook.topic, hook.url): hook for hook in self.list_webhooks()}
        result = []
        for topic in webhooks.TOPICS:
            if (topic, url) in existing:
                result.append(existing[(topic, url)])
                continue
            raw = self.client.post("webhooks", {"name": f"marketsync {topic}", "topic": topic, "delivery_url": url,
                                                "secret": secret, "status": "active"},
                                   what=f"webhook {topic}")
            result.append(webhooks.subscription(raw))
        return result

    def list_webhooks(self) -> list[WebhookSubscription]:
        return [webhooks.subscription(raw) for page in self.client.pages("webhooks", what="webhooks") for raw in page]

    def delete_webhook(self, external_id: str) -> None:
        self.client.delete(f"webhooks/{external_id}", params={"force": "true"}, what=f"webhook {external_id}")

    def verify_webhook(self, request: WebhookRequest) -> list[ChannelEvent]:
        secret = self.account.secrets.get("webhook_secret")
        return [webhooks.verify(request.headers, request.body, secret=secret, where=self.where("webhook"))]

    def event_subject(self, event: ChannelEvent) -> EventSubject | None:
        return webhooks.subject(event)

    def event_order(self, event: ChannelEvent) -> canonical.Order | None:
        """An `order.*` body is the REST v3 order itself; one with refunds needs their lines, which only
        the refunds route gives (`_order` reads them), so that one is read instead."""
        body = event.payload
        if not event.topic.startswith("order.") or body.get("refunds") or not isinstance(body.get("line_items"), list):
            return None
        # the store's currency is only the fallback of an order without one: no settings read while a webhook waits
        stated = body.get("currency")
        currency = stated if isinstance(stated, str) and stated else self.currency()
        return normalise.order(body, account=self.account.name, currency=currency, refunds=[])
