"""The connector contract, its capabilities, and the registry of installed connectors.

A connector does I/O with one platform and turns its payloads into canonical objects and
back. It never touches the database. Connectors are found through the entry-point group
`marketsync.connectors`; a third-party package registers its class there.
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
from connectors.budget import LocalBudget, RateBudget
from connectors.errors import Rejected, UnknownPlatform
from connectors.http import HttpPolicy

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "marketsync.connectors"


class Capability(StrEnum):
    READ_CATALOG = "read_catalog"
    READ_STOCK = "read_stock"
    READ_ORDERS = "read_orders"
    READ_SHIPMENTS = "read_shipments"
    WRITE_STOCK = "write_stock"
    WRITE_LISTINGS = "write_listings"
    WRITE_SHIPMENTS = "write_shipments"
    WEBHOOKS = "webhooks"


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
            raise Rejected(self.where(), f"secret {key!r} is not set; run `marketsync account add` again "
                                         f"with --secret {key}") from None

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
class StockUpdate:
    """Set one listing's quantity at one channel location.

    `compare_quantity` is what the hub believes the channel holds (compare-and-swap where the
    platform supports it; ignored elsewhere). `listing_ref` comes back in the result.
    """

    listing_ref: str
    external_variant_id: str
    external_product_id: str
    external_inventory_item_id: str | None
    location_external_id: str | None
    quantity: int
    compare_quantity: int | None = None


@dataclass(frozen=True)
class StockWriteResult:
    listing_ref: str
    ok: bool
    quantity: int | None = None
    stale: bool = False
    observed_quantity: int | None = None
    error: str | None = None


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


@dataclass(frozen=True)
class ShipmentResult:
    external_id: str
    already_present: bool = False


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    topic: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class WebhookSubscription:
    external_id: str
    topic: str
    url: str


class Connector(ABC):
    """Base class for a platform connector. Subclasses declare class attributes and override
    the methods their capabilities need; the others raise a clear error."""

    platform: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    options: ClassVar[tuple[OptionSpec, ...]] = ()
    stock_batch_size: ClassVar[int] = 1
    supports_compare_and_swap: ClassVar[bool] = False

    def __init__(self, account: AccountConfig, *, policy: HttpPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, budget: RateBudget | None = None) -> None:
        self.account = account
        self.policy = policy or HttpPolicy()
        self.transport = transport
        self.budget: RateBudget = budget or LocalBudget()
        self.skipped: list[canonical.CanonicalError] = []

    @property
    def calls(self) -> int:
        """Requests this connector has sent to the platform, retries included."""
        return 0

    def skip(self, error: canonical.CanonicalError) -> None:
        """Report a record that could not be normalised; the caller's loop goes on."""
        self.skipped.append(error)
        log.warning("skipped a record: %s", error)

    def where(self, what: str = "") -> str:
        return self.account.where(what)

    def _unsupported(self, capability: Capability) -> NotImplementedError:
        return NotImplementedError(f"{self.where()}: the {self.platform} connector cannot {capability.value}")

    @abstractmethod
    def health(self) -> Health: ...

    def close(self) -> None:  # noqa: B027 - optional hook; connectors without a client need nothing
        """Release the HTTP client."""

    def currency(self) -> str:
        return self.health().currency

    def locations(self) -> Iterator[canonical.Location]:
        raise self._unsupported(Capability.READ_STOCK)

    def products(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Product]:
        raise self._unsupported(Capability.READ_CATALOG)

    def listings(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Listing]:
        raise self._unsupported(Capability.READ_CATALOG)

    def stock_levels(self, *, location_external_id: str | None = None) -> Iterator[canonical.StockLevel]:
        raise self._unsupported(Capability.READ_STOCK)

    def orders(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Order]:
        raise self._unsupported(Capability.READ_ORDERS)

    def order(self, external_id: str) -> canonical.Order:
        raise self._unsupported(Capability.READ_ORDERS)

    def shipments(self, *, updated_since: datetime | None = None) -> Iterator[canonical.Shipment]:
        raise self._unsupported(Capability.READ_SHIPMENTS)

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
        raise self._unsupported(Capability.WRITE_STOCK)

    def push_shipment(self, shipment: ShipmentPush) -> ShipmentResult:
        raise self._unsupported(Capability.WRITE_SHIPMENTS)

    def create_listing(self, product: canonical.Product) -> list[canonical.Listing]:
        raise self._unsupported(Capability.WRITE_LISTINGS)

    def update_listing(self, listing: canonical.Listing, changes: Mapping[str, Any]) -> canonical.Listing:
        raise self._unsupported(Capability.WRITE_LISTINGS)

    def register_webhooks(self, url: str) -> list[WebhookSubscription]:
        raise self._unsupported(Capability.WEBHOOKS)

    def list_webhooks(self) -> list[WebhookSubscription]:
        raise self._unsupported(Capability.WEBHOOKS)

    def delete_webhook(self, external_id: str) -> None:
        raise self._unsupported(Capability.WEBHOOKS)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Check the signature (hmac.compare_digest) and return the event; raise AuthFailed if forged."""
        raise self._unsupported(Capability.WEBHOOKS)


def installed() -> dict[str, Any]:
    """Installed connectors by platform name (entry points; not yet imported)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def connector_class(platform: str) -> type[Connector]:
    """The connector class for `platform`, or UnknownPlatform listing the installed ones."""
    found = installed()
    if platform not in found:
        raise UnknownPlatform(platform, sorted(found))
    cls = found[platform].load()
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise UnknownPlatform(platform, sorted(found))
    return cls
