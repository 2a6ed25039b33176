"""Shopify connector (GraphQL Admin API). Registered as the `shopify` entry point."""

from connectors.shopify.connector import ShopifyConnector

__all__ = ["ShopifyConnector"]
