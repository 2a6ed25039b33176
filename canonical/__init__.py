"""The canonical commerce model: what every connector normalises into."""

from canonical.guard import normaliser
from canonical.identifiers import clean_barcode, clean_sku, normalised_sku
from canonical.model import (
    AfterSaleKind,
    AfterSaleStage,
    CanonicalError,
    Customer,
    Listing,
    Location,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProductStatus,
    Refund,
    RefundLine,
    Shipment,
    ShipmentLine,
    StockLevel,
    Variant,
    build,
    utc_from_iso,
)
from canonical.money import CurrencyMismatch, Money

__all__ = [
    "AfterSaleKind", "AfterSaleStage",
    "CanonicalError", "CurrencyMismatch", "Customer", "Listing", "Location", "Money", "Order", "OrderLine",
    "OrderStatus", "Product", "ProductStatus", "Refund", "RefundLine", "Shipment", "ShipmentLine",
    "StockLevel", "Variant", "build", "clean_barcode", "clean_sku", "normalised_sku", "normaliser", "utc_from_iso",
]
