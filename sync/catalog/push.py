"""Listing push: create missing listings and keep synced fields in step, with a dry run.

For each account: read its listings live, compute what each linked listing should show
(`mapping.fields`), and decide field by field with the account's `field_policy` and the
value last synced (`listings.synced_fields[field] = {"hub": …, "channel": …}`), so a field
changed only on the channel is never overwritten silently. `dry_run` reads, plans and
reports, and writes nothing anywhere (no channel request that changes data, no database row).

Synced fields: title (the product title), price, compare_at_price, barcode, status. The
description and category are sent when a listing is created; the connectors cannot change
them afterwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import canonical
from canonical import Money
from canonical.errors import MarketsyncError
from connectors.base import Connector
from connectors.errors import ConnectorError
from mapping import fields
from mapping.conflicts import ConflictKind, close_if_open, open_unless_ignored
from store import tables
from sync.catalog import linking
from sync.catalog.importing import enqueue
from sync.catalog.push_data import HubVariant, adopt_into_hub, channel_values, load_hub, product_for_channel
from sync.hub.accounts import get_account, job_account
from sync.hub.audit import audit
from sync.hub.context import Hub
from sync.stock.change import StockChange

CONFLICT_KINDS = {fields.Action.CONFLICT_BOTH: ConflictKind.FIELD_CHANGED_BOTH_SIDES,
                  fields.Action.CONFLICT_CHANNEL: ConflictKind.FIELD_CHANGED_ON_CHANNEL}
CHANGE_KEYS = {"title": "product_title", "price": "price", "compare_at_price": "compare_at_price",
               "barcode": "barcode", "status": "status"}


@dataclass
class FieldChange:
    field: str
    channel: str | None
    hub: str | None
    action: str


@dataclass
class ListingPlan:
    account: str
    sku: str
    op: str  # create | update | unchanged | conflict | skipped | error
    external_variant_id: str | None = None
    listing_id: int | None = None
    changes: list[FieldChange] = field(default_factory=list)
    note: str = ""
    base: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account, "sku": self.sku, "op": self.op,
                "external_variant_id": self.external_variant_id, "note": self.note,
                "changes": [c.__dict__ for c in self.changes]}


def plan_listing(account: str, variant: HubVariant, row: tables.Listing, live: canonical.Listing,
                 rules: fields.FieldRules, titled: set[str]) -> ListingPlan:
    """Decide every synced field of one linked listing."""
    plan = ListingPlan(account, variant.item.sku, "unchanged", row.external_variant_id, row.id)
    desired = fields.desired_fields(variant.item, rules)
    shown = channel_values(live)
    currency = fields.channel_currency(variant.item, rules)
    if live.price is not None and currency and live.price.currency != currency:
        desired = {k: v for k, v in desired.items() if k not in ("price", "compare_at_price")}
        plan.note = (f"prices not synced: the hub's are in {currency}, the channel sells in {live.price.currency} "
                     f"(set price_currency and price_rate for account {account})")
    for name, hub_value in desired.items():
        base = (row.synced_fields or {}).get(name)
        adoptable = (name != "title" or rules.title_is_identity) and \
            (name not in ("price", "compare_at_price") or rules.price_is_identity)
        action = fields.decide(hub_value, shown[name], base, rules.field_policy, adoptable=adoptable)
        if action == fields.Action.PUSH and name == "title" and live.external_product_id in titled:
            action = fields.Action.ACCEPT  # another variant of this product already carries the title
        if action == fields.Action.PUSH and name == "title":
            titled.add(live.external_product_id)
        plan.base[name] = {"hub": hub_value, "channel": shown[name]}
        if action != fields.Action.NONE:
            plan.changes.append(FieldChange(name, shown[name], hub_value, action.value))
    if any(c.action == fields.Action.PUSH for c in plan.changes):
        plan.op = "update"
    elif any(c.action.startswith("conflict") for c in plan.changes):
        plan.op = "conflict"
    return plan


def plan_account(session: Session, hub: Hub, account: tables.Account, live: dict[str, canonical.Listing],
                 skus: set[str] | None) -> tuple[list[ListingPlan], list[canonical.Product]]:
    """(plans for linked listings, products to create) for one account."""
    settings = hub.settings
    variants, listed = load_hub(session, account.id, skus)
    plans: list[ListingPlan] = []
    titled: set[str] = set()
    for row, variant in listed:
        rules = fields.effective(settings.accounts, settings.skus, account.name, variant.item.sku)
        if not fields.selected(rules, variant.item.sku, variant.item.tags):
            plans.append(ListingPlan(account.name, variant.item.sku, "skipped", row.external_variant_id, row.id,
                                     note="excluded by the account's include/exclude rules"))
        elif row.external_variant_id not in live:
            plans.append(ListingPlan(account.name, variant.item.sku, "skipped", row.external_variant_id, row.id,
                                     note="not on the channel now; `marketsync catalog refresh` will report it"))
        else:
            plans.append(plan_listing(account.name, variant, row, live[row.external_variant_id], rules, titled))
    account_rules = fields.effective(settings.accounts, settings.skus, account.name)
    creations: list[canonical.Product] = []
    if account_rules.publish:
        creations, skipped = product_for_channel(session, account, variants, settings)
        plans.extend(ListingPlan(account.name, sku, "skipped", note=note) for sku, note in skipped)
        for product in creations:
            plans.extend(ListingPlan(account.name, v.sku, "create", note=f"new listing {product.title!r}",
                                     changes=[FieldChange("listing", None, product.title, "create")])
                         for v in product.variants)
    return plans, creations


# ---- applying ------------------------------------------------------------------------------------
def apply_update(connector: Connector, live: canonical.Listing, plan: ListingPlan) -> canonical.Listing | None:
    currency = live.price.currency if live.price else None
    changes: dict[str, Any] = {}
    for change in plan.changes:
        if change.action != fields.Action.PUSH:
            continue
        value: Any = change.hub
        if change.field in ("price", "compare_at_price") and value is not None and currency:
            value = Money(amount=Decimal(value), currency=currency)
        changes[CHANGE_KEYS[change.field]] = value
    if not changes:
        return None
    try:
        return connector.update_listing(live, changes)
    except (ConnectorError, ValueError) as exc:
        plan.op, plan.note = "error", str(exc)
        return None


def record(session: Session, plan: ListingPlan, updated: canonical.Listing | None, actor: str) -> None:
    """Store what was synced, open or close field conflicts, adopt channel values."""
    row = session.get(tables.Listing, plan.listing_id) if plan.listing_id is not None else None
    if row is None or plan.op in ("skipped", "error", "create"):
        return
    synced = dict(row.synced_fields or {})
    shown_now = channel_values(updated) if updated is not None else None
    actions = {c.field: c.action for c in plan.changes}
    for name, base in plan.base.items():
        action = actions.get(name, fields.Action.NONE)
        subject = f"field:{row.id}:{name}"
        if action in CONFLICT_KINDS:
            open_unless_ignored(session, CONFLICT_KINDS[fields.Action(action)], subject, evidence={
                "field": name, "hub": base["hub"], "channel": base["channel"], "last_synced": synced.get(name),
                "sku": plan.sku, "external_variant_id": row.external_variant_id},
                suggestions=field_suggestions(), account_id=row.account_id, listing_id=row.id,
                variant_id=row.variant_id)
            continue
        if action == fields.Action.PUSH:
            channel = shown_now[name] if shown_now is not None else base["hub"]
            synced[name] = {"hub": base["hub"], "channel": channel}
        elif action == fields.Action.ADOPT:
            adopt_into_hub(session, row, name, base["channel"])
            synced[name] = {"hub": base["channel"], "channel": base["channel"]}
        else:
            synced[name] = base
        close_if_open(session, subject, f"the field {name} is settled ({action})", actor=actor)
    row.synced_fields = synced


def field_suggestions() -> list[dict[str, str]]:
    return [{"resolution": "keep-hub", "argument": "", "why": "write the hub's value to the channel"},
            {"resolution": "keep-channel", "argument": "", "why": "leave the channel's value on this listing"},
            {"resolution": "adopt", "argument": "", "why": "copy the channel's value into the hub"}]


def create_listings(hub: Hub, session: Session, account: tables.Account, connector: Connector,
                    products: Iterable[canonical.Product], plans: list[ListingPlan]) -> set[int]:
    """Create each product on the channel and store its listings, linked by SKU."""
    by_sku = {p.sku: p for p in plans if p.op == "create"}
    variant_ids: set[int] = set()
    for product in products:
        try:
            created = connector.create_listing(product)
        except (ConnectorError, ValueError) as exc:
            for v in product.variants:
                by_sku[v.sku].op, by_sku[v.sku].note = "error", str(exc)
            continue
        for item in created:
            variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == item.sku))
            row = tables.Listing(account_id=account.id, variant_id=variant.id if variant else None,
                                 external_product_id=item.external_product_id,
                                 external_variant_id=item.external_variant_id,
                                 external_inventory_item_id=item.external_inventory_item_id, channel_sku=item.sku,
                                 channel_barcode=item.barcode, title=item.product_title or item.title,
                                 status=item.status.value, synced_fields=created_base(item))
            session.add(row)
            session.flush()
            if item.sku in by_sku:
                by_sku[item.sku].external_variant_id, by_sku[item.sku].listing_id = row.external_variant_id, row.id
            if variant is not None:
                variant_ids.add(variant.id)
    if not variant_ids:
        return set()
    change = StockChange(session, hub.settings)
    change.touch(variant_ids)
    return change.settle() | {account.id}


def created_base(item: canonical.Listing) -> dict[str, Any]:
    return {name: {"hub": value, "channel": value} for name, value in channel_values(item).items()}


def push_account(hub: Hub, account_name: str, *, skus: set[str] | None, dry_run: bool,
                 actor: str) -> list[ListingPlan]:
    """Plan, and unless `dry_run` apply, the listing push for one account."""
    with hub.db.session() as session:
        account = get_account(session, account_name)
    connector = hub.connector(account)
    try:
        live = {item.external_variant_id: item for item in connector.listings()}
        with hub.db.session() as session:
            plans, creations = plan_account(session, hub, account, live, skus)  # reads only
        if dry_run:
            return plans
        updated = {p.listing_id: apply_update(connector, live[p.external_variant_id], p)
                   for p in plans if p.op == "update" and p.external_variant_id}
        with hub.db.session() as session:
            for plan in plans:
                record(session, plan, updated.get(plan.listing_id), actor)
            accounts = create_listings(hub, session, account, connector, creations, plans)
            audit(session, actor, "listings.push", f"account:{account_name}",
                  {"counts": summary(plans), "skus": sorted(skus) if skus else None})
    finally:
        connector.close()
    linking.schedule(hub, accounts)
    return plans


def summary(plans: Iterable[ListingPlan]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for plan in plans:
        counts[plan.op] = counts.get(plan.op, 0) + 1
    return counts


def push_listings(hub: Hub, accounts: Iterable[str] | None = None, *, skus: Iterable[str] | None = None,
                  dry_run: bool = False, actor: str = "marketsync") -> list[ListingPlan]:
    """`listings push` over the named accounts (default: every enabled account)."""
    fields.validate_settings(hub.settings.accounts, hub.settings.skus)
    with hub.db.session() as session:
        names = list(accounts) if accounts else list(session.scalars(
            select(tables.Account.name).where(tables.Account.enabled.is_(True)).order_by(tables.Account.name)))
    wanted = set(skus) if skus else None
    plans: list[ListingPlan] = []
    for name in names:
        try:
            plans += push_account(hub, name, skus=wanted, dry_run=dry_run, actor=actor)
        except MarketsyncError as exc:  # one broken account never stops the others
            plans.append(ListingPlan(name, "", "error", note=" ".join(str(exc).split())[:500]))
    return plans


def push_account_listings(hub: Hub, account_id: int, skus: list[str] | None = None) -> dict[str, int]:
    """Push listings of one account (only `skus` when given); what the job runs."""
    with hub.db.session() as session:
        account = job_account(session, account_id)
        if account is None:
            return {"skipped": 1}  # removed or disabled since it was queued
        name = account.name
    return summary(push_account(hub, name, skus=set(skus) if skus else None, dry_run=False, actor="marketsync"))


def enqueue_push(hub: Hub, account_id: int, skus: list[str] | None = None) -> str:
    """Queue a listing push for one account (only `skus` when given) on the catalog queue."""
    suffix = hashlib.sha1(",".join(sorted(skus)).encode()).hexdigest()[:12] if skus else "all"
    return enqueue(hub, "sync.jobs.push_listings", f"push-listings-{account_id}-{suffix}", account_id,
                   sorted(skus) if skus else None)
