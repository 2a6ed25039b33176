"""The canonical model every connector normalises into (pydantic 2, strict).

Times are timezone-aware UTC; money is `Money`; SKUs are cleaned; barcodes are checked
GTINs. Build records from platform data with `canonical.build(...)`, which turns a
validation failure into a `CanonicalError` naming the record's source and the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from canonical.errors import MarketsyncError
from canonical.identifiers import clean_barcode, clean_sku
from canonical.money import Money
from canonical.quantities import MAX_QUANTITY


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time must be timezone-aware")
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]
Sku = Annotated[str, BeforeValidator(clean_sku)]
Barcode = Annotated[str | None, BeforeValidator(clean_barcode)]
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
# A channel's level may be negative (oversold, backorders), within the same bound.
Level = Annotated[int, Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)]


class Record(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


class ProductStatus(StrEnum):
    ACTIVE = "active"
    DRAFT = "draft"
    ARCHIVED = "archived"


class Variant(Record):
    sku: Sku
    barcode: Barcode = None
    title: str = ""
    options: dict[str, str] = {}
    price: Money | None = None
    compare_at_price: Money | None = None
    tracked: bool = True


class Product(Record):
    title: str
    description: str = ""
    vendor: str = ""
    product_type: str = ""
    tags: tuple[str, ...] = ()
    status: ProductStatus = ProductStatus.ACTIVE
    variants: tuple[Variant, ...] = ()
    updated_at: UtcTime | None = None


class Location(Record):
    external_id: str
    name: str
    active: bool = True


class StockLevel(Record):
    """A channel's (or the hub's) quantities for one item at one location."""

    location_external_id: str
    inventory_item_id: str
    sku: Sku | None = None
    available: Level
    on_hand: Level | None = None
    committed: Level | None = None


class Listing(Record):
    """A channel's identity for one variant: where its product, variant and stock live."""

    account: str
    external_product_id: str
    external_variant_id: str
    external_inventory_item_id: str | None = None
    sku: Sku | None = None
    barcode: Barcode = None
    title: str = ""
    product_title: str = ""
    price: Money | None = None
    compare_at_price: Money | None = None
    status: ProductStatus = ProductStatus.ACTIVE
    tracked: bool = True
    quantity: Level | None = None
    updated_at: UtcTime | None = None


class OrderStatus(StrEnum):
    OPEN = "open"            # placed, waiting to ship
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # fully shipped on the channel
    REFUNDED = "refunded"
    PENDING = "pending"      # not yet paid: does not commit stock


class OrderLine(Record):
    external_id: str
    sku: Sku | None = None
    external_variant_id: str | None = None
    quantity: Quantity
    cancelled_quantity: Quantity = 0
    unit_price: Money | None = None
    title: str = ""


class Customer(Record):
    """The least customer data the work needs; purged by `privacy purge`.

    `buyer_id` is the platform's own id for the buyer (a customer id, an open buyer id) when it
    gives one. The hub never stores it or the email in plain for reports: both only feed the
    salted customer key (`sync.customers`)."""

    name: str | None = None
    email: str | None = None
    country: str | None = None
    buyer_id: str | None = None


class AfterSaleKind(StrEnum):
    """What a channel's after-sale is (None on a Refund: the channel does not say)."""

    REFUND_ONLY = "refund_only"  # money back, the goods stay with the buyer (仅退款)
    RETURN = "return"            # the goods come back and the money too (退货退款)
    EXCHANGE = "exchange"        # the goods come back and a replacement ships (换货)


class AfterSaleStage(StrEnum):
    """How far the channel's after-sale has come."""

    REQUESTED = "requested"  # the buyer asked; nothing is back or refunded yet
    RECEIVED = "received"    # the goods are back with the merchant; the money not yet
    COMPLETED = "completed"  # refunded (or the replacement sent)
    CLOSED = "closed"        # withdrawn or refused: nothing happens


class Refund(Record):
    """Money given back on an order, or a channel's after-sale, with the lines it covers.

    `amount` is what the channel refunded (None when it does not say: the hub then values the
    refunded lines). Only a `completed` refund counts as money given back; `kind` and `stage` let
    a connector pass on its after-sale flow (the hub turns each line into a return)."""

    external_id: str
    lines: tuple[RefundLine, ...] = ()
    created_at: UtcTime | None = None
    amount: Money | None = None
    reason: str = ""
    kind: AfterSaleKind | None = None
    stage: AfterSaleStage = AfterSaleStage.COMPLETED


class RefundLine(Record):
    line_external_id: str
    quantity: Quantity
    restock: bool
    replacement_sku: Sku | None = None  # an exchange: what is sent instead


class Order(Record):
    account: str
    external_id: str
    number: str = ""
    status: OrderStatus
    currency: str
    total: Money | None = None
    lines: tuple[OrderLine, ...]
    refunds: tuple[Refund, ...] = ()
    customer: Customer = Customer()
    placed_at: UtcTime
    updated_at: UtcTime
    # When the buyer paid, where the channel says (None: not paid, or not said). The hub needs it
    # only from a platform that never puts a paid order's units back (`Connector.restocks_paid_orders`).
    paid_at: UtcTime | None = None


class ShipmentLine(Record):
    order_line_external_id: str
    sku: Sku | None = None
    quantity: Annotated[int, Field(gt=0, le=MAX_QUANTITY)]


class Shipment(Record):
    """A shipment as a channel reports it. `order_external_id` is the order on that channel;
    `order_reference` is what a fulfilment source knows of the origin order it fulfils (an order
    number such as `#1001`, or `ACCOUNT:EXTERNAL_ID`), None when the channel records none."""

    order_external_id: str
    order_reference: str | None = None
    carrier: str
    tracking_number: str
    tracking_url: str | None = None
    lines: tuple[ShipmentLine, ...]
    shipped_at: UtcTime | None = None


Refund.model_rebuild()

R = TypeVar("R", bound=Record)


class CanonicalError(MarketsyncError, ValueError):
    """A platform record could not be normalised; names its source, field and problem."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        # One line: a wrapped pydantic message goes on with the input value, which may be customer data.
        problem = (problem.strip().splitlines() or [""])[0][:300]
        super().__init__(f"{source}: field {field!r} {problem}")
        self.source, self.field, self.problem = source, field, problem


PRIVATE_FIELDS = {"name", "email", "country", "customer"}


def build(model: type[R], data: dict[str, Any], *, source: str) -> R:
    """Validate `data` into `model`, or raise CanonicalError naming `source` and the field.

    Values of customer fields are never echoed into the error.
    """
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(part) for part in first["loc"]) or model.__name__
        private = any(str(part) in PRIVATE_FIELDS for part in first["loc"])
        shown = "" if private or "input" not in first else f" (got {first['input']!r:.80})"
        raise CanonicalError(source, path, f"is invalid: {first['msg']}{shown}") from None


def utc_from_iso(value: str, *, assume_tz: Any = UTC) -> datetime:
    """Parse an ISO-8601 time; a naive value is taken to be in `assume_tz`."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=assume_tz)
    return parsed.astimezone(UTC)
