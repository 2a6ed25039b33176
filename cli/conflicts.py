"""`marketsync conflicts list|show|resolve|reopen`: the mapping-conflict inbox."""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.app import App, json_option, pass_app, print_fields, print_json, print_table
from mapping.conflicts import ConflictStatus
from store import tables
from sync.conflicts.resolve import ALLOWED, RESOLUTIONS, RULES, reopen_conflict, resolve, resolve_bulk
from sync.hub.audit import current_user

KINDS = [str(kind.value) if hasattr(kind, "value") else str(kind) for kind in ALLOWED]


def describe(conflict: tables.Conflict, account: str | None) -> dict[str, Any]:
    return {"id": conflict.id, "kind": conflict.kind, "status": conflict.status, "account": account,
            "subject": conflict.subject, "listing_id": conflict.listing_id, "variant_id": conflict.variant_id,
            "order_line_id": conflict.order_line_id, "evidence": conflict.evidence,
            "suggestions": conflict.suggestions, "resolution": conflict.resolution,
            "resolved_by": conflict.resolved_by,
            "resolved_at": conflict.resolved_at.isoformat() if conflict.resolved_at else None,
            "note": conflict.note, "created_at": conflict.created_at.isoformat(),
            "fitting_resolutions": list(ALLOWED.get(conflict.kind, ("ignore",)))}


def summary(evidence: dict[str, Any]) -> str:
    """One line of evidence for the inbox table."""
    channel = evidence.get("channel")
    if isinstance(channel, dict):
        text = f"sku={channel.get('sku')!r} barcode={channel.get('barcode')!r}"
        reason = evidence.get("reason") or evidence.get("hub")
        return f"{text}; {reason}" if reason else text
    if "field" in evidence:
        return f"{evidence['field']}: channel {evidence.get('channel')!r}, hub {evidence.get('hub')!r}"
    return json.dumps(evidence, default=str)[:100]


def query(session: Session, kind: str | None, account: str | None,
          status: str) -> list[tuple[tables.Conflict, str | None]]:
    stmt = (select(tables.Conflict, tables.Account.name)
            .outerjoin(tables.Account, tables.Account.id == tables.Conflict.account_id)
            .where(tables.Conflict.status == status))
    if kind:
        stmt = stmt.where(tables.Conflict.kind == kind)
    if account:
        stmt = stmt.where(tables.Account.name == account)
    return list(session.execute(stmt.order_by(tables.Conflict.id)))


@click.group()
def conflicts() -> None:
    """The inbox of what the hub would not guess: list, show and resolve conflicts."""


@conflicts.command("list")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind.")
@click.option("--account", help="Only this account.")
@click.option("--status", type=click.Choice([s.value for s in ConflictStatus]), default="open", show_default=True)
@json_option
@pass_app
def conflicts_list(app: App, kind: str | None, account: str | None, status: str, as_json: bool) -> None:
    """List conflicts (open ones by default)."""
    with app.ready_hub().db.session() as session:
        rows = [describe(c, a) for c, a in query(session, kind, account, status)]
    if as_json:
        print_json(rows)
        return
    print_table(f"{status} conflicts ({len(rows)})", ["id", "kind", "account", "evidence", "resolve with"],
                ([r["id"], r["kind"], r["account"], summary(r["evidence"]),
                  " ".join("--" + x for x in r["fitting_resolutions"])] for r in rows))


def history(session: Session, conflict_id: int) -> list[dict[str, Any]]:
    entries = session.scalars(select(tables.AuditEntry).where(tables.AuditEntry.subject == f"conflict:{conflict_id}")
                              .order_by(tables.AuditEntry.id))
    return [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail} for e in entries]


@conflicts.command("show")
@click.argument("conflict_id", type=int)
@json_option
@pass_app
def conflicts_show(app: App, conflict_id: int, as_json: bool) -> None:
    """Show one conflict: evidence, suggested resolutions and its history."""
    with app.ready_hub().db.session() as session:
        conflict = session.get(tables.Conflict, conflict_id)
        if conflict is None:
            raise click.ClickException(f"no conflict #{conflict_id}; see `marketsync conflicts list`")
        account = session.get(tables.Account, conflict.account_id) if conflict.account_id else None
        data = {**describe(conflict, account.name if account else None), "history": history(session, conflict_id)}
    if as_json:
        print_json(data)
        return
    print_fields(f"conflict #{conflict_id} ({data['kind']}, {data['status']})",
                 {k: data[k] for k in ("account", "subject", "resolution", "resolved_by", "resolved_at", "note")})
    print_fields("evidence", {k: json.dumps(v, default=str) for k, v in (data["evidence"] or {}).items()})
    for item in data["suggestions"] or []:
        arg = f" {item.get('argument')}" if item.get("argument") else ""
        click.echo(f"  suggestion: --{item.get('resolution')}{arg}  ({item.get('why', '')})")
    for entry in data["history"]:
        click.echo(f"  {entry['at']}  {entry['actor']}  {entry['action']}  {json.dumps(entry['detail'], default=str)}")


def chosen(flags: dict[str, Any]) -> tuple[str | None, str | None]:
    picked = [(name, value) for name, value in flags.items() if value]
    if len(picked) > 1:
        raise click.UsageError(f"give one resolution, not {' and '.join('--' + n for n, _ in picked)}")
    if not picked:
        return None, None
    name, value = picked[0]
    return name, value if isinstance(value, str) else None


@conflicts.command("resolve")
@click.argument("conflict_id", type=int, required=False)
@click.option("--link", "link_sku", metavar="SKU", help="Link the listing to the variant with SKU.")
@click.option("--create", is_flag=True, help="Add the listing to the catalogue and link it.")
@click.option("--ignore", is_flag=True, help="Leave it as it is; the hub will not raise it again.")
@click.option("--unlink", is_flag=True, help="Remove the listing's link.")
@click.option("--keep-hub", is_flag=True, help="The hub's value wins (pushed to the channel).")
@click.option("--keep-channel", is_flag=True, help="The channel's value stays.")
@click.option("--adopt", is_flag=True, help="Copy the channel's value into the hub.")
@click.option("--revert", is_flag=True, help="Push the hub's stock quantity over the channel's.")
@click.option("--kind", type=click.Choice(KINDS), help="Bulk: resolve every open conflict of this kind.")
@click.option("--account", help="Bulk: only this account.")
@click.option("--rule", type=click.Choice(RULES), help="Bulk: how to resolve each conflict.")
@click.option("--dry-run", is_flag=True, help="Print what the conflict(s) would become; change nothing.")
@click.option("--allow-duplicate", is_flag=True,
              help="Let --link give a variant a second listing on the same account.")
@click.option("--note", help="Why (kept in the audit log).")
@click.option("--by", "actor", help="Who resolves it (default: the OS user).")
@json_option
@pass_app
def conflicts_resolve(app: App, conflict_id: int | None, link_sku: str | None, create: bool, ignore: bool,
                      unlink: bool, keep_hub: bool, keep_channel: bool, adopt: bool, revert: bool, kind: str | None,
                      account: str | None, rule: str | None, dry_run: bool, allow_duplicate: bool,
                      note: str | None, actor: str | None, as_json: bool) -> None:
    """Resolve conflict ID one way, or in bulk with --kind/--account and --rule."""
    hub = app.ready_hub()
    who = actor or current_user()
    if rule:
        if conflict_id is not None:
            raise click.UsageError("give a conflict ID or --rule (bulk), not both")
        bulk(hub, kind, account, rule, dry_run, who, note, as_json)
        return
    flags = {"link": link_sku, "create": create, "ignore": ignore, "unlink": unlink, "keep-hub": keep_hub,
             "keep-channel": keep_channel, "adopt": adopt, "revert": revert}
    resolution, argument = chosen(flags)
    if conflict_id is None or resolution is None:
        raise click.UsageError("give a conflict ID and one of " + ", ".join("--" + r for r in RESOLUTIONS)
                               + " (or --kind K --rule R for bulk)")
    outcome = resolve(hub, conflict_id, resolution, argument=argument, actor=who, note=note, dry_run=dry_run,
                      allow_duplicate=allow_duplicate)
    if as_json:
        print_json(outcome.as_dict())
    elif dry_run:
        click.echo(f"dry run, nothing changed: conflict #{conflict_id} would be resolved with {resolution}: "
                   f"{outcome.message}")
    else:
        click.echo(outcome.message if not outcome.changed else
                   f"conflict #{conflict_id} resolved with {resolution}: {outcome.message}")


def bulk(hub: Any, kind: str | None, account: str | None, rule: str, dry_run: bool, who: str,
         note: str | None, as_json: bool) -> None:
    items = resolve_bulk(hub, kind, account, rule, dry_run=dry_run, actor=who, note=note)
    if as_json:
        print_json([i.as_dict() for i in items])
        return
    title = f"{'would resolve' if dry_run else 'resolved'} with rule {rule} ({len(items)} conflicts)"
    print_table(title, ["id", "kind", "becomes", "result"],
                ([i.conflict_id, i.kind, i.would,
                  "dry run" if dry_run else ("done" if i.applied else (i.error or "left open"))] for i in items))


@conflicts.command("reopen")
@click.argument("conflict_id", type=int)
@click.option("--note", help="Why (kept in the audit log).")
@click.option("--by", "actor", help="Who reopens it (default: the OS user).")
@pass_app
def conflicts_reopen(app: App, conflict_id: int, note: str | None, actor: str | None) -> None:
    """Open a resolved or ignored conflict again, to resolve it another way."""
    reopen_conflict(app.ready_hub(), conflict_id, actor=actor or current_user(), note=note)
    click.echo(f"conflict #{conflict_id} is open again")


commands = [conflicts]
