"""Per-channel field rules: what title, price, barcode and status each account should show.

Pure functions: no database, no I/O. Rules come from settings, lowest first:
`[accounts.NAME]` < `[skus."SKU"]` < `[skus."SKU".accounts.NAME]`; the stock keys of those
tables belong to `mapping.quantity`, the keys below to this module:

    price_markup_percent  number; +p% on the hub price (after currency conversion)
    price_add             number; added after the markup, in the channel's currency
    price_ending          ".99"-style ending; the price is raised to the next value ending so
    price_currency        ISO code the channel sells in; with price_rate (hub → channel)
    price_rate            conversion rate, e.g. 1.08
    title_template        e.g. "{title} - {option1}" (placeholders: TITLE_PLACEHOLDERS)
    category_map          product_type → channel category, used when a listing is created
    include_tags / exclude_tags / include_sku / exclude_sku   lists of glob patterns
    publish               true: `listings push` creates listings missing on this account
    field_policy          hub | channel | conflict (what a channel-side edit means; see `decide`)
    sync_fields           which fields `listings push` keeps in sync (default: all of FIELDS)

A listing's title is its *product's* title on both platforms, so variant placeholders
({sku}, {option1}…, {variant_title}) are filled only for single-variant products; for a
multi-variant product they render empty and dangling separators are trimmed, so every
variant of one product renders the same title.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from canonical.errors import MarketsyncError
from canonical.money import MINOR_UNITS

FIELDS = ("title", "price", "compare_at_price", "barcode", "status")
POLICIES = ("hub", "channel", "conflict")
FIELD_KEYS = ("price_markup_percent", "price_add", "price_ending", "price_currency", "price_rate",
              "title_template", "category_map", "include_tags", "exclude_tags", "include_sku", "exclude_sku",
              "publish", "field_policy", "sync_fields")
TITLE_PLACEHOLDERS = ("title", "vendor", "product_type", "sku", "variant_title", "option1", "option2", "option3")
SEPARATORS = " -|/,:;\u2013\u2014"


class FieldRuleError(MarketsyncError, ValueError):
    """A settings table holds a field-rule key or value the hub cannot use; names it."""


@dataclass(frozen=True)
class FieldRules:
    price_markup_percent: Decimal = Decimal(0)
    price_add: Decimal = Decimal(0)
    price_ending: str | None = None
    price_currency: str | None = None
    price_rate: Decimal | None = None
    title_template: str | None = None
    category_map: dict[str, str] = field(default_factory=dict)
    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    include_sku: tuple[str, ...] = ()
    exclude_sku: tuple[str, ...] = ()
    publish: bool = False
    field_policy: str = "conflict"
    sync_fields: tuple[str, ...] = FIELDS

    @property
    def price_is_identity(self) -> bool:
        """True when the channel price is the hub price as is (so a channel price can be adopted)."""
        return (not self.price_markup_percent and not self.price_add and not self.price_ending
                and self.price_rate is None)

    @property
    def title_is_identity(self) -> bool:
        return self.title_template in (None, "{title}")


# ---- validation ----------------------------------------------------------------------------------
def _decimal(where: str, key: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise FieldRuleError(f"{where}.{key} must be a number (got {value!r})")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise FieldRuleError(f"{where}.{key} must be a number (got {value!r})") from None
    if not number.is_finite():
        raise FieldRuleError(f"{where}.{key} must be a finite number (got {value!r})")
    return number


def _patterns(where: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise FieldRuleError(f"{where}.{key} must be a list of glob patterns such as [\"MS-*\"] (got {value!r})")
    return tuple(value)


def _ending(where: str, value: Any) -> str:
    text = str(value).strip() if isinstance(value, str) else ""
    digits = text.removeprefix("0").removeprefix(".")
    if not text.startswith((".", "0.")) or not digits.isdigit() or len(digits) > 3:
        raise FieldRuleError(f"{where}.price_ending must look like \".99\" (got {value!r})")
    return "." + digits


def _template(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldRuleError(f"{where}.title_template must be text such as \"{{title}} - {{option1}}\"")
    try:
        names = [name for _, name, spec, conv in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise FieldRuleError(f"{where}.title_template is not a valid template ({exc})") from None
    unknown = [n for n in names if n not in TITLE_PLACEHOLDERS]
    if unknown or any(not n for n in names):
        raise FieldRuleError(f"{where}.title_template uses unknown placeholder {{{(unknown or [''])[0]}}}; "
                             f"placeholders: {', '.join('{' + p + '}' for p in TITLE_PLACEHOLDERS)}")
    return value


def _parse(where: str, key: str, value: Any) -> Any:
    """The typed value of one field-rule key, or FieldRuleError naming it."""
    if key in ("price_markup_percent", "price_add"):
        number = _decimal(where, key, value)
        if key == "price_markup_percent" and number <= -100:
            raise FieldRuleError(f"{where}.{key} must be above -100 (got {value!r})")
        return number
    if key == "price_rate":
        number = _decimal(where, key, value)
        if number <= 0:
            raise FieldRuleError(f"{where}.price_rate must be above 0 (got {value!r})")
        return number
    if key == "price_currency":
        if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
            raise FieldRuleError(f"{where}.price_currency must be a 3-letter ISO code (got {value!r})")
        return value.upper()
    if key == "price_ending":
        return _ending(where, value)
    if key == "title_template":
        return _template(where, value)
    if key == "category_map":
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            raise FieldRuleError(f"{where}.category_map must be a table of product type = \"channel category\"")
        return {str(k): v for k, v in value.items()}
    if key in ("include_tags", "exclude_tags", "include_sku", "exclude_sku"):
        return _patterns(where, key, value)
    if key == "publish":
        if not isinstance(value, bool):
            raise FieldRuleError(f"{where}.publish must be true or false (got {value!r})")
        return value
    if key == "field_policy":
        if value not in POLICIES:
            raise FieldRuleError(f"{where}.field_policy must be one of {', '.join(POLICIES)} (got {value!r})")
        return value
    if key == "sync_fields":
        names = _patterns(where, key, value)
        bad = [n for n in names if n not in FIELDS]
        if bad:
            raise FieldRuleError(f"{where}.sync_fields has unknown field {bad[0]!r}; fields: {', '.join(FIELDS)}")
        return names
    raise FieldRuleError(f"{where} has unknown key {key!r}")


def _stock_keys() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The inventory engine's keys in the same tables (account keys, SKU keys)."""
    from mapping.quantity import ACCOUNT_STOCK_KEYS, SKU_KEYS

    # fulfilment_source belongs to the shipments engine (`sync.orders.shipment_import`)
    return (*ACCOUNT_STOCK_KEYS, "fulfilment_source"), tuple(SKU_KEYS)


def validate_table(where: str, table: Mapping[str, Any], *, others: tuple[str, ...] = ()) -> None:
    """Check every field-rule key of one table; keys neither ours nor in `others` are refused."""
    for key, value in table.items():
        if key in FIELD_KEYS:
            _parse(where, key, value)
        elif key not in others:
            raise FieldRuleError(f"{where} has unknown key {key!r}; field keys: {', '.join(FIELD_KEYS)}; "
                                 f"stock keys: {', '.join(k for k in others if k != 'accounts')}")
    currency, rate = table.get("price_currency"), table.get("price_rate")
    if (currency is None) != (rate is None):
        raise FieldRuleError(f"{where}: price_currency and price_rate go together (set both or neither)")


def validate_settings(accounts: Mapping[str, Mapping[str, Any]], skus: Mapping[str, Mapping[str, Any]]) -> None:
    """Validate the field-rule keys of every `[accounts.*]` and `[skus.*]` table."""
    account_keys, sku_keys = _stock_keys()
    for name, table in accounts.items():
        validate_table(f"accounts.{name}", table, others=account_keys)
    for sku, table in skus.items():
        where = f'skus."{sku}"'
        validate_table(where, table, others=(*sku_keys, "accounts"))
        for name, sub in (table.get("accounts") or {}).items():
            validate_table(f"{where}.accounts.{name}", sub, others=account_keys)


def effective(accounts: Mapping[str, Mapping[str, Any]], skus: Mapping[str, Mapping[str, Any]],
              account: str, sku: str | None = None) -> FieldRules:
    """The field rules for `account` (and `sku`, when given), validated."""
    rules = FieldRules()
    sku_table = skus.get(sku, {}) if sku else {}
    layers = ((f"accounts.{account}", accounts.get(account, {})),
              (f'skus."{sku}"', sku_table),
              (f'skus."{sku}".accounts.{account}', (sku_table.get("accounts") or {}).get(account, {})))
    for where, table in layers:
        changes = {key: _parse(where, key, table[key]) for key in FIELD_KEYS if key in table}
        if changes:
            rules = replace(rules, **changes)
    return rules


# ---- values --------------------------------------------------------------------------------------
def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2)), rounding=ROUND_HALF_UP)


def with_ending(amount: Decimal, ending: str) -> Decimal:
    """The smallest price ≥ `amount` whose fractional part is `ending` (".99": 12.30 → 12.99)."""
    candidate = Decimal(int(amount)) + Decimal(ending)
    return candidate if candidate >= amount else candidate + 1


def channel_price(amount: Decimal | None, currency: str | None, rules: FieldRules) -> tuple[Decimal | None, str | None]:
    """(amount, currency) the channel should show: convert, mark up, add, end, round."""
    if amount is None or currency is None:
        return None, currency
    if rules.price_rate is not None and rules.price_currency:
        amount, currency = amount * rules.price_rate, rules.price_currency
    amount = amount * (1 + rules.price_markup_percent / 100) + rules.price_add
    amount = quantize(amount, currency)
    if rules.price_ending:
        amount = with_ending(amount, rules.price_ending)
    return quantize(max(amount, Decimal(0)), currency), currency


@dataclass(frozen=True)
class HubItem:
    """One canonical variant with its product, as the field rules see it."""

    title: str
    sku: str
    description: str = ""
    vendor: str = ""
    product_type: str = ""
    tags: tuple[str, ...] = ()
    status: str = "active"
    variant_count: int = 1
    variant_title: str = ""
    options: tuple[str, ...] = ()
    barcode: str | None = None
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    currency: str | None = None


def render_title(template: str | None, item: HubItem) -> str:
    """The channel title from `template` (see the module docstring for variant placeholders)."""
    if not template:
        return item.title
    single = item.variant_count == 1
    options = [*item.options, "", "", ""]
    values = {"title": item.title, "vendor": item.vendor, "product_type": item.product_type,
              "sku": item.sku if single else "", "variant_title": item.variant_title if single else "",
              "option1": options[0] if single else "", "option2": options[1] if single else "",
              "option3": options[2] if single else ""}
    rendered = template.format(**values)
    return " ".join(rendered.split()).strip(SEPARATORS) or item.title


def selected(rules: FieldRules, sku: str, tags: tuple[str, ...]) -> bool:
    """Whether a variant belongs on the account, by the include/exclude patterns."""
    lowered = [t.casefold() for t in tags]

    def any_tag(patterns: tuple[str, ...]) -> bool:
        return any(fnmatchcase(tag, p.casefold()) for p in patterns for tag in lowered)

    if rules.include_sku and not any(fnmatchcase(sku, p) for p in rules.include_sku):
        return False
    if rules.include_tags and not any_tag(rules.include_tags):
        return False
    return not (any(fnmatchcase(sku, p) for p in rules.exclude_sku) or any_tag(rules.exclude_tags))


def money_text(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount, "f")


def desired_fields(item: HubItem, rules: FieldRules) -> dict[str, str | None]:
    """The synced fields' values the account should show, as comparable text (None = empty)."""
    price, _ = channel_price(item.price, item.currency, rules)
    compare_at, _ = channel_price(item.compare_at_price, item.currency, replace(rules, price_ending=None))
    if compare_at is not None and price is not None and compare_at <= price:
        compare_at = None  # a compare-at price at or below the price would show a negative saving
    values: dict[str, str | None] = {
        "title": render_title(rules.title_template, item), "price": money_text(price),
        "compare_at_price": money_text(compare_at), "barcode": item.barcode, "status": item.status}
    return {key: values[key] for key in rules.sync_fields}


def channel_currency(item: HubItem, rules: FieldRules) -> str | None:
    """The currency the desired prices are in."""
    return rules.price_currency if rules.price_rate is not None else item.currency


# ---- policy --------------------------------------------------------------------------------------
class Action(StrEnum):
    NONE = "none"                  # equal, or a divergence already accepted
    PUSH = "push"                  # write the hub's value to the channel
    ACCEPT = "accept"              # keep the channel's value; record it as synced
    ADOPT = "adopt"                # keep the channel's value and copy it into the hub
    CONFLICT_BOTH = "conflict_both"        # both sides changed: an operator decides
    CONFLICT_CHANNEL = "conflict_channel"  # only the channel changed, under the conflict policy


def changed_sides(hub: str | None, channel: str | None, base: Mapping[str, Any] | None) -> tuple[bool, bool]:
    """(hub changed, channel changed) since the last sync; without a record, both count as changed."""
    base = base or {}
    return ("hub" not in base or base["hub"] != hub), ("channel" not in base or base["channel"] != channel)


def decide(hub: str | None, channel: str | None, base: Mapping[str, Any] | None, policy: str,
           *, adoptable: bool) -> Action:
    """What `listings push` does with one field.

    | policy   | only the hub changed | only the channel changed        | both changed     |
    | hub      | push                 | push (reported as overwriting)  | push             |
    | channel  | push                 | adopt into the hub (else accept) | accept           |
    | conflict | push                 | conflict (no write)             | conflict         |

    Equal values need nothing. A field never synced counts as changed on both sides.
    """
    if hub == channel:
        return Action.NONE
    hub_changed, channel_changed = changed_sides(hub, channel, base)
    if not channel_changed:
        return Action.PUSH if hub_changed else Action.NONE
    if policy == "hub":
        return Action.PUSH
    if policy == "channel":
        return Action.ADOPT if adoptable and not hub_changed else Action.ACCEPT
    return Action.CONFLICT_BOTH if hub_changed else Action.CONFLICT_CHANNEL
