"""The alert book: alerts open and close themselves as conditions come and go, once per subject.

`record(session, conditions)` compares what holds now with the open alerts: a new subject opens
an alert (a unique index on open subjects makes a concurrent second open a no-op), a subject that
still holds refreshes its message and `last_seen_at`, and an open alert whose condition is gone
closes. Closed alerts are the history. Each opening and closing queues one delivery per
destination that wants that kind (`alert_deliveries`, unique per alert, destination and event).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store import tables
from store.settings import Settings
from sync.alerts.conditions import Condition


@dataclass
class Changes:
    opened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    still_open: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"opened": len(self.opened), "closed": len(self.closed), "still_open": self.still_open}


def _open(session: Session, condition: Condition, now: datetime) -> int | None:
    """Insert the open alert for `condition`; None when another evaluation opened it first."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    alert = tables.Alert
    stmt = (dialect.insert(alert).values(
        kind=condition.kind, subject=condition.subject, status="open", severity=condition.severity,
        sku=condition.sku, account=condition.account, message=condition.message, detail=condition.detail,
        opened_at=now, last_seen_at=now)
        .on_conflict_do_nothing(index_elements=["subject"], index_where=alert.status == "open")
        .returning(alert.id))
    return session.scalar(stmt)


def queue_deliveries(session: Session, settings: Settings, alert: tables.Alert, event: str, now: datetime) -> int:
    """One pending delivery per destination that takes this kind and event; returns how many."""
    count = 0
    for name, destination in sorted(settings.alerts.destinations.items()):
        if destination.kinds and alert.kind not in destination.kinds:
            continue
        if event not in destination.events:
            continue
        session.add(tables.AlertDelivery(alert_id=alert.id, destination=name, event=event, status="pending",
                                         attempts=0, next_attempt_at=now))
        count += 1
    return count


def record(session: Session, settings: Settings, conditions: list[Condition], now: datetime) -> Changes:
    """Bring the open alerts in line with `conditions` (see the module docstring)."""
    changes = Changes()
    current = {condition.subject: condition for condition in conditions}
    open_alerts = {alert.subject: alert for alert in session.scalars(
        select(tables.Alert).where(tables.Alert.status == "open").with_for_update())}
    for subject, condition in current.items():
        alert = open_alerts.get(subject)
        if alert is not None:
            alert.message, alert.detail, alert.severity = condition.message, condition.detail, condition.severity
            alert.last_seen_at = now
            changes.still_open += 1
            continue
        alert_id = _open(session, condition, now)
        if alert_id is not None:
            changes.opened.append(alert_id)
            created = session.get(tables.Alert, alert_id)
            assert created is not None
            queue_deliveries(session, settings, created, "opened", now)
    for subject, alert in open_alerts.items():
        if subject not in current:
            alert.status, alert.closed_at = "closed", now
            changes.closed.append(alert.id)
            queue_deliveries(session, settings, alert, "closed", now)
    session.flush()
    return changes


def as_dict(alert: tables.Alert) -> dict[str, Any]:
    return {"id": alert.id, "kind": alert.kind, "subject": alert.subject, "status": alert.status,
            "severity": alert.severity, "sku": alert.sku, "account": alert.account, "message": alert.message,
            "detail": dict(alert.detail), "opened_at": alert.opened_at.isoformat(),
            "last_seen_at": alert.last_seen_at.isoformat(),
            "closed_at": alert.closed_at.isoformat() if alert.closed_at else None}


def listed(session: Session, *, status: str | None = "open", kind: str | None = None,
           limit: int = 500) -> list[dict[str, Any]]:
    """Alerts, newest first: open ones (the default), closed ones (history) or all (`status=None`)."""
    stmt = select(tables.Alert).order_by(tables.Alert.opened_at.desc(), tables.Alert.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(tables.Alert.status == status)
    if kind is not None:
        stmt = stmt.where(tables.Alert.kind == kind)
    return [as_dict(alert) for alert in session.scalars(stmt)]
