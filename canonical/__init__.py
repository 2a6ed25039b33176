"""The canonical commerce model: what every connector normalises into."""

from canonical.identifiers import clean_barcode, clean_sku, normalised_sku
from canonical.model import (
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
    "CanonicalError", "CurrencyMismatch", "Customer", "Listing", "Location", "Money", "Order", "OrderLine",
    "OrderStatus", "Product", "ProductStatus", "Refund", "RefundLine", "Shipment", "ShipmentLine",
    "StockLevel", "Variant", "build", "clean_barcode", "clean_sku", "normalised_sku", "utc_from_iso",
]
