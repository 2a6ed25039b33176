from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

import canonical as c
from sandbox.catalogue import gtin13


def test_money_is_decimal_and_refuses_floats() -> None:
    assert c.Money.parse("19.99", "eur") == c.Money(amount=Decimal("19.99"), currency="EUR")
    with pytest.raises(ValidationError):
        c.Money(amount=19.99, currency="EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a money amount"):
        c.Money.parse("abc", "EUR")


def test_mixing_currencies_raises() -> None:
    with pytest.raises(c.CurrencyMismatch, match="EUR and USD"):
        _ = c.Money.parse("1", "EUR") + c.Money.parse("1", "USD")
    assert (c.Money.parse("1.10", "EUR") + c.Money.parse("2", "EUR")).amount == Decimal("3.10")


def test_money_rounds_to_the_currency_minor_unit() -> None:
    assert c.Money.parse("10.005", "EUR").quantized().amount == Decimal("10.01")
    assert c.Money.parse("1234.5", "JPY").quantized().amount == Decimal("1235")


def test_sku_is_trimmed_control_characters_removed_case_kept() -> None:
    variant = c.build(c.Variant, {"sku": "  Ab-1\x00\t"}, source="test")
    assert variant.sku == "Ab-1"
    with pytest.raises(c.CanonicalError, match="'sku'"):
        c.build(c.Variant, {"sku": "   "}, source="test")


@pytest.mark.parametrize("barcode", ["96385074", "036000291452", "4006381333931", "10012345678902", gtin13(42)])
def test_valid_gtins_pass(barcode: str) -> None:
    assert c.build(c.Variant, {"sku": "A", "barcode": barcode}, source="t").barcode == barcode


@pytest.mark.parametrize("barcode", ["4006381333932", "12345", "abcdefghijklm"])
def test_bad_gtins_name_the_field_and_source(barcode: str) -> None:
    with pytest.raises(c.CanonicalError) as info:
        c.build(c.Variant, {"sku": "A", "barcode": barcode}, source="woocommerce:shop/variation/7")
    assert info.value.source == "woocommerce:shop/variation/7"
    assert info.value.field == "barcode"
    assert barcode in str(info.value)


def test_times_must_be_aware_and_become_utc() -> None:
    paris = timezone(timedelta(hours=1))
    order = c.build(c.Order, {
        "account": "a", "external_id": "1", "status": c.OrderStatus.OPEN, "currency": "EUR", "lines": (),
        "placed_at": datetime(2026, 1, 1, 12, tzinfo=paris), "updated_at": datetime(2026, 1, 1, 12, tzinfo=UTC),
    }, source="t")
    assert order.placed_at == datetime(2026, 1, 1, 11, tzinfo=UTC) and order.placed_at.tzinfo == UTC
    with pytest.raises(c.CanonicalError, match="placed_at"):
        c.build(c.Order, {"account": "a", "external_id": "1", "status": c.OrderStatus.OPEN, "currency": "EUR",
                          "lines": (), "placed_at": datetime(2026, 1, 1), "updated_at": datetime.now(UTC)},
                source="t")


def test_customer_values_never_appear_in_errors() -> None:
    with pytest.raises(c.CanonicalError) as info:
        c.build(c.Customer, {"email": 12345678}, source="order 9")
    assert "12345678" not in str(info.value)


def test_strict_models_refuse_silent_coercion() -> None:
    with pytest.raises(c.CanonicalError, match="quantity"):
        c.build(c.OrderLine, {"external_id": "1", "quantity": "3"}, source="t")


def test_channel_quantities_are_bounded() -> None:
    from canonical.quantities import MAX_QUANTITY

    c.StockLevel(location_external_id="1", inventory_item_id="9", available=-MAX_QUANTITY)
    for wild in (MAX_QUANTITY + 1, -MAX_QUANTITY - 1, 2**63):
        with pytest.raises(ValueError):
            c.StockLevel(location_external_id="1", inventory_item_id="9", available=wild)
