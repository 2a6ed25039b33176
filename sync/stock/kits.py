"""Kits (bundles): a hub variant made of other variants, with no stock of its own.

A kit's recipe is its `kit_components` rows (component, units per kit). A component may be a kit
itself; everything here works on the *leaf* recipe, where nested kits are multiplied out and a
variant reached through two branches is summed, so ⌊⌊a ÷ q1⌋ ÷ q2⌋ = ⌊a ÷ (q1·q2)⌋ holds by
construction.

* Available-to-sell on an account: min over leaf components of ⌊ats(component) ÷ units⌋, where
  ats(component) = Σ (on_hand - committed) over the account's locations - the component's safety
  stock, floored at 0. The kit's own rules (buffer, percent, …) then apply as for any variant.
* A movement of an order line (or a return) of a kit becomes one movement per leaf component
  under the line's key plus `:kit:{component variant id}`, and a zero marker on the kit under the
  key itself (so `stock history KIT` shows its sales and a line's commit location is found as for
  any line). Replays are no-ops, as every key is unique.
* A movement of a component makes every kit that uses it (transitively) recompute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonical.errors import MarketsyncError
from mapping import quantity
from store import tables
from store.memo import is_remembering, recall
from store.settings import Settings
from sync.planning.safety import SafetyInputs
from sync.stock.ledger import Movement

Recipe = dict[int, int]  # component variant id → units per kit


class KitError(MarketsyncError):
    """A kit definition or a stock change of a kit was refused; the message names the SKUs and what to do."""


@dataclass(frozen=True)
class Share:
    """One leaf component's part in a kit's number on one account."""

    sku: str
    per_kit: int
    available: int  # the component's available-to-sell there (after its safety stock, floored at 0)

    @property
    def kits(self) -> int:
        return self.available // self.per_kit

    def as_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "per_kit": self.per_kit, "available": self.available, "kits": self.kits}


def direct_recipes(session: Session) -> dict[int, Recipe]:
    """Every kit's own components (one query: kits are a merchant's short list, not a catalogue)."""
    found: dict[int, Recipe] = {}
    for kit_id, component_id, units in session.execute(
            select(tables.KitComponent.kit_variant_id, tables.KitComponent.component_variant_id,
                   tables.KitComponent.quantity)):
        found.setdefault(int(kit_id), {})[int(component_id)] = int(units)
    return found


def flatten(direct: Mapping[int, Recipe], kit_id: int) -> Recipe:
    """The leaf recipe of `kit_id`: nested kits multiplied out, repeated leaves summed."""
    leaves: Recipe = {}

    def walk(variant_id: int, factor: int, path: tuple[int, ...]) -> None:
        if variant_id in path:
            raise KitError("a kit contains itself")  # definitions refuse this; never loop on bad rows
        for component_id, units in direct[variant_id].items():
            if component_id in direct:
                walk(component_id, factor * units, (*path, variant_id))
            else:
                leaves[component_id] = leaves.get(component_id, 0) + factor * units

    walk(kit_id, 1, ())
    return leaves


# Past this many ids a question about kits reads `kit_components` whole (a merchant's short list)
# instead of binding an IN list: a 10,000-row receipt asked it with 10,000 parameters, twice.
FEW_IDS = 500


def _kit_pairs(session: Session, variant_ids: set[int], *, as_component: bool) -> list[tuple[int, int]]:
    """(kit, component) rows whose kit (or component) is among `variant_ids`."""
    kit, component = tables.KitComponent.kit_variant_id, tables.KitComponent.component_variant_id
    stmt = select(kit, component)
    if is_remembering(session):  # every pair once for the transaction (kits are few; orders many)
        pairs: list[tuple[int, int]] = recall(session, "kit_pairs", lambda: [
            (int(k), int(c)) for k, c in session.execute(stmt)])
        return [(k, c) for k, c in pairs if (c if as_component else k) in variant_ids]
    if len(variant_ids) <= FEW_IDS:
        return [(int(k), int(c)) for k, c in session.execute(
            stmt.where((component if as_component else kit).in_(sorted(variant_ids))))]
    rows = [(int(k), int(c)) for k, c in session.execute(stmt)]
    return [(k, c) for k, c in rows if (c if as_component else k) in variant_ids]


def leaf_recipes(session: Session, variant_ids: Iterable[int]) -> dict[int, Recipe]:
    """The leaf recipe of each kit among `variant_ids` (an empty dict when none is a kit)."""
    wanted = set(variant_ids)
    if not wanted:
        return {}
    kit_ids = {kit for kit, _ in _kit_pairs(session, wanted, as_component=False)}
    if not kit_ids:
        return {}
    direct = direct_recipes(session)
    return {kit_id: flatten(direct, kit_id) for kit_id in sorted(kit_ids)}


def kits_using(session: Session, variant_ids: Iterable[int]) -> set[int]:
    """Every kit that contains any of `variant_ids`, directly or through another kit."""
    found: set[int] = set()
    frontier = set(variant_ids)
    while frontier:
        parents = {kit for kit, _ in _kit_pairs(session, frontier, as_component=True)}
        frontier = parents - found
        found |= parents
    return found


def with_kits(session: Session, variant_ids: Iterable[int]) -> set[int]:
    """`variant_ids` and every kit that uses one of them: what a movement of them must recompute."""
    ids = set(variant_ids)
    return ids | kits_using(session, ids) if ids else ids


def is_kit(session: Session, variant_id: int) -> bool:
    return session.scalar(select(tables.KitComponent.kit_variant_id)
                          .where(tables.KitComponent.kit_variant_id == variant_id).limit(1)) is not None


def expand(session: Session, movement: Movement) -> list[Movement]:
    """The movements that carry out `movement`: itself, or for a kit a zero marker and one per leaf component."""
    recipe = leaf_recipes(session, [movement.variant_id]).get(movement.variant_id)
    if not recipe:
        return [movement]
    marker = Movement(movement.key, movement.variant_id, movement.location_id, reason=movement.reason,
                      source=movement.source, reference=movement.reference)
    return [marker, *(Movement(f"{movement.key}:kit:{component_id}", component_id, movement.location_id,
                               on_hand_delta=movement.on_hand_delta * units,
                               committed_delta=movement.committed_delta * units, reason=movement.reason,
                               source=movement.source, reference=movement.reference)
                      for component_id, units in sorted(recipe.items()))]


def move_line(session: Session, movement: Movement, apply: Callable[[Movement], bool]) -> bool:
    """Apply an order line's (or a return's) movement, through its components for a kit.

    Returns whether the line's own key was new (False for a replay)."""
    first, *rest = expand(session, movement)
    applied = apply(first)
    for component in rest:
        apply(component)
    return applied


def refuse_own_stock(session: Session, variant: tables.Variant) -> None:
    """A kit holds no stock of its own: adjusting, receiving or importing it is refused."""
    if is_kit(session, variant.id):
        raise KitError(f"{variant.sku} is a kit: its stock is its components'; change those instead "
                       f"(`marketsync kits show {variant.sku}`)")


def component_available(settings: Settings, sku: str, variant_safety: int | None,
                        levels: Mapping[int, tuple[int, int]], location_ids: Iterable[int],
                        planned: SafetyInputs | None) -> int:
    """ats of one component on an account: Σ (on_hand - committed) - its safety stock, floored at 0."""
    sellable = sum(levels.get(loc, (0, 0))[0] - levels.get(loc, (0, 0))[1] for loc in location_ids)
    planned = planned or SafetyInputs()
    safety, _ = quantity.effective_safety_stock(settings.stock.safety_stock, variant_safety, settings.skus, sku,
                                                supplier=planned.supplier, dynamic=planned.dynamic)
    return max(sellable - safety, 0)


def kit_safety_stock(settings: Settings, sku: str, variant_safety: int | None) -> tuple[int, str]:
    """A kit's own safety stock: only one set for it by name; the defaults are held by its components."""
    safety, source = quantity.effective_safety_stock(0, variant_safety, settings.skus, sku)
    return (safety, source) if source != "stock.safety_stock" else (0, "kit: its components hold the safety stock")


def kit_chain(settings: Settings, *, sku: str, account: str, variant_safety: int | None,
              shares: list[Share]) -> tuple[quantity.Chain, int, str]:
    """(chain, safety stock, its source) of a kit on one account from its components' shares."""
    sellable = min(share.kits for share in shares)
    limiting = limiting_share(shares)
    safety, safety_source = kit_safety_stock(settings, sku, variant_safety)
    defaults = quantity.Rules(**settings.stock.rules.model_dump())
    rules, origin = quantity.effective_rules(defaults, settings.accounts, settings.skus, sku, account)
    chain = quantity.publish(sellable, safety, rules, origin)
    first = quantity.Step("available", sellable, sellable,
                          f"kit: min over components of ⌊available ÷ units⌋; limited by {limiting.sku} "
                          f"(⌊{limiting.available} ÷ {limiting.per_kit}⌋)")
    return quantity.Chain((first, *chain.steps[1:])), safety, safety_source


def limiting_share(shares: list[Share]) -> Share:
    """The component that allows the fewest kits (the first by SKU on a tie)."""
    return min(shares, key=lambda share: (share.kits, share.sku))


def kit_quantity(settings: Settings, *, sku: str, account: str, variant_safety: int | None, recipe: Recipe,
                 variants: Mapping[int, tuple[str, int | None]], levels: Mapping[int, Mapping[int, tuple[int, int]]],
                 location_ids: tuple[int, ...], planned: Mapping[int, SafetyInputs]
                 ) -> tuple[quantity.Chain, int, str, tuple[Share, ...]] | None:
    """A kit listing's chain, safety stock, its source and the components' shares; None while a
    component has no stock in the hub yet (as for a variant the ledger never moved: publish nothing)."""
    if any(component_id not in levels for component_id in recipe):
        return None
    shares = [Share(variants[component_id][0], units,
                    component_available(settings, variants[component_id][0], variants[component_id][1],
                                        levels[component_id], location_ids, planned.get(component_id)))
              for component_id, units in sorted(recipe.items(), key=lambda item: variants[item[0]][0])]
    chain, safety, source = kit_chain(settings, sku=sku, account=account, variant_safety=variant_safety,
                                      shares=shares)
    return chain, safety, source, tuple(shares)
