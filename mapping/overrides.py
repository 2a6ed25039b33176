"""Typed models of the `[accounts.NAME]` and `[skus."SKU"]` settings tables, checked when a hub starts.

Every key either engine reads from these tables is declared here, with its type and range: the
quantity rules, `drift_policy`, `fulfilment_source`, `safety_stock` and the field rules (whose
values `mapping.fields` parses). An unknown key (a typo such as `bufer`) or a bad value (such as
`drift_policy = "adpot"`) is refused with one line naming the table, the key and what fits, for
every command and the worker, instead of meaning a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mapping import fields
from mapping.quantity import RuleError


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class QuantityKeys(_Table):
    buffer: int | None = Field(None, ge=0)
    percent: int | None = Field(None, ge=0, le=100)
    max_qty: int | None = Field(None, ge=0)
    end_when: int | None = Field(None, ge=-1)
    list: bool | None = None


class FieldKeys(_Table):
    """The field rules; their values are parsed by `mapping.fields` (one definition of each)."""

    price_markup_percent: Any = None
    price_add: Any = None
    price_ending: Any = None
    price_currency: Any = None
    price_rate: Any = None
    title_template: Any = None
    category_map: Any = None
    include_tags: Any = None
    exclude_tags: Any = None
    include_sku: Any = None
    exclude_sku: Any = None
    publish: Any = None
    field_policy: Any = None
    sync_fields: Any = None


class SkuAccountTable(QuantityKeys, FieldKeys):
    """`[skus."SKU".accounts.NAME]`."""


class AccountTable(QuantityKeys, FieldKeys):
    """`[accounts.NAME]`."""

    drift_policy: Literal["revert", "adopt", "conflict"] | None = None
    fulfilment_source: bool | None = None


class SkuTable(QuantityKeys, FieldKeys):
    """`[skus."SKU"]`."""

    safety_stock: int | None = Field(None, ge=0)
    accounts: dict[str, SkuAccountTable] = {}

    @model_validator(mode="before")
    @classmethod
    def _accounts_are_tables(cls, data: Any) -> Any:
        accounts = data.get("accounts") if isinstance(data, Mapping) else None
        if accounts is not None and not isinstance(accounts, Mapping):
            raise ValueError("accounts must be a table of [skus.\"SKU\".accounts.NAME] tables")
        return data


def _keys(model: type[BaseModel]) -> str:
    return ", ".join(model.model_fields)


def _check(where: str, model: type[BaseModel], table: Any) -> None:
    if not isinstance(table, Mapping):
        raise RuleError(f"{where} must be a table of settings (keys: {_keys(model)})")
    try:
        model.model_validate(dict(table))
    except ValidationError as exc:
        raise RuleError(_describe(where, model, exc)) from None
    field_table = {k: v for k, v in table.items() if k in fields.FIELD_KEYS}
    fields.validate_table(where, field_table)


def _describe(where: str, model: type[BaseModel], exc: ValidationError) -> str:
    first = exc.errors()[0]
    path = [str(part) for part in first["loc"]]
    if first["type"] == "extra_forbidden":
        inner = where + "".join(f".{p}" for p in path[:-1])
        keys = _keys(SkuAccountTable) if len(path) > 1 else _keys(model)
        return f"{inner} has unknown key {path[-1]!r}; keys: {keys}"
    key = where + "".join(f".{p}" for p in path)
    value = first.get("input")
    return f"{key} is invalid: {first['msg'].lower()} (got {value!r})" if path else f"{where}: {first['msg']}"


def validate_tables(accounts: Mapping[str, Any], skus: Mapping[str, Any]) -> None:
    """Check every `[accounts.NAME]` and `[skus."SKU"]` table; RuleError names the first bad key."""
    for name, table in accounts.items():
        _check(f"accounts.{name}", AccountTable, table)
    for sku, table in skus.items():
        where = f'skus."{sku}"'
        _check(where, SkuTable, table)
        for name, sub in ((table or {}).get("accounts") or {}).items():
            _check(f"{where}.accounts.{name}", SkuAccountTable, sub)
