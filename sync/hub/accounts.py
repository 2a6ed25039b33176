"""Connecting, updating, enabling/disabling, listing, testing and removing store accounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from canonical.errors import MarketsyncError
from connectors.base import Health, connector_class
from store import tables
from sync.hub import failing
from sync.hub.audit import audit
from sync.hub.context import Hub

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class AccountError(MarketsyncError):
    """An account operation was refused; the message says why and what to do."""


def get_account(session: Session, name: str) -> tables.Account:
    account = session.scalar(select(tables.Account).where(tables.Account.name == name))
    if account is None:
        names = session.scalars(select(tables.Account.name).order_by(tables.Account.name)).all()
        raise AccountError(f"no account named {name!r}; accounts: {', '.join(names) or 'none (add one)'}")
    return account


def job_account(session: Session, account_id: int) -> tables.Account | None:
    """The enabled account a queued job is for; None when it was removed or disabled since — the job
    then ends cleanly, doing nothing (a disabled account is polled, pushed and reconciled by nothing)."""
    account = session.get(tables.Account, account_id)
    return account if account is not None and account.enabled else None


def validate_options(platform: str, options: dict[str, str], secrets: dict[str, str]) -> None:
    """Refuse unknown keys and missing required ones, naming them."""
    specs = {spec.name: spec for spec in connector_class(platform).options}
    for key in options:
        if key not in specs or specs[key].secret:
            plain = sorted(name for name, spec in specs.items() if not spec.secret)
            hint = " (it is a secret: pass it with --secret)" if key in specs else ""
            raise AccountError(f"{platform} has no option {key!r}{hint}; options: {', '.join(plain)}")
    for key in secrets:
        if key not in specs or not specs[key].secret:
            secret_names = sorted(name for name, spec in specs.items() if spec.secret)
            raise AccountError(f"{platform} has no secret {key!r}; secrets: {', '.join(secret_names)}")
    for name, spec in specs.items():
        if spec.required and name not in options and name not in secrets:
            how = f"--secret {name}" if spec.secret else f"--option {name}=…"
            raise AccountError(f"{platform} needs {name!r} ({spec.help}); pass {how}")


def add_account(hub: Hub, platform: str, name: str, options: dict[str, str], secrets: dict[str, str],
                *, actor: str) -> tables.Account:
    if not NAME_PATTERN.match(name):
        raise AccountError(f"account name {name!r} is invalid; use letters, digits, '-', '_' or '.'")
    validate_options(platform, options, secrets)
    sealed = hub.secret_box.seal(secrets)
    with hub.db.session() as session:
        if session.scalar(select(tables.Account).where(tables.Account.name == name)):
            raise AccountError(f"an account named {name!r} already exists; pick another name or remove it first")
        account = tables.Account(name=name, platform=platform, options=options, secrets=sealed)
        session.add(account)
        session.flush()
        audit(session, actor, "account.add", f"account:{name}", {"platform": platform, "options": options,
                                                                 "secrets": sorted(secrets)})
        return account


def update_account(hub: Hub, name: str, options: dict[str, str], secrets: dict[str, str], *,
                   unset: tuple[str, ...] = (), actor: str) -> tables.Account:
    """Change options (`unset` removes them) and replace secrets of an account; audited by key name."""
    with hub.db.session() as session:
        account = get_account(session, name)
        merged_options = {k: v for k, v in {**account.options, **options}.items() if k not in unset}
        current = hub.secret_box.open(account.secrets, account=name) if account.secrets else {}
        merged_secrets = {k: v for k, v in {**current, **secrets}.items() if k not in unset}
        specs = {spec.name for spec in connector_class(account.platform).options}
        unknown = [key for key in unset if key not in specs]
        if unknown:
            raise AccountError(f"{account.platform} has no option or secret {unknown[0]!r}; "
                               f"known: {', '.join(sorted(specs))}")
        validate_options(account.platform, merged_options, merged_secrets)
        account.options = merged_options
        account.secrets = hub.secret_box.seal(merged_secrets)
        audit(session, actor, "account.update", f"account:{name}",
              {"options": sorted(options), "secrets": sorted(secrets), "unset": sorted(unset)})
        return account


def set_enabled(hub: Hub, name: str, enabled: bool, *, actor: str) -> bool:
    """Enable or disable an account; False when it already was. A disabled account is polled, pushed
    and reconciled by nothing; its queued jobs end without doing anything, and enabling resumes it
    (the caller then schedules the pushes that waited)."""
    with hub.db.session() as session:
        account = get_account(session, name)
        if account.enabled == enabled:
            return False
        account.enabled = enabled
        audit(session, actor, "account.enable" if enabled else "account.disable", f"account:{name}", {})
    return True


def list_accounts(hub: Hub) -> list[tables.Account]:
    with hub.db.session() as session:
        return list(session.scalars(select(tables.Account).order_by(tables.Account.name)))


def describe(account: tables.Account) -> dict[str, Any]:
    """An account as JSON-safe data; secret names only, never values."""
    return {"name": account.name, "platform": account.platform, "options": dict(account.options),
            "enabled": account.enabled, "created_at": account.created_at.isoformat()}


def test_account(hub: Hub, name: str) -> Health:
    """The account's health check; a working account that was failing is failing no more."""
    with hub.db.session() as session:
        account = get_account(session, name)
    connector = hub.connector(account, shared_budget=False)
    try:
        health = connector.health()
    finally:
        connector.close()
    if health.ok:
        failing.clear_failing(hub, account.id)
    return health


def probe(hub: Hub, account_id: int) -> dict[str, Any]:
    """A failing account's periodic health check: when it answers, the mark clears (the caller
    then asks for the account's pending pushes). The check's own error is kept as the reason."""
    with hub.db.session() as session:
        found = job_account(session, account_id)
    if found is None:  # removed or disabled since: nothing to check
        return {"account_id": account_id, "ok": False, "detail": "account removed or disabled"}
    account = found
    connector = hub.connector(account, shared_budget=False)
    try:
        health = connector.health()
    finally:
        connector.close()
    if not health.ok:
        return {"account_id": account_id, "ok": False, "detail": health.detail[:500]}
    return {"account_id": account_id, "ok": True, "cleared": failing.clear_failing(hub, account_id)}


@dataclass(frozen=True)
class PendingWork:
    stock_pushes: int
    shipment_pushes: int
    unprocessed_events: int

    @property
    def any(self) -> bool:
        return bool(self.stock_pushes or self.shipment_pushes or self.unprocessed_events)


def pending_work(session: Session, account: tables.Account) -> PendingWork:
    def count(stmt: Any) -> int:
        return int(session.scalar(stmt) or 0)

    stock = count(select(func.count()).select_from(tables.Listing)
                  .where(tables.Listing.account_id == account.id, tables.Listing.push_pending.is_(True)))
    ships = count(select(func.count()).select_from(tables.Shipment).join(tables.Order)
                  .where(tables.Order.account_id == account.id, tables.Shipment.push_status.in_(("pending", "failed"))))
    events = count(select(func.count()).select_from(tables.WebhookEvent)
                   .where(tables.WebhookEvent.account_id == account.id,
                          tables.WebhookEvent.status.in_(tables.EVENTS_UNDONE)))
    return PendingWork(stock, ships, events)


def remove_account(hub: Hub, name: str, *, force: bool, actor: str) -> None:
    with hub.db.session() as session:
        account = get_account(session, name)
        work = pending_work(session, account)
        if work.any and not force:
            raise AccountError(
                f"account {name!r} has pending work ({work.stock_pushes} stock pushes, {work.shipment_pushes} "
                f"shipment pushes, {work.unprocessed_events} unprocessed webhook events); let the workers finish "
                "or pass --force"
            )
        _delete_account_rows(session, account)
        audit(session, actor, "account.remove", f"account:{name}", {"forced": force, "pending": work.__dict__})


def _delete_account_rows(session: Session, account: tables.Account) -> None:
    orders = select(tables.Order.id).where(tables.Order.account_id == account.id)
    lines = select(tables.OrderLine.id).where(tables.OrderLine.order_id.in_(orders))
    session.execute(delete(tables.Conflict).where(tables.Conflict.order_line_id.in_(lines)))
    listings = select(tables.Listing.id).where(tables.Listing.account_id == account.id)
    session.execute(update(tables.OrderLine).where(tables.OrderLine.listing_id.in_(listings))
                    .values(listing_id=None))
    shipments = select(tables.Shipment.id).where(tables.Shipment.order_id.in_(orders))
    session.execute(delete(tables.ShipmentLine).where(tables.ShipmentLine.shipment_id.in_(shipments)))
    session.execute(delete(tables.Shipment).where(tables.Shipment.order_id.in_(orders)))
    session.execute(delete(tables.OrderLine).where(tables.OrderLine.order_id.in_(orders)))
    session.execute(delete(tables.Order).where(tables.Order.account_id == account.id))
    session.delete(account)


