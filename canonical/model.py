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

from canonical.identifiers import clean_barcode, clean_sku
from canonical.money import Money


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time must be timezone-aware")
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]
Sku = Annotated[str, BeforeValidator(clean_sku)]
Barcode = Annotated[str | None, BeforeValidator(clean_barcode)]
Quantity = Annotated[int, Field(ge=0)]


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
    available: int
    on_hand: int | None = None
    committed: int | None = None


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
    quantity: int | None = None
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
    """The least customer data the work needs; purged by `privacy purge`."""

    name: str | None = None
    email: str | None = None
    country: str | None = None


class Refund(Record):
    external_id: str
    lines: tuple[RefundLine, ...] = ()
    created_at: UtcTime | None = None


class RefundLine(Record):
    line_external_id: str
    quantity: Quantity
    restock: bool


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


class ShipmentLine(Record):
    order_line_external_id: str
    sku: Sku | None = None
    quantity: Annotated[int, Field(gt=0)]


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


class CanonicalError(ValueError):
    """A platform record could not be normalised; names its source, field and problem."""

    def __init__(self, source: str, field: str, problem: str) -> None:
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
