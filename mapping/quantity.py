"""Quantity rules: what number each channel account publishes for a SKU, and why.

Pure functions: no database, no I/O. The inputs are the available-to-sell (already summed
over the account's hub locations), the safety stock and the effective rules; the output is
a `Chain` whose steps say, one by one, how the published number came about. `stock explain`
prints the chain and propagation publishes its last value, so the two can never disagree.

Rule precedence, lowest first: `[stock.rules]` < `[accounts.NAME]` < `[skus."SKU"]`
< `[skus."SKU".accounts.NAME]`. Safety stock: `stock.safety_stock` < `variants.safety_stock`
< `[skus."SKU"] safety_stock`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from canonical.errors import MarketsyncError
from mapping.fields import FIELD_KEYS

RULE_KEYS = ("buffer", "percent", "max_qty", "end_when", "list")
ACCOUNT_STOCK_KEYS = (*RULE_KEYS, "drift_policy")
SKU_KEYS = (*RULE_KEYS, "safety_stock", "accounts")
DRIFT_POLICIES = ("revert", "adopt", "conflict")
DEFAULT_ORIGIN = {key: "stock.rules" for key in RULE_KEYS}


class RuleError(MarketsyncError, ValueError):
    """An override table holds a key or value the hub cannot use; the message names it."""


@dataclass(frozen=True)
class Rules:
    buffer: int = 0
    percent: int = 100
    max_qty: int = 0
    end_when: int = -1
    list: bool = True


@dataclass(frozen=True)
class Step:
    """One link of the chain: `rule` turned `before` into `after` (`detail` says why)."""

    rule: str
    before: int
    after: int
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "before": self.before, "after": self.after, "detail": self.detail}


@dataclass(frozen=True)
class Chain:
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def published(self) -> int:
        return self.steps[-1].after if self.steps else 0


def _check_value(key: str, value: Any, where: str) -> None:
    if key == "list":
        if not isinstance(value, bool):
            raise RuleError(f"{where}.list must be true or false (got {value!r})")
        return
    if key == "drift_policy":
        if value not in DRIFT_POLICIES:
            raise RuleError(f"{where}.drift_policy must be one of {', '.join(DRIFT_POLICIES)} (got {value!r})")
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError(f"{where}.{key} must be a whole number (got {value!r})")
    low = -1 if key == "end_when" else 0
    high = 100 if key == "percent" else None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise RuleError(f"{where}.{key} must be {bounds} (got {value})")


def validate_account_table(name: str, table: Mapping[str, Any]) -> None:
    """Check the stock keys of `[accounts.NAME]` (other engines own its other keys)."""
    for key in ACCOUNT_STOCK_KEYS:
        if key in table:
            _check_value(key, table[key], f"accounts.{name}")


def validate_sku_table(sku: str, table: Mapping[str, Any]) -> None:
    """Check `[skus."SKU"]` and its `[skus."SKU".accounts.NAME]` tables; unknown keys are refused.

    Field-rule keys (`mapping.fields.FIELD_KEYS`) live in the same tables; `mapping.fields` checks them.
    """
    where = f'skus."{sku}"'
    for key, value in table.items():
        if key in FIELD_KEYS:
            continue
        if key not in SKU_KEYS:
            raise RuleError(f"{where} has unknown key {key!r}; keys: {', '.join((*SKU_KEYS, *FIELD_KEYS))}")
        if key == "accounts":
            if not isinstance(value, Mapping):
                raise RuleError(f"{where}.accounts must be a table of [skus.\"{sku}\".accounts.NAME] tables")
            for account, rules in value.items():
                _validate_sku_account(f"{where}.accounts.{account}", rules)
        else:
            _check_value(key, value, where)


def _validate_sku_account(where: str, rules: Any) -> None:
    if not isinstance(rules, Mapping):
        raise RuleError(f"{where} must be a table of rules ({', '.join(RULE_KEYS)})")
    for key, value in rules.items():
        if key in FIELD_KEYS:
            continue
        if key not in RULE_KEYS:
            raise RuleError(f"{where} has unknown key {key!r}; keys: {', '.join((*RULE_KEYS, *FIELD_KEYS))}")
        _check_value(key, value, where)


def validate_overrides(accounts: Mapping[str, Mapping[str, Any]], skus: Mapping[str, Mapping[str, Any]]) -> None:
    """Validate every override table; raise RuleError naming the first bad key."""
    for name, table in accounts.items():
        validate_account_table(name, table)
    for sku, table in skus.items():
        validate_sku_table(sku, table)


def effective_rules(defaults: Rules, accounts: Mapping[str, Mapping[str, Any]],
                    skus: Mapping[str, Mapping[str, Any]], sku: str, account: str) -> tuple[Rules, dict[str, str]]:
    """The rules for (`sku`, `account`) and, per rule, the settings table it came from."""
    sku_table = skus.get(sku, {})
    if not sku_table and not accounts.get(account):  # most listings: no override table at all
        return defaults, dict(DEFAULT_ORIGIN)
    rules, origin = defaults, dict(DEFAULT_ORIGIN)
    layers = ((f"accounts.{account}", accounts.get(account, {})),
              (f'skus."{sku}"', sku_table),
              (f'skus."{sku}".accounts.{account}', (sku_table.get("accounts") or {}).get(account, {})))
    for where, table in layers:
        changes = {key: table[key] for key in RULE_KEYS if key in table}
        if changes:
            rules = replace(rules, **changes)
            origin.update({key: where for key in changes})
    return rules, origin


def effective_safety_stock(default: int, variant_safety_stock: int | None,
                           skus: Mapping[str, Mapping[str, Any]], sku: str, *,
                           supplier: tuple[str, int | None] | None = None,
                           dynamic: int | None = None) -> tuple[int, str]:
    """Safety stock for `sku` and where it came from.

    Fixed values win, most specific first: `[skus."SKU"]`, the variant's own (supply import),
    its supplier's `[planning.suppliers.NAME]`; then the dynamic value when that mode is on
    (`dynamic` is None otherwise); then `stock.safety_stock`.
    """
    override = skus.get(sku, {}).get("safety_stock")
    if override is not None:
        return int(override), f'skus."{sku}".safety_stock'
    if variant_safety_stock is not None:
        return variant_safety_stock, "variants.safety_stock"
    if supplier is not None and supplier[1] is not None:
        return supplier[1], f"planning.suppliers.{supplier[0]}.safety_stock"
    if dynamic is not None:
        return dynamic, "dynamic (planning.service_level)"
    return default, "stock.safety_stock"


def publish(sellable: int, safety_stock: int, rules: Rules, origin: Mapping[str, str] | None = None) -> Chain:
    """The chain from the summed available (on_hand - committed) to the published quantity."""
    origin = origin or {}
    steps: list[Step] = []

    def step(rule: str, before: int, after: int, detail: str) -> int:
        source = origin.get(rule)
        steps.append(Step(rule, before, after, f"{detail} ({source})" if source else detail))
        return after

    value = step("available", sellable, sellable, "Σ (on_hand - committed) over the account's locations")
    value = step("safety_stock", value, max(value - safety_stock, 0), f"- {safety_stock}, floored at 0")
    if rules.buffer:
        value = step("buffer", value, max(value - rules.buffer, 0), f"- {rules.buffer}, floored at 0")
    if rules.percent != 100:
        value = step("percent", value, value * rules.percent // 100, f"floor of {rules.percent}%")
    if rules.max_qty:
        value = step("max_qty", value, min(value, rules.max_qty), f"capped at {rules.max_qty}")
    if rules.end_when >= 0:
        after = 0 if value <= rules.end_when else value
        value = step("end_when", value, after, f"0 at or below {rules.end_when}")
    if not rules.list:
        value = step("list", value, 0, "list = false publishes 0")
    return Chain(tuple(steps))
