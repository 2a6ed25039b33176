"""WooCommerce normalise functions against every documented REST v3 example shipped with the simulator
(sandbox/woocommerce/documented_examples).

Each example that holds products, variations or orders must become canonical records with the
right SKUs, quantities, Money (Decimal + currency) and UTC times; malformed payloads raise a
CanonicalError naming the record id and the field.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from canonical import CanonicalError, Money, OrderStatus, ProductStatus
from connectors.woocommerce import normalise, writers
from sandbox.woocommerce.examples import documented_example, documented_example_names


def load(name: str) -> Any:
    return documented_example(name)


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_every_catalogue_and_order_example_is_covered() -> None:
    """A new documented example must get its own test here."""
    covered = {"product_retrieve.json", "product_variable_create_response.json", "products_list.json",
               "products_batch_response.json", "product_variation_retrieve.json", "product_variations_list.json",
               "product_variations_batch_response.json", "order_retrieve.json", "orders_list.json",
               "orders_batch_response.json", "webhook_retrieve.json", "order_refunds_list.json"}
    assert documented_example_names() == covered


# ---- products ------------------------------------------------------------------------------------
def test_simple_product_retrieve() -> None:
    raw = load("product_retrieve.json")
    product = normalise.product(raw, currency="USD")
    assert product.title == "Premium Quality"
    assert product.status is ProductStatus.ACTIVE
    assert product.product_type == "Clothing"
    assert product.updated_at == utc(2017, 3, 23, 20, 1, 14)  # date_modified_gmt, not the local 17:01
    assert product.variants == ()  # the example has no SKU: no hub identity, but still a listing

    listing = normalise.listing(raw, account="eu", currency="USD")
    assert (listing.external_product_id, listing.external_variant_id) == ("794", "794")
    assert listing.sku is None
    assert listing.price == usd("21.99") and listing.price.amount == Decimal("21.99")
    assert listing.compare_at_price is None
    assert listing.tracked is False and listing.quantity is None
    assert listing.title == listing.product_title == "Premium Quality"
    assert normalise.stock_level(listing) is None


def test_simple_product_with_sku_and_managed_stock_is_a_variant() -> None:
    raw = load("product_retrieve.json") | {"sku": " PQ-19 ", "manage_stock": True, "stock_quantity": 12,
                                          "global_unique_id": "4006381333931"}
    (variant,) = normalise.product(raw, currency="USD").variants
    assert (variant.sku, variant.barcode, variant.tracked) == ("PQ-19", "4006381333931", True)
    assert variant.price == usd("21.99")
    listing = normalise.listing(raw, account="eu", currency="USD")
    assert (listing.sku, listing.quantity) == ("PQ-19", 12)
    level = normalise.stock_level(listing)
    assert level is not None and (level.inventory_item_id, level.available, level.location_external_id) == (
        "794", 12, "default")


def test_variable_product_with_its_variations() -> None:
    parent = load("product_variable_create_response.json")
    variations = load("product_variations_list.json")
    product = normalise.product(parent, currency="USD", variations=variations)
    assert (product.title, product.updated_at) == ("Ship Your Idea", utc(2017, 3, 23, 20, 3, 12))
    assert product.variants == ()  # neither documented variation has a SKU

    listings = [normalise.listing(v, account="eu", currency="USD", parent=parent) for v in variations]
    assert [(x.external_product_id, x.external_variant_id, x.title) for x in listings] == [
        ("799", "733", "Green"), ("799", "732", "Black")]
    assert all(x.product_title == "Ship Your Idea" and x.price == usd("9.00") for x in listings)
    assert listings[1].updated_at == utc(2017, 3, 23, 3, 36, 38)

    with_skus = [v | {"sku": f"SYI-{v['attributes'][0]['option']}"} for v in variations]
    product = normalise.product(parent, currency="USD", variations=with_skus)
    assert [(v.sku, v.options, v.price) for v in product.variants] == [
        ("SYI-Green", {"Color": "Green"}, usd("9.00")), ("SYI-Black", {"Color": "Black"}, usd("9.00"))]


def test_variable_parent_price_is_empty_in_the_example() -> None:
    raw = load("product_variable_create_response.json")
    assert raw["price"] == ""
    listing = normalise.listing(raw, account="eu", currency="USD")
    assert listing.price is None


def test_products_list() -> None:
    raw = load("products_list.json")
    products = [normalise.product(p, currency="USD") for p in raw]
    assert [p.title for p in products] == ["Ship Your Idea", "Premium Quality"]
    assert [p.updated_at for p in products] == [utc(2017, 3, 23, 20, 3, 12), utc(2017, 3, 23, 20, 1, 14)]
    simple = normalise.listing(raw[1], account="eu", currency="USD")
    assert (simple.external_variant_id, simple.price) == ("794", usd("21.99"))


def test_products_batch_response() -> None:
    raw = load("products_batch_response.json")
    created = [normalise.listing(p, account="eu", currency="USD") for p in raw["create"]]
    assert [(x.external_variant_id, x.price, x.updated_at) for x in created] == [
        ("801", usd("21.99"), utc(2017, 3, 23, 20, 35, 43)), ("804", usd("21.99"), utc(2017, 3, 23, 20, 35, 48))]
    (updated,) = [normalise.product(p, currency="USD") for p in raw["update"]]
    assert updated.title == "Ship Your Idea"
    (deleted,) = [normalise.listing(p, account="eu", currency="USD") for p in raw["delete"]]
    assert deleted.price == usd("24.54")


def test_variation_retrieve() -> None:
    raw = load("product_variation_retrieve.json")
    listing = normalise.listing(raw, account="eu", currency="USD", parent_id=22)
    assert (listing.external_product_id, listing.external_variant_id, listing.title) == ("22", "732", "Black")
    assert listing.price == usd("9.00")
    assert listing.updated_at == utc(2017, 3, 23, 3, 36, 38)
    assert listing.sku is None and listing.tracked is False


def test_variations_batch_response() -> None:
    raw = load("product_variations_batch_response.json")
    found = [normalise.listing(v, account="eu", currency="USD", parent_id=22)
             for key in ("create", "update", "delete") for v in raw[key]]
    assert [(x.external_variant_id, x.title, x.price) for x in found] == [
        ("735", "Blue", usd("10.00")), ("736", "White", usd("10.00")), ("733", "Green", usd("10.00")),
        ("732", "Black", usd("9.00"))]
    assert found[0].updated_at == utc(2017, 3, 23, 4, 19, 37)


def test_on_sale_price_and_compare_at() -> None:
    raw = load("product_retrieve.json") | {"price": "17.50", "sale_price": "17.50", "on_sale": True}
    listing = normalise.listing(raw, account="eu", currency="USD")
    assert (listing.price, listing.compare_at_price) == (usd("17.50"), usd("21.99"))
    # a scheduled sale that has not started: the regular price applies
    scheduled = load("product_retrieve.json") | {"sale_price": "17.50", "on_sale": False}
    listing = normalise.listing(scheduled, account="eu", currency="USD")
    assert (listing.price, listing.compare_at_price) == (usd("21.99"), None)
    # and back: compare-at above price → regular + sale
    assert writers.price_fields(usd("17.50"), usd("21.99")) == {"regular_price": "21.99", "sale_price": "17.50"}
    assert writers.price_fields(usd("21.99"), None) == {"regular_price": "21.99", "sale_price": ""}


def test_variation_of_a_draft_product_is_not_active() -> None:
    parent = load("product_variable_create_response.json") | {"status": "draft"}
    listing = normalise.listing(load("product_variation_retrieve.json"), account="eu", currency="USD", parent=parent)
    assert listing.status is ProductStatus.DRAFT


# ---- orders --------------------------------------------------------------------------------------
def test_order_retrieve() -> None:
    order = normalise.order(load("order_retrieve.json"), account="us", currency="EUR")
    assert (order.external_id, order.number, order.status, order.currency) == ("727", "727", OrderStatus.OPEN, "USD")
    assert order.total == usd("29.35")
    assert order.placed_at == utc(2017, 3, 22, 19, 28, 2)   # date_created_gmt; local is 16:28
    assert order.updated_at == utc(2017, 3, 22, 19, 28, 8)
    assert [(x.external_id, x.sku, x.external_variant_id, x.quantity, x.unit_price) for x in order.lines] == [
        ("315", None, "93", 2, usd("3")), ("316", "Bar3", "23", 1, usd("12"))]
    assert order.lines[1].unit_price is not None and order.lines[1].unit_price.amount == Decimal("12")
    assert order.lines[1].title == "Ship Your Idea \u2013 Color: Black, Size: M Test"  # &ndash; decoded
    assert (order.customer.name, order.customer.country) == ("John Doe", "US")
    assert order.refunds == ()


def test_orders_list_with_refund_summaries() -> None:
    first, second = (normalise.order(o, account="us", currency="USD") for o in load("orders_list.json"))
    assert (first.external_id, first.status) == ("727", OrderStatus.OPEN)
    assert (second.external_id, second.status, second.total) == ("723", OrderStatus.COMPLETED, usd("39.00"))
    assert [r.external_id for r in second.refunds] == ["726", "724"]
    assert second.updated_at == utc(2017, 3, 21, 19, 54, 51)
    assert [(x.external_id, x.external_variant_id, x.quantity) for x in second.lines] == [
        ("311", "87", 1), ("313", "34", 1)]


def test_orders_batch_response() -> None:
    raw = load("orders_batch_response.json")
    orders = [normalise.order(o, account="us", currency="USD") for key in ("create", "update", "delete")
              for o in raw[key]]
    assert [(o.external_id, o.status, o.total) for o in orders] == [
        ("728", OrderStatus.PENDING, usd("62.25")), ("729", OrderStatus.OPEN, usd("54.40")),
        ("727", OrderStatus.COMPLETED, usd("29.35")), ("723", OrderStatus.COMPLETED, usd("39.00"))]
    assert [(x.sku, x.external_variant_id, x.unit_price) for x in orders[1].lines] == [
        ("Bar3", "23", usd("12")), (None, "24", usd("20"))]
    assert orders[0].placed_at == utc(2017, 3, 22, 19, 33, 34)


@pytest.mark.parametrize(("woo", "hub"), [
    ("pending", OrderStatus.PENDING), ("failed", OrderStatus.PENDING), ("on-hold", OrderStatus.OPEN),
    ("processing", OrderStatus.OPEN), ("completed", OrderStatus.COMPLETED),
    ("cancelled", OrderStatus.CANCELLED), ("refunded", OrderStatus.REFUNDED),
])
def test_order_status_mapping(woo: str, hub: OrderStatus) -> None:
    raw = load("order_retrieve.json") | {"status": woo}
    assert normalise.order(raw, account="us", currency="USD").status is hub


def test_detailed_refund_lines_point_at_their_order_line() -> None:
    raw = load("order_retrieve.json") | {"refunds": [{"id": 900, "reason": "", "total": "-12.00"}]}
    detailed = [{"id": 900, "date_created_gmt": "2017-03-23T10:00:00", "amount": "12.00",
                 "line_items": [{"id": 901, "product_id": 22, "variation_id": 23, "quantity": -1,
                                 "meta_data": [{"id": 1, "key": "_refunded_item_id", "value": "316"}]},
                                {"id": 902, "product_id": 93, "variation_id": 0, "quantity": -2, "meta_data": []}]}]
    order = normalise.order(raw, account="us", currency="USD", refunds=detailed)
    (refund,) = order.refunds
    assert refund.created_at == utc(2017, 3, 23, 10, 0, 0)
    assert [(x.line_external_id, x.quantity, x.restock) for x in refund.lines] == [("316", 1, False), ("315", 2, False)]


def test_json_float_line_price_is_read_exactly() -> None:
    raw = copy.deepcopy(load("order_retrieve.json"))
    raw["line_items"][0]["price"] = 12.3
    order = normalise.order(raw, account="us", currency="USD")
    assert order.lines[0].unit_price == usd("12.3")


# ---- malformed payloads --------------------------------------------------------------------------
def raises(call: Any, *, record: str, field: str) -> CanonicalError:
    with pytest.raises(CanonicalError) as info:
        call()
    assert record in info.value.source, info.value
    assert info.value.field == field, info.value
    return info.value


def test_bad_price_names_product_and_field() -> None:
    raw = load("product_retrieve.json") | {"price": "abc"}
    raises(lambda: normalise.listing(raw, account="eu", currency="USD"), record="product 794", field="price")
    raises(lambda: normalise.product(raw, currency="USD"), record="product 794", field="price")


def test_bad_stock_names_variation_and_field() -> None:
    raw = load("product_variation_retrieve.json") | {"manage_stock": True, "stock_quantity": "lots"}
    error = raises(lambda: normalise.listing(raw, account="eu", currency="USD", parent_id=22),
                   record="variation 732 of product 22", field="stock_quantity")
    assert "eu" in error.source


def test_bad_barcode_and_sku_types() -> None:
    raw = load("product_retrieve.json") | {"global_unique_id": 17}
    raises(lambda: normalise.listing(raw, account="eu", currency="USD"), record="product 794",
           field="global_unique_id")
    raw = load("product_retrieve.json") | {"global_unique_id": "4006381333932"}  # wrong check digit
    raises(lambda: normalise.listing(raw, account="eu", currency="USD"), record="product 794",
           field="global_unique_id")
    raw = load("product_retrieve.json") | {"sku": 42}
    raises(lambda: normalise.listing(raw, account="eu", currency="USD"), record="product 794", field="sku")


def test_bad_order_fields() -> None:
    base = load("order_retrieve.json")
    raises(lambda: normalise.order(base | {"total": "abc"}, account="us", currency="USD"),
           record="order 727", field="total")
    raises(lambda: normalise.order(base | {"status": "shipped-custom"}, account="us", currency="USD"),
           record="order 727", field="status")
    raises(lambda: normalise.order(base | {"date_created_gmt": None}, account="us", currency="USD"),
           record="order 727", field="date_created_gmt")
    raises(lambda: normalise.order(base | {"date_modified_gmt": "yesterday"}, account="us", currency="USD"),
           record="order 727", field="date_modified_gmt")
    broken = copy.deepcopy(base)
    broken["line_items"][1]["quantity"] = "two"
    raises(lambda: normalise.order(broken, account="us", currency="USD"), record="order 727",
           field="line_items[316].quantity")
    negative = copy.deepcopy(base)
    negative["line_items"][0]["quantity"] = -1
    raises(lambda: normalise.order(negative, account="us", currency="USD"), record="order 727",
           field="line_items[315].quantity")


def test_customer_data_never_appears_in_errors() -> None:
    raw = load("order_retrieve.json") | {"total": "abc"}
    with pytest.raises(CanonicalError) as info:
        normalise.order(raw, account="us", currency="USD")
    assert "john.doe" not in str(info.value) and "Doe" not in str(info.value)


def test_webhook_retrieve() -> None:
    from connectors.woocommerce.webhooks import subscription

    hook = subscription(load("webhook_retrieve.json"))
    raw = load("webhook_retrieve.json")
    assert (hook.external_id, hook.topic, hook.url) == (str(raw["id"]), raw["topic"], raw["delivery_url"])


# ---- refunds -------------------------------------------------------------------------------------
def test_order_refunds_list() -> None:
    amount_only, with_line = load("order_refunds_list.json")
    lines = [{"id": 311, "product_id": 87, "variation_id": 0}]
    where = "woocommerce order 723"
    plain = normalise.refund(amount_only, lines, where=where, currency="USD")
    assert plain.external_id == "726" and plain.lines == () and plain.amount == Money.parse("10.00", "USD")
    refund = normalise.refund(with_line, lines, where=where, currency="USD")
    assert [(item.line_external_id, item.quantity, item.restock) for item in refund.lines] == [("311", 1, False)]
    assert refund.amount == Money.parse("9.00", "USD")
