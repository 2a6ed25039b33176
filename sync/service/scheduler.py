"""The periodic scheduler: order polls, event pulls, reconciliation and the sweep, with unique ids.

Each account task goes only to accounts whose connector declares what the task needs
(`connectors.base.Capability`): order polls to READ_ORDERS, event pulls to PULL_EVENTS (a
platform message queue read with consume/confirm), reconciliation to accounts that read their
catalogue and stock and write stock. Pushes are asked for only where WRITE_STOCK is declared
(`sync.stock.push_queue`). Disabled and failing accounts get nothing.

Decision: rq 2.12 ships `rq.cron.CronScheduler`, but its `CronJob.enqueue` builds a `Queue`
with RQ's default (pickle) serializer and no job id, while the hub's workers use the JSON
serializer and every periodic job must be unique per account (a slow poll must not pile up
behind itself). So this is a small loop: every second it enqueues what is due with
`unique=True` and a stable id (`poll-orders-{account}`, `reconcile-{account}`, `sweep`;
RQ job ids allow only letters, digits, `_` and `-`).
Several schedulers may run at once: the unique ids keep the queues free of duplicates.
Every tick also puts back jobs whose `Retry` wait is over and asks for a push of every account
whose push holder stopped renewing its claim (`push_queue.revive_expired`: a worker died mid-push).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from connectors.base import Capability, connector_class
from connectors.errors import UnknownPlatform
from store import tables
from sync.alerts import delivery
from sync.hub.context import Hub
from sync.hub.queues import enqueue_unique, requeue_due_retries
from sync.orders import drain, shipment_queue
from sync.stock import confirm, push, push_queue

log = logging.getLogger(__name__)


def sweep(hub: Hub) -> dict[str, Any]:
    """Every engine's sweep re-enqueues what the database says is pending (the `sweep` job)."""
    return {"stock": push_queue.schedule_pushes(hub), "stale_checks": push.sweep_stale(hub),
            "events": drain.sweep(hub), "shipments": shipment_queue.sweep(hub), "alerts": delivery.sweep(hub),
            "confirmations": confirm.sweep(hub)}


@dataclass
class Periodic:
    """One periodic task: `due(hub)` lists (queue, function, args, job id) to enqueue every `interval_s`."""

    name: str
    interval_s: float
    due: Callable[[Hub], list[tuple[str, str, tuple[Any, ...], str]]]
    next_at: float = 0.0
    first_after_interval: bool = False  # not at the first tick: one interval after the scheduler starts


# What each periodic account task asks of the account's connector (its declared capabilities).
POLL_NEEDS = frozenset({Capability.READ_ORDERS})
# Any of these and the account hears of orders without polling; none, and its polls are all it hears.
EVENT_CAPABILITIES = frozenset({Capability.WEBHOOKS, Capability.REGISTER_WEBHOOKS, Capability.PULL_EVENTS})
RECONCILE_NEEDS = frozenset({Capability.READ_CATALOG, Capability.READ_STOCK, Capability.WRITE_STOCK})
PULL_NEEDS = frozenset({Capability.PULL_EVENTS})


def capabilities(platform: str) -> frozenset[Capability]:
    """What the platform's connector declares (nothing for a platform no longer installed)."""
    try:
        return connector_class(platform).capabilities
    except UnknownPlatform:
        return frozenset()


def _account_ids(hub: Hub, needs: frozenset[Capability],
                 platform_test: Callable[[str], bool] | None = None) -> list[int]:
    """Enabled, working accounts whose connector declares every capability in `needs` (and whose
    platform passes `platform_test`, when given)."""
    with hub.db.session() as session:
        rows = session.execute(select(tables.Account.id, tables.Account.platform).where(
            tables.Account.enabled.is_(True), tables.Account.failing_since.is_(None)).order_by(tables.Account.id))
        return [int(account_id) for account_id, platform in rows if needs <= capabilities(platform)
                and (platform_test is None or platform_test(platform))]


def hears_by_polls_only(platform: str) -> bool:
    """True when the platform's connector declares no way to hear of orders but polling them."""
    return not capabilities(platform) & EVENT_CAPABILITIES


def _order_polls(hub: Hub, *, polled_only: bool | None = None) -> list[tuple[str, str, tuple[Any, ...], str]]:
    """Poll jobs for every account that reads orders; `polled_only` True/False: only the accounts
    that hear of orders by polls alone / also otherwise."""
    test = None if polled_only is None else (lambda platform: hears_by_polls_only(platform) is polled_only)
    return [("orders", "sync.jobs.poll_orders", (a,), f"poll-orders-{a}") for a in _account_ids(hub, POLL_NEEDS, test)]


def _event_heard_polls(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    return _order_polls(hub, polled_only=False)


def _polled_only_polls(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    return _order_polls(hub, polled_only=True)


def _reconciles(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    return [("default", "sync.jobs.reconcile_account", (a,), f"reconcile-{a}")
            for a in _account_ids(hub, RECONCILE_NEEDS)]


def _probes(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    """Failing accounts get only a health check, which clears the mark when they answer."""
    with hub.db.session() as session:
        failing = session.scalars(select(tables.Account.id).where(
            tables.Account.enabled.is_(True), tables.Account.failing_since.is_not(None)).order_by(tables.Account.id))
        return [("default", "sync.jobs.probe_account", (int(a),), f"probe-{a}") for a in failing]


def _event_pulls(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    return [("orders", "sync.jobs.pull_events", (a,), f"pull-events-{a}") for a in _account_ids(hub, PULL_NEEDS)]


def _sweep(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    return [("stock", "sync.jobs.sweep", (), "sweep")]


def _planning(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    return [("default", "sync.jobs.refresh_planning", (), "planning-refresh")]


def _alerts(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    return [("default", "sync.jobs.evaluate_alerts", (), "alerts-evaluate")]


def default_schedule(hub: Hub) -> list[Periodic]:
    s = hub.settings.sync
    # An account whose platform sends no order events is polled every `polled_only_interval_s` (how a
    # sale there is heard); the others every `order_poll_interval_s`, the backstop for lost events.
    return [Periodic("order polls", s.order_poll_interval_s, _event_heard_polls),
            Periodic("order polls of accounts heard by polls only", min(s.polled_only_interval_s,
                                                                      s.order_poll_interval_s), _polled_only_polls),
            Periodic("event pulls", s.event_pull_interval_s, _event_pulls),
            Periodic("failing account probes", s.order_poll_interval_s, _probes),
            Periodic("sweep", s.sweep_interval_s, _sweep),
            # A reconciliation reads every listing of every account (minutes of a large shop's rate budget):
            # a restarted hub does not start with all of them at once, while its first sales wait.
            Periodic("reconciliation", s.reconcile_interval_s, _reconciles, first_after_interval=True),
            Periodic("planning refresh", hub.settings.planning.refresh_interval_s, _planning),
            Periodic("alerts", hub.settings.alerts.evaluate_interval_s, _alerts)]


@dataclass
class Scheduler:
    hub: Hub
    schedule: list[Periodic] = field(default_factory=list)
    enqueued: int = 0

    def tick(self, now: float | None = None) -> int:
        """Enqueue everything due; returns how many jobs were enqueued."""
        now = time.monotonic() if now is None else now
        count = 0
        for task in self.schedule:
            if task.first_after_interval and task.next_at == 0.0:
                task.next_at = now + task.interval_s
            if now < task.next_at:
                continue
            task.next_at = now + task.interval_s
            try:
                for queue_name, function, args, job_id in task.due(self.hub):
                    count += enqueue_unique(self.hub.redis, queue_name, function, args, job_id,
                                            timeout=self.hub.settings.workers.job_timeout_s)
            except Exception as exc:  # the database or Redis may blip: try again next interval
                log.warning("scheduler: %s could not be enqueued: %s", task.name, exc)
        try:  # jobs whose `Retry` wait is over go back on their queues
            requeue_due_retries(self.hub.redis)
        except Exception as exc:
            log.warning("scheduler: due retries could not be requeued: %s", exc)
        try:  # a push whose worker died mid-drain (its claim no longer renewed) is asked for again
            count += len(push_queue.revive_expired(self.hub))
            count += len(push_queue.revive_expired(self.hub, shipment_queue.LANE))
        except Exception as exc:
            log.warning("scheduler: expired push claims could not be revived: %s", exc)
        self.enqueued += count
        return count

    def run(self, stop: threading.Event, *, tick_s: float = 1.0) -> None:
        """Tick until `stop` is set."""
        while not stop.is_set():
            self.tick()
            stop.wait(tick_s)


def build_scheduler(hub: Hub) -> Scheduler:
    return Scheduler(hub, default_schedule(hub))
