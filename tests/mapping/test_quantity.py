"""Quantity rules and their explanation chain (pure)."""

from __future__ import annotations

import pytest

from mapping.quantity import (
    RuleError,
    Rules,
    effective_rules,
    effective_safety_stock,
    publish,
    validate_overrides,
)


def steps(chain) -> list[tuple[str, int, int]]:
    return [(s.rule, s.before, s.after) for s in chain.steps]


def test_no_rules_publish_available_minus_safety_stock() -> None:
    chain = publish(12, 2, Rules())
    assert chain.published == 10
    assert steps(chain) == [("available", 12, 12), ("safety_stock", 12, 10)]


def test_negative_available_floors_at_zero() -> None:
    assert publish(-3, 0, Rules()).published == 0
    assert publish(2, 5, Rules()).published == 0


def test_each_rule_is_a_step_with_before_and_after() -> None:
    chain = publish(50, 5, Rules(buffer=3, percent=50, max_qty=20, end_when=2))
    assert steps(chain) == [("available", 50, 50), ("safety_stock", 50, 45), ("buffer", 45, 42),
                            ("percent", 42, 21), ("max_qty", 21, 20), ("end_when", 20, 20)]
    assert chain.published == 20


def test_percent_is_floored() -> None:
    assert publish(7, 0, Rules(percent=50)).published == 3
    assert publish(1, 0, Rules(percent=99)).published == 0


def test_end_when_publishes_zero_at_or_below_threshold() -> None:
    assert publish(3, 0, Rules(end_when=3)).published == 0
    assert publish(4, 0, Rules(end_when=3)).published == 4
    assert publish(0, 0, Rules(end_when=0)).published == 0
    assert publish(1, 0, Rules(end_when=-1)).published == 1


def test_list_false_publishes_zero() -> None:
    chain = publish(9, 0, Rules(list=False))
    assert chain.published == 0 and chain.steps[-1].rule == "list"


def test_max_qty_zero_means_no_cap() -> None:
    assert publish(1000, 0, Rules(max_qty=0)).published == 1000


def test_override_precedence_and_origin() -> None:
    accounts = {"shop": {"buffer": 2, "percent": 80}}
    skus = {"SKU-1": {"buffer": 5, "accounts": {"shop": {"max_qty": 4}}}}
    rules, origin = effective_rules(Rules(percent=90), accounts, skus, "SKU-1", "shop")
    assert rules == Rules(buffer=5, percent=80, max_qty=4)
    assert origin["buffer"] == 'skus."SKU-1"' and origin["percent"] == "accounts.shop"
    assert origin["max_qty"] == 'skus."SKU-1".accounts.shop' and origin["end_when"] == "stock.rules"
    other, _ = effective_rules(Rules(percent=90), accounts, skus, "SKU-1", "woo")
    assert other == Rules(buffer=5, percent=90)
    chain = publish(20, 0, rules, origin)
    assert "accounts.shop" in chain.steps[3].detail


def test_safety_stock_precedence() -> None:
    skus = {"A": {"safety_stock": 7}}
    assert effective_safety_stock(1, 3, skus, "A") == (7, 'skus."A".safety_stock')
    assert effective_safety_stock(1, 3, skus, "B") == (3, "variants.safety_stock")
    assert effective_safety_stock(1, None, skus, "B") == (1, "stock.safety_stock")


@pytest.mark.parametrize(("accounts", "skus", "message"), [
    ({"shop": {"buffer": -1}}, {}, "accounts.shop.buffer must be at least 0"),
    ({"shop": {"percent": 120}}, {}, "accounts.shop.percent must be between 0 and 100"),
    ({"shop": {"drift_policy": "ignore"}}, {}, "accounts.shop.drift_policy must be one of"),
    ({}, {"A": {"bufer": 1}}, "skus.\"A\" has unknown key 'bufer'"),
    ({}, {"A": {"list": "no"}}, "skus.\"A\".list must be true or false"),
    ({}, {"A": {"accounts": {"shop": {"max": 1}}}}, "skus.\"A\".accounts.shop has unknown key 'max'"),
    ({}, {"A": {"end_when": -2}}, "skus.\"A\".end_when must be at least -1"),
    ({}, {"A": {"max_qty": "5"}}, "skus.\"A\".max_qty must be a whole number"),
])
def test_bad_override_tables_name_the_key(accounts, skus, message) -> None:
    with pytest.raises(RuleError) as caught:
        validate_overrides(accounts, skus)
    assert message in str(caught.value)


def test_valid_overrides_and_foreign_account_keys_pass() -> None:
    validate_overrides({"shop": {"buffer": 1, "drift_policy": "adopt", "price_markup": 10}},
                       {"A": {"safety_stock": 2, "list": False, "accounts": {"shop": {"percent": 50}}}})


def test_sku_tables_accept_field_rule_keys_but_still_refuse_typos() -> None:
    from mapping.quantity import RuleError, validate_sku_table

    per_account = {"blog": {"buffer": 1, "title_template": "{title}"}}
    validate_sku_table("MS-1", {"max_qty": 5, "price_ending": ".99", "accounts": per_account})
    with pytest.raises(RuleError, match="maxqty"):
        validate_sku_table("MS-1", {"maxqty": 5})
