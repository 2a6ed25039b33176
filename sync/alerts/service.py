"""What `marketsync alerts` and the periodic evaluation call: evaluate, record, deliver."""

from __future__ import annotations

from typing import Any

from canonical.errors import MarketsyncError
from connectors.notify import FORMATS
from store.settings import Settings
from store.types import utcnow
from sync.alerts import book
from sync.alerts.conditions import KINDS, current_conditions
from sync.alerts.delivery import deliver_pending
from sync.hub.context import Hub
from sync.planning.plan import plan_rows


class AlertError(MarketsyncError):
    """An alerts command was refused; the message says what to change."""


def check_settings(settings: Settings) -> None:
    """Refuse alert kinds the hub does not know in `alerts.disabled` or a destination's `kinds`."""
    named = [("alerts.disabled", kind) for kind in settings.alerts.disabled]
    named += [(f"alerts.destinations.{name}.kinds", kind) for name, destination in
              settings.alerts.destinations.items() for kind in destination.kinds]
    for where, kind in named:
        if kind not in KINDS:
            raise AlertError(f"{where} names unknown alert kind {kind!r}; kinds: {', '.join(KINDS)}")
    for name, destination in settings.alerts.destinations.items():
        if destination.format not in FORMATS:
            raise AlertError(f"alerts.destinations.{name}.format {destination.format!r} is unknown; "
                             f"formats: {', '.join(FORMATS)}")


def evaluate(hub: Hub, *, deliver: bool = True) -> dict[str, Any]:
    """Open and close alerts to match what holds now; then send the deliveries that are due."""
    check_settings(hub.settings)
    now = utcnow()
    with hub.db.session() as session:
        plan = plan_rows(session, hub.settings, now=now)
        conditions = current_conditions(session, hub.settings, plan, now)
        changes = book.record(session, hub.settings, conditions, now)
    result: dict[str, Any] = {"at": now.isoformat(), **changes.as_dict()}
    if deliver:
        result["deliveries"] = deliver_pending(hub)
    return result


def listed(hub: Hub, *, status: str | None = "open", kind: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    if kind is not None and kind not in KINDS:
        raise AlertError(f"unknown alert kind {kind!r}; kinds: {', '.join(KINDS)}")
    with hub.db.session() as session:
        return book.listed(session, status=status, kind=kind, limit=limit)
