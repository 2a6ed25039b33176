"""The WooCommerce connector (REST API v3, `/wp-json/wc/v3`).

Modules: `client` (Basic auth over https, `oauth` OAuth 1.0a signatures over http, error messages, lazy
`page`/`per_page` pagination), `normalise` (pure payload → canonical functions), `writers`
(batched stock and prices, listings, shipments), `webhooks` (signature check, event ids),
`connector` (the `WooCommerceConnector` class registered under the entry point).

Decisions:
- Order status: pending/failed/checkout-draft → PENDING, processing/on-hold → OPEN,
  completed → COMPLETED, cancelled → CANCELLED, refunded → REFUNDED; any other (plugin) status
  is a CanonicalError, never a guess.
- Sale price: when a product is on sale, canonical `price` is the sale price and
  `compare_at_price` the regular price; writing a compare-at above the price sets
  regular = compare-at and sale = price, otherwise regular = price and the sale price is cleared.
- Stock: one location ("default"); absolute values (no compare-and-swap); writing stock switches
  stock management on for the item.
- Webhook event id: `{X-WC-Webhook-Delivery-ID}:{resource}:{resource id}`.
"""

from connectors.woocommerce.connector import WooCommerceConnector

__all__ = ["WooCommerceConnector"]
