"""What each resolution does to the hub (inside the resolving transaction) and after the commit.

`apply_resolution` changes rows and returns a one-line description of the effect; `Effects`
collects what must happen after the commit (stock pushes, listing pushes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonical import normalised_sku
from canonical.errors import MarketsyncError
from mapping import fields
from mapping.conflicts import ConflictKind
from store import tables
from store.settings import Settings
from sync.catalog import linking
from sync.catalog.push import enqueue_push
from sync.catalog.push_data import adopt_into_hub
from sync.hub.context import Hub
from sync.stock import kits
from sync.stock.change import StockChange
from sync.stock.ledger import Movement
from sync.stock.locations import order_location_id


class ResolveError(MarketsyncError):
    """A resolution was refused; the message says why and what fits."""


@dataclass
class Effects:
    """What resolutions did beyond the conflict row: accounts to push stock to, listings to push."""

    settings: Settings
    # A link may give a variant a second listing on the same account only when asked explicitly.
    allow_duplicate: bool = False
    accounts: set[int] = field(default_factory=set)
    listing_pushes: list[tuple[int, str]] = field(default_factory=list)

    def stock(self, session: Session) -> StockChange:
        """A stock change in the resolution's transaction, with the hub's settings."""
        return StockChange(session, self.settings)

    def after_commit(self, hub: Hub) -> None:
        linking.schedule(hub, self.accounts)
        by_account: dict[int, list[str]] = {}
        for account_id, sku in self.listing_pushes:
            by_account.setdefault(account_id, []).append(sku)
        for account_id, skus in by_account.items():
            enqueue_push(hub, account_id, sorted(set(skus)))


def conflict_listing(session: Session, conflict: tables.Conflict) -> tables.Listing | None:
    if conflict.listing_id:
        return session.get(tables.Listing, conflict.listing_id)
    if conflict.order_line_id:
        line = session.get(tables.OrderLine, conflict.order_line_id)
        if line is not None and line.listing_id:
            return session.get(tables.Listing, line.listing_id)
    return None


def need_listing(session: Session, conflict: tables.Conflict) -> tables.Listing:
    listing = conflict_listing(session, conflict)
    if listing is None:
        raise ResolveError(f"conflict #{conflict.id} names no listing the hub knows; run "
                           "`marketsync catalog refresh ACCOUNT` for its account, then resolve again")
    return listing


def variant_by_sku(session: Session, sku: str) -> tables.Variant:
    variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == sku))
    if variant is None:
        raise ResolveError(f"no variant with SKU {sku!r} in the catalogue; see `marketsync catalog list`")
    return variant


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def create_variant(session: Session, conflict: tables.Conflict, listing: tables.Listing) -> tables.Variant:
    """A new catalogue product with one variant, from what the channel showed."""
    channel = dict((conflict.evidence or {}).get("channel") or {})
    sku = listing.channel_sku or channel.get("sku")
    if not sku:
        raise ResolveError(f"listing {listing.external_variant_id} has no SKU; give it one on the channel "
                           f"or use --link SKU")
    if session.scalar(select(tables.Variant.id).where(tables.Variant.sku == sku)) is not None:
        raise ResolveError(f"SKU {sku!r} is already in the catalogue; use --link {sku}")
    title = channel.get("product_title") or (listing.title.split(" - ")[0] if listing.title else sku)
    product = tables.Product(title=title, status="active")
    session.add(product)
    session.flush()
    variant = tables.Variant(product_id=product.id, sku=sku, barcode=listing.channel_barcode,
                             title=channel.get("variant_title") or "", price=_decimal(channel.get("price")),
                             compare_at_price=_decimal(channel.get("compare_at_price")),
                             currency=channel.get("currency"))
    session.add(variant)
    session.flush()
    return variant


def _field_listing(session: Session, conflict: tables.Conflict) -> tuple[tables.Listing, str, dict[str, Any]]:
    listing = need_listing(session, conflict)
    evidence = dict(conflict.evidence or {})
    return listing, str(evidence.get("field")), evidence


def resolve_field(session: Session, conflict: tables.Conflict, resolution: str, effects: Effects) -> str:
    listing, name, evidence = _field_listing(session, conflict)
    synced = dict(listing.synced_fields or {})
    if resolution == "keep-hub":
        synced[name] = {"channel": evidence.get("channel")}  # the hub side counts as changed: it is pushed
        effects.listing_pushes.append((listing.account_id, str(evidence.get("sku"))))
        message = f"the hub's {name} {evidence.get('hub')!r} will be pushed (listing push queued)"
    elif resolution == "adopt":
        check_adoptable(session, listing, name, effects.settings)
        adopt_into_hub(session, listing, name, evidence.get("channel"))
        synced[name] = {"hub": evidence.get("channel"), "channel": evidence.get("channel")}
        message = f"the hub now has the channel's {name} {evidence.get('channel')!r}"
    else:
        synced[name] = {"hub": evidence.get("hub"), "channel": evidence.get("channel")}
        message = f"the listing keeps the channel's {name} {evidence.get('channel')!r}"
    listing.synced_fields = synced
    return message


def check_adoptable(session: Session, listing: tables.Listing, name: str, settings: Settings | None) -> None:
    account = session.get(tables.Account, listing.account_id)
    if settings is None or account is None or name not in ("title", "price", "compare_at_price"):
        return
    rules = fields.effective(settings.accounts, settings.skus, account.name)
    if (name == "title" and not rules.title_is_identity) or (name != "title" and not rules.price_is_identity):
        raise ResolveError(f"account {account.name!r} transforms {name} with its rules, so the channel's value "
                           f"cannot be copied into the hub; use --keep-channel or --keep-hub")


def _quantity(evidence: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = evidence.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def resolve_drift(session: Session, conflict: tables.Conflict, resolution: str, effects: Effects) -> str:
    """keep-hub/revert: push the hub's number again; keep-channel/adopt: the ledger takes the channel's."""
    listing = need_listing(session, conflict)
    evidence = dict(conflict.evidence or {})
    observed = _quantity(evidence, "channel_observed", "observed")
    expected = _quantity(evidence, "hub_acknowledged", "acknowledged")
    if observed is None:
        raise ResolveError(f"conflict #{conflict.id} does not record the channel's quantity; run a reconcile")
    if resolution in ("keep-hub", "revert"):
        listing.acknowledged_quantity = observed  # what the channel holds, for compare-and-swap
        listing.push_pending = True
        effects.accounts.add(listing.account_id)
        return f"the hub's quantity {listing.desired_quantity} will be pushed over the channel's {observed}"
    if listing.variant_id is None or expected is None:
        raise ResolveError(f"conflict #{conflict.id} lacks the linked variant or the hub's quantity; use --revert")
    if kits.is_kit(session, listing.variant_id):
        raise ResolveError(f"conflict #{conflict.id} is on a kit, whose stock is its components'; use --revert, "
                           "or change the components with `marketsync stock adjust`")
    delta = observed - expected
    listing.acknowledged_quantity = observed  # first, so the recompute below compares with it
    session.flush()
    moment = evidence.get("observed_at") or f"conflict-{conflict.id}"
    change = effects.stock(session)
    change.move(Movement(f"drift:{listing.account_id}:{listing.id}:{moment}", listing.variant_id,
                                     order_location_id(session, listing.account_id), on_hand_delta=delta,
                                     reason="drift_adopt", source=f"conflict:{conflict.id}",
                                     reference=f"listing {listing.external_variant_id}: {expected} → {observed}"))
    effects.accounts |= change.settle() | {listing.account_id}
    return f"on hand changed by {delta:+d} to match the channel's {observed}"


def apply_resolution(session: Session, conflict: tables.Conflict, resolution: str, argument: str | None, *,
                     actor: str, effects: Effects) -> str:
    """Change the hub as `resolution` says; returns what happened, in one line."""
    kind = conflict.kind
    if kind in (ConflictKind.FIELD_CHANGED_BOTH_SIDES, ConflictKind.FIELD_CHANGED_ON_CHANNEL) \
            and resolution != "ignore":
        return resolve_field(session, conflict, resolution, effects)
    if kind == ConflictKind.STOCK_DRIFT and resolution != "ignore":
        return resolve_drift(session, conflict, resolution, effects)
    if resolution == "ignore":
        if kind == ConflictKind.SKU_CHANGED:
            accept_sku(session, conflict)
        if kind == ConflictKind.UNMAPPED_ORDER_LINE:
            return ignore_order_line(session, conflict)
        return "ignored: the hub will not raise it again unless it changes"
    listing = need_listing(session, conflict)
    if resolution in ("link", "create"):
        variant = variant_by_sku(session, argument or "") if resolution == "link" else \
            create_variant(session, conflict, listing)
        if not effects.allow_duplicate:
            refuse_second_listing(session, listing, variant)
        change = effects.stock(session)
        accounts, _ = linking.link(change, listing, variant, actor=actor,
                                   how=f"--{resolution} on conflict #{conflict.id}", except_conflict=conflict.id)
        effects.accounts |= accounts | change.settle()
        return f"listing {listing.external_variant_id} linked to SKU {variant.sku!r}"
    if resolution == "unlink":
        change = effects.stock(session)
        linking.unlink(change, listing)
        effects.accounts |= change.settle()
        return f"listing {listing.external_variant_id} unlinked; it no longer publishes stock"
    accept_sku(session, conflict)  # keep-channel on a changed SKU
    return f"the link stays; the channel's SKU {listing.channel_sku!r} is accepted"


def refuse_second_listing(session: Session, listing: tables.Listing, variant: tables.Variant) -> None:
    """One variant, one listing per account: a second one would publish the same stock twice."""
    other = session.scalar(select(tables.Listing).where(
        tables.Listing.account_id == listing.account_id, tables.Listing.variant_id == variant.id,
        tables.Listing.id != listing.id, tables.Listing.status.not_in(("deleted", "unlinked"))).limit(1))
    if other is not None:
        raise ResolveError(f"SKU {variant.sku!r} already has listing {other.external_variant_id} on this account; "
                           f"linking {listing.external_variant_id} too would sell the same stock twice "
                           "(pass --allow-duplicate if both listings really are that variant)")


def ignore_order_line(session: Session, conflict: tables.Conflict) -> str:
    """An ignored order line is no longer held: it ships with its order and never moves stock."""
    line = session.get(tables.OrderLine, conflict.order_line_id) if conflict.order_line_id else None
    if line is not None and line.variant_id is None:
        line.held = False
    return "ignored: the line ships with its order and moves no stock; the hub will not raise it again"


def hold_order_line_again(session: Session, conflict: tables.Conflict) -> None:
    """A reopened unmapped-line conflict holds its line again (a later link releases it)."""
    line = session.get(tables.OrderLine, conflict.order_line_id) if conflict.order_line_id else None
    if line is not None and line.variant_id is None and line.shipped_quantity == 0:
        line.held = True


def accept_sku(session: Session, conflict: tables.Conflict) -> None:
    listing = need_listing(session, conflict)
    linking.accept_identity(listing)


def rule_target(session: Session, conflict: tables.Conflict, rule: str, *,
                normalised: bool) -> tuple[str | None, str | None, str]:
    """(resolution, argument, why not) that bulk `rule` gives `conflict`."""
    if rule in ("ignore", "keep-hub", "keep-channel"):
        return rule, None, ""
    listing = conflict_listing(session, conflict)
    if listing is None:
        return None, None, "no listing known for it"
    if rule == "create":
        if not listing.channel_sku:
            return None, None, "the listing has no SKU"
        taken = session.scalar(select(tables.Variant.id).where(tables.Variant.sku == listing.channel_sku))
        return (None, None, "its SKU is already in the catalogue") if taken else ("create", None, "")
    if rule == "barcode":
        if not listing.channel_barcode:
            return None, None, "the listing has no barcode"
        found = list(session.scalars(select(tables.Variant.sku).where(
            tables.Variant.barcode == listing.channel_barcode)))
        return one(found, "barcode")
    if not listing.channel_sku:
        return None, None, "the listing has no SKU"
    key = normalised_sku(listing.channel_sku)
    found = [sku for sku in session.scalars(select(tables.Variant.sku)) if normalised_sku(sku) == key]
    return one(found, "normalised SKU")


def one(found: list[str], what: str) -> tuple[str | None, str | None, str]:
    if len(found) == 1:
        return "link", found[0], ""
    if not found:
        return None, None, f"no variant has its {what}"
    return None, None, f"several variants have its {what}: {', '.join(sorted(found))}"
