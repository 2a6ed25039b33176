"""What listing push reads and writes in the hub: variants as `HubItem`s, channel values, new products.

Values are compared as text (`mapping.fields.desired_fields` form): prices as plain decimals
rounded to the currency's minor unit, None for empty.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import canonical
from canonical import Money
from mapping import fields
from store import tables
from store.settings import Settings

DELETED = "deleted"


@dataclass(frozen=True)
class HubVariant:
    variant_id: int
    product_id: int
    item: fields.HubItem


def hub_item(product: tables.Product, variant: tables.Variant, variant_count: int) -> fields.HubItem:
    return fields.HubItem(
        title=product.title, sku=variant.sku, description=product.description, vendor=product.vendor,
        product_type=product.product_type, tags=tuple(str(t) for t in product.tags or ()), status=product.status,
        variant_count=variant_count, variant_title=variant.title,
        options=tuple(str(v) for v in (variant.options or {}).values()), barcode=variant.barcode,
        price=variant.price, compare_at_price=variant.compare_at_price, currency=variant.currency)


def load_hub(session: Session, account_id: int, skus: set[str] | None,
             ) -> tuple[list[HubVariant], list[tuple[tables.Listing, HubVariant]]]:
    """(variants in scope, the account's live linked listings with their variant)."""
    stmt = select(tables.Variant, tables.Product).join(tables.Product).order_by(tables.Variant.id)
    rows = list(session.execute(stmt))
    counts = Counter(v.product_id for v, _ in rows)
    variants = [HubVariant(v.id, p.id, hub_item(p, v, counts[p.id])) for v, p in rows
                if skus is None or v.sku in skus]
    by_id = {v.variant_id: v for v in variants}
    listings = session.scalars(select(tables.Listing).where(
        tables.Listing.account_id == account_id, tables.Listing.variant_id.is_not(None),
        tables.Listing.status != DELETED).order_by(tables.Listing.id))
    return variants, [(row, by_id[row.variant_id]) for row in listings if row.variant_id in by_id]


def _money(value: Money | None, currency: str | None) -> str | None:
    if value is None:
        return None
    return fields.money_text(fields.quantize(value.amount, currency or value.currency))


def channel_values(listing: canonical.Listing) -> dict[str, str | None]:
    """A live listing's synced fields, in the same text form as the hub's desired values."""
    currency = listing.price.currency if listing.price else None
    return {"title": listing.product_title or listing.title, "price": _money(listing.price, currency),
            "compare_at_price": _money(listing.compare_at_price, currency), "barcode": listing.barcode,
            "status": listing.status.value}


def adopt_into_hub(session: Session, listing: tables.Listing, name: str, value: str | None) -> None:
    """Copy a channel's value of a synced field into the hub's variant or product."""
    variant = session.get(tables.Variant, listing.variant_id) if listing.variant_id else None
    if variant is None:
        return
    product = session.get(tables.Product, variant.product_id)
    if name == "title" and product is not None and value:
        product.title = value
    elif name == "status" and product is not None and value:
        product.status = value
    elif name == "barcode":
        variant.barcode = value
    elif name in ("price", "compare_at_price"):
        setattr(variant, name, Decimal(value) if value is not None else None)
    session.flush()


def _variant(hub_variant: HubVariant, rules: fields.FieldRules) -> canonical.Variant:
    item = hub_variant.item
    price, currency = fields.channel_price(item.price, item.currency, rules)
    compare_at, _ = fields.channel_price(item.compare_at_price, item.currency,
                                         replace(rules, price_ending=None))
    options = dict(zip([f"Option{i + 1}" for i in range(len(item.options))], item.options, strict=True))
    return canonical.Variant(
        sku=item.sku, barcode=item.barcode, title=item.variant_title,
        options=options if item.variant_count > 1 else {},
        price=Money(amount=price, currency=currency) if price is not None and currency else None,
        compare_at_price=Money(amount=compare_at, currency=currency)
        if compare_at is not None and currency and price is not None and compare_at > price else None)


def _options(session: Session, variant_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = session.execute(select(tables.Variant.id, tables.Variant.options).where(tables.Variant.id.in_(variant_ids)))
    return {int(i): dict(o or {}) for i, o in rows}


def product_for_channel(session: Session, account: tables.Account, variants: list[HubVariant],
                        settings: Settings) -> tuple[list[canonical.Product], list[tuple[str, str]]]:
    """(products to create on the account, (sku, why skipped) for variants that cannot be created).

    A product is created only when none of its variants is listed on the account: adding a
    variant to an existing channel product is left to the merchant (then `catalog refresh`).
    """
    listed = set(session.scalars(select(tables.Listing.variant_id).where(
        tables.Listing.account_id == account.id, tables.Listing.variant_id.is_not(None))))
    by_product: dict[int, list[HubVariant]] = {}
    for variant in variants:
        by_product.setdefault(variant.product_id, []).append(variant)
    products, skipped = [], []
    for group in by_product.values():
        chosen = [v for v in group if fields.selected(
            fields.effective(settings.accounts, settings.skus, account.name, v.item.sku), v.item.sku, v.item.tags)]
        missing = [v for v in chosen if v.variant_id not in listed]
        if not missing:
            continue
        if len(missing) < len(group) and any(v.variant_id in listed for v in group):
            skipped += [(v.item.sku, "its product is already listed without it; add the variant on the channel, "
                                     "then `marketsync catalog refresh`") for v in missing]
            continue
        products.append(build_product(session, account, missing, settings))
    return products, skipped


def build_product(session: Session, account: tables.Account, group: list[HubVariant],
                  settings: Settings) -> canonical.Product:
    """The canonical product to send to `create_listing`, after the account's field rules."""
    first = group[0].item
    rules = fields.effective(settings.accounts, settings.skus, account.name, first.sku)
    options = _options(session, [v.variant_id for v in group])
    variants = []
    for hub_variant in group:
        variant = _variant(hub_variant, fields.effective(settings.accounts, settings.skus, account.name,
                                                         hub_variant.item.sku))
        if len(group) > 1 and options.get(hub_variant.variant_id):
            variant = variant.model_copy(update={"options": {str(k): str(v) for k, v in
                                                             options[hub_variant.variant_id].items()}})
        variants.append(variant)
    return canonical.Product(
        title=fields.render_title(rules.title_template, first), description=first.description, vendor=first.vendor,
        product_type=rules.category_map.get(first.product_type, first.product_type), tags=first.tags,
        status=canonical.ProductStatus(first.status), variants=tuple(variants))
