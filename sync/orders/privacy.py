"""Removing personal data the hub no longer needs (`marketsync privacy purge`).

Orders placed before the cutoff lose their personal fields (`customer_*`, the pseudonymous
`customer_key` too, `purged_at` set);
webhook events received before the cutoff, and those about purged orders, have their raw
payload replaced by a redaction marker (ids, topics and statuses stay for the audit trail).
A purged order never takes personal data back when the channel sends it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from store import tables
from store.types import utcnow
from sync.hub.audit import audit
from sync.hub.context import Hub

REDACTED = '{"redacted": true}'


@dataclass(frozen=True)
class PurgeResult:
    orders: int
    events: int
    cutoff: str


def purge(hub: Hub, *, older_than_days: int | None = None, actor: str) -> PurgeResult:
    """Purge personal data older than `older_than_days` (default `privacy.purge_after_days`); audited."""
    days = hub.settings.privacy.purge_after_days if older_than_days is None else older_than_days
    if days < 0:
        raise ValueError(f"--older-than must be 0 or more days (got {days})")
    cutoff = utcnow() - timedelta(days=days)
    with hub.db.session() as session:
        orders = session.scalars(select(tables.Order).where(tables.Order.placed_at < cutoff,
                                                            tables.Order.purged_at.is_(None))).all()
        event_ids: set[int] = set()
        for order in orders:
            order.customer_name = order.customer_email = order.customer_country = order.customer_key = None
            order.purged_at = utcnow()
            event_ids.update(int(i) for i in order.channel_state.get("webhook_events", []))
        events = session.execute(
            update(tables.WebhookEvent)
            .where(or_(tables.WebhookEvent.received_at < cutoff, tables.WebhookEvent.id.in_(sorted(event_ids))),
                   tables.WebhookEvent.payload != REDACTED)
            .values(payload=REDACTED).returning(tables.WebhookEvent.id)).all()
        result = PurgeResult(orders=len(orders), events=len(events), cutoff=cutoff.isoformat())
        audit(session, actor, "privacy.purge", "orders", {"older_than_days": days, "orders": result.orders,
                                                          "events": result.events, "cutoff": result.cutoff})
    hub.db.checkpoint()  # the old pages must not survive in SQLite's write-ahead log
    return result
