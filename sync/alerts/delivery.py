"""Delivering alert events to the configured destinations, with retries, exactly what the book queued.

A pending delivery is sent with the destination's format (`connectors.notify`); a transient
failure (timeout, 5xx, 429, a robot's rate-limit code) is retried a few times at once, then again
later: after 30 s, doubling up to an hour, at most `MAX_ATTEMPTS` times before it is `failed`. A
refusal (4xx, a robot's error code) fails at once, with the destination's reason. The body never
holds customer data, and errors never hold the destination's URL (robot URLs carry their token).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from connectors.errors import ConnectorError, Transient
from connectors.http import HttpPolicy
from connectors.notify import send
from store import tables
from store.settings import AlertDestination
from store.types import utcnow
from sync.alerts.book import as_dict
from sync.hub.context import Hub
from sync.hub.queues import enqueue_unique

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
LEASE = timedelta(minutes=5)
POLICY = HttpPolicy(timeout_s=10.0, max_attempts=3, max_backoff_s=2.0)


def event_of(alert: dict[str, Any], event: str, delivery_id: str, now: datetime) -> dict[str, Any]:
    return {"event": f"alert.{event}", "delivery_id": delivery_id, "sent_at": now.isoformat(), "alert": alert}


def _later(attempts: int, now: datetime) -> datetime:
    return now + min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def _send_one(destination: AlertDestination, name: str, event: dict[str, Any],
              transport: httpx.BaseTransport | None) -> None:
    send(destination.format, destination.webhook_url, destination.secret, event, now_s=time.time(),
         delivery_id=event["delivery_id"], where=f"alert destination {name} ({destination.format})",
         policy=POLICY, transport=transport)


def deliver_pending(hub: Hub, *, transport: httpx.BaseTransport | None = None) -> dict[str, int]:
    """Send every delivery that is due; returns counts by outcome."""
    now = utcnow()
    counts = {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0}
    with hub.db.session() as session:
        due = session.scalars(select(tables.AlertDelivery.id).where(
            tables.AlertDelivery.status == "pending", tables.AlertDelivery.next_attempt_at <= now)
            .order_by(tables.AlertDelivery.id)).all()
    for delivery_id in due:
        counts[_deliver(hub, int(delivery_id), transport)] += 1
    return counts


def _deliver(hub: Hub, delivery_id: int, transport: httpx.BaseTransport | None) -> str:
    with hub.db.session() as session:  # claim it: a second worker finds it not due and skips it
        delivery = session.get(tables.AlertDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.status != "pending" or delivery.next_attempt_at > utcnow():
            return "skipped"
        delivery.next_attempt_at = utcnow() + LEASE
        alert = session.get(tables.Alert, delivery.alert_id)
        assert alert is not None
        payload = event_of(as_dict(alert), delivery.event, f"{alert.id}-{delivery.event}-{delivery.destination}",
                           utcnow())
        name = delivery.destination
    destination = hub.settings.alerts.destinations.get(name)
    outcome, error = "sent", None
    if destination is None:
        outcome, error = "failed", f"destination {name!r} is no longer configured in [alerts.destinations]"
    else:
        try:
            _send_one(destination, name, payload, transport)
        except Transient as exc:
            outcome, error = "retrying", str(exc)
        except ConnectorError as exc:
            outcome, error = "failed", str(exc)
    with hub.db.session() as session:
        row = session.get(tables.AlertDelivery, delivery_id)
        assert row is not None
        row.attempts += 1
        row.last_error = error[:2000] if error else None
        if outcome == "sent":
            row.status, row.sent_at = "sent", utcnow()
        elif outcome == "retrying" and row.attempts < MAX_ATTEMPTS:
            row.next_attempt_at = _later(row.attempts, utcnow())
        else:
            outcome, row.status = "failed", "failed"
    return outcome


def deliveries(hub: Hub, alert_id: int | None = None) -> list[dict[str, Any]]:
    with hub.db.session() as session:
        stmt = select(tables.AlertDelivery).order_by(tables.AlertDelivery.id)
        if alert_id is not None:
            stmt = stmt.where(tables.AlertDelivery.alert_id == alert_id)
        return [{"id": d.id, "alert": d.alert_id, "destination": d.destination, "event": d.event,
                 "status": d.status, "attempts": d.attempts, "last_error": d.last_error,
                 "sent_at": d.sent_at.isoformat() if d.sent_at else None} for d in session.scalars(stmt)]


def sweep(hub: Hub) -> dict[str, int]:
    """Enqueue one delivery run when some delivery is due (the scheduler's sweep calls this)."""
    with hub.db.session() as session:
        due = session.scalar(select(tables.AlertDelivery.id).where(
            tables.AlertDelivery.status == "pending", tables.AlertDelivery.next_attempt_at <= utcnow()).limit(1))
    if due is None:
        return {"deliveries": 0}
    return {"deliveries": int(enqueue_unique(hub.redis, "default", "sync.jobs.deliver_alerts", (),
                                             "alerts-deliver"))}
