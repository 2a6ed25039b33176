"""Every GraphQL document the Shopify connector sends, as module constants.

Each constant is validated against the published 2026-04 Admin schema by
`tests/connectors/test_shopify_documents.py`, which discovers them by their upper-case name.
Connections take `$first` so the client can size each page to stay under Shopify's
1,000-point single-query cost limit (see `client.fit_page`).
"""

from __future__ import annotations

PAGE_INFO = "pageInfo { hasNextPage endCursor }"

HEALTH = """
query Health {
  shop { name currencyCode myshopifyDomain }
  currentAppInstallation { accessScopes { handle } }
}
"""

LOCATIONS = f"""
query Locations($first: Int!, $after: String) {{
  locations(first: $first, after: $after, includeInactive: true) {{
    nodes {{ id name isActive }}
    {PAGE_INFO}
  }}
}}
"""

_VARIANT_FIELDS = """
fragment VariantFields on ProductVariant {
  id title sku barcode price compareAtPrice updatedAt
  selectedOptions { name value }
  inventoryItem { id tracked }
}
"""

PRODUCTS = f"""
query Products($first: Int!, $after: String, $query: String, $variantsFirst: Int!) {{
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{
      id title descriptionHtml vendor productType tags status updatedAt
      variants(first: $variantsFirst) {{ nodes {{ ...VariantFields }} {PAGE_INFO} }}
    }}
    {PAGE_INFO}
  }}
}}
{_VARIANT_FIELDS}
"""

PRODUCT_VARIANTS = f"""
query ProductVariants($id: ID!, $first: Int!, $after: String) {{
  product(id: $id) {{
    variants(first: $first, after: $after) {{ nodes {{ ...VariantFields }} {PAGE_INFO} }}
  }}
}}
{_VARIANT_FIELDS}
"""

_LISTING_FIELDS = """
fragment ListingFields on ProductVariant {
  id title sku barcode price compareAtPrice updatedAt
  product { id title status updatedAt }
  inventoryItem {
    id tracked
    inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } }
  }
}
"""

LISTINGS = f"""
query Listings($first: Int!, $after: String, $query: String, $locationId: ID!) {{
  productVariants(first: $first, after: $after, query: $query) {{
    nodes {{ ...ListingFields }}
    {PAGE_INFO}
  }}
}}
{_LISTING_FIELDS}
"""

LISTING = f"""
query Listing($id: ID!, $locationId: ID!) {{
  productVariant(id: $id) {{ ...ListingFields }}
}}
{_LISTING_FIELDS}
"""

STOCK_LEVELS = f"""
query StockLevels($locationId: ID!, $first: Int!, $after: String) {{
  location(id: $locationId) {{
    id
    inventoryLevels(first: $first, after: $after) {{
      nodes {{
        quantities(names: ["available", "on_hand", "committed"]) {{ name quantity }}
        item {{ id sku }}
      }}
      {PAGE_INFO}
    }}
  }}
}}
"""

INVENTORY_AVAILABLE = """
query InventoryAvailable($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } }
    }
  }
}
"""

_ORDER_FIELDS = f"""
fragment OrderFields on Order {{
  id name createdAt updatedAt cancelledAt currencyCode email
  displayFinancialStatus displayFulfillmentStatus
  totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
  shippingAddress {{ countryCodeV2 }}
  customer {{ id }}
  lineItems(first: $linesFirst) {{ nodes {{ ...LineFields }} {PAGE_INFO} }}
  refunds {{
    id createdAt note
    totalRefundedSet {{ shopMoney {{ amount currencyCode }} }}
    refundLineItems(first: $refundLinesFirst) {{ nodes {{ ...RefundLineFields }} {PAGE_INFO} }}
  }}
}}
fragment LineFields on LineItem {{
  id sku title quantity currentQuantity
  variant {{ id }}
  originalUnitPriceSet {{ shopMoney {{ amount currencyCode }} }}
}}
fragment RefundLineFields on RefundLineItem {{
  quantity restockType
  lineItem {{ id }}
}}
"""

ORDERS = f"""
query Orders($first: Int!, $after: String, $query: String, $linesFirst: Int!, $refundLinesFirst: Int!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ ...OrderFields }}
    {PAGE_INFO}
  }}
}}
{_ORDER_FIELDS}
"""

ORDER = f"""
query Order($id: ID!, $linesFirst: Int!, $refundLinesFirst: Int!) {{
  order(id: $id) {{ ...OrderFields }}
}}
{_ORDER_FIELDS}
"""

ORDER_LINE_ITEMS = f"""
query OrderLineItems($id: ID!, $first: Int!, $after: String) {{
  order(id: $id) {{
    lineItems(first: $first, after: $after) {{
      nodes {{
        id sku title quantity currentQuantity
        variant {{ id }}
        originalUnitPriceSet {{ shopMoney {{ amount currencyCode }} }}
      }}
      {PAGE_INFO}
    }}
  }}
}}
"""

REFUND_LINE_ITEMS = f"""
query RefundLineItems($id: ID!, $first: Int!, $after: String) {{
  node(id: $id) {{
    ... on Refund {{
      refundLineItems(first: $first, after: $after) {{
        nodes {{ quantity restockType lineItem {{ id }} }}
        {PAGE_INFO}
      }}
    }}
  }}
}}
"""

# `fulfillments` is a plain list (no `first`): it costs like one object and returns them all.
_SHIPMENT_ORDER_FIELDS = f"""
fragment ShipmentOrderFields on Order {{
  id name poNumber
  fulfillments {{
    id status createdAt
    trackingInfo {{ company number url }}
    fulfillmentLineItems(first: $fulfillmentLinesFirst) {{ nodes {{ ...FulfillmentLineFields }} {PAGE_INFO} }}
  }}
}}
fragment FulfillmentLineFields on FulfillmentLineItem {{
  quantity
  lineItem {{ id sku }}
}}
"""

SHIPMENTS = f"""
query Shipments($first: Int!, $after: String, $query: String, $fulfillmentLinesFirst: Int!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ ...ShipmentOrderFields }}
    {PAGE_INFO}
  }}
}}
{_SHIPMENT_ORDER_FIELDS}
"""

FULFILLMENT_LINE_ITEMS = f"""
query FulfillmentLineItems($id: ID!, $first: Int!, $after: String) {{
  fulfillment(id: $id) {{
    fulfillmentLineItems(first: $first, after: $after) {{
      nodes {{ quantity lineItem {{ id sku }} }}
      {PAGE_INFO}
    }}
  }}
}}
"""

ORDER_FULFILMENT_STATE = """
query OrderFulfilmentState($id: ID!) {
  order(id: $id) {
    id
    fulfillments(first: 50) {
      id
      trackingInfo { number }
      fulfillmentLineItems(first: 50) { nodes { quantity lineItem { id } } }
    }
    fulfillmentOrders(first: 5) {
      nodes {
        id status
        assignedLocation { location { id } }
        lineItems(first: 50) { nodes { id remainingQuantity lineItem { id } } }
      }
    }
  }
}
"""

SET_QUANTITIES = """
mutation SetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}
"""

FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}
"""

PRODUCT_CREATE = """
mutation ProductCreate($product: ProductCreateInput!) {
  productCreate(product: $product) {
    product {
      id
      options { id name }
      variants(first: 1) { nodes { id } }
    }
    userErrors { field message }
  }
}
"""

VARIANTS_BULK_CREATE = """
mutation VariantsBulkCreate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkCreate(productId: $productId, variants: $variants, strategy: REMOVE_STANDALONE_VARIANT) {
    productVariants { id }
    userErrors { field message code }
  }
}
"""

VARIANTS_BULK_UPDATE = """
mutation VariantsBulkUpdate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id }
    userErrors { field message code }
  }
}
"""

PRODUCT_UPDATE = """
mutation ProductUpdate($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product { id }
    userErrors { field message }
  }
}
"""

WEBHOOK_CREATE = """
mutation WebhookCreate($topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

WEBHOOKS = f"""
query Webhooks($first: Int!, $after: String) {{
  webhookSubscriptions(first: $first, after: $after) {{
    nodes {{ id topic uri }}
    {PAGE_INFO}
  }}
}}
"""

WEBHOOK_DELETE = """
mutation WebhookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}
"""
