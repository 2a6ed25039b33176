"""Resolving conflicts: one at a time or in bulk by rule, idempotently, and audited.

A resolution fits some conflict kinds only (`ALLOWED`); anything else is refused with the
list of those that fit. Resolving an already-closed conflict the same way is a no-op that
says so; a different way is refused until the conflict is reopened. Every resolution is in
the audit log with who, when and why, and takes effect at once (links publish stock and
release held order lines; field and stock decisions reach the channel through their pushes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mapping.conflicts import ConflictKind, ConflictStatus, close_conflict, find_open, reopen
from store import tables
from sync.conflicts.effects import Effects, ResolveError, apply_resolution, hold_order_line_again, rule_target
from sync.hub.audit import audit
from sync.hub.context import Hub

K = ConflictKind
ALLOWED: dict[str, tuple[str, ...]] = {
    K.UNMATCHED_LISTING: ("link", "create", "ignore"),
    K.DUPLICATE_SKU: ("link", "create", "ignore"),
    K.SKU_BARCODE_MISMATCH: ("link", "unlink", "create", "ignore"),
    K.SKU_CHANGED: ("link", "unlink", "keep-channel", "ignore"),
    K.LISTING_DELETED: ("unlink", "ignore"),
    K.UNMAPPED_ORDER_LINE: ("link", "create", "ignore"),
    K.FIELD_CHANGED_BOTH_SIDES: ("keep-hub", "keep-channel", "adopt", "ignore"),
    K.FIELD_CHANGED_ON_CHANNEL: ("keep-hub", "keep-channel", "adopt", "ignore"),
    K.STOCK_DRIFT: ("keep-hub", "revert", "keep-channel", "adopt", "ignore"),
    K.CANCELLED_BEFORE_SHIPMENT: ("ignore",),
    K.OVERSOLD: ("ignore",),  # closes by itself when stock covers the orders
    K.ACCOUNT_FAILING: (),  # closes by itself when the account works again (`marketsync account test`)
}
RESOLUTIONS = ("link", "create", "ignore", "unlink", "keep-hub", "keep-channel", "adopt", "revert")
RULES = ("barcode", "normalised-sku", "create", "ignore", "keep-hub", "keep-channel")


@dataclass
class Outcome:
    conflict_id: int
    kind: str
    resolution: str
    argument: str | None = None
    changed: bool = True
    message: str = ""
    effects: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def get_conflict(session: Session, conflict_id: int) -> tables.Conflict:
    conflict = session.get(tables.Conflict, conflict_id)
    if conflict is None:
        raise ResolveError(f"no conflict #{conflict_id}; list them with `marketsync conflicts list`")
    return conflict


def check_fits(conflict: tables.Conflict, resolution: str) -> None:
    allowed = ALLOWED.get(conflict.kind, ("ignore",))
    if resolution not in allowed:
        raise ResolveError(f"conflict #{conflict.id} ({conflict.kind}) cannot be resolved with --{resolution}; "
                           f"fitting: {', '.join('--' + r for r in allowed)}")


def already(conflict: tables.Conflict, resolution: str) -> Outcome | None:
    """The no-op outcome when the conflict was closed the same way; a refusal when another way."""
    if conflict.status == ConflictStatus.OPEN:
        return None
    if conflict.resolution == resolution:
        return Outcome(conflict.id, conflict.kind, resolution, changed=False,
                       message=f"conflict #{conflict.id} is already {conflict.status} with {resolution} "
                               f"(by {conflict.resolved_by}); nothing to do")
    raise ResolveError(f"conflict #{conflict.id} was already {conflict.status} with {conflict.resolution} by "
                       f"{conflict.resolved_by}; run `marketsync conflicts reopen {conflict.id}` to change it")


def resolve_in_session(session: Session, conflict: tables.Conflict, resolution: str, *, argument: str | None,
                       actor: str, note: str | None, effects: Effects) -> Outcome:
    check_fits(conflict, resolution)
    done = already(conflict, resolution)
    if done is not None:
        return done
    if resolution == "link" and not argument:
        raise ResolveError(f"--link needs the SKU of the variant to link conflict #{conflict.id} to")
    message = apply_resolution(session, conflict, resolution, argument, actor=actor, effects=effects)
    status = ConflictStatus.IGNORED if resolution == "ignore" else ConflictStatus.RESOLVED
    close_conflict(session, conflict, status=status, resolution=resolution, actor=actor, note=note)
    audit(session, actor, "conflict.resolve", f"conflict:{conflict.id}",
          {"kind": conflict.kind, "resolution": resolution, "argument": argument, "note": note,
           "effect": message})
    return Outcome(conflict.id, conflict.kind, resolution, argument, message=message,
                   effects={"accounts": sorted(effects.accounts), "listing_pushes": effects.listing_pushes})


def resolve(hub: Hub, conflict_id: int, resolution: str, *, argument: str | None = None, actor: str,
            note: str | None = None, dry_run: bool = False, allow_duplicate: bool = False) -> Outcome:
    """Resolve one conflict (see the module docstring). `dry_run` works it out and changes nothing."""
    if resolution not in RESOLUTIONS:
        raise ResolveError(f"unknown resolution {resolution!r}; resolutions: {', '.join(RESOLUTIONS)}")
    effects = Effects(settings=hub.settings, allow_duplicate=allow_duplicate)
    if dry_run:
        with hub.db.sessions() as session:
            try:
                outcome = resolve_in_session(session, get_conflict(session, conflict_id), resolution,
                                             argument=argument, actor=actor, note=note, effects=effects)
            finally:
                session.rollback()  # nothing is kept, and nothing is pushed
        outcome.dry_run = True
        return outcome
    with hub.db.session() as session:
        outcome = resolve_in_session(session, get_conflict(session, conflict_id), resolution, argument=argument,
                                     actor=actor, note=note, effects=effects)
    effects.after_commit(hub)
    return outcome


def reopen_conflict(hub: Hub, conflict_id: int, *, actor: str, note: str | None = None) -> tables.Conflict:
    """Open a closed conflict again so it can be resolved another way."""
    with hub.db.session() as session:
        conflict = get_conflict(session, conflict_id)
        if conflict.status == ConflictStatus.OPEN:
            raise ResolveError(f"conflict #{conflict_id} is already open")
        other = find_open(session, conflict.subject)
        if other is not None:
            raise ResolveError(f"conflict #{other.id} is open on the same subject; resolve that one instead")
        previous = conflict.resolution
        reopen(session, conflict)
        if conflict.kind == ConflictKind.UNMAPPED_ORDER_LINE:
            hold_order_line_again(session, conflict)
        audit(session, actor, "conflict.reopen", f"conflict:{conflict_id}", {"previous": previous, "note": note})
        return conflict


# ---- bulk ----------------------------------------------------------------------------------------
@dataclass
class BulkItem:
    conflict_id: int
    kind: str
    subject: str
    would: str
    resolution: str | None = None
    argument: str | None = None
    applied: bool = False
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def matching_conflicts(session: Session, kind: str | None, account: str | None) -> list[tables.Conflict]:
    stmt = select(tables.Conflict).where(tables.Conflict.status == ConflictStatus.OPEN.value)
    if kind:
        stmt = stmt.where(tables.Conflict.kind == kind)
    if account:
        stmt = stmt.join(tables.Account, tables.Account.id == tables.Conflict.account_id).where(
            tables.Account.name == account)
    return list(session.scalars(stmt.order_by(tables.Conflict.id)))


def plan_bulk(hub: Hub, kind: str | None, account: str | None, rule: str) -> list[BulkItem]:
    """What `rule` would do to each open conflict of `kind` (and `account`)."""
    if rule not in RULES:
        raise ResolveError(f"unknown rule {rule!r}; rules: {', '.join(RULES)}")
    if kind and kind not in ALLOWED:
        raise ResolveError(f"unknown conflict kind {kind!r}; kinds: {', '.join(ALLOWED)}")
    normalised = hub.settings.mapping.normalised_sku
    items = []
    with hub.db.session() as session:
        for conflict in matching_conflicts(session, kind, account):
            resolution, argument, why = rule_target(session, conflict, rule, normalised=normalised)
            if resolution is not None and resolution not in ALLOWED.get(conflict.kind, ()):
                resolution, why = None, f"--{resolution} does not fit {conflict.kind}"
            would = f"{resolution} {argument or ''}".strip() if resolution else f"stays open: {why}"
            items.append(BulkItem(conflict.id, conflict.kind, conflict.subject, would, resolution, argument))
    return items


def resolve_bulk(hub: Hub, kind: str | None, account: str | None, rule: str, *, dry_run: bool, actor: str,
                 note: str | None = None) -> list[BulkItem]:
    """Apply `rule` to every matching open conflict, each in its own transaction."""
    items = plan_bulk(hub, kind, account, rule)
    if dry_run:
        return items
    for item in items:
        if item.resolution is None:
            continue
        try:
            resolve(hub, item.conflict_id, item.resolution, argument=item.argument, actor=actor,
                    note=note or f"bulk rule {rule}")
            item.applied = True
        except (ResolveError, ValueError, LookupError) as exc:
            item.error = str(exc)
    return items



__all__ = ["ALLOWED", "RESOLUTIONS", "RULES", "BulkItem", "Outcome", "ResolveError", "plan_bulk", "reopen_conflict",
           "resolve", "resolve_bulk"]
