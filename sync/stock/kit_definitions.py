"""Kit definitions behind `marketsync kits define|import|list|show|remove`.

A definition names the kit (an existing, tracked hub variant) and its components (existing,
tracked variants, kits allowed) with units per kit. Refused: a kit that contains itself,
directly or through another kit; removing a kit another kit uses; changing or removing the
recipe of a kit while open order lines hold its current components (their shipment and
cancellation must move what their commit moved). A variant that becomes a kit gives up its
own on hand (a movement to 0, in its history); one with stock committed to orders is refused.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from store import tables
from sync.hub.audit import audit
from sync.hub.context import Hub
from sync.stock import kits
from sync.stock.change import StockChange, stock_change
from sync.stock.desired import listing_quantities
from sync.stock.kits import KitError, Recipe
from sync.stock.ledger import Movement
from sync.stock.locations import hub_location

IMPORT_COLUMNS = ("kit", "component", "quantity")


def parse_component(text: str) -> tuple[str, int]:
    """`SKU:QTY` → (SKU, QTY); the SKU may itself contain colons (the last one separates)."""
    sku, sep, raw = text.strip().rpartition(":")
    if not sep or not sku.strip():
        raise KitError(f"component {text!r} must be SKU:QTY, e.g. MUG-RED:2")
    try:
        units = int(raw)
    except ValueError:
        raise KitError(f"component {text!r}: {raw!r} is not a whole number of units") from None
    if units <= 0:
        raise KitError(f"component {text!r}: units per kit must be 1 or more")
    return sku.strip(), units


def find(session: Session, sku: str, role: str) -> tables.Variant:
    """A tracked hub variant by SKU; unknown or untracked ones are refused naming the SKU."""
    variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == sku.strip()))
    if variant is None:
        raise KitError(f"unknown SKU {sku!r} ({role}); import the catalogue with "
                       "`marketsync catalog import --from ACCOUNT` or check the spelling")
    if not variant.tracked:
        raise KitError(f"{variant.sku} ({role}) is not stock-tracked, so the hub has no number to build a kit "
                       "from; track it on the channel and import the catalogue again")
    return variant


def _skus(session: Session, variant_ids: set[int]) -> dict[int, str]:
    if not variant_ids:
        return {}
    return {int(i): sku for i, sku in session.execute(
        select(tables.Variant.id, tables.Variant.sku).where(tables.Variant.id.in_(sorted(variant_ids))))}


def _cycle(direct: dict[int, Recipe], start: int) -> list[int] | None:
    """A path start → … → start through the recipes, if there is one."""
    def walk(variant_id: int, path: list[int]) -> list[int] | None:
        for component_id in sorted(direct.get(variant_id, {})):
            if component_id == start:
                return [*path, component_id]
            if component_id not in path:
                found = walk(component_id, [*path, component_id])
                if found:
                    return found
        return None

    return walk(start, [start])


def open_kit_lines(session: Session, kit_id: int) -> int:
    """Open order lines of the kit whose commitment is still held (not all shipped or released)."""
    line = tables.OrderLine
    return int(session.scalar(
        select(func.count()).select_from(line).join(tables.Order, tables.Order.id == line.order_id)
        .where(line.variant_id == kit_id, line.held.is_(False), tables.Order.status == "open",
               line.quantity > line.shipped_quantity + line.cancelled_quantity)) or 0)


def _refuse_if_open(session: Session, kit: tables.Variant, doing: str) -> None:
    count = open_kit_lines(session, kit.id)
    if count:
        raise KitError(f"{count} open order line(s) of kit {kit.sku} hold its current components; ship or cancel "
                       f"them before you {doing} (or define the new recipe under a new SKU)")


def _give_up_own_stock(change: StockChange, kit: tables.Variant, actor: str) -> int:
    """Move a new kit's own on hand to 0 (its stock is its components'); returns the units moved."""
    session, moved = change.session, 0
    for row in session.scalars(select(tables.StockLevel).where(tables.StockLevel.variant_id == kit.id)).all():
        if row.committed:
            raise KitError(f"{kit.sku} has {row.committed} unit(s) committed to open orders as a plain variant; "
                           "ship or cancel them before it becomes a kit")
        if row.on_hand:
            change.move(Movement(f"kit:{kit.id}:{row.location_id}:{uuid.uuid4()}", kit.id, row.location_id,
                                 on_hand_delta=-row.on_hand, reason="adjust", source=f"user:{actor}",
                                 reference="became a kit: its stock is its components'"))
            moved += row.on_hand
    return moved


def store_recipe(change: StockChange, kit: tables.Variant, recipe: dict[tables.Variant, int], actor: str) -> bool:
    """Replace `kit`'s recipe (its listings and the kits using it recompute when `change` settles);
    False when it was already this one."""
    session = change.session
    wanted = {component.id: units for component, units in recipe.items()}
    if kit.id in wanted:
        raise KitError(f"kit {kit.sku} cannot contain itself")
    direct = kits.direct_recipes(session)
    if direct.get(kit.id) == wanted:
        return False
    cycle = _cycle({**direct, kit.id: wanted}, kit.id)
    if cycle:
        names = _skus(session, set(cycle))
        raise KitError(f"kit {kit.sku} cannot contain itself: {' → '.join(names[i] for i in cycle)}")
    if kit.id in direct:
        _refuse_if_open(session, kit, "change its recipe")
    else:
        _give_up_own_stock(change, kit, actor)
    session.execute(delete(tables.KitComponent).where(tables.KitComponent.kit_variant_id == kit.id))
    session.add_all(tables.KitComponent(kit_variant_id=kit.id, component_variant_id=component_id, quantity=units)
                    for component_id, units in sorted(wanted.items()))
    session.flush()
    audit(session, actor, "kit.define", f"kit:{kit.sku}",
          {"components": {c.sku: units for c, units in recipe.items()}})
    change.touch([kit.id])
    return True


def _recipe(session: Session, kit_sku: str,
            components: list[tuple[str, int]]) -> tuple[tables.Variant, dict[tables.Variant, int]]:
    if not components:
        raise KitError(f"kit {kit_sku} needs at least one component (--component SKU:QTY)")
    kit = find(session, kit_sku, "the kit")
    recipe: dict[tables.Variant, int] = {}
    for sku, units in components:
        component = find(session, sku, f"a component of {kit.sku}")
        if component in recipe:
            raise KitError(f"component {component.sku} is named twice in kit {kit.sku}; give it once with the "
                           "total units")
        recipe[component] = units
    return kit, recipe


def define(hub: Hub, kit_sku: str, components: list[tuple[str, int]], *, actor: str) -> dict[str, Any]:
    """Define (or redefine) a kit; its listings and every kit using it are recomputed and pushed."""
    with stock_change(hub) as change:
        kit, recipe = _recipe(change.session, kit_sku, components)
        changed = store_recipe(change, kit, recipe, actor)
        data = describe(change.session, hub, kit)
    return {**data, "changed": changed}


@dataclass
class KitImport:
    defined: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"defined": self.defined, "unchanged": self.unchanged,
                "errors": [{"line": line, "error": message} for line, message in self.errors]}


def _read_rows(path: Path, result: KitImport) -> dict[str, list[tuple[int, str, int]]]:
    """kit → [(line, component, units)] from the CSV; bad rows go to `result.errors`."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise KitError(f"cannot read {path}: {exc.strerror}") from None
    grouped: dict[str, list[tuple[int, str, int]]] = {}
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise KitError(f"{path} lacks column(s) {', '.join(missing)}; the header must be "
                           f"{','.join(IMPORT_COLUMNS)} (one row per component)")
        for row in reader:
            kit_sku, component = (row.get("kit") or "").strip(), (row.get("component") or "").strip()
            try:
                if not kit_sku or not component:
                    raise KitError("kit and component must both be given")
                _, units = parse_component(f"{component}:{(row.get('quantity') or '').strip()}")
            except KitError as exc:
                result.errors.append((reader.line_num, str(exc)))
                continue
            grouped.setdefault(kit_sku, []).append((reader.line_num, component, units))
    return grouped


class _Refused(Exception):
    """Some kit of a file was refused: the whole file rolls back."""


def import_csv(hub: Hub, path: Path, *, actor: str) -> KitImport:
    """Define every kit of a CSV (kit, component, quantity; one row per component). All kits or none."""
    result = KitImport()
    grouped = _read_rows(path, result)
    if result.errors:
        return result
    try:
        with stock_change(hub) as change:
            for kit_sku, rows in grouped.items():
                _import_kit(change, kit_sku, rows, result, actor)
            if result.errors:
                raise _Refused
    except _Refused:
        result.defined = result.unchanged = 0
    return result


def _import_kit(change: StockChange, kit_sku: str, rows: list[tuple[int, str, int]], result: KitImport,
                actor: str) -> None:
    """Define one kit of a file, or note why not."""
    try:
        kit, recipe = _recipe(change.session, kit_sku, [(sku, units) for _, sku, units in rows])
        changed = store_recipe(change, kit, recipe, actor)
    except KitError as exc:
        result.errors.append((rows[0][0], f"kit {kit_sku}: {exc}"))
        return
    result.defined += changed
    result.unchanged += not changed


def describe(session: Session, hub: Hub, kit: tables.Variant) -> dict[str, Any]:
    """A kit's components, its leaf recipe, the kits using it and its number on each account."""
    direct = kits.direct_recipes(session).get(kit.id, {})
    leaves = kits.leaf_recipes(session, [kit.id]).get(kit.id, {})
    users = kits.kits_using(session, [kit.id])
    names = _skus(session, set(direct) | set(leaves) | users)
    accounts = []
    for item in listing_quantities(session, hub.settings, [kit.id]):
        limiting = kits.limiting_share(list(item.kit)).sku if item.kit else None
        accounts.append({"account": item.account, "published": item.published, "limiting": limiting,
                         "components": [share.as_dict() for share in item.kit]})

    def listed(recipe: Recipe) -> list[dict[str, Any]]:
        return sorted(({"sku": names[c], "quantity": q} for c, q in recipe.items()), key=lambda row: row["sku"])

    return {"kit": kit.sku, "title": kit.title, "components": listed(direct), "leaves": listed(leaves),
            "used_by": sorted(names[k] for k in users), "open_lines": open_kit_lines(session, kit.id),
            "accounts": accounts}


def kit_list(hub: Hub) -> list[dict[str, Any]]:
    """Every kit with its own components."""
    with hub.db.session() as session:
        direct = kits.direct_recipes(session)
        names = _skus(session, set(direct) | {c for recipe in direct.values() for c in recipe})
        rows: list[dict[str, Any]] = [
            {"kit": names[k], "components": sorted(({"sku": names[c], "quantity": q} for c, q in r.items()),
                                                   key=lambda row: str(row["sku"]))} for k, r in direct.items()]
        return sorted(rows, key=lambda row: str(row["kit"]))


def show(hub: Hub, kit_sku: str) -> dict[str, Any]:
    with hub.db.session() as session:
        kit = find(session, kit_sku, "the kit")
        if not kits.is_kit(session, kit.id):
            raise KitError(f"{kit.sku} is not a kit; define it with `marketsync kits define {kit.sku} "
                           "--component SKU:QTY …`")
        return describe(session, hub, kit)


def _users(session: Session, variant: tables.Variant) -> list[str]:
    """The kits that name `variant` as one of their own components."""
    kit_ids = set(session.scalars(select(tables.KitComponent.kit_variant_id)
                                  .where(tables.KitComponent.component_variant_id == variant.id)))
    return sorted(_skus(session, {int(k) for k in kit_ids}).values())


def remove(hub: Hub, kit_sku: str, *, component: str | None = None, actor: str) -> dict[str, Any]:
    """Remove a kit (it becomes a plain variant with no stock), or one component of it.

    A kit that another kit uses is refused naming them, as is a plain SKU (a component in use)."""
    with stock_change(hub) as change:
        session = change.session
        kit = find(session, kit_sku, "the kit")
        direct = kits.direct_recipes(session)
        if kit.id not in direct:
            users = _users(session, kit)
            used = f"; it is a component of {', '.join(users)} (remove it there with " \
                   f"`marketsync kits remove KIT --component {kit.sku}`)" if users else ""
            raise KitError(f"{kit.sku} is not a kit{used}")
        if component is None:
            users = _users(session, kit)
            if users:
                raise KitError(f"kit {kit.sku} is a component of {', '.join(users)}; remove it from them first")
            _refuse_if_open(session, kit, "remove the kit")
            session.execute(delete(tables.KitComponent).where(tables.KitComponent.kit_variant_id == kit.id))
            # a plain SKU again, of which the hub holds none: its listings publish 0 (not the kit's last number)
            change.move(Movement(f"kit-removed:{kit.id}:{uuid.uuid4()}", kit.id, hub_location(session).id,
                                 reason="adjust", source=f"user:{actor}",
                                 reference="kit removed: a plain SKU with no stock"))
            audit(session, actor, "kit.remove", f"kit:{kit.sku}")
            removed: dict[str, Any] = {"kit": kit.sku, "removed": "kit"}
        else:
            part = find(session, component, f"a component of {kit.sku}")
            recipe = direct[kit.id]
            if part.id not in recipe:
                raise KitError(f"{part.sku} is not a component of kit {kit.sku}")
            if len(recipe) == 1:
                raise KitError(f"{part.sku} is the last component of kit {kit.sku}; remove the kit instead "
                               f"(`marketsync kits remove {kit.sku}`)")
            _refuse_if_open(session, kit, "change its recipe")
            session.execute(delete(tables.KitComponent).where(tables.KitComponent.kit_variant_id == kit.id,
                                                              tables.KitComponent.component_variant_id == part.id))
            audit(session, actor, "kit.remove_component", f"kit:{kit.sku}", {"component": part.sku})
            removed = {"kit": kit.sku, "removed": part.sku}
        session.flush()
        change.touch([kit.id])
    return removed
