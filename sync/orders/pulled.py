"""Events the hub pulls from a platform's message queue (connectors that declare `PULL_EVENTS`).

One pull: consume a batch, store every message as a webhook event under its unique id (a
redelivered or duplicated message is stored once), commit, and only then confirm the batch to
the platform (at-least-once: a crash before the confirm means the platform delivers again, and
the stored id absorbs it). Each new event is processed by the same job as a pushed webhook.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from connectors.base import Capability, connector_class
from connectors.errors import UnknownPlatform
from store import tables
from sync.hub.context import Hub
from sync.orders.drain import wake
from sync.orders.events import store_event

log = logging.getLogger(__name__)

BATCH = 100
MAX_BATCHES = 20  # per job: a long backlog is drained over several runs, never in one endless job
JOB_FUNCTION = "sync.jobs.pull_events"


def pulls_events(platform: str) -> bool:
    try:
        return Capability.PULL_EVENTS in connector_class(platform).capabilities
    except UnknownPlatform:
        return False


def pulling_account_ids(hub: Hub) -> list[int]:
    """Enabled accounts whose connector consumes a message queue."""
    with hub.db.session() as session:
        rows = session.execute(select(tables.Account.id, tables.Account.platform)
                               .where(tables.Account.enabled.is_(True)).order_by(tables.Account.id)).all()
    return [int(account_id) for account_id, platform in rows if pulls_events(platform)]


def due_pulls(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    """The scheduler's periodic pulls: one unique job per pulling account."""
    return [("orders", JOB_FUNCTION, (a,), f"pull-events-{a}") for a in pulling_account_ids(hub)]


def pull_events(hub: Hub, account_id: int) -> dict[str, int]:
    """Drain the account's message queue: store, commit, confirm, then wake the account's drain."""
    with hub.db.session() as session:
        account = session.get(tables.Account, account_id)
        if account is None or not account.enabled or not pulls_events(account.platform):
            return {"consumed": 0, "stored": 0}
    counts = {"consumed": 0, "stored": 0}
    connector = hub.connector(account)
    try:
        for _ in range(MAX_BATCHES):
            events = connector.consume_events(BATCH)
            if not events:
                break
            with hub.db.session() as session:
                row = session.get(tables.Account, account_id)
                assert row is not None
                stored = []
                for event in events:  # kept reduced, with what it is about (`store_event`)
                    subject = connector.event_subject(event)
                    event_id = store_event(session, row, event, subject=subject,
                                           order_reference=subject.order if subject is not None else None)
                    if event_id is not None:
                        stored.append(event_id)
            connector.confirm_events(events)  # only after the messages are in the database
            counts["consumed"] += len(events)
            counts["stored"] += len(stored)
            if stored:
                wake(hub, account_id)
    finally:
        connector.close()
    return counts
