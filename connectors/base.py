"""The connector contract: the `Connector` base class, its capabilities, and the registry.

A connector does I/O with one platform and turns its payloads into canonical objects and back.
It never touches the database. Connectors are found through the entry-point group
`marketsync.connectors`; a third-party package registers its class there. What a connector
implements, and how, is written down for authors in `connectors/README.md`; the behaviour it must
show is the contract suite `connectors.testing`.

The pieces of the contract live beside this module: stock write modes and results
(`connectors.stock`), events and their subjects (`connectors.events`), stream order and
checkpoints (`connectors.streams`), paginators (`connectors.paging`), auth flows
(`connectors.auth`), rate buckets (`connectors.budget`), the error tree (`connectors.errors`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from importlib.metadata import entry_points
from typing import Any, ClassVar

import httpx

import canonical
from connectors.budget import DEFAULT_BUCKET, BucketSpec, Budgets, LocalBudgets, RateBudget
from connectors.errors import Rejected, UnknownPlatform
from connectors.events import ChannelEvent, EventSubject, WebhookReply, WebhookRequest, WebhookSubscription
from connectors.http import HttpPolicy
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult, SubmittedWrite
from connectors.streams import Checkpoint, StreamOrder, records

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "marketsync.connectors"


class Capability(StrEnum):
    """What a connector can do; the engine and the scheduler only ask for what is declared."""

    READ_CATALOG = "read_catalog"            # products(), listings()
    READ_STOCK = "read_stock"                # locations(), stock_levels(); with WRITE_STOCK: reconciliation
    READ_ORDERS = "read_orders"              # order_stream(), order(): polled by the scheduler
    READ_SHIPMENTS = "read_shipments"        # shipments(): a fulfilment source
    WRITE_STOCK = "write_stock"              # set_stock() in `stock_write_mode`
    ASYNC_STOCK_WRITES = "async_stock_writes"  # set_stock() may answer submitted; stock_write_status()
    WRITE_LISTINGS = "write_listings"        # create_listing(), update_listing()
    WRITE_SHIPMENTS = "write_shipments"      # push_shipment()
    WEBHOOKS = "webhooks"                    # verify_webhook(), event_subject(): pushes reach the server
    REGISTER_WEBHOOKS = "register_webhooks"  # register_webhooks(), list_webhooks(), delete_webhook()
    PULL_EVENTS = "pull_events"              # consume_events(), confirm_events(): a message queue


@dataclass(frozen=True)
class OptionSpec:
    """One account option a connector accepts (`--option key=value` or `--secret key`)."""

    name: str
    help: str
    required: bool = False
    secret: bool = False
    default: str | None = None


@dataclass(frozen=True)
class AccountConfig:
    """What a connector needs to talk to one account. `secrets` never appears in repr."""

    name: str
    platform: str
    options: Mapping[str, str]
    secrets: Mapping[str, str] = field(repr=False, default_factory=dict)

    def option(self, key: str, default: str | None = None) -> str | None:
        return self.options.get(key, default)

    def secret(self, key: str) -> str:
        try:
            return self.secrets[key]
        except KeyError:
            raise Rejected(self.where(), f"secret {key!r} is not set; set it with `marketsync account update "
                                         f"{self.name} --secret {key}`") from None

    def where(self, what: str = "") -> str:
        return f"{self.platform} account {self.name!r}" + (f", {what}" if what else "")


@dataclass(frozen=True)
class Health:
    ok: bool
    shop_name: str = ""
    currency: str = ""
    granted: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class ShipmentPush:
    """A shipment to record on the order's origin channel, exactly once (`idempotency_key`)."""

    idempotency_key: str
    order_external_id: str
    carrier: str
    tracking_number: str
    tracking_url: str | None
    lines: tuple[tuple[str, int], ...]  # (order line external id, quantity)
    complete: bool = False               # every line of the order is now shipped
    # Channel ids the order's other shipments were recorded under: a fulfilment or tracking entry
    # with one of these ids is theirs, never this shipment's (a second partial shipment may reuse
    # a tracking number).
    other_external_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShipmentResult:
    external_id: str
    already_present: bool = False


class Connector(ABC):
    """Base class for a platform connector. Subclasses declare class attributes and override
    the methods their capabilities need; the others raise a clear error."""

    platform: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    options: ClassVar[tuple[OptionSpec, ...]] = ()
    stock_batch_size: ClassVar[int] = 1
    stock_write_mode: ClassVar[StockWriteMode] = StockWriteMode.ABSOLUTE
    # Whether the platform puts a paid order's cancelled or returned units back on its own stock
    # count (the hub's acknowledged number of a relative writer follows it when it does).
    restocks_paid_orders: ClassVar[bool] = True
    order_stream_order: ClassVar[StreamOrder] = StreamOrder.ANY
    rate_buckets: ClassVar[Mapping[str, BucketSpec]] = {DEFAULT_BUCKET: BucketSpec()}

    def __init__(self, account: AccountConfig, *, policy: HttpPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, budgets: Budgets | None = None) -> None:
        self.account = account
        self.policy = policy or HttpPolicy()
        self.transport = transport
        self.budgets: Budgets = (budgets or LocalBudgets()).with_specs(self.bucket_specs())
        self.skipped: list[canonical.CanonicalError] = []

    def bucket_specs(self) -> Mapping[str, BucketSpec]:
        """The buckets this account's calls are counted in, with their sizes (override to read options)."""
        return self.rate_buckets

    def budget(self, bucket: str = DEFAULT_BUCKET) -> RateBudget:
        """The shared budget of one bucket of this account."""
        return self.budgets(bucket)

    @property
    def calls(self) -> int:
        """Requests this connector has sent to the platform, retries included."""
        return 0

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def skip(self, error: canonical.CanonicalError) -> None:
        """Report a record that could not be normalised; the caller's loop goes on."""
        self.skipped.append(error)
        log.warning("skipped a record: %s", error)

    def where(self, what: str = "") -> str:
        return self.account.where(what)

    def _unsupported(self, capability: Capability) -> Rejected:
        return Rejected(self.where(), f"the {self.platform} connector cannot {capability.value.replace('_', ' ')}")

    @abstractmethod
    def health(self) -> Health: ...

    def close(self) -> None:  # noqa: B027 - optional hook; connectors without a client need nothing
        """Release the HTTP client."""

    def currency(self) -> str:
        return self.health().currency

    # ---- reads ---------------------------------------------------------------------------------
    def locations(self) -> Iterator[canonical.Location]:
        raise self._unsupported(Capability.READ_STOCK)

    def products(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product]:
        raise self._unsupported(Capability.READ_CATALOG)

    def listings(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Listing]:
        raise self._unsupported(Capability.READ_CATALOG)

    def catalogue(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product | canonical.Listing]:
        """The products and this account's listings of their variants, each listing after its
        product (`catalog import` stores both as they come). Here two reads, products then
        listings; a platform that returns both from one read overrides it."""
        yield from self.products(updated_since=updated_since)
        yield from self.listings(updated_since=updated_since)

    def stock_levels(self, *, location_external_id: str | None = None) -> Iterator[canonical.StockLevel]:
        raise self._unsupported(Capability.READ_STOCK)

    def order_stream(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order | Checkpoint]:
        """Orders changed at or after `updated_since`, in `order_stream_order`, with checkpoints."""
        raise self._unsupported(Capability.READ_ORDERS)

    def orders(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order]:
        """The orders of `order_stream`, without checkpoints."""
        return records(self.order_stream(updated_since=updated_since))

    def order(self, external_id: str) -> canonical.Order:
        raise self._unsupported(Capability.READ_ORDERS)

    def shipments(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Shipment]:
        raise self._unsupported(Capability.READ_SHIPMENTS)

    # ---- writes --------------------------------------------------------------------------------
    def set_stock(self, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
        """One result per update (by `listing_ref`), in `stock_write_mode`; see `connectors.stock`."""
        raise self._unsupported(Capability.WRITE_STOCK)

    def stock_write_status(self, submitted: Sequence[SubmittedWrite]) -> list[StockWriteResult]:
        """Where submitted writes stand now: applied, rejected, or still submitted."""
        raise self._unsupported(Capability.ASYNC_STOCK_WRITES)

    def push_shipment(self, shipment: ShipmentPush) -> ShipmentResult:
        raise self._unsupported(Capability.WRITE_SHIPMENTS)

    def create_listing(self, product: canonical.Product) -> list[canonical.Listing]:
        raise self._unsupported(Capability.WRITE_LISTINGS)

    def update_listing(self, listing: canonical.Listing, changes: Mapping[str, Any]) -> canonical.Listing:
        raise self._unsupported(Capability.WRITE_LISTINGS)

    # ---- events --------------------------------------------------------------------------------
    def register_webhooks(self, url: str) -> list[WebhookSubscription]:
        raise self._unsupported(Capability.REGISTER_WEBHOOKS)

    def list_webhooks(self) -> list[WebhookSubscription]:
        raise self._unsupported(Capability.REGISTER_WEBHOOKS)

    def delete_webhook(self, external_id: str) -> None:
        raise self._unsupported(Capability.REGISTER_WEBHOOKS)

    def verify_webhook(self, request: WebhookRequest) -> list[ChannelEvent]:
        """The events of a genuine delivery (hmac.compare_digest); AuthFailed if forged."""
        raise self._unsupported(Capability.WEBHOOKS)

    def webhook_reply(self, request: WebhookRequest, events: Sequence[ChannelEvent]) -> WebhookReply:
        """The answer the platform expects for an accepted delivery."""
        return WebhookReply()

    def event_subject(self, event: ChannelEvent) -> EventSubject | None:
        """What `event` is about (an order, a refund, a product); None when the hub need not act."""
        raise self._unsupported(Capability.WEBHOOKS)

    def event_order(self, event: ChannelEvent) -> canonical.Order | None:
        """The order a verified event carries whole, when the platform's body is the order as the
        API would return it at the body's `updated_at`; None (the default) when the hub must read
        the order from the channel. The engine still ignores a body older than what it holds."""
        return None

    def consume_events(self, limit: int = 100) -> list[ChannelEvent]:
        """Up to `limit` messages from the platform's queue, each with its `receipt`."""
        raise self._unsupported(Capability.PULL_EVENTS)

    def confirm_events(self, events: Sequence[ChannelEvent]) -> None:
        """Tell the queue these messages are stored (called only after the hub's commit)."""
        raise self._unsupported(Capability.PULL_EVENTS)


def installed() -> dict[str, Any]:
    """Installed connectors by platform name (entry points; not yet imported)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


# Classes already loaded in this process: scanning the installed distributions' entry points
# took a few milliseconds per job. A name not found here is looked up afresh (a new install).
_LOADED: dict[str, type[Connector]] = {}


def connector_class(platform: str) -> type[Connector]:
    """The connector class for `platform`, or UnknownPlatform listing the installed ones."""
    if platform in _LOADED:
        return _LOADED[platform]
    found = installed()
    if platform not in found:
        raise UnknownPlatform(platform, sorted(found))
    cls = found[platform].load()
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise UnknownPlatform(platform, sorted(found))
    _LOADED[platform] = cls
    return cls


def levels_at_one_location(listings: Iterator[canonical.Listing], location: str, wanted: str | None, *,
                           unknown_as_zero: bool = False) -> Iterator[canonical.StockLevel]:
    """Stock levels of a platform with one stock location, read off its listings: nothing when another
    location is asked for; a listing without a quantity is skipped, or counted 0 with `unknown_as_zero`."""
    if wanted not in (None, location):
        return
    for listing in listings:
        if listing.quantity is None and not unknown_as_zero:
            continue
        yield canonical.StockLevel(location_external_id=location, inventory_item_id=listing.external_variant_id,
                                   sku=listing.sku, available=listing.quantity or 0)
