"""Pure field rules: prices, titles, filters, validation and the field policy table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mapping.fields import (
    Action,
    FieldRuleError,
    FieldRules,
    HubItem,
    channel_price,
    decide,
    desired_fields,
    effective,
    render_title,
    selected,
    validate_settings,
    with_ending,
)

ITEM = HubItem(title="Shirt", sku="MS-1", product_type="Tops", tags=("summer", "Sale"), variant_count=1,
               variant_title="S", options=("S",), barcode="2000000001017", price=Decimal("10.00"),
               compare_at_price=Decimal("15.00"), currency="EUR")


def test_price_markup_add_and_ending() -> None:
    rules = FieldRules(price_markup_percent=Decimal(20), price_add=Decimal("0.50"), price_ending=".99")
    assert channel_price(Decimal("10.00"), "EUR", rules) == (Decimal("12.99"), "EUR")
    assert with_ending(Decimal("12.99"), ".99") == Decimal("12.99")
    assert with_ending(Decimal("13.00"), ".99") == Decimal("13.99")
    assert with_ending(Decimal("13.00"), ".00") == Decimal("13.00")


def test_currency_conversion_then_rounding_to_the_minor_unit() -> None:
    rules = FieldRules(price_currency="JPY", price_rate=Decimal("161.237"))
    assert channel_price(Decimal("10.00"), "EUR", rules) == (Decimal("1612"), "JPY")
    assert channel_price(None, "EUR", rules) == (None, "EUR")


def test_title_template_fills_variant_placeholders_only_for_single_variant_products() -> None:
    assert render_title("{title} - {option1}", ITEM) == "Shirt - S"
    multi = HubItem(**{**ITEM.__dict__, "variant_count": 3})
    assert render_title("{title} - {option1}", multi) == "Shirt"
    assert render_title(None, ITEM) == "Shirt"


def test_include_and_exclude_patterns() -> None:
    assert selected(FieldRules(), "MS-1", ())
    assert not selected(FieldRules(include_sku=("XX-*",)), "MS-1", ())
    assert selected(FieldRules(include_tags=("sale",)), "MS-1", ("Sale",))
    assert not selected(FieldRules(exclude_sku=("MS-*",)), "MS-1", ())
    assert not selected(FieldRules(exclude_tags=("summer",)), "MS-1", ("summer",))


def test_desired_fields_drop_a_compare_at_price_that_is_not_higher() -> None:
    assert desired_fields(ITEM, FieldRules(price_markup_percent=Decimal(60)))["compare_at_price"] == "24.00"
    close = HubItem(**{**ITEM.__dict__, "compare_at_price": Decimal("10.50")})
    values = desired_fields(close, FieldRules(price_ending=".99"))
    assert values["price"] == "10.99" and values["compare_at_price"] is None
    assert desired_fields(ITEM, FieldRules(sync_fields=("price",))) == {"price": "10.00"}


def test_effective_rules_layer_account_then_sku() -> None:
    accounts = {"woo": {"price_markup_percent": 10, "buffer": 2, "publish": True}}
    skus = {"MS-1": {"accounts": {"woo": {"price_ending": ".95"}}, "max_qty": 3}}
    validate_settings(accounts, skus)
    rules = effective(accounts, skus, "woo", "MS-1")
    assert (rules.price_markup_percent, rules.price_ending, rules.publish) == (Decimal(10), ".95", True)
    assert effective(accounts, skus, "woo", "MS-2").price_ending is None


@pytest.mark.parametrize(("table", "needle"), [
    ({"price_markup_percnt": 5}, "price_markup_percnt"),
    ({"price_ending": "99"}, "price_ending"),
    ({"title_template": "{title} {colour}"}, "{colour}"),
    ({"field_policy": "sometimes"}, "field_policy"),
    ({"price_currency": "USD"}, "price_rate"),
    ({"include_sku": [1]}, "include_sku"),
    ({"sync_fields": ["weight"]}, "weight"),
])
def test_validation_names_the_bad_key(table: dict[str, object], needle: str) -> None:
    with pytest.raises(FieldRuleError, match=r"accounts\.woo") as error:
        validate_settings({"woo": table}, {})
    assert needle in str(error.value)


def test_policy_table() -> None:
    base = {"hub": "1", "channel": "1"}
    assert decide("1", "1", None, "hub", adoptable=True) == Action.NONE
    assert decide("2", "1", base, "conflict", adoptable=True) == Action.PUSH            # only the hub changed
    assert decide("1", "2", base, "hub", adoptable=True) == Action.PUSH                 # hub wins
    assert decide("1", "2", base, "channel", adoptable=True) == Action.ADOPT
    assert decide("1", "2", base, "channel", adoptable=False) == Action.ACCEPT
    assert decide("1", "2", base, "conflict", adoptable=True) == Action.CONFLICT_CHANNEL
    assert decide("3", "2", base, "conflict", adoptable=True) == Action.CONFLICT_BOTH
    assert decide("3", "2", base, "channel", adoptable=True) == Action.ACCEPT
    assert decide("3", "2", None, "conflict", adoptable=True) == Action.CONFLICT_BOTH   # never synced
    assert decide("3", "2", {"hub": "3", "channel": "2"}, "conflict", adoptable=True) == Action.NONE  # accepted
    assert decide("3", "2", {"channel": "2"}, "conflict", adoptable=True) == Action.PUSH  # keep-hub marker
