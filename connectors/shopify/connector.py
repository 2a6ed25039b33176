"""The Shopify connector: GraphQL Admin API (2026-04), reads as lazy generators, CAS stock writes.

The account's stock location (where listings' `quantity` is read and stock is written when an
update names no location) is the option `location_id` if set (numeric id or gid), else the
first active location Shopify lists; the location read and the shop's currency are kept for the
process (`connectors.facts`), so a push or an order does not re-read them.

Pages: every connection asks for `page_size` nodes (default 250), except where nested
connections would push the requested cost over Shopify's 1,000-point limit for one query; those
pages are sized down to fit (`client.fit_page`), and nested lists longer than their inline
page are completed with follow-up queries. Polls (orders, shipments, locations) start with a small
page and double it while pages come back full: Shopify needs a query's *requested* cost in the
bucket before it runs it, and a 16-order page requests 994 points where a poll that finds two
orders is charged a few dozen. `updated_since` is floored to the whole second
(Shopify's precision), so a record updated in that second is read again rather than missed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

import canonical
from canonical import CanonicalError
from connectors.base import AccountConfig, Capability, Connector, Health, OptionSpec, ShipmentPush, ShipmentResult
from connectors.budget import BucketSpec, Budgets
from connectors.errors import ConnectorError, Rejected
from connectors.events import ChannelEvent, EventSubject, WebhookRequest, WebhookSubscription
from connectors.facts import FACTS
from connectors.http import HttpPolicy
from connectors.shopify import bulk, listings, normalise, order_payload, queries, webhooks, writers
from connectors.shopify.client import BUCKET, GraphQLClient, fit_page
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult, WriteStatus
from connectors.streams import Checkpoint, StreamOrder

DEFAULT_API_VERSION = "2026-04"
VARIANTS_INLINE = 10       # variants fetched with their product; more are fetched per product
LINES_INLINE = 10          # order lines fetched with their order; more are fetched per order
REFUND_LINES_INLINE = 5
FULFILLMENT_LINES_INLINE = 10  # lines fetched with each fulfillment; more are fetched per fulfillment
POLL_FIRST_PAGE = 4        # first page of a poll; doubled while pages come back full


class ShopifyConnector(Connector):
    platform: ClassVar[str] = "shopify"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.READ_CATALOG, Capability.READ_STOCK, Capability.READ_ORDERS, Capability.READ_SHIPMENTS,
        Capability.WRITE_STOCK, Capability.WRITE_LISTINGS, Capability.WRITE_SHIPMENTS, Capability.WEBHOOKS,
        Capability.REGISTER_WEBHOOKS,
    })
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("shop", "the shop's myshopify domain, e.g. example.myshopify.com", required=True),
        OptionSpec("base_url", "API base URL (e.g. a sandbox); default https://{shop}"),
        OptionSpec("api_version", "Admin API version", default=DEFAULT_API_VERSION),
        OptionSpec("location_id", "stock location (id or gid); default: the first active location"),
        OptionSpec("page_size", "nodes per page (at most 250)", default="250"),
        OptionSpec("notify_customer", "email the customer when a shipment is pushed (true/false)",
                   default="true"),
        OptionSpec("access_token", "Admin API access token", required=True, secret=True),
        OptionSpec("client_secret", "app client secret, to verify webhook signatures", secret=True),
    )
    stock_batch_size: ClassVar[int] = 250
    stock_write_mode: ClassVar[StockWriteMode] = StockWriteMode.ABSOLUTE_CAS
    order_stream_order: ClassVar[StreamOrder] = StreamOrder.OLDEST_FIRST  # sortKey: UPDATED_AT
    rate_buckets: ClassVar[Mapping[str, BucketSpec]] = {BUCKET: BucketSpec(maximum=1000.0, restore_rate=50.0)}

    def __init__(self, account: AccountConfig, *, policy: HttpPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, budgets: Budgets | None = None) -> None:
        super().__init__(account, policy=policy, transport=transport, budgets=budgets)
        self._client: GraphQLClient | None = None
        self._shop: dict[str, Any] | None = None
        self._location: str | None = None
        self.page_size = max(1, min(int(account.option("page_size") or 250), 250))

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def client(self) -> GraphQLClient:
        if self._client is None:
            shop = self.account.option("shop")
            if not shop:
                raise Rejected(self.where(), "option 'shop' (the myshopify domain) is not set")
            self._client = GraphQLClient(
                self.account.option("base_url") or f"https://{shop}",
                api_version=self.account.option("api_version") or DEFAULT_API_VERSION,
                access_token=self.account.secret("access_token"), where=self.where, policy=self.policy,
                budgets=self.budgets, transport=self.transport)
        return self._client

    @property
    def calls(self) -> int:
        """GraphQL requests sent to the shop (retries included); asking does not open a client."""
        return self._client.requests if self._client is not None else 0

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _page(self, document: str, variables: Mapping[str, Any]) -> int:
        return fit_page(document, variables, wanted=self.page_size)

    def _read(self, document: str, variables: dict[str, Any], path: tuple[str, ...], what: str,
              *, first_page: int | None = None) -> Iterator[dict[str, Any]]:
        """All pages; with `first_page`, the first asks for that many and later ones grow to the fit."""
        largest = self._page(document, variables)
        first = min(first_page, largest) if first_page else largest
        return self.client.paginate(document, {**variables, "first": first}, path, what=what, grow_to=largest)

    def _fact_key(self, fact: str) -> tuple[str, ...]:
        return ("shopify", self.account.name, self.account.option("base_url") or self.account.option("shop") or "",
                fact)

    # -- account -------------------------------------------------------------------------------
    def health(self) -> Health:
        try:
            data = self.client.execute(queries.HEALTH, what="health check")
        except ConnectorError as exc:
            return Health(ok=False, detail=str(exc))
        self._shop = data["shop"]
        scopes = tuple(s["handle"] for s in (data.get("currentAppInstallation") or {}).get("accessScopes") or [])
        return Health(ok=True, shop_name=data["shop"]["name"], currency=data["shop"]["currencyCode"], granted=scopes)

    def currency(self) -> str:
        if self._shop is not None:
            return str(self._shop["currencyCode"])
        return FACTS.get(self._fact_key("currency"), lambda: str(
            self.client.execute(queries.HEALTH, what="shop currency")["shop"]["currencyCode"]))

    def stock_location(self) -> str:
        """The account's stock location gid (option `location_id`, else the first active location)."""
        if self._location is None:
            configured = self.account.option("location_id")
            if configured:
                self._location = configured if configured.startswith("gid://") else f"gid://shopify/Location/{configured}"
            else:
                self._location = FACTS.get(self._fact_key("stock_location"), self._first_active_location)
        return self._location

    def _first_active_location(self) -> str:
        active = next((loc for loc in self.locations() if loc.active), None)
        if active is None:
            raise Rejected(self.where(), "the shop has no active location; set option location_id")
        return active.external_id

    # -- reads ---------------------------------------------------------------------------------
    def locations(self) -> Iterator[canonical.Location]:
        for raw in self._read(queries.LOCATIONS, {}, ("locations",), "locations", first_page=10):
            try:
                yield normalise.location(raw)
            except CanonicalError as err:
                self.skip(err)

    def products(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product]:
        currency = self.currency()
        search = since_filter(updated_since)
        if bulk.large_catalogue(self.client, search):
            raws = bulk.nested(bulk.export(self.client, bulk.products_document(search), what="products (bulk)"),
                               "variants")
        else:
            variables = {"query": search, "variantsFirst": VARIANTS_INLINE}
            raws = self._read(queries.PRODUCTS, variables, ("products",), "products")
        for raw in raws:
            normalised = (self._variant(variant, currency) for variant in self._all_variants(raw))
            yield from self._product(raw, [v for v in normalised if v is not None])

    def _variant(self, raw: dict[str, Any], currency: str) -> canonical.Variant | None:
        try:
            return normalise.variant(raw, currency=currency)
        except CanonicalError as err:
            self.skip(err)
            return None

    def _product(self, raw: dict[str, Any], variants: Iterable[canonical.Variant]) -> Iterator[canonical.Product]:
        """The product of `raw` with its variants that normalised (`_variant` skipped the others)."""
        try:
            yield normalise.product_of(raw, tuple(variants))
        except CanonicalError as err:
            self.skip(err)

    def _all_variants(self, product: dict[str, Any]) -> Iterator[dict[str, Any]]:
        connection = product.get("variants") or {}
        yield from connection.get("nodes") or []
        info = connection.get("pageInfo") or {}
        if info.get("hasNextPage"):
            yield from self.client.paginate(queries.PRODUCT_VARIANTS, {"id": product["id"], "first": 250},
                                            ("product", "variants"), what=f"variants of product {product['id']}",
                                            after=info.get("endCursor"))

    def listings(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Listing]:
        currency, location = self.currency(), self.stock_location()
        search = since_filter(updated_since)
        if bulk.large_catalogue(self.client, search):
            raws = bulk.export(self.client, bulk.listings_document(search, location), what="listings (bulk)")
        else:
            raws = self._read(queries.LISTINGS, {"query": search, "locationId": location}, ("productVariants",),
                              "listings")
        for raw in raws:
            yield from self._listing(raw, currency)

    def _listing(self, raw: dict[str, Any], currency: str) -> Iterator[canonical.Listing]:
        try:
            yield normalise.listing(raw, account=self.account.name, currency=currency)
        except CanonicalError as err:
            self.skip(err)

    def catalogue(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product | canonical.Listing]:
        """A large catalogue in one bulk query: each product line with its variants' listing fields
        (the location's `available` included), so `catalog import` reads and decodes the catalogue
        once, not as products and then again as listings. A small one is paged as products, then
        listings (fewer calls than one bulk query's polling)."""
        search = since_filter(updated_since)
        if not bulk.large_catalogue(self.client, search):
            yield from super().catalogue(updated_since=updated_since)
            return
        currency, location = self.currency(), self.stock_location()
        lines = bulk.export(self.client, bulk.catalogue_document(search, location), what="catalogue (bulk)")
        for raw in bulk.nested(lines, "variants"):
            variants = raw["variants"]["nodes"]
            normalised = [self._variant(variant, currency) for variant in variants]
            yield from self._product(raw, [v for v in normalised if v is not None])
            for variant, done in zip(variants, normalised, strict=True):
                try:
                    yield normalise.listing_of(variant, raw, done, account=self.account.name, currency=currency)
                except CanonicalError as err:
                    self.skip(err)

    def listing(self, variant_id: str) -> canonical.Listing:
        """One variant's listing, read now."""
        data = self.client.execute(queries.LISTING, {"id": variant_id, "locationId": self.stock_location()},
                                   what=f"variant {variant_id}")
        if not data.get("productVariant"):
            raise Rejected(self.where(f"variant {variant_id}"), "the variant does not exist on the channel")
        return normalise.listing(data["productVariant"], account=self.account.name, currency=self.currency())

    def stock_levels(self, *, location_external_id: str | None = None) -> Iterator[canonical.StockLevel]:
        if location_external_id:
            location_ids = [location_external_id]
        else:
            location_ids = [loc.external_id for loc in self.locations() if loc.active]
        large = bool(location_ids) and bulk.large_catalogue(self.client, None)
        for location_id in location_ids:
            if large:
                raws = bulk.export(self.client, bulk.stock_levels_document(location_id),
                                   what=f"stock at {location_id} (bulk)")
            else:
                raws = self._read(queries.STOCK_LEVELS, {"locationId": location_id}, ("location", "inventoryLevels"),
                                  f"stock at {location_id}")
            for raw in raws:
                try:
                    yield normalise.stock_level(raw, location_id=location_id)
                except CanonicalError as err:
                    self.skip(err)

    def order_stream(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order | Checkpoint]:
        """Orders updated at or after `updated_since`, oldest update first (`sortKey: UPDATED_AT`)."""
        variables = {"query": since_filter(updated_since), "linesFirst": LINES_INLINE,
                     "refundLinesFirst": REFUND_LINES_INLINE}
        for raw in self._read(queries.ORDERS, variables, ("orders",), "orders", first_page=POLL_FIRST_PAGE):
            try:
                yield self._order(raw)
            except CanonicalError as err:
                self.skip(err)

    def order(self, external_id: str) -> canonical.Order:
        data = self.client.execute(queries.ORDER, {"id": external_id, "linesFirst": LINES_INLINE,
                                                   "refundLinesFirst": REFUND_LINES_INLINE},
                                   what=f"order {external_id}")
        if not data.get("order"):
            raise Rejected(self.where(f"order {external_id}"), "the order does not exist on the channel")
        return self._order(data["order"])

    def _order(self, raw: dict[str, Any]) -> canonical.Order:
        lines = list(self._complete(raw, "lineItems", queries.ORDER_LINE_ITEMS, ("order", "lineItems")))
        refunds = [(r, list(self._complete(r, "refundLineItems", queries.REFUND_LINE_ITEMS,
                                           ("node", "refundLineItems"))))
                   for r in raw.get("refunds") or []]
        return normalise.order(raw, lines, refunds, account=self.account.name)

    def shipments(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Shipment]:
        """Successful fulfillments of orders updated since `updated_since`, one Shipment each.

        `order_reference` is the order's `poNumber` when set, else its name (`#1001`); the tracking
        is the fulfillment's first tracking entry. A fulfillment without a tracking number is skipped.
        """
        variables = {"query": since_filter(updated_since), "fulfillmentLinesFirst": FULFILLMENT_LINES_INLINE}
        for raw in self._read(queries.SHIPMENTS, variables, ("orders",), "shipments", first_page=POLL_FIRST_PAGE):
            for fulfillment in raw.get("fulfillments") or []:
                if fulfillment.get("status") != "SUCCESS":
                    continue
                lines = self._complete(fulfillment, "fulfillmentLineItems", queries.FULFILLMENT_LINE_ITEMS,
                                       ("fulfillment", "fulfillmentLineItems"))
                try:
                    yield normalise.shipment(raw, fulfillment, list(lines))
                except CanonicalError as err:
                    self.skip(err)

    def _complete(self, owner: dict[str, Any], key: str, document: str, path: tuple[str, ...],
                  ) -> Iterator[dict[str, Any]]:
        """A nested connection's inline nodes, then the rest when it had more pages."""
        connection = owner.get(key) or {}
        yield from connection.get("nodes") or []
        info = connection.get("pageInfo") or {}
        if info.get("hasNextPage"):
            first = fit_page(document, {"id": owner["id"]}, wanted=250)
            yield from self.client.paginate(document, {"id": owner["id"], "first": first}, path,
                                            what=f"{key} of {owner['id']}", after=info.get("endCursor"))

    # -- writes --------------------------------------------------------------------------------
    def set_stock(self, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
        """Set `available` per update; one result per update, in order (see `writers`)."""
        if not updates:
            return []
        results = writers.set_stock(self.client, updates, default_location=self.stock_location,
                                    batch_size=self.stock_batch_size)
        if any(r.status is WriteStatus.REJECTED for r in results):
            FACTS.forget(self._fact_key("stock_location"))  # the remembered location may be gone
        return results

    def push_shipment(self, shipment: ShipmentPush) -> ShipmentResult:
        notify = (self.account.option("notify_customer") or "true").lower() in ("1", "true", "yes")
        return writers.push_shipment(self.client, shipment, notify_customer=notify)

    def create_listing(self, product: canonical.Product) -> list[canonical.Listing]:
        return [self.listing(variant_id) for variant_id in listings.create(self.client, product)]

    def update_listing(self, listing: canonical.Listing, changes: Mapping[str, Any]) -> canonical.Listing:
        listings.update(self.client, listing, changes)
        return self.listing(listing.external_variant_id)

    def register_webhooks(self, url: str) -> list[WebhookSubscription]:
        return writers.register_webhooks(self.client, url, page_size=self.page_size)

    def list_webhooks(self) -> list[WebhookSubscription]:
        return writers.list_webhooks(self.client, page_size=self.page_size)

    def delete_webhook(self, external_id: str) -> None:
        writers.delete_webhook(self.client, external_id)

    def verify_webhook(self, request: WebhookRequest) -> list[ChannelEvent]:
        return [webhooks.verify(request.headers, request.body, secret=self.account.secret("client_secret"),
                                where=self.where("webhook"))]

    def event_subject(self, event: ChannelEvent) -> EventSubject | None:
        return webhooks.subject(event)

    def event_order(self, event: ChannelEvent) -> canonical.Order | None:
        """An `orders/*` body restated as the Admin API's order (`order_payload`), when it can be exactly."""
        restated = order_payload.as_admin_order(event.payload) if event.topic.startswith("orders/") else None
        if restated is None:
            return None
        raw, lines = restated
        return normalise.order(raw, lines, [], account=self.account.name)


def since_filter(updated_since: datetime | None) -> str | None:
    """Shopify search syntax for "updated at or after", floored to the whole second."""
    if updated_since is None:
        return None
    moment = updated_since.astimezone(UTC).replace(microsecond=0)
    return f"updated_at:>='{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
